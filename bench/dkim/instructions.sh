#!/usr/bin/env bash
# bench/dkim/instructions.sh: trove against the floor, signature for signature, in
# instructions (callgrind): steady on a shared machine where wall and CPU time drift.
# trove verifies the io-uring messages all of whose signatures have a key (one pass,
# instructions inside verify_message); the floor verifies exactly those signatures (one
# aws-lc-rs RSA-2048 verify + SHA-256 of the body each, instructions inside floor_pass), and
# the floor on trove's own bytes (real keys, signatures, header blocks and canonical bodies,
# instructions inside signed_pass).
# Both run under valgrind, which hides the same CPU features (SHA-NI, ADX) from both, so both
# take the same aws-lc/ring code paths. Usage: bench/dkim/instructions.sh [CORPUS.mbox.zst]
# shellcheck source=bench/dkim/setup.sh
source "$(dirname "$0")/setup.sh"
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
(cd "$root" && cargo build --release -q --workspace --example verify_corpus)
cargo build --release -q --manifest-path "$here/floor/Cargo.toml"
bin="$root/target/release/examples/verify_corpus"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$out/k.pem" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$out/k.pem" -outform DER -out "$out/k.der"
"$bin" --no-arc --keyed-only --signed-data "$out/signed.bin" "$corpus" "$keys" 1 "$out/sizes.txt" > /dev/null
ir() { grep -oE 'Collected : [0-9]+' "$1" | awk '{print $3}'; }
# --keyed-only first verifies every message to pick the keyed ones: one pass is the
# difference between a run of two passes and a run of one.
echo "trove under callgrind, twice (a few minutes)..." >&2
for passes in 1 2; do
  valgrind --tool=callgrind --callgrind-out-file="$out/trove$passes.cg" --collect-atstart=no \
    --toggle-collect='*verify_message*' "$bin" --no-arc --keyed-only --repeat $passes \
    "$corpus" "$keys" 1 > /dev/null 2> "$out/trove$passes.err"
done
echo "floor under callgrind..." >&2
DKIM_FLOOR_ONE_PASS=1 valgrind --tool=callgrind --callgrind-out-file="$out/floor.cg" \
  --collect-atstart=no --toggle-collect='*floor_pass*' \
  "$here/floor/target/release/dkim-floor" "$out/k.der" "$out/sizes.txt" 0 > /dev/null 2> "$out/floor.err"
echo "floor on trove's own bytes under callgrind..." >&2
valgrind --tool=callgrind --callgrind-out-file="$out/real.cg" --collect-atstart=no \
  --toggle-collect='*signed_pass*' "$here/floor/target/release/dkim-floor" --signed-data \
  "$out/signed.bin" 0 > /dev/null 2> "$out/real.err"
t="$(( $(ir "$out/trove2.err") - $(ir "$out/trove1.err") ))"; f="$(ir "$out/floor.err")"
r="$(ir "$out/real.err")"
n="$(wc -l < "$out/sizes.txt")"
python3 - "$t" "$f" "$r" "$n" <<'PY'
import sys
t, f, r, n = (int(a) for a in sys.argv[1:5])
print(f"signatures: {n:,}; trove {t:,} instructions ({t / n:,.0f} per signature), "
      f"floor {f:,} ({f / n:,.0f} per signature): trove / floor = {t / f:.2f}x; "
      f"floor on trove's own bytes {r:,} ({r / n:,.0f} per signature): trove / that floor = {t / r:.2f}x")
PY
