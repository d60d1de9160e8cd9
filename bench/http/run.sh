#!/usr/bin/env bash
# HTTP benchmark, one command: trove-web vs nginx (the message page saved as a
# static file: the ceiling; the publication folder's own blob file: the floor
# for raw/blob paths) vs public-inbox-httpd (the same messages in a public-inbox
# v2 archive of the same corpus with its Xapian index: the peer), wrk at 64 and
# 256 connections; full-text search (trove /api/search and /search vs
# public-inbox's Xapian search); and a flood from one client with the rate
# limiter off and on, measuring what a second client (another address) gets.
# Search is measured twice: the same query repeated (wrk's way: after the first
# request every answer comes from trove's search cache) and many distinct
# queries (a wrk Lua script rotating through the 23 queries of
# bench/search/queries.tsv x 10 pages x 2 orders = 460 answers) with the search
# cache on and then off (every request runs its search); public-inbox gets the
# plain-word and phrase queries of the same file (its query language differs
# for the fielded ones) x 10 pages x 2 orders.
#
# Usage: flock /work/notes/bench.lock bench/http/run.sh [N_MESSAGES|all] [SECONDS]
#   default: the whole corpus, 30 s per cell. Env: CORPUS (default io-uring),
#   OUT (cache of the public-inbox peer, default /work/bench-out/http or
#   bench/out/http), PIN=0 to not pin CPUs (default: every server on CPU
#   $SRV_CPU=1, wrk with one thread on CPU $LOAD_CPU=0, so load generator and
#   server never share a core and all servers get the same single core).
# Needs wrk, nginx, public-inbox, curl (bash .ci/install-peers.sh).
# Writes bench/http/results.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-all}; SECS=${2:-30}
CORPUS=${CORPUS:-../shared/data/corpora/lore-io-uring.mbox.zst}
CORPUS=$(realpath "$CORPUS")
if [ -z "${OUT:-}" ]; then
  if [ -d /work/bench-out ]; then OUT=/work/bench-out/http; else OUT=bench/out/http; fi
fi
PIN=${PIN:-1}; SRV_CPU=${SRV_CPU:-1}; LOAD_CPU=${LOAD_CPU:-0}
if [ "$PIN" = 1 ]; then
  SRV="taskset -c $SRV_CPU"; LOAD="taskset -c $LOAD_CPU"; WRK_T=1; NGX_W=1
else
  SRV=""; LOAD=""; WRK_T=2; NGX_W=auto
fi
W=$(mktemp -d /tmp/trove-bench-http.XXXX)
chmod 755 "$W"
RES=bench/http/results.txt
TP=18089; NP=18090; PP=18091
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1; rm -rf "$W"
}
trap cleanup EXIT
for t in wrk nginx curl python3 zstd taskset; do command -v $t >/dev/null || { echo "missing $t: bash .ci/install-peers.sh" >&2; exit 2; }; done

