#!/usr/bin/env bash
# Ingest benchmark: trove vs `notmuch new` vs `mu index`, plus the read / read+BLAKE3 floor,
# on the io-uring corpus as a maildir. One command; read bench/ingest/README.md.
#
# Env:
#   TROVE_BIN    trove binary (default: <repo>/target/release/trove, built with
#                `cargo build --release -p trove` if missing; TROVE_BUILD=0 disables the build)
#   CORPUS       mbox(.zst) to use (default: <repo>/../shared/data/corpora/lore-io-uring.mbox.zst)
#   BENCH_OUT    scratch dir for the cached maildir and databases (default: <repo>/bench/out)
#   RUNS         repetitions per tool, median reported (default 3)
#   TOOLS        comma list among trove,notmuch,mu,b3sum,cat (default: all)
#   TROVE_INGEST_ARGS  extra arguments for `trove ingest` (e.g. --no-fsync), default none
#   RESULTS      markdown report (default: bench/ingest/RESULTS.md)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CORPUS=${CORPUS:-$REPO/../shared/data/corpora/lore-io-uring.mbox.zst}
BENCH_OUT=${BENCH_OUT:-$REPO/bench/out}
RUNS=${RUNS:-3}
TOOLS=${TOOLS:-trove,notmuch,mu,b3sum,cat}
RESULTS=${RESULTS:-$REPO/bench/ingest/RESULTS.md}

if [ ! -f "$CORPUS" ]; then
  echo "bench/ingest: corpus not found: $CORPUS (set CORPUS=...)" >&2
  exit 2
fi

# Peers: install them if any is missing (fast no-op when present).
for cmd in notmuch mu b3sum zstd /usr/bin/time; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    echo "bench/ingest: $cmd missing, running .ci/install-peers.sh"
    bash "$REPO/.ci/install-peers.sh"
    break
  fi
done

TROVE_BIN=${TROVE_BIN:-$REPO/target/release/trove}
trove_args=()
skip=""
if [ ! -x "$TROVE_BIN" ] && [ "${TROVE_BUILD:-1}" != 0 ] && [ "$TROVE_BIN" = "$REPO/target/release/trove" ]; then
  echo "bench/ingest: building trove (cargo build --release -p trove)"
  (cd "$REPO" && cargo build --release -p trove) || echo "bench/ingest: release build failed" >&2
fi
if [ ! -x "$TROVE_BIN" ]; then
  skip="binary not found at $TROVE_BIN"
elif ! probe=$("$TROVE_BIN" init "$(mktemp -u "${TMPDIR:-/tmp}/trove-probe.XXXXXX")" 2>&1); then
  skip="\`$TROVE_BIN init\` failed: $(printf '%s' "$probe" | head -c 300 | tr '\n' ' ')"
elif ! "$TROVE_BIN" ingest --help >/dev/null 2>&1; then
  skip="\`$TROVE_BIN ingest --help\` failed (no ingest subcommand yet)"
else
  trove_args=(--trove "$TROVE_BIN")
fi
rm -rf "${TMPDIR:-/tmp}"/trove-probe.* 2>/dev/null || true
if [ -n "$skip" ]; then
  echo "bench/ingest: SKIPPING trove: $skip; measuring the peers only"
  trove_args=(--trove-skip-reason "$skip")
fi

exec python3 "$REPO/bench/ingest/bench.py" --corpus "$CORPUS" --out "$BENCH_OUT" \
  --results "$RESULTS" --runs "$RUNS" --tools "$TOOLS" "${trove_args[@]}"
