#!/usr/bin/env bash
# Search benchmark: trove vs notmuch vs mu on the io-uring corpus. One command:
#   bench/search/run.sh
# Env: CORPUS (default ../shared/data/corpora/lore-io-uring.mbox.zst), OUT (scratch,
# default bench/out/search), RUNS (timed runs per query and engine, default 5),
# FORCE_PEERS=1 (re-time the notmuch/mu builds instead of using the cached ones).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CORPUS=${CORPUS:-$REPO/../shared/data/corpora/lore-io-uring.mbox.zst}
export OUT=${OUT:-$REPO/bench/out/search}
[ -f "$CORPUS" ] || { echo "bench/search: corpus not found: $CORPUS" >&2; exit 2; }
for cmd in notmuch mu zstd; do
  command -v "$cmd" >/dev/null || { echo "bench/search: $cmd missing, running .ci/install-peers.sh" >&2; bash "$REPO/.ci/install-peers.sh"; break; }
done
(cd "$REPO" && cargo build -p trove && cargo build -p trove-search --example query_latency) >&2
"$REPO/bench/search/peers.sh"
exec python3 "$REPO/bench/search/bench.py" --trove "$REPO/target/debug/trove" \
  --latency "$REPO/target/debug/examples/query_latency" --out "$OUT" \
  --queries "$REPO/bench/search/queries.tsv" --results "$REPO/bench/search/RESULTS.md" \
  --runs "${RUNS:-5}" --corpus "$CORPUS"
