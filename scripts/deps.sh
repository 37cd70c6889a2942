#!/bin/sh
# Installs what callogd needs to build and run (and, with --test, to test) on
# Debian 12. Idempotent and quick when everything is present.
set -eu
pkgs="build-essential cmake pkg-config libevent-dev libsqlite3-dev libconfig-dev libjansson-dev sqlite3 tzdata libssl-dev libcurl4-openssl-dev"
if [ "${1:-}" = "--test" ]; then
	pkgs="$pkgs python3 clang chromium chromium-driver python3-selenium systemd curl openssl"
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
