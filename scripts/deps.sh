#!/bin/sh
# Installs what callogd needs to build and run (and, with --test, to test) on
# Debian 12. Idempotent and quick when everything is present.
set -eu
pkgs="build-essential cmake pkg-config libevent-dev libsqlite3-dev libconfig-dev libjansson-dev sqlite3 tzdata libssl-dev libcurl4-openssl-dev libpq-dev"
if [ "${1:-}" = "--test" ]; then
	# postgresql: the bb_pg_* suites start a private server of their own (never the system service).
	pkgs="$pkgs python3 clang chromium chromium-driver python3-selenium systemd curl openssl postgresql"
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
# Debian's postgresql package would create and start a system cluster: the tests need none.
case " $missing " in *" postgresql "*)
	[ -e /etc/postgresql-common/createcluster.conf ] || {
		$SUDO mkdir -p /etc/postgresql-common
		echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
	} ;;
esac
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
