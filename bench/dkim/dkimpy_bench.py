#!/usr/bin/env python3
"""dkimpy side of bench/dkim: verify every signature of every signed message of an mboxrd
corpus offline (dnsfunc from the same key file trove imports, minkey=512), one thread.
Splitting is done exactly like trove's example (strip the envelope line, undo one level of
'>' on ^>+From lines); only verification is timed. Prints one JSON line.

usage: dkimpy_bench.py CORPUS(.mbox|.mbox.zst) KEYFILE"""
import json, re, subprocess, sys, time

import dkim


def read(path):
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout
    return open(path, "rb").read()


QUOTED = re.compile(rb"^>+From ")


def split_mboxrd(data):
    messages, cur = [], None
    for line in data.splitlines(keepends=True):
        if line.startswith(b"From "):
            if cur is not None:
                messages.append(b"".join(cur))
            cur = []
        elif cur is not None:
            cur.append(line[1:] if QUOTED.match(line) else line)
    if cur is not None:
        messages.append(b"".join(cur))
    return messages


def load_keys(path):
    keys = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, txt = line.split(None, 1)
        keys[name.lower().rstrip(".").encode() + b"."] = txt.encode()
    return keys


def main():
    corpus, keyfile = sys.argv[1], sys.argv[2]
    keys = load_keys(keyfile)

    def dnsfunc(name, timeout=5):
        return keys.get(name.lower() if name.endswith(b".") else name.lower() + b".")

    signed = []
    for m in split_mboxrd(read(corpus)):
        head = m.split(b"\n\n", 1)[0]
        n = sum(1 for l in head.split(b"\n") if l[:15].lower() == b"dkim-signature:")
        if n:
            signed.append((m, n))
    counts = {"pass": 0, "fail": 0}
    cpu_start = time.process_time()
    start = time.perf_counter()
    for m, n in signed:
        d = dkim.DKIM(m, minkey=512)
        for i in range(n):
            try:
                ok = d.verify(idx=i, dnsfunc=dnsfunc)
            except Exception:
                ok = False
            counts["pass" if ok else "fail"] += 1
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(json.dumps({"tool": "dkimpy", "threads": 1, "messages": len(signed),
                      "seconds": round(elapsed, 3), "cpu_seconds": round(cpu, 2),
                      "messages_per_cpu_second": round(len(signed) / cpu, 1),
                      "messages_per_second": round(len(signed) / elapsed, 1),
                      "signatures": counts}))


if __name__ == "__main__":
    main()
