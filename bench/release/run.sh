#!/bin/sh
# Publish the whole io-uring corpus as 30 parts, then verify it; release build.
# Usage: bench/release/run.sh   (writes timings to stdout; results go in RESULTS.md by hand)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
data="$root/../shared/data/corpora/lore-io-uring.mbox.zst"
[ -f "$data" ] || { echo "skipped: $data not found"; exit 0; }
cargo build --release -p trove --manifest-path "$root/Cargo.toml"
trove="$root/target/release/trove"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$trove" init "$work/vault" >/dev/null
t0=$(date +%s.%N)
"$trove" --vault "$work/vault" ingest -q --no-fsync "$data" >/dev/null
t1=$(date +%s.%N)
"$trove" --vault "$work/vault" release plan --parts 30 --by count
t2=$(date +%s.%N)
i=0
while [ $i -lt 30 ]; do
  "$trove" --vault "$work/vault" release publish --to "$work/pub" >/dev/null
  i=$((i + 1))
done
t3=$(date +%s.%N)
"$trove" publication verify "$work/pub"
t4=$(date +%s.%N)
echo "ingest (no fsync):            $(echo "$t1 - $t0" | bc) s"
echo "publish 30 parts (fsync on):  $(echo "$t3 - $t2" | bc) s"
echo "verify:                       $(echo "$t4 - $t3" | bc) s"
echo "publication size:             $(du -sh "$work/pub" | cut -f1)"
