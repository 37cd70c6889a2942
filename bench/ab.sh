#!/bin/bash
# bench/ab.sh BEFORE_BUILD AFTER_BUILD [AFTER2_BUILD AFTER2_ENV] : two or three daemons alternated on
# one config: acked ingest at 1/8/64 pipelined producers (3 runs of 4 s each), the raw SQLite floor
# (3 runs), and pop latency at 200 consoles and 500 calls/s (3 runs). Each BUILD is a Release build
# directory holding callogd, callogctl and bench/; the benchmark programs come from AFTER_BUILD.
# Uses 127.0.0.1:17970/17971/17980 and a scratch directory under /var/tmp.
BEF=$1; AFT=$2; AFT2=${3:-}; ENV2=${4:-}
W=$(mktemp -d /var/tmp/callogd-ab.XXXXXX); trap 'rm -rf "$W"' EXIT; cd "$W"
B=$AFT/bench
cat > c.conf <<EOC
database = { path = "$W/p.db"; };
events = { unix = ""; tcp = "127.0.0.1:17970"; };
agents = { unix = ""; tcp = "127.0.0.1:17971"; };
http = { listen = "127.0.0.1:17980"; };
log = { level = "warn"; };
EOC
run_daemon() { # run_daemon BUILD ENV DB
	cp "$3" p.db 2>/dev/null || rm -f p.db*
	env $2 $1/callogd -c c.conf 2>/dev/null & DPID=$!; sleep 0.8
}
stop_daemon() { kill $DPID; wait $DPID 2>/dev/null; rm -f p.db*; }
configs="before after"; [ -n "$AFT2" ] && configs="$configs after2"
bld() { case $1 in before) echo $BEF;; after) echo $AFT;; after2) echo $AFT2;; esac; }
envof() { [ $1 = after2 ] && echo "$ENV2" || echo "X=1"; }
echo "ingest  $(date -u +%H:%MZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in 1 2 3; do for n in 1 8 64; do for c in $configs; do
	run_daemon $(bld $c) "$(envof $c)" /nonexistent
	r=$($B/bench_ingest -e 127.0.0.1:17970 -c $n -w 1000 -d 4 -W 1 2>&1 | tail -1 | tr ' ' '\n' | sed -n 's/^acks_per_s=//p')
	stop_daemon; echo "ingest $c n=$n rep=$rep $r"
done; done; done
for rep in 1 2 3; do
	rm -f raw.db*; r=$($B/bench_rawsql -f raw.db -b 1000 -c -d 4 -W 1 2>&1 | tail -1 | tr ' ' '\n' | sed -n 's/^rows_per_s=//p')
	echo "floor full rep=$rep $r"
done
rm -f raw.db*
echo "pop  $(date -u +%H:%MZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
for c in $configs; do
	b=$(bld $c); printf 'database = { path = "%s"; };\n' "$W/agents-$c.db" > ctl-$c.conf
	[ -f agents-$c.db ] || seq 1 200 | xargs -P 4 -I{} sh -c "$b/callogctl -c ctl-$c.conf agent add a{} 2>/dev/null | sed 's/^/a{} /'" > tokens-$c
done
for rep in 1 2 3; do for c in $configs; do
	run_daemon $(bld $c) "$(envof $c)" agents-$c.db
	r=$($B/bench_pop -m daemon -a 127.0.0.1:17971 -e 127.0.0.1:17970 -k tokens-$c -n 200 -r 500 -d 5 -W 1 -C 1000 2>&1 | tail -1)
	stop_daemon; echo "pop $c rep=$rep $r"
done; done