# The workspace selection (as the project builds it): building -p trove-web alone
# unifies features differently and rebuilds much of the dependency tree.
cargo build --release --workspace --all-targets
EX=target/release/examples/serve_corpus
TOTAL=0
indexed() {
  curl -sf "http://127.0.0.1:$TP/api/search?q=zzz&facets=false" 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["indexed"])' 2>/dev/null || echo -1
}
start_trove() { # rate log [search-cache-bytes]
  $SRV "$EX" "$CORPUS" "$N" "$W/pub" 127.0.0.1:$TP "$1" ${3:-} > "$W/$2" 2>&1 & pids+=($!); TPID=$!
  for _ in $(seq 3600); do curl -sf -o /dev/null http://127.0.0.1:$TP/ && break; sleep 0.5; done
  curl -sf -o /dev/null http://127.0.0.1:$TP/ || { echo "trove did not start: $(tail -3 "$W/$2")" >&2; exit 2; }
  TOTAL=$(curl -sf http://127.0.0.1:$TP/api/publication | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"])')
  # Wait until the full-text index holds every message (searches are
  # answered from the first committed batch on, while indexing goes on).
  local t0; t0=$(date +%s.%N)
  for _ in $(seq 6000); do
    [ "$(indexed)" = "$TOTAL" ] && break
    sleep 0.5
  done
  [ "$(indexed)" = "$TOTAL" ] || { echo "index not complete" >&2; exit 2; }
  INDEX_SECS=$(python3 -c "import time;print(round(time.time()-$t0,1))")
}
T_PUB0=$(date +%s)
start_trove 0 trove.log
PUB_SECS=$(( $(date +%s) - T_PUB0 ))
ID=$((TOTAL / 2))
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
w=list(dict.fromkeys(x.lower() for x in w))
print("+".join(sorted(w, key=len)[-2:]) or "uring")')

# nginx: the publication folder as static files (blobs are the raw sources),
# and the message page saved as a static file.
mkdir -p "$W/nginx/www/emailid"; cp "$W/msg.html" "$W/nginx/www/emailid/$ID"
chmod -R a+rX "$W/pub" "$W/nginx"
cat > "$W/nginx/nginx.conf" <<NG
user root; worker_processes $NGX_W; daemon off; pid $W/nginx/pid; error_log $W/nginx/error.log;
events { worker_connections 4096; }
http { access_log off; default_type text/html; sendfile on;
  server { listen 127.0.0.1:$NP;
    location /emailid/ { root $W/nginx/www; }
    location /pub/ { alias $W/pub/; default_type application/octet-stream; } } }
NG
$SRV nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" & pids+=($!); NPID=$!
sleep 1
curl -sf -o /dev/null "http://127.0.0.1:$NP$MSG" || { echo "nginx cannot serve the page" >&2; exit 2; }
curl -sf -o /dev/null "http://127.0.0.1:$NP/pub/blobs/$BLOB" || { echo "nginx cannot serve the blob" >&2; exit 2; }

# public-inbox: a v2 archive of the whole corpus with its Xapian index (built
# once, cached in $OUT; not timed), served by public-inbox-httpd on the same core.
PI=0; PISEARCH=0
if command -v public-inbox-httpd >/dev/null; then
  if [ "$N" != all ]; then echo "public-inbox archive holds the whole corpus; N=$N only limits trove" >&2; fi
  bash bench/http/pi_inbox.sh "$CORPUS" "$OUT"
  export HOME=$OUT/pihome PI_CONFIG=$OUT/pihome/pi_config
  $SRV public-inbox-httpd -W 1 -l http://127.0.0.1:$PP > "$W/pi.log" 2>&1 & pids+=($!); PPID2=$!
  sleep 3
  PIURL=http://127.0.0.1:$PP/bench/$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="@.+-_"))' "$MSGID")/
  curl -sf -o /dev/null "$PIURL" && PI=1 || echo "public-inbox did not serve $PIURL" >&2
  PIRAW=${PIURL}raw
  PISURL="http://127.0.0.1:$PP/bench/?q=$WORDS"
  curl -sf "$PISURL" > "$W/pi-search.html" || true
  if grep -q "Results 1-" "$W/pi-search.html"; then PISEARCH=1; fi
fi

# RSS of a server: the process and its children (nginx and public-inbox-httpd workers).
rss() {
  local t=0 p k
  for p in "$1" $(pgrep -P "$1" || true); do
    k=$(awk '/VmRSS/{print $2}' /proc/"$p"/status 2>/dev/null || echo 0); t=$((t + ${k:-0}))
  done
  echo "$t kB"
}
bench() { # name pid url conns [wrk lua script]
  local r; r=$($LOAD wrk -t$WRK_T -c"$4" -d"${SECS}s" --latency ${5:+-s "$5"} "$3" 2>&1)
  local rps p99 err total
  rps=$(echo "$r" | awk '/Requests\/sec/{print $2}')
  p99=$(echo "$r" | awk '$1=="99%"{print $2}')
  total=$(echo "$r" | awk '/requests in/{print $1}')
  err=$(echo "$r" | awk '/Non-2xx|Socket errors/{print}' | tr '\n' ' ')
  printf '%-24s c=%-4s req/s=%-10s p99=%-9s rss=%-10s total=%-9s errors=%s\n' "$1" "$4" "$rps" "$p99" "$(rss "$2")" "$total" "${err:-0}" | tee -a "$RES"
}
echo "# $(date -u) messages=$TOTAL secs=$SECS corpus=$(basename "$CORPUS") message=$MSG search=$WORDS publish+index=${PUB_SECS}s (index wait ${INDEX_SECS}s) machine=$(nproc)cores $(awk '/MemTotal/{print $2" kB"}' /proc/meminfo) pin=$PIN (servers: ${SRV:-any cpu}, wrk -t$WRK_T: ${LOAD:-any cpu}) nginx workers=$NGX_W load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$RES"
for c in 64 256; do
  bench "trove message" $TPID "http://127.0.0.1:$TP$MSG" $c
  bench "nginx static page" $NPID "http://127.0.0.1:$NP$MSG" $c
  if [ $PI = 1 ]; then bench "public-inbox message" $PPID2 "$PIURL" $c; fi
  bench "trove raw" $TPID "http://127.0.0.1:$TP$MSG/raw" $c
  bench "trove /pub/ blob" $TPID "http://127.0.0.1:$TP/pub/blobs/$BLOB" $c
  bench "nginx blob file" $NPID "http://127.0.0.1:$NP/pub/blobs/$BLOB" $c
  if [ $PI = 1 ]; then bench "public-inbox raw" $PPID2 "$PIRAW" $c; fi
  bench "trove /api/search" $TPID "http://127.0.0.1:$TP/api/search?q=$WORDS" $c
  bench "trove /search page" $TPID "http://127.0.0.1:$TP/search?q=$WORDS" $c
  if [ $PISEARCH = 1 ]; then bench "public-inbox search" $PPID2 "$PISURL" $c; fi
done
# One connection: the time one search takes when nothing queues in front of it.
bench "trove /api/search" $TPID "http://127.0.0.1:$TP/api/search?q=$WORDS" 1
bench "trove /search page" $TPID "http://127.0.0.1:$TP/search?q=$WORDS" 1
if [ $PISEARCH = 1 ]; then bench "public-inbox search" $PPID2 "$PISURL" 1; fi
if [ $PI = 1 ] && [ $PISEARCH = 0 ]; then
  echo "public-inbox search: its WWW gave no search results for ?q=$WORDS" | tee -a "$RES"
fi

# Many distinct searches: wrk scripts that rotate through the paths of a list.
rotate() { # kind(api|page|pi) -> lua script path
  python3 - "$1" "$W/rotate-$1.lua" bench/search/queries.tsv <<'PY'
import sys, urllib.parse
kind, out, tsv = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(tsv) if l.strip() and not l.startswith("#")]
if kind == "pi":
    qs = [r[1] for r in rows if r[0] in ("word", "words", "phrase")]
else:
    qs = [r[1] for r in rows]
paths = []
for order in (0, 1):
    for page in range(1, 11):
        for q in qs:
            e = urllib.parse.quote(q, safe="")
            if kind == "api":
                paths.append(f"/api/search?q={e}&offset={(page-1)*20}" + ("&sort=date" if order else ""))
            elif kind == "page":
                paths.append(f"/search?q={e}&page={page}" + ("&sort=date" if order else ""))
            else:
                paths.append(f"/bench/?q={e}&o={(page-1)*20}" + ("&r" if order else ""))
with open(out, "w") as f:
    f.write("local paths = {\n" + "".join(f'  "{p}",\n' for p in paths) + "}\n")
    f.write("local i = 0\nrequest = function()\n  i = i + 1\n"
            "  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n")
print(out)
PY
}
ROT_API=$(rotate api); ROT_PAGE=$(rotate page); ROT_PI=$(rotate pi)
echo "# rotating searches: $(grep -c '^  "' "$ROT_API") distinct trove answers per format, $(grep -c '^  "' "$ROT_PI") public-inbox ones" | tee -a "$RES"
# Search cache on (the server started above): each distinct answer is computed once.
for c in 64 256; do
  bench "trove /api/search rotating, cache on" $TPID "http://127.0.0.1:$TP/" $c "$ROT_API"
