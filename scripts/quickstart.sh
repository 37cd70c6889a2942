#!/bin/sh
# Quick start: installs what is missing, builds, creates a demo database (sample
# customers, demo agents a1 and a2, an API token) and runs callogd in the
# foreground with conf/callogd.conf. Ctrl-C stops it. Traffic goes in from a
# second terminal (the last lines printed say how).
set -eu
cd "$(dirname "$0")/.."
echo "---- 1/4 dependencies (scripts/deps.sh)"
sh scripts/deps.sh
echo "---- 2/4 configure (cmake)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
echo "---- 3/4 build (about 30 s the first time; progress below)"
# Only the progress lines: one per target, so the build is never silent.
cmake --build build -j"$(nproc)" 2>&1 | grep --line-buffered -E '^\[ *[0-9]+%\] (Built target|Linking)|error|warning' || true
[ -x build/callogd ] && [ -x build/callogctl ] || { echo "quickstart: the build failed (run: cmake --build build)" >&2; exit 1; }
ctl="build/callogctl -c conf/callogd.conf"
mkdir -p var
if [ ! -f var/demo-tokens ]; then
	echo "---- 4/4 demo data: sample customers, agents a1 and a2, an API token"
	$ctl import tests/data/customers_sample.csv
	a1=$($ctl agent add a1 --name "Demo Agent" | tail -n 1)
	a2=$($ctl agent add a2 --name "Second Agent" | tail -n 1)
	api=$($ctl token add demo | tail -n 1)
	# A development convenience only: production tokens are shown once and never kept.
	umask 077
	printf 'agent a1 token: %s\nagent a2 token: %s\nAPI token:      %s\n' "$a1" "$a2" "$api" >var/demo-tokens
else
	echo "---- 4/4 demo data: already made (var/demo-tokens; delete var/ to start over)"
fi
echo "---- demo credentials (var/demo-tokens) ----"
cat var/demo-tokens
echo "---- console page: http://127.0.0.1:7080/  (log in as a1 or a2 with that agent's token;"
echo "                   simulate --agents 2 rings both, so a second browser window can be a2)"
echo "---- traffic: in ANOTHER terminal (this one now runs callogd), from $(pwd):"
echo "     build/callogctl -c conf/callogd.conf simulate --calls 50 --rate 2 --agents 2"
exec build/callogd -c conf/callogd.conf
