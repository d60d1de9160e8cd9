#!/usr/bin/env bash
# Install the outside programs that trove's tests and benchmarks compare against or drive:
#   notmuch, mu (maildir-utils), public-inbox      - peers in bench/ingest, bench/search, bench/mirror
#   python3-notmuch2                               - notmuch's library, for bench/search in-process latency
#   opendkim-tools, dkimpy==1.1.8 (PyPI)           - independent DKIM signers/verifiers for dkim tests
#   dnsmasq-base                                   - local DNS for tests that must not touch the network
#   nginx, wrk                                     - static-serving peer and HTTP load generator
#   hyperfine, GNU time (/usr/bin/time -v), valgrind - timing, peak RSS, memory checks
#   b3sum                                          - the "read + BLAKE3" floor in bench/ingest
#   zstd, rsync, chromium                          - corpora, mirror tests, page screenshots
#   openssl                                        - re-checks `trove show --signed-data` output;
#                                                    test keys in bench/dkim
#
# Idempotent: packages already installed are skipped, so a second run takes about a second
# and never touches the network. Run as root (CI and dev machines here are root).
# Usage: bash .ci/install-peers.sh
set -euo pipefail

DEBIAN_PKGS=(
  notmuch maildir-utils public-inbox opendkim-tools dnsmasq-base nginx wrk
  hyperfine zstd rsync chromium time valgrind b3sum openssl
  python3-notmuch2
)
DKIMPY_VERSION=1.1.8

missing=()
for p in "${DEBIAN_PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-peers: installing from Debian: ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  # nginx would otherwise start a system service on :80 on install; we only want the binary.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
    trap '"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-peers: Debian packages already installed"
fi

PY=${PYTHON:-python3}
have_dkimpy=$("$PY" -c 'import importlib.metadata as m; print(m.version("dkimpy"))' 2>/dev/null || true)
if [ "$have_dkimpy" != "$DKIMPY_VERSION" ]; then
  echo "install-peers: pip install dkimpy==$DKIMPY_VERSION (had: ${have_dkimpy:-none})"
  "$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore "dkimpy==$DKIMPY_VERSION"
else
  echo "install-peers: dkimpy $DKIMPY_VERSION already installed"
fi

# Fail loudly if something the benchmarks call is still absent.
for cmd in notmuch mu public-inbox-init opendkim-testkey dnsmasq nginx wrk hyperfine zstd rsync \
  chromium /usr/bin/time valgrind b3sum; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ] || { echo "install-peers: missing $cmd" >&2; exit 1; }
done
echo "install-peers: ok"
