#!/usr/bin/env python3
"""Search benchmark: trove vs notmuch vs mu on the io-uring corpus (see run.sh).

Measures, in one run: trove's index build (ingest + index, and `trove reindex` alone) and
index size; notmuch's and mu's index build and size (peers.sh, cached because notmuch takes
minutes); then the fixed queries of queries.tsv in two tiers, each against its peer:
(a) whole processes: `trove search` (with and without --json facets), `notmuch search`,
`mu find`; (b) in-process: trove's examples/query_latency vs libnotmuch through
python3-notmuch2 (notmuch_inproc.py). p50/p99 latency per engine, ratios, hit counts.
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
    ap.add_argument("--notmuch-inproc", required=True, help="notmuch_inproc.py")
    ap.add_argument("--profile", default="release", help="cargo profile of the trove binaries")
    a = ap.parse_args()

    out = a.out
    load_before = open("/proc/loadavg").read().split()[:3]
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

    def inproc(cmd):
        r = sh(cmd)
        return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]

    # Tier (b), in-process: the index (or database) opened once, then each query run `runs`
    # times after a warm-up. trove: Index::search (20 hits with stored fields and snippets +
    # total); notmuch: libnotmuch through python3-notmuch2 (count + first 20 messages).
    ip_engines = {
        "trove in-process (relevance, snippets)": [a.latency],
        "trove in-process (date order, snippets)": [a.latency, "--sort", "date"],
        "trove in-process (relevance, snippets, facets)": [a.latency, "--facets"],
        # The same work as the notmuch side: count + 20 hits newest first with id, from,
        # subject and date, no snippet.
        "trove in-process (date order, no snippets: notmuch's work)": [
            a.latency, "--sort", "date", "--no-snippet"],
        "trove in-process (relevance, no snippets)": [a.latency, "--no-snippet"],
    }
    ip = {}
    for eng, cmd in ip_engines.items():
        ip[eng] = inproc(cmd + [os.path.join(vault, "index"), qfile, str(a.runs)])
    nq_file = os.path.join(out, "notmuch-queries.txt")
    with open(nq_file, "w") as f:
        for q in queries:
            f.write(q[2] + "\n")
    nm_ip = inproc(["/usr/bin/python3", a.notmuch_inproc, nm_cfg, nq_file, str(a.runs)])
    nm_overhead = nm_ip.pop()["overhead_us"]
    ip["notmuch in-process (python3-notmuch2, newest first)"] = nm_ip

    # Tier (a), whole processes (start, open, search, print 20 hits), engines interleaved
    # per query so that a change in machine load hits all of them alike.
    rows = []
    lat = {e: [] for e in ["trove search", "trove search --json (facets)", "notmuch search",
                           "mu find", "floor: trove --version (start + exit)",
                           "floor: /bin/true"]}
    ip_lat = {e: [] for e in ip}
    for i, (kind, tq, nq, mq) in enumerate(queries):
        row = {"kind": kind, "trove": tq, "notmuch": nq, "mu": mq}
        row["trove_total"] = ip["trove in-process (relevance, snippets)"][i]["total"]
        row["notmuch_inproc_total"] = nm_ip[i]["total"]
        for e in ip:
            us = ip[e][i]["us"]
            ip_lat[e] += [u / 1000 for u in us]
            row[e + "_ms"] = statistics.median(us) / 1000
        cmds = {
            "trove search": [a.trove, "--vault", vault, "search", "--limit", "20", tq],
            "trove search --json (facets)": [a.trove, "--vault", vault, "search", "--json",
                                             "--limit", "20", tq],
            "notmuch search": ["notmuch", f"--config={nm_cfg}", "search",
                               "--output=messages", "--limit=20", nq],
            "mu find": ["mu", "find", f"--muhome={mu_home}", "--maxnum=20", "--fields=i", mq],
            # What any process costs here, before it searches anything: a 10x lower p50
            # than notmuch's CLI has to fit above these.
            "floor: trove --version (start + exit)": [a.trove, "--version"],
            "floor: /bin/true": ["/bin/true"],
        }
        for eng, cmd in cmds.items():
            subprocess.run(cmd, capture_output=True, env=env)  # warm-up
        for _ in range(a.runs):
            for eng, cmd in cmds.items():
                t, r = timed(cmd, env=env)
                if eng.startswith("trove") and r.returncode not in (0, 1):
                    raise SystemExit(f"trove search {tq!r}: {r.stderr}")
                if eng == "trove search --json (facets)" and json.loads(r.stdout)["total"] != row["trove_total"]:
                    raise SystemExit(f"trove CLI and in-process totals differ for {tq!r}")
                row.setdefault(eng, []).append(t * 1000)
        for eng in cmds:
            lat[eng] += row[eng]
            row[eng + "_ms"] = statistics.median(row.pop(eng))
        row["notmuch_total"] = int(sh(["notmuch", f"--config={nm_cfg}", "count", nq],
                                      env=env).stdout.strip())
        r = subprocess.run(["mu", "find", f"--muhome={mu_home}", "--fields=i", mq],
                           capture_output=True, text=True, env=env)
        row["mu_total"] = len([l for l in r.stdout.splitlines() if l.strip()])
        rows.append(row)
        print(f"{kind:10} {tq[:40]:40} trove {row['trove_total']:6} notmuch "
              f"{row['notmuch_total']:6} mu {row['mu_total']:6}", flush=True)

    summary = {e: (pct(v, 50), pct(v, 99)) for e, v in lat.items() if v}
    ip_summary = {e: (pct(v, 50), pct(v, 99)) for e, v in ip_lat.items() if v}
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
        "inproc_latency": ip_summary,
        "notmuch_python_overhead_ms": (pct([u / 1000 for u in nm_overhead], 50),
                                       pct([u / 1000 for u in nm_overhead], 99)),
        "load_before": load_before,
        "load_after": open("/proc/loadavg").read().split()[:3],
        "profile": a.profile,
        "runs": a.runs,
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
    n_q = len(r["rows"])
    runs = r["runs"]
    lines = [
        "# bench/search — results",
        "",
        f"- Date: {r['date']}; machine: {r['machine']} (shared with other jobs: numbers are noisy)",
        f"- Load average (1, 5, 15 min) before: {' '.join(r['load_before'])}; after: "
        f"{' '.join(r['load_after'])}",
        f"- Corpus: `{os.path.basename(r['corpus'])}` as a maildir (33,494 files, 269 MB; "
        f"notmuch counts {r['messages_files']} messages after merging equal Message-IDs)",
        f"- Versions: {r['versions']['trove']}; {r['versions']['notmuch']}; {r['versions']['mu']}",
        f"- trove binaries (`trove`, `examples/query_latency`): cargo profile `{r['profile']}`.",
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
        "The notmuch and mu builds are timed by `peers.sh` and cached in `$OUT/peers.json` "
        "while the corpus and tool versions are unchanged (notmuch takes many minutes); trove "
        "is rebuilt and timed on every run.",
        "",
        f"## Query latency ({n_q} queries x {runs} runs, after one warm-up per query)",
        "",
        "### (a) Whole process: CLI vs CLI",
        "",
        "Each run starts the program, opens the index, searches and prints 20 hits. "
        "`trove search` prints 20 hits with snippets and the total; `--json` adds facets over "
        "every match. `notmuch search --output=messages --limit=20` prints 20 Message-IDs "
        "(newest first, no total); `mu find --maxnum=20 --fields=i` the same. Engines are "
        "interleaved run by run. The two `floor` rows start a process that does no search "
        "(`trove --version`, `/bin/true`): what any CLI pays on this machine before its work.",
        "",
        "| engine | p50 (ms) | p99 (ms) | p50: notmuch / engine | p99: notmuch / engine |",
        "|---|---:|---:|---:|---:|",
    ]
    L = r["latency"]
    base = L["notmuch search"]
    for e, (p50, p99) in L.items():
        lines.append(f"| {e} | {p50:.2f} | {p99:.2f} | {base[0] / p50:.2f}x | {base[1] / p99:.2f}x |")
    I = r["inproc_latency"]
    nm_key = [k for k in I if k.startswith("notmuch")][0]
    base = I[nm_key]
    ov = r["notmuch_python_overhead_ms"]
    lines += [
        "",
        "### (b) In-process: library vs library",
        "",
        "Index or database opened once; each run = count every match + the first 20 hits. "
        "trove: `Index::search` in `crates/trove-search/examples/query_latency.rs` (stored "
        "from, subject, date and a highlighted snippet per hit). notmuch: libnotmuch through "
        "Debian's `python3-notmuch2` (`bench/search/notmuch_inproc.py`: `count_messages` + "
        "first 20 of `messages(query)` newest first, with Message-ID, From, Subject, date).",
        "",
        "| engine | p50 (ms) | p99 (ms) | p50: notmuch / engine | p99: notmuch / engine |",
        "|---|---:|---:|---:|---:|",
    ]
    for e, (p50, p99) in I.items():
        lines.append(f"| {e} | {p50:.3f} | {p99:.3f} | {base[0] / p50:.1f}x | {base[1] / p99:.1f}x |")
    lines += [
        "",
        f"Python/cffi share of a notmuch in-process run: the same calls for a query that matches "
        f"nothing take p50 {ov[0]:.3f} ms (p99 {ov[1]:.3f} ms), an upper bound on the binding's "
        f"overhead per run.",
        "",
        "## Per query: hit counts and median latency (ms)",
        "",
        "| kind | trove query | trove hits | notmuch hits | mu hits | trove in-proc | "
        "notmuch in-proc | trove search | trove --json | notmuch search | mu find |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for x in r["rows"]:
        lines.append(
            f"| {x['kind']} | `{x['trove']}` | {x['trove_total']} | {x['notmuch_total']} | "
            f"{x['mu_total']} | {x['trove in-process (relevance, snippets)_ms']:.2f} | "
            f"{x[nm_key + '_ms']:.2f} | {x['trove search_ms']:.1f} | "
            f"{x['trove search --json (facets)_ms']:.1f} | {x['notmuch search_ms']:.1f} | "
            f"{x['mu find_ms']:.1f} |")
    lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
