#!/usr/bin/env bash
# Bring up a fresh mirror of the io-uring corpus published as 30 parts: trove mirror (from a
# `trove serve` node and from nginx serving the publication folder as static files) vs rsync
# of the same folder (local and over an rsync daemon on 127.0.0.1) vs public-inbox-clone of a
# public-inbox v2 archive of the same messages. Release build; everything on 127.0.0.1; warm
# page cache for every contender. Prints a table; results go in RESULTS.md by hand.
# Usage: bench/mirror/run.sh   (WORK=/path keeps the publication and inbox between runs;
#                               TROVE=/path/to/trove skips the release build;
#                               ROUNDS=n rounds, default 3; PREPARE=1 only builds the
#                               publication and the public-inbox archive, untimed)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data="$root/../shared/data/corpora/lore-io-uring.mbox.zst"
[ -f "$data" ] || { echo "skipped: $data not found"; exit 0; }
for p in rsync nginx public-inbox-clone public-inbox-httpd; do
  command -v "$p" >/dev/null || { echo "missing $p: run .ci/install-peers.sh"; exit 1; }
done
if [ -z "${TROVE:-}" ]; then
  cargo build --release -p trove --manifest-path "$root/Cargo.toml" >&2
fi
trove=${TROVE:-$root/target/release/trove}
W=${WORK:-$(mktemp -d)}
mkdir -p "$W"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_origin NAME CHECK START: picks a free port (P), runs `START` in the background (it
# must listen on $P) and waits until `CHECK` (a command testing that the server on $P answers
# as the expected protocol with the expected content) succeeds. A port picked by binding and
# closing a socket is free only until someone else binds it, so a server that dies or never
# answers correctly within 30 s (another server took its port: e.g. "invalid HTTP version"
# from an rsync daemon) is stopped and started again on a new port, up to 5 times. Origins
# are started one after the other, each up before the next port is picked, so they cannot
# pick each other's ports. Leaves the port in P and the server's pid in pids.
start_origin() {
  local name=$1 check=$2 start=$3 try pid i
  for try in 1 2 3 4 5; do
    P=$(port)
    eval "$start" & pid=$!
    for i in $(seq 150); do
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      if eval "$check" >/dev/null 2>&1; then pids+=("$pid"); echo "$name up on 127.0.0.1:$P"; return 0; fi
      sleep 0.2
    done
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    echo "$name: not answering on port $P (attempt $try), retrying on another port" >&2
  done
  echo "$name: could not be started" >&2; exit 1
}
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

# 1. The publication (cached in $W/pub when WORK is given).
if [ ! -f "$W/pub/releases/000030.json" ]; then
  rm -rf "$W/vault" "$W/pub"
  "$trove" init "$W/vault" >/dev/null
  "$trove" --vault "$W/vault" ingest -q --no-fsync "$data" >/dev/null
  "$trove" --vault "$W/vault" release plan --parts 30 --by count >/dev/null
  for _ in $(seq 30); do
    "$trove" --vault "$W/vault" release publish --no-fsync --valid-days 3650 --to "$W/pub" >/dev/null
  done
fi
files=$(find "$W/pub" -type f -not -path '*/.*' | wc -l)
bytes=$(find "$W/pub" -type f -not -path '*/.*' -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "publication: $files files, $bytes bytes"
ROUNDS=${ROUNDS:-3}
uptime

# 1b. public-inbox: a v2 inbox of the same messages (built once, cached), served by
#    public-inbox-httpd, cloned with public-inbox-clone.
#    The epoch is written the way public-inbox stores it (one commit per message, the raw
#    message as file `m`) with git fast-import: importing 33k messages through
#    public-inbox-watch takes most of an hour here, and the clone only transfers git objects.
export HOME=$W/pihome PI_CONFIG=$W/pihome/pi_config
if [ ! -f "$W/inbox.done" ]; then
  rm -rf "$W/inbox" "$W/pihome"; mkdir -p "$HOME"
  python3 "$root/bench/common/mbox2maildir.py" "$data" "$W/maildir" >/dev/null
  public-inbox-init -V2 -L basic bench "$W/inbox" http://127.0.0.1/bench bench@example.org
  python3 "$root/bench/mirror/pi_fast_import.py" "$W/maildir" "$W/inbox/git/0.git"
  public-inbox-index -L basic "$W/inbox" >/dev/null
  touch "$W/inbox.done"
fi
if [ -n "${PREPARE:-}" ]; then echo "prepared $W"; exit 0; fi

# 2. Origins: trove serve, nginx (static), rsync daemon, public-inbox-httpd. Each must serve
#    this publication (or inbox) before anything is timed.
desc="$W/pub/descriptor.json"
start_origin "trove serve" 'curl -fsS "http://127.0.0.1:$P/pub/descriptor.json" | cmp -s - "$desc"' \
  'exec "$trove" serve "$W/pub" --listen "127.0.0.1:$P" --rate-limit 0 >/dev/null 2>&1'
TP=$P
mkdir -p "$W/nginx"
nginx_conf() { cat > "$W/nginx/nginx.conf" <<NG
worker_processes 2; daemon off; pid $W/nginx/pid; error_log $W/nginx/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; keepalive_requests 100000;
  server { listen 127.0.0.1:$P; root $W/pub; location ~ /\. { deny all; } } }
NG
}
start_origin nginx 'curl -fsS "http://127.0.0.1:$P/descriptor.json" | cmp -s - "$desc"' \
  'nginx_conf; exec nginx -c "$W/nginx/nginx.conf" -p "$W/nginx"'
NP=$P
cat > "$W/rsyncd.conf" <<RS
pid file = $W/rsyncd.pid
use chroot = no
[pub]
  path = $W/pub
  read only = yes
RS
start_origin "rsync daemon" \
  'rm -f "$W/rsync-check"; rsync -q "rsync://127.0.0.1:$P/pub/descriptor.json" "$W/rsync-check" && cmp -s "$W/rsync-check" "$desc"' \
  'rm -f "$W/rsyncd.pid"; exec rsync --daemon --no-detach --config="$W/rsyncd.conf" --port="$P" --address=127.0.0.1'
RP=$P
start_origin public-inbox-httpd 'curl -fsS -o /dev/null "http://127.0.0.1:$P/bench/"' \
  'exec public-inbox-httpd -l "http://127.0.0.1:$P" > "$W/pi.log" 2>&1'
PP=$P

run_trove() { # name url extra-args…
  local name=$1 url=$2; shift 2
  rm -rf "$W/m-$name"
  sync # each contender starts with nothing of the previous one left to write back
  local t0; t0=$(now)
  "$trove" mirror -q --json "$url" "$W/m-$name" "$@" > "$W/m-$name.json"
  local t1; t1=$(now)
  local b; b=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$W/m-$name.json")
  printf '%-40s %8.2f s %12s bytes\n' "trove mirror ($name)" "$(secs "$t0" "$t1")" "$b"
  echo "$(secs "$t0" "$t1")" > "$W/t-$name"
}
run_piclone() { # public-inbox-clone of the v2 archive (usable only once indexed, below)
  rm -rf "$W/pi-clone"
  sync # each contender starts with nothing of the previous one left to write back
  local t0; t0=$(now)
  public-inbox-clone -q "http://127.0.0.1:$PP/bench" "$W/pi-clone" >/dev/null 2>&1
  local t1; t1=$(now)
  local b; b=$(du -sb "$W/pi-clone" | cut -f1)
  printf '%-40s %8.2f s %12s bytes (on disk)\n' "public-inbox-clone" "$(secs "$t0" "$t1")" "$b"
}
run_rsync() { # name src
  local name=$1 src=$2
  rm -rf "$W/r-$name"
  sync # each contender starts with nothing of the previous one left to write back
  local t0; t0=$(now)
  rsync -a --stats "$src" "$W/r-$name/" > "$W/r-$name.stats"
  local t1; t1=$(now)
  local b; b=$(awk -F': ' '/Total bytes received/ {gsub(",","",$2); print $2}' "$W/r-$name.stats")
  printf '%-40s %8.2f s %12s bytes\n' "rsync ($name)" "$(secs "$t0" "$t1")" "$b"
  echo "$(secs "$t0" "$t1")" > "$W/t-rsync-$name"
}

echo "--- fresh mirror of the whole publication ($files files) ---"
for round in $(seq "$ROUNDS"); do
  echo "round $round ($(uptime | sed 's/.*load/load/'))"
  find "$W/pub" -type f -exec cat {} + > /dev/null # warm cache for every contender
  run_rsync local "$W/pub/"
  run_rsync daemon "rsync://127.0.0.1:$RP/pub/"
  run_trove serve-nofsync "http://127.0.0.1:$TP/" --no-fsync
  run_trove serve "http://127.0.0.1:$TP/"
  run_trove nginx "http://127.0.0.1:$NP/"
  run_trove nginx-nobulk "http://127.0.0.1:$NP/" --no-bulk
  run_piclone
done
"$trove" publication verify "$W/m-serve" | tail -3

# 3. The clone is not usable before public-inbox-index has run over it (PI_INDEX=1: minutes).
if [ -n "${PI_INDEX:-}" ]; then
  t0=$(now)
  public-inbox-index "$W/pi-clone" >/dev/null 2>&1 || true
  t1=$(now)
  printf '%-40s %8.2f s\n' "public-inbox-index of the clone" "$(secs "$t0" "$t1")"
fi
