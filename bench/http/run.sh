#!/usr/bin/env bash
# HTTP benchmark: trove-web vs nginx (same message page as a static file, the
# ceiling) vs public-inbox-httpd (same message, the peer), wrk at 64 and 256
# connections. Usage: bench/http/run.sh [N_MESSAGES] [SECONDS]
# Writes bench/http/results.txt; summarise into bench/http/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-2000}; SECS=${2:-30}
CORPUS=${CORPUS:-../shared/data/corpora/lore-io-uring.mbox.zst}
W=$(mktemp -d /tmp/trove-bench-http.XXXX)
OUT=bench/http/results.txt
TP=18089; NP=18090; PP=18091
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

cargo build --release -p trove-web --example serve_corpus
EX=target/release/examples/serve_corpus
"$EX" "$CORPUS" "$N" "$W/pub" 127.0.0.1:$TP 0 > "$W/trove.log" 2>&1 & pids+=($!); TPID=$!
for _ in $(seq 300); do curl -sf -o /dev/null http://127.0.0.1:$TP/ && break; sleep 0.5; done
ID=$((N / 2))
MSG=/emailid/$ID
curl -sf http://127.0.0.1:$TP$MSG > "$W/msg.html"
MSGID=$(curl -sf http://127.0.0.1:$TP/api/messages/$ID | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["message_id"])')
WORD=$(curl -sf http://127.0.0.1:$TP/api/messages/$ID | python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]["subject"]; print(max(s.split(), key=len))')

# nginx: the same page as a static file.
mkdir -p "$W/nginx/www/emailid"; cp "$W/msg.html" "$W/nginx/www/emailid/$ID"
cat > "$W/nginx/nginx.conf" <<NG
worker_processes 1; daemon off; pid $W/nginx/pid; error_log $W/nginx/error.log;
events { worker_connections 4096; }
http { access_log off; default_type text/html;
  server { listen 127.0.0.1:$NP; root $W/nginx/www; } }
NG
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" & pids+=($!); NPID=$!
sleep 1

# public-inbox: a v2 inbox of the same messages, imported by public-inbox-watch.
PI=0
python3 - "$CORPUS" "$N" "$W/maildir" <<'PY' || true
import sys, os, subprocess
corpus, n, md = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for d in ("cur", "new", "tmp"): os.makedirs(os.path.join(md, d), exist_ok=True)
data = subprocess.run(["zstd", "-dc", corpus], capture_output=True, check=True).stdout
msgs, cur = [], None
import re
for line in data.split(b"\n"):
    if line.startswith(b"From "):
        if cur is not None:
            msgs.append(cur)
            if len(msgs) >= n: break
        cur = []
        continue
    if cur is None: continue
    if re.match(rb"^>+From ", line): line = line[1:]
    cur.append(line)
for i, m in enumerate(msgs[:n]):
    open(os.path.join(md, "new", "%08d.bench:2," % i), "wb").write(b"\n".join(m) + b"\n")
PY
if [ -d "$W/maildir/new" ]; then
  export HOME=$W/pihome PI_CONFIG=$W/pihome/pi_config; mkdir -p "$HOME"
  public-inbox-init -V2 -L full bench "$W/inbox" http://127.0.0.1:$PP/bench bench@example.org
  git config -f "$PI_CONFIG" publicinbox.bench.watch "maildir:$W/maildir"
  git config -f "$PI_CONFIG" publicinboxwatch.spamcheck none || true
  public-inbox-watch > "$W/watch.log" 2>&1 & WPID=$!
  prev=-1
  for _ in $(seq 600); do
    sleep 2
    sz=$(du -s "$W/inbox" | cut -f1)
    [ "$sz" = "$prev" ] && break; prev=$sz
  done
  kill $WPID 2>/dev/null || true
  public-inbox-index "$W/inbox" >/dev/null 2>&1 || true
  public-inbox-httpd -l http://127.0.0.1:$PP > "$W/pi.log" 2>&1 & pids+=($!); PPID2=$!
  sleep 3
  PIURL=http://127.0.0.1:$PP/bench/$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="@.+-_"))' "$MSGID")/
  curl -sf -o /dev/null "$PIURL" && PI=1 || echo "public-inbox did not serve $PIURL" >&2
fi

rss() { awk '/VmRSS/{print $2" kB"}' /proc/"$1"/status 2>/dev/null || echo "?"; }
bench() { # name pid url conns
  local r; r=$(wrk -t2 -c"$4" -d"${SECS}s" --latency "$3" 2>&1)
  local rps p99 err
  rps=$(echo "$r" | awk '/Requests\/sec/{print $2}')
  p99=$(echo "$r" | awk '$1=="99%"{print $2}')
  err=$(echo "$r" | awk '/Non-2xx|Socket errors/{print}' | tr '\n' ' ')
  printf '%-22s c=%-4s req/s=%-10s p99=%-9s rss=%-10s errors=%s\n' "$1" "$4" "$rps" "$p99" "$(rss "$2")" "${err:-0}" | tee -a "$OUT"
}
echo "# $(date -u) N=$N secs=$SECS corpus=$(basename "$CORPUS") message=$MSG search=$WORD" | tee "$OUT"
for c in 64 256; do
  bench "trove message" $TPID "http://127.0.0.1:$TP$MSG" $c
  bench "nginx static" $NPID "http://127.0.0.1:$NP$MSG" $c
  [ $PI = 1 ] && bench "public-inbox message" $PPID2 "$PIURL" $c
  bench "trove search" $TPID "http://127.0.0.1:$TP/search?q=$WORD" $c
done
# Rate limiting on: one client flooding gets 429s.
kill $TPID; sleep 1
"$EX" "$CORPUS" "$N" "$W/pub" 127.0.0.1:$TP 50 > "$W/trove2.log" 2>&1 & pids+=($!); TPID=$!
sleep 2
bench "trove msg rate=50/s" $TPID "http://127.0.0.1:$TP$MSG" 64
