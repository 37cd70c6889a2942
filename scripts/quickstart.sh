#!/bin/sh
# Quick start: installs what is missing, builds, creates a demo database (sample
# customers, a demo agent and an API token) and runs callogd in the foreground
# with conf/callogd.conf. Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
ctl="build/callogctl -c conf/callogd.conf"
mkdir -p var
if [ ! -f var/demo-tokens ]; then
	$ctl import tests/data/customers_sample.csv
	agent=$($ctl agent add a1 --name "Demo Agent" | tail -n 1)
	$ctl agent add a2 --name "Second Agent" >/dev/null
	api=$($ctl token add demo | tail -n 1)
	# A development convenience only: production tokens are shown once and never kept.
	umask 077
	printf 'agent a1 token: %s\nAPI token:      %s\n' "$agent" "$api" >var/demo-tokens
fi
echo "---- demo credentials (var/demo-tokens) ----"
cat var/demo-tokens
echo "---- console page: http://127.0.0.1:7080/  (log in as a1 with the agent token)"
echo "---- traffic:      build/callogctl -c conf/callogd.conf simulate --calls 50 --rate 2 --agents 2"
exec build/callogd -c conf/callogd.conf
