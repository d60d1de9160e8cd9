#!/usr/bin/env python3
"""Convert an mbox (mboxrd or mboxo, optionally .zst) into a maildir, byte-exact.

Shared by the benchmarks (bench/ingest, bench/search, bench/mirror) so every tool
is fed the very same files.

What it does, exactly:
  * A message starts at every line beginning with ``From `` (mboxrd quotes every such
    body line, so no other line can start one). The envelope line itself is dropped.
  * If the text before the next envelope line ends with an empty line, that one line
    ending is the mbox separator and is dropped (same rule as Python's ``mailbox.mbox``).
  * mboxrd unquoting: one ``>`` is removed from each line matching ``^>+From ``.
    With ``--format mboxo`` only ``^>From `` lines are unquoted (ambiguous by design
    of mboxo; prefer mboxrd input).
  * Everything else is kept byte for byte: line endings (LF or CRLF), 8-bit bytes,
    trailing whitespace. No charset or header rewriting.
  * Each message goes to ``DEST/cur/NNNNNN.trove-bench.<stem>:2,`` (NNNNNN = 1-based
    position in the mbox, so file order equals archive order); ``DEST/new`` and
    ``DEST/tmp`` are created empty.

Caching: the maildir is built in ``DEST.partial`` and renamed into place at the end,
and a manifest ``DEST.manifest.json`` (next to DEST, not inside it, so indexers never
see it) records the source's path, size and mtime and the message count. A second run
with an unchanged source does nothing and prints the cached count. ``--force`` rebuilds.

``--check`` also re-reads the source with Python's ``mailbox.mbox`` (an independent
reader) and asserts, message by message, that re-quoting our bytes gives exactly what
``mailbox`` returns (mailbox does not undo quoting) — so a conversion bug cannot hide.

Usage:
    bench/common/mbox2maildir.py SRC.mbox[.zst] DEST [--format mboxrd|mboxo] [--force] [--check]

Prints one JSON line: {"maildir": DEST, "messages": N, "bytes": B, "cached": bool}.
Only the standard library and the ``zstd`` command (for .zst input) are needed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from typing import BinaryIO, Iterator

RD_QUOTED = re.compile(rb"^>+From ")
O_QUOTED = re.compile(rb"^>From ")


@contextmanager
def open_source(path: str) -> Iterator[BinaryIO]:
    """Open an mbox for binary reading; .zst goes through the zstd command (streams)."""
    if path.endswith(".zst"):
        proc = subprocess.Popen(["zstd", "-dcq", "--", path], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        try:
            yield proc.stdout
        finally:
            proc.stdout.close()
            if proc.wait() != 0:
                raise SystemExit(f"mbox2maildir: zstd failed on {path}")
    else:
        with open(path, "rb") as f:
            yield f


def iter_messages(src: BinaryIO, fmt: str = "mboxrd") -> Iterator[bytes]:
    """Yield each message's exact bytes (envelope and separator dropped, quoting undone)."""
    quoted = RD_QUOTED if fmt == "mboxrd" else O_QUOTED
    lines: list[bytes] | None = None  # None until the first envelope line
    for line in src:
        if line.startswith(b"From "):
            if lines is not None:
                yield finish(lines)
            lines = []
            continue
        if lines is None:
            if line.strip():
                raise SystemExit("mbox2maildir: input does not start with a 'From ' line")
            continue
        if line.startswith(b">") and quoted.match(line):
            line = line[1:]
        lines.append(line)
    if lines is not None:
        yield finish(lines)


def finish(lines: list[bytes]) -> bytes:
    """Join a message's lines, dropping the mbox separator (one trailing empty line)."""
    if len(lines) >= 1 and lines[-1] in (b"\n", b"\r\n"):
        # The empty line before the next "From " is the separator, not message content.
        # Quoting is undone already, so an empty last line cannot be a quoted one.
        lines = lines[:-1]
    return b"".join(lines)


def requote(msg: bytes, fmt: str) -> bytes:
    """Inverse of the unquoting step (used only by --check)."""
    pat = re.compile(rb"^(>*From )", re.M) if fmt == "mboxrd" else re.compile(rb"^(From )", re.M)
    return pat.sub(rb">\1", msg)


def check_against_mailbox(path: str, dest: str, fmt: str, count: int) -> None:
    """Compare every converted file with Python's mailbox reader (independent splitter)."""
    import mailbox
    import tempfile

    plain = path
    tmp = None
    if path.endswith(".zst"):
        tmp = tempfile.NamedTemporaryFile(suffix=".mbox", delete=False)
        subprocess.run(["zstd", "-dcq", "--", path], stdout=tmp, check=True)
        tmp.close()
        plain = tmp.name
    try:
        mb = mailbox.mbox(plain, create=False)
        names = sorted(os.listdir(os.path.join(dest, "cur")))
        n = 0
        for key, name in zip(mb.iterkeys(), names):
            theirs = mb.get_bytes(key)
            with open(os.path.join(dest, "cur", name), "rb") as f:
                ours = f.read()
            if requote(ours, fmt) != theirs:
                raise SystemExit(f"mbox2maildir: --check mismatch at message {n + 1} ({name})")
            n += 1
        if n != count or len(mb) != count:
            raise SystemExit(f"mbox2maildir: --check count mismatch: mailbox {len(mb)}, ours {count}")
        print(f"mbox2maildir: --check ok, {n} messages identical to mailbox.mbox", file=sys.stderr)
    finally:
        if tmp is not None:
            os.unlink(tmp.name)


def source_key(path: str) -> dict:
    st = os.stat(path)
    return {"source": os.path.abspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def convert(path: str, dest: str, fmt: str, force: bool) -> dict:
    manifest = dest.rstrip("/") + ".manifest.json"
    key = source_key(path)
    if not force and os.path.isdir(dest) and os.path.exists(manifest):
        with open(manifest) as f:
            old = json.load(f)
        if all(old.get(k) == v for k, v in key.items()) and old.get("format") == fmt:
            return {"maildir": dest, "messages": old["messages"], "bytes": old["bytes"], "cached": True}

    partial = dest.rstrip("/") + ".partial"
    for d in (partial, dest):
        if os.path.exists(d):
            shutil.rmtree(d)
    if os.path.exists(manifest):
        os.unlink(manifest)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(partial, sub))

    stem = os.path.basename(path).split(".")[0] or "mbox"
    count = 0
    total = 0
    with open_source(path) as src:
        for msg in iter_messages(src, fmt):
            count += 1
            total += len(msg)
            name = f"{count:06d}.trove-bench.{stem}:2,"
            with open(os.path.join(partial, "cur", name), "wb") as out:
                out.write(msg)
    os.rename(partial, dest)
    with open(manifest, "w") as f:
        json.dump({**key, "format": fmt, "messages": count, "bytes": total}, f)
        f.write("\n")
    return {"maildir": dest, "messages": count, "bytes": total, "cached": False}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="mbox file (.mbox or .mbox.zst)")
    ap.add_argument("dest", help="maildir to create (DEST/cur, new, tmp)")
    ap.add_argument("--format", choices=["mboxrd", "mboxo"], default="mboxrd")
    ap.add_argument("--force", action="store_true", help="rebuild even if cached")
    ap.add_argument("--check", action="store_true", help="verify against Python's mailbox module")
    args = ap.parse_args()
    res = convert(args.src, args.dest, args.format, args.force)
    if args.check:
        check_against_mailbox(args.src, args.dest, args.format, res["messages"])
    print(json.dumps(res))


if __name__ == "__main__":
    main()
