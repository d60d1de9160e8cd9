#!/usr/bin/env python3
"""Ingest benchmark: trove vs `notmuch new` vs `mu index` on the same maildir.

Called by bench/ingest/run.sh (read bench/ingest/README.md). Each tool gets a fresh
database per run; the maildir is read once before every run so all tools start with a
warm page cache (dropping caches is not possible here). Wall time is measured around
the one timed command; peak RSS and CPU time come from GNU `/usr/bin/time -v`.
Setup steps (`notmuch` config file, `mu init`, `trove init`) are not timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import mbox2maildir  # noqa: E402

GNU_TIME = "/usr/bin/time"


@dataclass
class Run:
    seconds: float
    rss_kib: int
    cpu_s: float
    extra: dict = field(default_factory=dict)


@dataclass
class Tool:
    name: str
    command: str  # shown in RESULTS.md
    runs: list[Run] = field(default_factory=list)
    checks: dict = field(default_factory=dict)
    kind: str = "peer"  # "trove", "peer" or "floor"

    def median_s(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    def median_rss_mib(self) -> float:
        return statistics.median(r.rss_kib for r in self.runs) / 1024

    def median_cpu(self) -> float:
        return statistics.median(r.cpu_s for r in self.runs)


def sh(cmd: list[str] | str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, shell=isinstance(cmd, str), **kw)


def warm(maildir: str) -> None:
    """Read every file once so the page cache holds the maildir for every tool alike."""
    subprocess.run(
        "find . -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True, cwd=maildir
    )


def timed(cmd: list[str], workdir: str, label: str, cwd: str | None = None) -> tuple[Run, str]:
    """Run cmd under GNU time -v; return (Run, stdout). Raise with stderr on failure."""
    tfile = os.path.join(workdir, f"{label}.time")
    out = os.path.join(workdir, f"{label}.stdout")
    err = os.path.join(workdir, f"{label}.stderr")
    with open(out, "w") as o, open(err, "w") as e:
        t0 = time.perf_counter()
        p = subprocess.run([GNU_TIME, "-v", "-o", tfile, *cmd], stdout=o, stderr=e, cwd=cwd)
        secs = time.perf_counter() - t0
    if p.returncode != 0:
        with open(err) as e:
            tail = e.read()[-2000:]
        raise RuntimeError(f"{label}: exit {p.returncode}: {' '.join(cmd)}\n{tail}")
    with open(tfile) as f:
        tv = f.read()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv).group(1))
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", tv).group(1))
    syst = float(re.search(r"System time \(seconds\): ([\d.]+)", tv).group(1))
    with open(out) as f:
        stdout = f.read()
    return Run(secs, rss, user + syst), stdout


def fresh(path: str) -> str:
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def bench_notmuch(maildir: str, work: str, i: int) -> Run:
    d = fresh(os.path.join(work, "notmuch"))
    db = os.path.join(d, "db")
    os.makedirs(db)
    cfg = os.path.join(d, "config")
    with open(cfg, "w") as f:
        f.write(
            f"[database]\npath={db}\nmail_root={maildir}\n"
            "[user]\nname=Bench\nprimary_email=bench@example.invalid\n"
            "[new]\ntags=unread;inbox\nignore=\n"
            "[search]\nexclude_tags=\n[maildir]\nsynchronize_flags=true\n"
        )
    run, _ = timed(["notmuch", f"--config={cfg}", "new"], work, f"notmuch-{i}")
    msgs = int(sh(["notmuch", f"--config={cfg}", "count", "*"]).stdout.strip())
    files = int(sh(["notmuch", f"--config={cfg}", "count", "--output=files", "*"]).stdout.strip())
    run.extra = {"messages": msgs, "files": files, "db_bytes": du(db)}
    return run


def bench_mu(maildir: str, work: str, i: int) -> Run:
    home = fresh(os.path.join(work, "mu"))
    sh(["mu", "init", f"--muhome={home}", f"--maildir={maildir}", "--my-address=bench@example.invalid"])
    run, _ = timed(["mu", "index", f"--muhome={home}"], work, f"mu-{i}")
    found = sh(["mu", "find", f"--muhome={home}", ""]).stdout.count("\n")
    nodup = sh(["mu", "find", f"--muhome={home}", "--skip-dups", ""]).stdout.count("\n")
    run.extra = {"documents": found, "skip_dups": nodup, "db_bytes": du(home)}
    return run


def bench_trove(trove: str, maildir: str, work: str, i: int) -> Run:
    d = fresh(os.path.join(work, "trove"))
    vault = os.path.join(d, "vault")
    sh([trove, "init", vault])
    extra = os.environ.get("TROVE_INGEST_ARGS", "").split()
    run, out = timed([trove, "--vault", vault, "ingest", maildir, "--json", *extra], work, f"trove-{i}")
    obj = None
    for line in reversed(out.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            obj = json.loads(line)
            break
    if obj is None:
        try:
            obj = json.loads(out)
        except json.JSONDecodeError:
            raise RuntimeError(f"trove ingest --json printed no JSON object: {out[:500]!r}")
    run.extra = {k: obj.get(k) for k in ("seen", "stored", "duplicates", "unparseable")}
    run.extra["db_bytes"] = du(vault)
    return run


def bench_b3sum(maildir: str, work: str, i: int) -> Run:
    run, _ = timed(["sh", "-c", "find . -type f -print0 | xargs -0 b3sum > /dev/null"], work, f"b3sum-{i}",
                   cwd=os.path.join(maildir, "cur"))
    return run


def bench_cat(maildir: str, work: str, i: int) -> Run:
    run, _ = timed(["sh", "-c", "find . -type f -print0 | xargs -0 cat > /dev/null"], work, f"cat-{i}",
                   cwd=os.path.join(maildir, "cur"))
    return run


def du(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


def corpus_stats(maildir: str) -> dict:
    """What the count checks should show: exact duplicates and repeated Message-IDs."""
    import hashlib

    digests: set[bytes] = set()
    mids: dict[bytes, int] = {}
    no_mid = 0
    cur = os.path.join(maildir, "cur")
    names = os.listdir(cur)
    mid_re = re.compile(rb"^message-id:[ \t]*(?:\r?\n[ \t]+)?(<[^>]*>|\S+)", re.I | re.M)
    for name in names:
        with open(os.path.join(cur, name), "rb") as f:
            b = f.read()
        digests.add(hashlib.sha256(b).digest())
        head = re.split(rb"\r?\n\r?\n", b, maxsplit=1)[0]
        m = mid_re.search(head)
        if m:
            mids[m.group(1)] = mids.get(m.group(1), 0) + 1
        else:
            no_mid += 1
    return {"exact_dups": len(names) - len(digests), "distinct_mids": len(mids),
            "mid_repeats": sum(c - 1 for c in mids.values()), "no_mid": no_mid}


def version(cmd: list[str]) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except Exception as e:  # a version string is informative only
        return f"unknown ({e})"


def machine() -> dict:
    model = ""
    for line in sh(["lscpu"]).stdout.splitlines():
        if line.startswith("Model name"):
            model = line.split(":", 1)[1].strip()
    mem = sh(["free", "-h"]).stdout.splitlines()[1].split()[1]
    return {"nproc": sh(["nproc"]).stdout.strip(), "cpu": model, "mem": mem,
            "kernel": sh(["uname", "-r"]).stdout.strip()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True, help="scratch dir (maildir cache, databases, logs)")
    ap.add_argument("--results", required=True, help="markdown file to write")
    ap.add_argument("--trove", help="trove binary; omitted = skip trove")
    ap.add_argument("--trove-skip-reason", default="")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tools", default="trove,notmuch,mu,b3sum,cat")
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    load_start = os.getloadavg()[0]
    stem = os.path.basename(args.corpus).split(".")[0]
    maildir = os.path.abspath(os.path.join(args.out, f"{stem}.maildir"))
    t0 = time.perf_counter()
    conv = mbox2maildir.convert(args.corpus, maildir, "mboxrd", force=False)
    n = conv["messages"]
    print(f"maildir: {maildir}: {n} messages, {conv['bytes']} bytes "
          f"({'cached' if conv['cached'] else f'converted in {time.perf_counter() - t0:.1f} s'})")

    work = os.path.abspath(os.path.join(args.out, "ingest"))
    fresh(work)
    wanted = args.tools.split(",")
    tools: list[Tool] = []
    if "trove" in wanted and args.trove:
        extra = os.environ.get("TROVE_INGEST_ARGS", "")
        tools.append(Tool("trove", f"trove --vault V ingest MAILDIR --json {extra}".rstrip(), kind="trove"))
    if "notmuch" in wanted:
        tools.append(Tool("notmuch", "notmuch --config=F new"))
    if "mu" in wanted:
        tools.append(Tool("mu", "mu index --muhome=H"))
    if "b3sum" in wanted:
        tools.append(Tool("floor: read + BLAKE3 (b3sum)", "find cur -type f -print0 | xargs -0 b3sum", kind="floor"))
    if "cat" in wanted:
        tools.append(Tool("floor: read only (cat)", "find cur -type f -print0 | xargs -0 cat", kind="floor"))
    fns = {
        "trove": lambda i: bench_trove(args.trove, maildir, work, i),
        "notmuch": lambda i: bench_notmuch(maildir, work, i),
        "mu": lambda i: bench_mu(maildir, work, i),
        "floor: read + BLAKE3 (b3sum)": lambda i: bench_b3sum(maildir, work, i),
        "floor: read only (cat)": lambda i: bench_cat(maildir, work, i),
    }
    failures: dict[str, str] = {}
    # Interleave the runs (round i of every tool, then round i+1) so slow drift in the
    # machine's load hits every tool alike.
    for i in range(1, args.runs + 1):
        for t in tools:
            if t.name in failures:
                continue
            warm(maildir)
            try:
                r = fns[t.name](i)
            except Exception as e:  # report and go on with the others
                failures[t.name] = str(e)
                print(f"  {t.name}: FAILED: {e}", file=sys.stderr)
                continue
            t.runs.append(r)
            print(f"  run {i} {t.name}: {r.seconds:.2f} s, {n / r.seconds:,.0f} msg/s, "
                  f"peak RSS {r.rss_kib / 1024:.0f} MiB, CPU {r.cpu_s:.1f} s {r.extra or ''}", flush=True)
    # Database sizes are measured inside each run; clean the last run's databases away.
    for sub in ("notmuch", "mu", "trove"):
        shutil.rmtree(os.path.join(work, sub), ignore_errors=True)

    done = [t for t in tools if t.runs]
    trove = next((t for t in done if t.kind == "trove"), None)

    def ratio(t: Tool, cpu: bool = False) -> str:
        if trove is None:
            return "n/a"
        if t is trove:
            return "1.00"
        if cpu:
            return f"{t.median_cpu() / trove.median_cpu():.2f}" if trove.median_cpu() > 0 else "n/a"
        return f"{t.median_s() / trove.median_s():.2f}"

    hdr = ("| tool | seconds (median of {}) | messages/s | peak RSS MiB | CPU s (user+sys) | "
           "ratio: tool s / trove s | ratio by CPU s |").format(args.runs)
    lines = [hdr, "|---|---:|---:|---:|---:|---:|---:|"]
    for t in done:
        lines.append(f"| {t.name} | {t.median_s():.2f} | {n / t.median_s():,.0f} | {t.median_rss_mib():.1f} | "
                     f"{t.median_cpu():.1f} | {ratio(t)} | {ratio(t, cpu=True)} |")
    table = "\n".join(lines)

    verdicts = []
    if trove is not None:
        rate = n / trove.median_s()
        for peer, goal in (("notmuch", 5.0), ("mu", 2.0)):
            p = next((t for t in done if t.name == peer), None)
            if p is not None:
                x = p.median_s() / trove.median_s()
                verdicts.append(f"- trove vs {peer}: {x:.2f}x messages/s (goal >= {goal:g}x): "
                                f"{'MET' if x >= goal else 'NOT MET'}")
        last = trove.runs[-1].extra
        try:
            total = int(last.get("stored")) + int(last.get("duplicates"))
            verdicts.append(f"- trove counts (last run): seen {last.get('seen')}, stored {last.get('stored')}, "
                            f"duplicates {last.get('duplicates')}, unparseable {last.get('unparseable')}; "
                            f"stored + duplicates = {total} vs {n} files: {'OK' if total == n else 'MISMATCH'}")
        except (TypeError, ValueError):
            verdicts.append(f"- trove counts (last run): unexpected JSON {json.dumps(last)}")
        rss = trove.median_rss_mib()
        verdicts.append(f"- trove peak RSS {rss:.0f} MiB (goal < 500 MiB): {'MET' if rss < 500 else 'NOT MET'}")
        floor = next((t for t in done if t.name.startswith("floor: read + BLAKE3")), None)
        if floor is not None:
            verdicts.append(f"- trove takes {trove.median_s() / floor.median_s():.1f}x the read+BLAKE3 floor "
                            f"({rate:,.0f} vs {n / floor.median_s():,.0f} msg/s)")
    else:
        verdicts.append(f"- trove not measured: {args.trove_skip_reason or 'no binary'}")

    checks = []
    for t in done:
        ex = [r.extra for r in t.runs if r.extra]
        if ex:
            checks.append(f"- {t.name}: " + "; ".join(f"run {i + 1}: {json.dumps(e)}" for i, e in enumerate(ex)))
    raw = []
    for t in done:
        raw.append(f"- {t.name}: " + ", ".join(f"{r.seconds:.2f} s / {r.rss_kib / 1024:.0f} MiB" for r in t.runs))

    m = machine()
    st = corpus_stats(maildir)
    vers = {
        "trove": version([args.trove, "--version"]) if args.trove else "not measured",
        "notmuch": version(["notmuch", "--version"]),
        "mu": version(["mu", "--version"]),
        "b3sum": version(["b3sum", "--version"]),
        "GNU time": "Debian time " + version(["dpkg-query", "-W", "-f=${Version}", "time"]),
    }
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = f"""# Ingest benchmark results