done
# Search cache off: every request runs its search (concurrent identical ones still share one).
kill $TPID; wait $TPID 2>/dev/null || true; sleep 1
start_trove 0 trove-nocache.log 0
for c in 1 64 256; do
  bench "trove /api/search rotating, cache off" $TPID "http://127.0.0.1:$TP/" $c "$ROT_API"
  bench "trove /search page rotating, cache off" $TPID "http://127.0.0.1:$TP/" $c "$ROT_PAGE"
  if [ $PISEARCH = 1 ]; then bench "public-inbox search rotating" $PPID2 "http://127.0.0.1:$PP/" $c "$ROT_PI"; fi
done

# Flood from one client (wrk, 64 connections from 127.0.0.1) while a second
# client (curl from 127.0.0.2, 5 requests/s) reads the message page: with the
# limiter off (limit 0) and on (50 requests/s per client).
other() { # label
  local f=$W/other.txt; : > "$f"
  for _ in $(seq $((SECS * 5 - 10))); do
    curl -s -o /dev/null --interface 127.0.0.2 -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$TP$MSG" >> "$f" || echo "000 0" >> "$f"
    sleep 0.2
  done
  python3 - "$1" "$f" <<'PY' | tee -a "$RES"
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
echo "# done $(date -u) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RES"
