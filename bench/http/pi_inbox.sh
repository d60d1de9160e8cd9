#!/usr/bin/env bash
# Builds (once, cached) the peer of bench/http: a public-inbox v2 archive of the
# whole corpus with its Xapian index (-L full, public-inbox's default), so
# public-inbox-httpd can serve the same messages and answer the same searches.
# The epoch is written the way public-inbox stores it (one commit per message,
# the raw message as file `m`) with git fast-import (bench/mirror/pi_fast_import.py):
# importing 33k messages through public-inbox-watch takes most of an hour here.
# Not timed. Usage: bench/http/pi_inbox.sh CORPUS OUTDIR   (then OUTDIR/inbox.done)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CORPUS=$1; W=$2
mkdir -p "$W"
stamp="$(basename "$CORPUS") $(stat -c '%s %Y' "$CORPUS")"
if [ -f "$W/inbox.done" ] && [ "$(cat "$W/inbox.done")" = "$stamp" ]; then exit 0; fi
export HOME=$W/pihome PI_CONFIG=$W/pihome/pi_config
rm -rf "$W/inbox" "$W/pihome" "$W/inbox.done"; mkdir -p "$HOME"
python3 "$REPO/bench/common/mbox2maildir.py" "$CORPUS" "$W/maildir" >/dev/null
public-inbox-init -V2 -L full bench "$W/inbox" http://127.0.0.1/bench bench@example.org
python3 "$REPO/bench/mirror/pi_fast_import.py" "$W/maildir" "$W/inbox/git/0.git"
s=$(date +%s)
nice public-inbox-index -L full "$W/inbox" >/dev/null
echo "public-inbox-index -L full took $(($(date +%s) - s)) s" | tee "$W/index-time.txt"
echo "$stamp" > "$W/inbox.done"
