#!/usr/bin/env bash
# The repeated-search cells of run.sh alone at the issue's 30 s per cell (64 and 256 connections,
# API and page), for a quick recheck. Usage: flock /work/notes/bench.lock bench/http/search_30s.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
W=$(mktemp -d /tmp/s30.XXXX); TP=18189
taskset -c 1 target/release/examples/serve_corpus ../shared/data/corpora/lore-io-uring.mbox.zst all "$W/pub" 127.0.0.1:$TP 0 > "$W/log" 2>&1 &
SP=$!
trap 'kill $SP 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 600); do curl -sf -o /dev/null http://127.0.0.1:$TP/ && break; sleep 0.5; done
TOTAL=$(curl -sf http://127.0.0.1:$TP/api/publication | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"])')
for _ in $(seq 1200); do
  n=$(curl -sf "http://127.0.0.1:$TP/api/search?q=zzz&facets=false" | python3 -c 'import json,sys; print(json.load(sys.stdin)["indexed"])' || echo -1)
  [ "$n" = "$TOTAL" ] && break; sleep 0.5
done
echo "# $(date -u) indexed=$n load: $(cut -d' ' -f1-3 /proc/loadavg)"
for path in "/api/search?q=balance+ratelimited" "/search?q=balance+ratelimited"; do
  for c in 64 256; do
    echo "== $path c=$c 30s"
    taskset -c 0 wrk -t1 -c$c -d30s --latency "http://127.0.0.1:$TP$path" | grep -E "Requests/sec|99%|Socket errors|Non-2xx|requests in"
  done
done
echo "# done $(date -u) load: $(cut -d' ' -f1-3 /proc/loadavg)"
