# Sourced by run.sh and instructions.sh: paths of the corpus (first argument, default io-uring)
# and of the key file, and a scratch directory removed on exit.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${TROVE_DATA:-$root/../shared/data}"
corpus="${1:-$data/corpora/lore-io-uring.mbox.zst}"
keys="$data/dkim/keys/historic_public_keys.txt"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
