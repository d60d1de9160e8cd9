#!/usr/bin/env bash
# Build the notmuch and mu indexes of the io-uring maildir, timed, for bench/search.
# Called by run.sh; results cached in $OUT/peers.json (reused while the corpus is unchanged,
# because notmuch takes minutes; FORCE_PEERS=1 rebuilds).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CORPUS=${CORPUS:-$REPO/../shared/data/corpora/lore-io-uring.mbox.zst}
OUT=${OUT:-$REPO/bench/out/search}
mkdir -p "$OUT"
MAILDIR=$OUT/maildir
python3 "$REPO/bench/common/mbox2maildir.py" "$CORPUS" "$MAILDIR" >&2
stamp="$(stat -c '%s %Y' "$CORPUS") $(notmuch --version) $(mu --version | head -1)"
if [ -f "$OUT/peers.json" ] && [ "${FORCE_PEERS:-0}" != 1 ] && grep -qF "\"stamp\": \"$stamp\"" "$OUT/peers.json"; then
  echo "bench/search: peer indexes cached ($OUT/peers.json)" >&2
  exit 0
fi
rm -rf "$OUT/notmuch" "$OUT/mu" "$OUT/peers.json"
mkdir -p "$OUT/notmuch/db" "$OUT/mu"
cat >"$OUT/notmuch/config" <<CFG
[database]
path=$OUT/notmuch/db
mail_root=$MAILDIR
[user]
name=Bench
primary_email=bench@example.invalid
[new]
tags=inbox
ignore=
[search]
exclude_tags=
[maildir]
synchronize_flags=false
CFG
sync
t0=$(date +%s.%N)
notmuch --config="$OUT/notmuch/config" new >&2
t1=$(date +%s.%N)
mu init --muhome="$OUT/mu" --maildir="$MAILDIR" --my-address=bench@example.invalid >&2
sync
t2=$(date +%s.%N)
mu index --muhome="$OUT/mu" >&2
t3=$(date +%s.%N)
nm_bytes=$(du -sb "$OUT/notmuch/db" | cut -f1)
mu_bytes=$(du -sb "$OUT/mu/xapian" 2>/dev/null | cut -f1 || du -sb "$OUT/mu" | cut -f1)
nm_msgs=$(notmuch --config="$OUT/notmuch/config" count '*')
python3 - "$OUT/peers.json" <<PY
import json,sys
json.dump({"stamp": "$stamp", "notmuch_s": $t1-$t0, "mu_s": $t3-$t2,
           "notmuch_bytes": $nm_bytes, "mu_bytes": $mu_bytes, "notmuch_messages": $nm_msgs},
          open(sys.argv[1], "w"), indent=0)
PY
cat "$OUT/peers.json" >&2
