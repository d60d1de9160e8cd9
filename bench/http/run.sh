#!/usr/bin/env bash
# HTTP benchmark, one command: trove-web vs nginx (the publication's own
# static files and the message page saved as a file: the floor for raw/blob
# paths and the ceiling for pages) vs public-inbox-httpd (same messages, the
# peer), wrk at 64 and 256 connections; full-text search (trove /api/search
# and /search vs public-inbox's Xapian search when its WWW has it); and a
# flood from one client with the rate limiter on and off, measuring what a
# second client (another source address) still gets.
#
# Usage: bench/http/run.sh [N_MESSAGES] [SECONDS]    (needs wrk, nginx,
# public-inbox, curl: bash .ci/install-peers.sh). Writes bench/http/results.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-3000}; SECS=${2:-15}
CORPUS=${CORPUS:-../shared/data/corpora/lore-io-uring.mbox.zst}
W=$(mktemp -d /tmp/trove-bench-http.XXXX)
chmod 755 "$W"
OUT=bench/http/results.txt
TP=18089; NP=18090; PP=18091
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
for t in wrk nginx curl python3; do command -v $t >/dev/null || { echo "missing $t: bash .ci/install-peers.sh" >&2; exit 2; }; done

cargo build --release -p trove-web --example serve_corpus
EX=target/release/examples/serve_corpus
start_trove() { # rate log
  "$EX" "$CORPUS" "$N" "$W/pub" 127.0.0.1:$TP "$1" > "$W/$2" 2>&1 & pids+=($!); TPID=$!
  for _ in $(seq 600); do curl -sf -o /dev/null http://127.0.0.1:$TP/ && break; sleep 0.5; done
  # Wait for the full-text index (the substring fallback answers until then).
  local t0=$(date +%s.%N)
  for _ in $(seq 3000); do
    curl -sf "http://127.0.0.1:$TP/api/search?q=zzz&facets=false" | grep -q '"engine":"fulltext"' && break
    sleep 0.2
  done
  INDEX_SECS=$(python3 -c "import time;print(round(time.time()-$t0,1))")
}
start_trove 0 trove.log
ID=$((N / 2))
MSG=/emailid/$ID
curl -sf http://127.0.0.1:$TP$MSG > "$W/msg.html"
META=$(curl -sf http://127.0.0.1:$TP/api/messages/$ID)
MSGID=$(echo "$META" | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["message_id"])')
BLOB=$(echo "$META" | python3 -c 'import json,sys; b=json.load(sys.stdin)["blob"]; print(b[:2]+"/"+b[2:])')
# A two-word search from the message's subject (letters only), as a reader would type it.
WORDS=$(echo "$META" | python3 -c '
import json,sys,re
s=json.load(sys.stdin)["summary"]["subject"]
w=[x for x in re.findall(r"[A-Za-z]{4,}", s) if x.lower() not in ("patch","re","fwd")]
print("+".join(sorted(w, key=len)[-2:]) or "uring")')

# nginx: the publication folder as static files (blobs are the raw sources),
# and the message page saved as a static file.
mkdir -p "$W/nginx/www/emailid"; cp "$W/msg.html" "$W/nginx/www/emailid/$ID"
chmod -R a+rX "$W/pub" "$W/nginx"
cat > "$W/nginx/nginx.conf" <<NG
user root; worker_processes 1; daemon off; pid $W/nginx/pid; error_log $W/nginx/error.log;
events { worker_connections 4096; }
http { access_log off; default_type text/html; sendfile on;
  server { listen 127.0.0.1:$NP;
    location /emailid/ { root $W/nginx/www; }
    location /pub/ { alias $W/pub/; default_type application/octet-stream; } } }
NG
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" & pids+=($!); NPID=$!
sleep 1
curl -sf -o /dev/null "http://127.0.0.1:$NP$MSG" || { echo "nginx cannot serve the page" >&2; exit 2; }
curl -sf -o /dev/null "http://127.0.0.1:$NP/pub/blobs/$BLOB" || { echo "nginx cannot serve the blob" >&2; exit 2; }

# public-inbox: a v2 inbox of the same messages, imported by public-inbox-watch.
PI=0; PISEARCH=0
python3 - "$CORPUS" "$N" "$W/maildir" <<'PY' || true
import sys, os, subprocess, re
corpus, n, md = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for d in ("cur", "new", "tmp"): os.makedirs(os.path.join(md, d), exist_ok=True)
data = subprocess.run(["zstd", "-dc", corpus], capture_output=True, check=True).stdout
msgs, cur = [], None
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
if command -v public-inbox-httpd >/dev/null && [ -d "$W/maildir/new" ]; then
  export HOME=$W/pihome PI_CONFIG=$W/pihome/pi_config; mkdir -p "$HOME"
  public-inbox-init -V2 -L full bench "$W/inbox" http://127.0.0.1:$PP/bench bench@example.org
  git config -f "$PI_CONFIG" publicinbox.bench.watch "maildir:$W/maildir"
  git config -f "$PI_CONFIG" publicinboxwatch.spamcheck none || true
  public-inbox-watch > "$W/watch.log" 2>&1 & WPID=$!
  prev=-1
  for _ in $(seq 900); do
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
  PIRAW=${PIURL}raw
  PISURL="http://127.0.0.1:$PP/bench/?q=$WORDS"
  # Its WWW searches only when the inbox has a Xapian index (-L full with Search::Xapian).
  if curl -sf "$PISURL" | grep -qi "$MSGID\|results"; then PISEARCH=1; fi
fi

rss() { awk '/VmRSS/{print $2" kB"}' /proc/"$1"/status 2>/dev/null || echo "?"; }
bench() { # name pid url conns
  local r; r=$(wrk -t2 -c"$4" -d"${SECS}s" --latency "$3" 2>&1)
  local rps p99 err total
  rps=$(echo "$r" | awk '/Requests\/sec/{print $2}')
  p99=$(echo "$r" | awk '$1=="99%"{print $2}')
  total=$(echo "$r" | awk '/requests in/{print $1}')
  err=$(echo "$r" | awk '/Non-2xx|Socket errors/{print}' | tr '\n' ' ')
  printf '%-24s c=%-4s req/s=%-10s p99=%-9s rss=%-10s total=%-9s errors=%s\n' "$1" "$4" "$rps" "$p99" "$(rss "$2")" "$total" "${err:-0}" | tee -a "$OUT"
}
echo "# $(date -u) N=$N secs=$SECS corpus=$(basename "$CORPUS") message=$MSG search=$WORDS index_build=${INDEX_SECS}s machine=$(nproc)cores $(awk '/MemTotal/{print $2" kB"}' /proc/meminfo)" | tee "$OUT"
for c in 64 256; do
  bench "trove message" $TPID "http://127.0.0.1:$TP$MSG" $c
  bench "nginx static page" $NPID "http://127.0.0.1:$NP$MSG" $c
  [ $PI = 1 ] && bench "public-inbox message" $PPID2 "$PIURL" $c
  bench "trove raw" $TPID "http://127.0.0.1:$TP$MSG/raw" $c
  bench "trove /pub/ blob" $TPID "http://127.0.0.1:$TP/pub/blobs/$BLOB" $c
  bench "nginx blob file" $NPID "http://127.0.0.1:$NP/pub/blobs/$BLOB" $c
  [ $PI = 1 ] && bench "public-inbox raw" $PPID2 "$PIRAW" $c
  bench "trove /api/search" $TPID "http://127.0.0.1:$TP/api/search?q=$WORDS" $c
  bench "trove /search page" $TPID "http://127.0.0.1:$TP/search?q=$WORDS" $c
  [ $PISEARCH = 1 ] && bench "public-inbox search" $PPID2 "$PISURL" $c
done
[ $PI = 1 ] && [ $PISEARCH = 0 ] && echo "public-inbox search: its WWW gave no search results for ?q=$WORDS (no Xapian index)" | tee -a "$OUT"

# Flood from one client (wrk, 64 connections from 127.0.0.1) while a second
# client (curl from 127.0.0.2, 5 requests/s) reads the message page: with the
# limiter off (limit 0) and on (50 requests/s per client).
other() { # label
  local f=$W/other.txt; : > "$f"
  for _ in $(seq $((SECS * 5 - 10))); do
    curl -s -o /dev/null --interface 127.0.0.2 -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$TP$MSG" >> "$f" || echo "000 0" >> "$f"
    sleep 0.2
  done
  python3 - "$1" "$f" <<'PY' | tee -a "$OUT"
import sys
rows=[l.split() for l in open(sys.argv[2]) if l.strip()]
ok=[float(t)*1000 for c,t in rows if c=="200"]; ok.sort()
codes={}
for c,_ in rows: codes[c]=codes.get(c,0)+1
p=lambda q: ok[min(len(ok)-1,int(q*len(ok)))] if ok else float("nan")
print(f"{sys.argv[1]:<24} other client: {len(rows)} requests, codes {codes}, median {p(0.5):.1f} ms, max {ok[-1] if ok else float('nan'):.1f} ms")
PY
}
for rate in 0 50; do
  kill $TPID; wait $TPID 2>/dev/null || true; sleep 1
  start_trove $rate trove-$rate.log
  other "flood, limit=$rate" & OTHER=$!
  sleep 1
  bench "flood one client limit=$rate" $TPID "http://127.0.0.1:$TP$MSG" 64
  wait $OTHER
done
# Mirrors pulling /pub/ are not held to the page budget (separate 2000/s budget).
bench "flood /pub/ limit=50" $TPID "http://127.0.0.1:$TP/pub/blobs/$BLOB" 64
