#!/usr/bin/env python3
"""crm_bench.py : the external CRM's cost (docs/crm.md), against fakes on loopback.

Part 1, pops: one producer sends call.offered then at once call.ringing (the worst
case: no queue time for the lookup) for a new number each call; the time from the
ringing line written to the agent's console reading the pop, p50/p99/max. Four
daemons in one run, one after the other: no CRM, a CRM answering in 5 ms, in
500 ms, and one that never answers (pops.lookup_ms 200, crm.timeout_ms 1500).

Part 2, webhooks: N answered calls with a wrap-up each, sent as fast as the
daemon acks them (a burst), then again paced at HOOK_RATE calls/s; one webhook
to a receiver on loopback (Python, a thread per connection) answering 200.
Deliveries per second (first to last received) and the outbox lag (a
delivery's created_at to its arrival), p50/p99.

  CALLOGD=build/callogd CALLOGCTL=build/callogctl python3 bench/crm_bench.py [CALLS] [HOOK_CALLS] [HOOK_RATE]
"""
import datetime
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "blackbox"))
from fakecrm import FakeCRM, Receiver  # noqa: E402
from harness import Console, Daemon, Producer  # noqa: E402

CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
HOOK_CALLS = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
HOOK_RATE = int(sys.argv[3]) if len(sys.argv) > 3 else 50


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else float("nan")


def pops(crm, delay, fail, calls):
    d = Daemon(**{"pops.lookup_ms": 200, "log.level": "warn"})
    if crm is not None:
        crm.delay, crm.fail = delay, fail
        crm.requests.clear()
        d.write_config('crm = { lookup_url = "%s"; timeout_ms = 1500; cache_seconds = 0; max_concurrent = 64;'
                       ' list = "/results"; };\n' % crm.url())
    try:
        d.start()
        tok = d.add_agent("a1")
        c, p = Console(d, "a1", tok), Producer(d)
        acks = threading.Thread(target=lambda: [p.read(timeout=30) for _ in range(2 * calls)], daemon=True)
        acks.start()
        lat = []
        for i in range(calls):
            cid = "b%d" % i
            p.send({"type": "call.offered", "call_id": cid, "from": "+1555%07d" % i, "to": "8005550100"})
            t0 = time.perf_counter()
            p.send({"type": "call.ringing", "call_id": cid, "agent": "a1"})
            while True:
                m = c.next(timeout=10)
                if m.get("type") == "pop" and m["call_id"] == cid:
                    break
            lat.append((time.perf_counter() - t0) * 1000)
        acks.join(30)
        asked = len(crm.requests) if crm is not None else 0
        return lat, asked
    finally:
        if crm is not None:
            crm.release.set()
            crm.release.clear()
        d.cleanup()


def part1():
    crm = FakeCRM()
    crm.contacts = {}
    print("pop latency, call.offered then call.ringing at once, %d calls each (ms from ringing to pop):" % CALLS)
    print("%-26s %8s %8s %8s %8s" % ("CRM", "p50", "p99", "max", "asked"))
    try:
        for name, delay, fail in (("none (local only)", None, None), ("answers in 5 ms", 0.005, None),
                                  ("answers in 500 ms", 0.5, None), ("never answers", 0, "hang")):
            lat, asked = pops(None if delay is None else crm, delay, fail, CALLS)
            print("%-26s %8.2f %8.2f %8.2f %8d" % (name, pct(lat, 50), pct(lat, 99), max(lat), asked), flush=True)
    finally:
        crm.close()


def part2(rate):
    secret = "bench-secret"
    rcv = Receiver(secret)
    d = Daemon(**{"log.level": "warn"})
    with open(os.path.join(d.dir, "hook-secret"), "w") as f:
        f.write(secret)
    d.write_config('webhooks = ( { name = "crm"; url = "%s"; secret_file = "hook-secret"; } );\n' % rcv.url())
    try:
        d.start()
        p = Producer(d)
        t0 = time.time()
        n = 0
        batch = 200
        if rate:
            batch = max(1, rate // 10)
        while n < HOOK_CALLS:
            if rate:
                time.sleep(max(0.0, t0 + n / rate - time.time()))
            k = min(batch, HOOK_CALLS - n)
            for i in range(n, n + k):
                cid = "h%d" % i
                for ev in ({"type": "call.offered", "call_id": cid, "from": "5551234567", "to": "8005550100"},
                           {"type": "call.answered", "call_id": cid, "agent": "a1"},
                           {"type": "call.ended", "call_id": cid, "reason": "completed"},
                           {"type": "call.disposition", "call_id": cid, "agent": "a1", "code": "resolved"}):
                    p.send(ev)
            for _ in range(4 * k):
                p.read(timeout=30)
            n += k
        sent = time.time() - t0
        deadline = time.time() + 300
        while len(rcv.accepted()) < HOOK_CALLS and time.time() < deadline:
            time.sleep(0.1)
        got = rcv.accepted()
        first, last = min(x["t"] for x in got), max(x["t"] for x in got)
        lag = []
        for x in got:
            created = datetime.datetime.fromisoformat(x["json"]["created_at"].replace("Z", "+00:00")).timestamp()
            lag.append((x["t"] - created) * 1000)
        print("webhooks, %s: %d calls acked in %.1fs; %d delivered (%d tries), %.0f deliveries/s; outbox lag ms "
              "p50 %.0f p99 %.0f max %.0f; signatures ok: %s" %
              ("paced at %d calls/s" % rate if rate else "burst", HOOK_CALLS, sent, len(got), len(rcv.deliveries), len(got) / max(last - first, 1e-3), pct(lag, 50),
               pct(lag, 99), max(lag), all(x["sig_ok"] for x in got)), flush=True)
    finally:
        d.cleanup()
        rcv.close()


if __name__ == "__main__":
    if os.environ.get("PART", "12").find("1") >= 0:
        part1()
    if os.environ.get("PART", "12").find("2") >= 0:
        part2(0)
        part2(HOOK_RATE)
