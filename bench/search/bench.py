#!/usr/bin/env python3
"""Search benchmark: trove vs notmuch vs mu on the io-uring corpus (see run.sh).

Measures, in one run: trove's index build (ingest + index, and `trove reindex` alone) and
index size; notmuch's and mu's index build and size (peers.sh, cached because notmuch takes
minutes); then the fixed queries of queries.tsv against `trove search` (CLI, a process per
query), trove in-process (examples/query_latency), `notmuch search` and `mu find`: p50/p99
latency per engine, ratios, and hit counts side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import time


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def du(path: str) -> int:
    return int(sh(["du", "-sb", path]).stdout.split()[0])


def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def timed(cmd, env=None):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return time.perf_counter() - t, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trove", required=True)
    ap.add_argument("--latency", required=True, help="query_latency example binary")
    ap.add_argument("--out", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--corpus", required=True)
    a = ap.parse_args()

    out = a.out
    maildir = os.path.join(out, "maildir")
    peers = json.load(open(os.path.join(out, "peers.json")))
    nm_cfg = os.path.join(out, "notmuch", "config")
    mu_home = os.path.join(out, "mu")
    env = dict(os.environ, TZ="UTC")

    # trove: ingest (+ index update) into a fresh vault, then reindex alone.
    vault = os.path.join(out, "trove-vault")
    shutil.rmtree(vault, ignore_errors=True)
    sh([a.trove, "init", vault])
    sh(["sync"])
    t_ingest, r = timed([a.trove, "--vault", vault, "ingest", "--no-fsync", "--json", maildir])
    if r.returncode not in (0, 1):
        raise SystemExit(f"trove ingest failed: {r.stderr}")
    ingest = json.loads(r.stdout)
    t_reindex, r = timed([a.trove, "--vault", vault, "reindex", "--json"])
    if r.returncode != 0:
        raise SystemExit(f"trove reindex failed: {r.stderr}")
    reindex = json.loads(r.stdout)
    trove_index_bytes = du(os.path.join(vault, "index"))

    queries = []
    for line in open(a.queries):
        if line.startswith("#") or not line.strip():
            continue
        kind, tq, nq, mq = line.rstrip("\n").split("\t")
        queries.append((kind, tq, nq, mq))
    qfile = os.path.join(out, "trove-queries.txt")
    with open(qfile, "w") as f:
        for q in queries:
            f.write(q[1] + "\n")

    # In-process trove latency.
    if os.path.exists(a.latency):
        r = sh([a.latency, os.path.join(vault, "index"), qfile, str(a.runs)])
        inproc = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    else:
        print(f"bench/search: {a.latency} missing: no in-process figures", flush=True)
        inproc = [{"total": None, "us": []} for _ in queries]

    rows = []
    lat = {"trove (in-process)": [], "trove CLI": [], "notmuch": [], "mu": []}
    for (kind, tq, nq, mq), ip in zip(queries, inproc):
        row = {"kind": kind, "trove": tq, "notmuch": nq, "mu": mq, "trove_total": ip["total"]}
        lat["trove (in-process)"] += [u / 1000 for u in ip["us"]]
        row["inproc_ms"] = statistics.median(ip["us"]) / 1000 if ip["us"] else float("nan")
        cmds = {
            "trove CLI": [a.trove, "--vault", vault, "search", "--json", "--limit", "20", tq],
            "notmuch": ["notmuch", f"--config={nm_cfg}", "search", "--output=messages",
                        "--limit=20", nq],
            "mu": ["mu", "find", f"--muhome={mu_home}", "--maxnum=20", "--fields=i", mq],
        }
        for eng, cmd in cmds.items():
            subprocess.run(cmd, capture_output=True, env=env)  # warm-up
            ts = []
            for _ in range(a.runs):
                t, r = timed(cmd, env=env)
                if eng == "trove CLI" and r.returncode not in (0, 1):
                    raise SystemExit(f"trove search {tq!r}: {r.stderr}")
                if eng == "trove CLI" and row["trove_total"] is None:
                    row["trove_total"] = json.loads(r.stdout)["total"]
                ts.append(t * 1000)
            lat[eng] += ts
            row[eng + "_ms"] = statistics.median(ts)
        row["notmuch_total"] = int(sh(["notmuch", f"--config={nm_cfg}", "count", nq],
                                      env=env).stdout.strip())
        r = subprocess.run(["mu", "find", f"--muhome={mu_home}", "--fields=i", mq],
                           capture_output=True, text=True, env=env)
        row["mu_total"] = len([l for l in r.stdout.splitlines() if l.strip()])
        rows.append(row)
        print(f"{kind:10} {tq[:40]:40} trove {row['trove_total']:6} notmuch "
              f"{row['notmuch_total']:6} mu {row['mu_total']:6}", flush=True)

    summary = {e: (pct(v, 50), pct(v, 99)) for e, v in lat.items() if v}
    res = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "corpus": a.corpus,
        "messages_files": peers.get("notmuch_messages"),
        "trove": {"ingest_plus_index_s": t_ingest, "ingest_s": ingest.get("seconds"),
                  "reindex_s": t_reindex, "reindex_report": reindex,
                  "index_bytes": trove_index_bytes},
        "notmuch": {"build_s": peers["notmuch_s"], "bytes": peers["notmuch_bytes"]},
        "mu": {"build_s": peers["mu_s"], "bytes": peers["mu_bytes"]},
        "latency": summary,
        "rows": rows,
        "versions": {
            "trove": sh([a.trove, "--version"]).stdout.strip(),
            "notmuch": sh(["notmuch", "--version"]).stdout.strip(),
            "mu": sh(["mu", "--version"]).stdout.splitlines()[0],
        },
    }
    json.dump(res, open(os.path.join(out, "results.json"), "w"), indent=1)
    write_md(res, a.results)
    print(open(a.results).read())


def mib(b):
    return b / 1048576


def write_md(r, path):
    t, nm, mu = r["trove"], r["notmuch"], r["mu"]
    L = r["latency"]
    p50 = {k: v[0] for k, v in L.items()}
    p99 = {k: v[1] for k, v in L.items()}
    lines = [
        "# bench/search — results",
        "",
        f"- Date: {r['date']}; machine: {r['machine']} (shared with other jobs: numbers are noisy)",
        f"- Corpus: `{os.path.basename(r['corpus'])}` as a maildir (33,494 files, 269 MB; "
        f"notmuch counts {r['messages_files']} messages after merging equal Message-IDs)",
        f"- Versions: {r['versions']['trove']}; {r['versions']['notmuch']}; {r['versions']['mu']}",
        "- trove binary: dev profile (dependencies, tantivy included, at opt-level 2; trove's own "
        "crates unoptimised), since no release build fits the shared machine's time budget.",
        "- Command: `bench/search/run.sh` (one command).",
        "",
        "## Index build and size",
        "",
        "| engine | build (s) | index size (MiB) | vs notmuch build | vs notmuch size |",
        "|---|---:|---:|---:|---:|",
        f"| trove index (`trove reindex`: parse + extract + tantivy) | {t['reindex_s']:.1f} | "
        f"{mib(t['index_bytes']):.0f} | {nm['build_s'] / t['reindex_s']:.1f}x faster | "
        f"{nm['bytes'] / t['index_bytes']:.1f}x smaller |",
        f"| trove ingest + index (`trove ingest`, vault with raw blobs + SQLite, then index) | "
        f"{t['ingest_plus_index_s']:.1f} | {mib(t['index_bytes']):.0f} (index only) | "
        f"{nm['build_s'] / t['ingest_plus_index_s']:.1f}x faster | |",
        f"| notmuch (`notmuch new`) | {nm['build_s']:.1f} | {mib(nm['bytes']):.0f} | 1.0x | 1.0x |",
        f"| mu (`mu index`) | {mu['build_s']:.1f} | {mib(mu['bytes']):.0f} | "
        f"{nm['build_s'] / mu['build_s']:.1f}x faster | {nm['bytes'] / mu['bytes']:.1f}x smaller |",
        "",
        "The notmuch and mu builds are timed by `peers.sh` and cached in `bench/out/search/peers.json` "
        "while the corpus and tool versions are unchanged (notmuch takes minutes); trove is "
        "rebuilt and timed on every run.",
        "",
        "## Query latency (23 queries x runs, after one warm-up per query)",
        "",
        "| engine | p50 (ms) | p99 (ms) | p50 notmuch / engine |",
        "|---|---:|---:|---:|",
    ]
    for e in L:
        lines.append(f"| {e} | {p50[e]:.2f} | {p99[e]:.2f} | {p50['notmuch'] / p50[e]:.1f}x |")
    lines += [
        "",
        "CLI engines are measured as whole processes (start, open index, search, print 20 hits);",
        "in-process is `Index::search` with snippets, 20 hits, no facets.",
        "",
        "## Per query: hit counts and median latency",
        "",
        "| kind | trove query | trove hits | notmuch hits | mu hits | trove in-proc ms | trove CLI ms | notmuch ms | mu ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for x in r["rows"]:
        lines.append(
            f"| {x['kind']} | `{x['trove']}` | {x['trove_total']} | {x['notmuch_total']} | "
            f"{x['mu_total']} | {x['inproc_ms']:.2f} | {x['trove CLI_ms']:.1f} | "
            f"{x['notmuch_ms']:.1f} | {x['mu_ms']:.1f} |")
    lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
