#!/usr/bin/python3
"""In-process notmuch query latency for bench/search, the peer of trove's query_latency example.

Opens the notmuch database once through libnotmuch (Debian's python3-notmuch2 bindings, so run
it with the system /usr/bin/python3), then for each query of a file (one per line): one warm-up,
then RUNS timed runs of "count the matches + take the first 20 messages newest first with their
Message-ID, From, Subject and date" (what trove's in-process search returns per hit, minus the
snippet). Prints one JSON line per query: {"query", "total", "us": [...]}, and last a line
{"overhead_us": [...]} timing the same calls for a query that matches nothing, an upper bound on
what the Python/cffi layer adds to each run.

Usage: notmuch_inproc.py NOTMUCH_CONFIG QUERIES_FILE [RUNS]
"""

import json
import sys
import time

import notmuch2

LIMIT = 20


def one(db, q):
    total = db.count_messages(q, sort=notmuch2.Database.SORT.NEWEST_FIRST)
    got = []
    for m in db.messages(q, sort=notmuch2.Database.SORT.NEWEST_FIRST):
        got.append((m.messageid, m.header("from"), m.header("subject"), m.date))
        if len(got) == LIMIT:
            break
    return total, got


def timed(db, q, runs):
    total, _ = one(db, q)  # warm-up
    us = []
    for _ in range(runs):
        t = time.perf_counter()
        n, _ = one(db, q)
        us.append(int((time.perf_counter() - t) * 1e6))
        assert n == total
    return total, us


def main():
    cfg, qfile = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    db = notmuch2.Database(mode=notmuch2.Database.MODE.READ_ONLY, config=cfg)
    for q in open(qfile, encoding="utf-8"):
        q = q.rstrip("\n")
        if not q.strip():
            continue
        total, us = timed(db, q, runs)
        print(json.dumps({"query": q, "total": total, "us": us}), flush=True)
    _, us = timed(db, "id:no-such-message-id@bench.invalid", runs * 5)
    print(json.dumps({"overhead_us": us}), flush=True)


if __name__ == "__main__":
    main()
