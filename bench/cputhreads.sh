#!/bin/sh
# bench/cputhreads.sh BUILD CONNS [SECS] : CPU time per acked event, by daemon thread (utime+stime
# from /proc/PID/task/*/stat over the run), and acks/s. CPU time, unlike wall time, holds up on a
# loaded machine. BUILD is a Release build directory (callogd, bench/bench_ingest). NICE=... to
# run both at another nice value. Uses 127.0.0.1:17970/17971/17980.
B=$1; N=$2; S=${3:-5}
W=$(mktemp -d /var/tmp/callogd-cpu.XXXXXX); trap 'rm -rf "$W"' EXIT; cd "$W"
cat > c.conf <<EOC
database = { path = "$W/p.db"; };
events = { unix = ""; tcp = "127.0.0.1:17970"; };
agents = { unix = ""; tcp = "127.0.0.1:17971"; };
http = { listen = "127.0.0.1:17980"; };
log = { level = "warn"; };
EOC
$NICE $B/callogd -c c.conf 2>/dev/null & pid=$!; sleep 0.8
snap() { for t in /proc/$pid/task/*; do printf '%s %s\n' "$(cat $t/comm)" "$(awk '{print $14+$15}' $t/stat)"; done | awk '{a[$1]+=$2} END {for (k in a) print k, a[k]}' | sort; }
$NICE $B/bench/bench_ingest -e 127.0.0.1:17970 -c $N -w 1000 -d $S -W 0 > out.txt 2>&1 &
bp=$!; sleep 0.3; snap > s0.txt; wait $bp; snap > s1.txt
kill $pid; wait $pid 2>/dev/null
acks=$(tail -1 out.txt | tr ' ' '\n' | sed -n 's/^acks_total=//p'); rate=$(tail -1 out.txt | tr ' ' '\n' | sed -n 's/^acks_per_s=//p')
join s0.txt s1.txt | awk -v acks=$acks -v rate=$rate -v hz=$(getconf CLK_TCK) '{d=($3-$2)*1e6/hz/acks; tot+=d; printf "%s=%.2fus ", $1, d} END {printf "total=%.2fus/event acks_per_s=%s\n", tot, rate}'
