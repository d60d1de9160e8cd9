#!/usr/bin/env bash
# Search benchmark: trove vs notmuch vs mu on the io-uring corpus. One command:
#   bench/search/run.sh            (run it under `flock /work/notes/bench.lock` on shared machines)
# Env: CORPUS (default ../shared/data/corpora/lore-io-uring.mbox.zst), OUT (scratch,
# default bench/out/search), RUNS (timed runs per query and engine, default 5),
# FORCE_PEERS=1 (re-time the notmuch/mu builds instead of using the cached ones).
# trove and the in-process example are built with the release profile.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CORPUS=${CORPUS:-$REPO/../shared/data/corpora/lore-io-uring.mbox.zst}
export OUT=${OUT:-$REPO/bench/out/search}
[ -f "$CORPUS" ] || { echo "bench/search: corpus not found: $CORPUS" >&2; exit 2; }
if ! command -v notmuch >/dev/null || ! command -v mu >/dev/null || ! command -v zstd >/dev/null \
  || ! /usr/bin/python3 -c 'import notmuch2' 2>/dev/null; then
  echo "bench/search: a peer is missing, running .ci/install-peers.sh" >&2
  bash "$REPO/.ci/install-peers.sh"
fi
# The workspace selection, as the project builds it: `-p trove` alone unifies features
# differently and rebuilds much of the dependency tree.
(cd "$REPO" && cargo build --release --workspace --bins --examples) >&2
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
"$REPO/bench/search/peers.sh"
exec python3 "$REPO/bench/search/bench.py" --trove "$TARGET/release/trove" \
  --latency "$TARGET/release/examples/query_latency" --out "$OUT" \
  --notmuch-inproc "$REPO/bench/search/notmuch_inproc.py" --profile release \
  --queries "$REPO/bench/search/queries.tsv" --results "$REPO/bench/search/RESULTS.md" \
  --runs "${RUNS:-5}" --corpus "$CORPUS"