Produced by `bench/ingest/run.sh` (see `bench/ingest/README.md`). Do not edit by hand.

- Date: {now}
- Corpus: `{os.path.basename(args.corpus)}` converted to a maildir by `bench/common/mbox2maildir.py`
  (byte-exact, mboxrd unquoted): {n:,} files in `cur/`, {conv['bytes']:,} bytes of messages.
  {st['exact_dups']:,} files are exact byte duplicates of another; {st['mid_repeats']:,} files repeat a
  Message-ID ({st['distinct_mids']:,} distinct Message-IDs, {st['no_mid']:,} files without one).
- Machine: {m['nproc']} CPUs, {m['cpu']}, {m['mem']} RAM, Linux {m['kernel']}
- Versions: {'; '.join(f'{k}: {v}' for k, v in vers.items())}
- Method: each tool gets a fresh database every run; runs are interleaved (round 1 of every tool,
  then round 2, ...); the maildir is read once with `cat` before every run, so every tool starts with
  a warm page cache (dropping caches is not possible on this machine). Wall time is measured around
  the one timed command; peak RSS ("Maximum resident set size") and CPU time come from GNU `time -v`.
  Not timed: writing the notmuch config, `mu init`, `trove init`. messages/s = {n:,} files / seconds
  for every tool (notmuch and mu merge files sharing a Message-ID, trove merges exact duplicates).
  Ratio > 1 means trove is that many times faster. The machine has 2 cores shared with other
  work (1-min load average at start {load_start:.1f}, at end {os.getloadavg()[0]:.1f}), so wall times are noisy;
  CPU seconds (user+sys, all threads) are steadier and given as a second ratio.

{table}

{chr(10).join(verdicts)}

## Commands timed

{chr(10).join(f'- {t.name}: `{t.command}`' for t in done)}

## Every run (seconds / peak RSS)

{chr(10).join(raw)}

## Count checks (after each run)

{chr(10).join(checks) if checks else '- none'}
"""
    if failures:
        md += "\n## Failures\n\n" + "\n".join(f"- {k}: `{v.splitlines()[0]}`" for k, v in failures.items()) + "\n"
    with open(args.results, "w") as f:
        f.write(md)
    with open(os.path.join(args.out, "ingest-results.json"), "w") as f:
        json.dump({t.name: [r.__dict__ for r in t.runs] for t in done}, f, indent=1)
    print()
    print(table)
    print()
    print("\n".join(verdicts))
    print(f"\nwritten: {args.results}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
