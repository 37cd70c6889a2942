"""test_live.py : the live-call model across restarts, duplicates decided before
fan-out, and caller lookups that do not hold pops back (SPEC §3, §5; issue 11)."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Console, Producer, check, eq, run, running, test  # noqa: E402

CUSTOMERS = """id,name,phones,email,account,tier,notes
C-7,Ada Lovelace,+1 (555) 123-4567,ada@example.com,ACC-1,gold,
"""


def setup(d, agents=("a1", "a2", "a3")):
    r = d.import_customers(CUSTOMERS)
    eq(r.returncode, 0, r.stderr)
    return {a: d.add_agent(a) for a in agents}


def send(p, ev):
    a = p.event(ev)
    check("seq" in a and not a.get("duplicate"), a)
    return a


def offer(p, call_id, frm="5551234567"):
    send(p, {"type": "call.offered", "call_id": call_id, "id": call_id + "-o", "from": frm, "to": "8005550100",
             "queue": "support"})


def pops_until_quiet(c, timeout=0.5):
    """Every message c gets until it is quiet for timeout s: {call_id: last pop}, and the whole list."""
    got, msgs = {}, []
    while True:
        m = c.try_read(timeout)
        if m is None:
            return got, msgs
        msgs.append(m)
        if m.get("type") == "pop":
            got[m["call_id"]] = m


def waiting(d):
    status, st, _ = d.get("/api/stats")
    eq(status, 200, st)
    return {q["queue"]: q["waiting"] for q in st["queues"]}


@test
def live_calls_survive_kill9():
    with running() as d:
        tok = setup(d)
        p = Producer(d)
        offer(p, "c-ring")  # rings a1 and a2, not answered
        send(p, {"type": "call.ringing", "call_id": "c-ring", "id": "r1", "agent": "a1"})
        send(p, {"type": "call.ringing", "call_id": "c-ring", "id": "r2", "agent": "a2"})
        offer(p, "c-ans", frm="5559990000")  # answered by a1
        send(p, {"type": "call.ringing", "call_id": "c-ans", "id": "r3", "agent": "a1"})
        send(p, {"type": "call.answered", "call_id": "c-ans", "id": "r4", "agent": "a1"})
        offer(p, "c-end")  # over: nobody gets it again
        send(p, {"type": "call.ringing", "call_id": "c-end", "id": "r5", "agent": "a1"})
        send(p, {"type": "call.ended", "call_id": "c-end", "id": "r6", "reason": "abandoned"})
        offer(p, "c-wait")  # waiting in the queue: no agent yet
        before = waiting(d)
        eq(before.get("support"), 2, "c-ring and c-wait wait")
        p.close()
        d.kill9()
        d.start()
        eq(waiting(d), before, "/api/stats waiting after the restart")
        a1 = Console(d, "a1", tok["a1"])
        got, _ = pops_until_quiet(a1)
        eq(sorted(got), ["c-ans", "c-ring"], "a1's live calls re-popped after kill -9")
        eq(got["c-ring"]["customer"]["id"], "C-7", "the pop has its lookup")
        eq(got["c-ring"]["from"], "+15551234567")
        eq(got["c-ring"]["queue"], "support")
        a2 = Console(d, "a2", tok["a2"])
        got, _ = pops_until_quiet(a2)
        eq(sorted(got), ["c-ring"])
        a3 = Console(d, "a3", tok["a3"])
        got, _ = pops_until_quiet(a3)
        eq(got, {}, "a3 was never rung")
        # The rebuilt model knows who was popped: a2 answering retracts a1's pop.
        p = Producer(d)
        send(p, {"type": "call.answered", "call_id": "c-ring", "id": "r7", "agent": "a2"})
        m = a1.next(skip_types=("pop",))
        eq((m["type"], m["call_id"], m["state"]), ("call", "c-ring", "retracted"))
        m = a2.next()
        eq((m["type"], m["call_id"], m["state"]), ("call", "c-ring", "answered"))
        # ... and ending c-ans tells a1.
        send(p, {"type": "call.ended", "call_id": "c-ans", "id": "r8"})
        m = a1.next()
        eq((m["type"], m["call_id"], m["state"]), ("call", "c-ans", "ended"))


@test
def live_calls_survive_sigterm_with_answered_trigger():
    with running(pops__trigger="answered") as d:
        tok = setup(d)
        p = Producer(d)
        offer(p, "t-1")
        send(p, {"type": "call.ringing", "call_id": "t-1", "agent": "a1"})
        send(p, {"type": "call.ringing", "call_id": "t-1", "agent": "a2"})
        send(p, {"type": "call.answered", "call_id": "t-1", "agent": "a2"})
        p.close()
        eq(d.stop(), 0)
        d.start()
        got, _ = pops_until_quiet(Console(d, "a2", tok["a2"]))
        eq(sorted(got), ["t-1"])
        got, _ = pops_until_quiet(Console(d, "a1", tok["a1"]))
        eq(got, {}, "a1 only rang (trigger answered): no pop")


if __name__ == "__main__":
    run()
