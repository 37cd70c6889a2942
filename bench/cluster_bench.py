#!/usr/bin/env python3
"""cluster_bench.py : callogd on PostgreSQL, in one run on one private server (fsync on,
synchronous_commit on): acked ingest through one node and through two, PostgreSQL's own floor for
the same rows (bench_pgraw), each ingest figure's ratio to it, pop latency p50/p99 to a console on
the node that took the event and on another node, and the leader's takeover time after kill -9.

    python3 bench/cluster_bench.py [BUILD]     # BUILD: a build directory with callogd and bench/ (build)

Environment: SECS (measured seconds per ingest run, default 5), CONNS (producer connections, default 8),
POPS (pops measured per case, default 200), TAKEOVERS (kill -9 rounds, default 3)."""
import json
import os
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
os.environ.setdefault("CALLOGD", os.path.join(BUILD, "callogd"))
os.environ.setdefault("CALLOGCTL", os.path.join(BUILD, "callogctl"))
os.environ["CALLOGD_TEST_BACKEND"] = "pg"
sys.path.insert(0, os.path.join(ROOT, "tests", "blackbox"))
import pgserver  # noqa: E402
from harness import Console, Daemon, Producer, metrics  # noqa: E402

SECS = int(os.environ.get("SECS", "5"))
CONNS = int(os.environ.get("CONNS", "8"))
POPS = int(os.environ.get("POPS", "200"))
TAKEOVERS = int(os.environ.get("TAKEOVERS", "3"))


def nodes(srv, n):
    db = srv.new_database()
    ds = [Daemon(database__url=srv.url(db), node__name="n%d" % (i + 1), log__level="warn") for i in range(n)]
    for d in ds:
        d.start()
    return ds, db


def ingest(ds, tag):
    """Acked events/s: CONNS pipelined connections (window 1000) spread over the nodes, at once."""
    per = max(1, CONNS // len(ds))
    procs = [subprocess.Popen([os.path.join(BUILD, "bench", "bench_ingest"), "-e", "127.0.0.1:%d" % d.events_port,
                               "-c", str(per), "-w", "1000", "-d", str(SECS), "-W", "1", "-t", "%s%d" % (tag, i)],
                              stdout=subprocess.PIPE, text=True) for i, d in enumerate(ds)]
    total = 0.0
    for p in procs:
        out = p.communicate()[0]
        kv = dict(f.split("=", 1) for f in out.split() if "=" in f)
        total += float(kv.get("acks_per_s", 0))
        if int(kv.get("errors", "0")):
            print("  errors: " + out.strip())
    return total


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else 0


def pop_latency(take, see, tok, tag):
    """ms from writing call.ringing to node take until the pop reads on a console of node see."""
    con = Console(see, "a1", tok)
    p = Producer(take)
    lat = []
    for i in range(POPS):
        cid = "%s-%d" % (tag, i)
        p.event({"type": "call.offered", "call_id": cid, "from": "5551234567", "to": "1"})
        t0 = time.perf_counter()
        p.send({"type": "call.ringing", "call_id": cid, "agent": "a1"})
        while True:
            m = con.read(timeout=10)
            if m.get("type") == "pop" and m.get("call_id") == cid:
                break
        lat.append((time.perf_counter() - t0) * 1000)
        p.read(timeout=10)
        p.event({"type": "call.ended", "call_id": cid})
        time.sleep(0.01)
    con.close()
    p.close()
    return pct(lat, 0.5), pct(lat, 0.99)


def takeover(srv):
    ds, db = nodes(srv, 2)
    times = []
    try:
        for r in range(TAKEOVERS):
            deadline = time.time() + 15
            lead = None
            while lead is None and time.time() < deadline:
                lead = next((d for d in ds if d.proc and metrics(d).get("callogd_cluster_leader") == 1), None)
                time.sleep(0.05)
            other = next(d for d in ds if d is not lead)
            t0 = time.monotonic()
            lead.kill9()
            while metrics(other).get("callogd_cluster_leader") != 1:
                time.sleep(0.02)
            times.append(time.monotonic() - t0)
            lead.start()  # back as a follower for the next round
    finally:
        for d in ds:
            d.cleanup()
        srv.drop_database(db)
    return times


def main():
    load = open("/proc/loadavg").read().split()[:3]
    print("machine: %d cores, load %s; PostgreSQL %s, fsync on, synchronous_commit on" %
          (os.cpu_count(), " ".join(load), os.path.basename(os.path.dirname(pgserver.bindir()))))
    srv = pgserver.Server(durable=True).start()
    try:
        db = srv.new_database()
        out = subprocess.run([os.path.join(BUILD, "bench", "bench_pgraw"), "-u", srv.url(db), "-b", "1000",
                              "-d", str(SECS)], capture_output=True, text=True).stdout
        raw = float(dict(f.split("=", 1) for f in out.split() if "=" in f)["rows_per_s"])
        srv.drop_database(db)
        print("PostgreSQL floor (bench_pgraw, 1000 rows a transaction, pipelined): %.0f rows/s" % raw)
        for n in (1, 2):
            ds, db = nodes(srv, n)
            try:
                got = ingest(ds, "i%dn" % n)
            finally:
                for d in ds:
                    d.cleanup()
                srv.drop_database(db)
            print("acked ingest, %d node%s, %d connections: %.0f events/s = %.2fx the floor" %
                  (n, "s" if n > 1 else "", CONNS, got, got / raw))
        ds, db = nodes(srv, 2)
        try:
            tok = ds[0].add_agent("a1")
            for name, take, see in (("same node", ds[0], ds[0]), ("cross node", ds[0], ds[1])):
                p50, p99 = pop_latency(take, see, tok, name.split()[0])
                print("pop latency, %s: p50 %.1f ms, p99 %.1f ms over %d pops" % (name, p50, p99, POPS))
        finally:
            for d in ds:
                d.cleanup()
            srv.drop_database(db)
        t = takeover(srv)
        print("leader takeover after kill -9: %s s (max %.2f s)" % (", ".join("%.2f" % x for x in t), max(t)))
    finally:
        srv.destroy()


if __name__ == "__main__":
    main()
