"""test_live.py : the live-call model across restarts, duplicates decided before
fan-out, and caller lookups that do not hold pops back (docs/events.md, §5; issue 11)."""
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Console, Producer, check, eq, metrics, run, running, skip, test  # noqa: E402
import pgserver  # noqa: E402

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


CALL = [
    {"type": "call.offered", "call_id": "d-1", "id": "d1-o", "from": "5551234567", "to": "8005550100",
     "queue": "support"},
    {"type": "call.ringing", "call_id": "d-1", "id": "d1-r1", "agent": "a1"},
    {"type": "call.ringing", "call_id": "d-1", "id": "d1-r2", "agent": "a2"},
    {"type": "call.answered", "call_id": "d-1", "id": "d1-a", "agent": "a1"},
    {"type": "call.held", "call_id": "d-1", "id": "d1-h", "agent": "a1"},
    {"type": "call.ended", "call_id": "d-1", "id": "d1-e", "reason": "completed"},
]


@test
def replayed_events_pop_nobody_and_bring_no_call_back():
    with running() as d:
        tok = setup(d)
        a1, a2 = Console(d, "a1", tok["a1"]), Console(d, "a2", tok["a2"])
        p = Producer(d)
        acks = [send(p, ev) for ev in CALL]
        _, m1 = pops_until_quiet(a1)
        _, m2 = pops_until_quiet(a2)
        eq([(m["type"], m.get("state")) for m in m1],
           [("pop", None), ("call", "answered"), ("call", "held"), ("call", "ended")])
        eq([(m["type"], m.get("state")) for m in m2], [("pop", None), ("call", "retracted")])
        before = metrics(d)
        # The producer reconnects and resends everything (at-least-once), then parts of it.
        for replay in (CALL, CALL[:3], CALL[1:2], CALL[3:5]):
            p.close()
            p = Producer(d)
            for ev, first in zip(replay, acks[CALL.index(replay[0]):]):
                eq(p.event(ev), {"ack": ev["id"], "seq": first["seq"], "duplicate": True})
        eq(a1.try_read(0.5), None, "a1 popped again by a replay")
        eq(a2.try_read(0.2), None, "a2 popped again by a replay")
        # No ghost: a console that says hello now gets nothing, nothing waits, nothing is live.
        eq(pops_until_quiet(Console(d, "a1", tok["a1"]))[1], [], "welcome re-pops of an ended call")
        eq(waiting(d).get("support"), 0, "/api/stats waiting")
        after = metrics(d)
        for k in ("callogd_pops_total", "callogd_call_messages_total", "callogd_retractions_total",
                  "callogd_active_calls"):
            eq(after.get(k), before.get(k), k)
        eq(after['callogd_events_total{type="call.ringing",result="duplicate"}'],
           before.get('callogd_events_total{type="call.ringing",result="duplicate"}', 0) + 5)
        eq(after["callogd_active_calls"], 0)
        # The replay survives a restart too: the ids are found in the database.
        p.close()
        d.kill9()
        d.start()
        a1 = Console(d, "a1", tok["a1"])
        p = Producer(d)
        for ev in CALL[:2]:
            check(p.event(ev).get("duplicate"), ev)
        eq(pops_until_quiet(a1)[1], [], "a1 popped by a replay after a restart")
        eq(metrics(d)["callogd_active_calls"], 0)


def dedup_counts(d, want_filter_ids=None, timeout=10.0):
    """(probes, unprobed, filter ids), once the filter holds want_filter_ids (when given)."""
    end = time.monotonic() + timeout
    while True:
        m = metrics(d)
        got = (m["callogd_dedup_probes"], m["callogd_dedup_unprobed"], m["callogd_dedup_filter_ids"])
        if want_filter_ids is None or got[2] >= want_filter_ids or time.monotonic() > end:
            return got
        time.sleep(0.05)


@test
def new_ids_skip_the_database_probe_stored_ids_do_not():
    if pgserver.BACKEND == "pg":
        skip("the duplicate filter is SQLite's: on PostgreSQL other nodes store ids too, every new id is probed")
    with running() as d:
        tok = setup(d, agents=("a1",))
        p = Producer(d)
        evs = [{"type": "call.offered", "call_id": "b-%d" % i, "id": "b-%d-o" % i, "from": "5551234567",
                "to": "8005550100", "queue": "support"} for i in range(20)]
        for ev in evs[:5]:
            send(p, ev)
        probes, unprobed, ids = dedup_counts(d, 5)
        eq(ids, 5, "the filter holds every stored id")
        for ev in evs[5:]:
            send(p, ev)
        probes2, unprobed2, ids = dedup_counts(d, 20)
        eq((probes2 - probes, unprobed2 - unprobed), (0, 15), "new ids are not looked up in the database")
        # After a restart the filter is loaded from the database: a replay is found (probed), never popped.
        p.close()
        d.stop()
        d.start()
        probes, unprobed, ids = dedup_counts(d, 20)
        eq(ids, 20, "loaded from the database")
        a1 = Console(d, "a1", tok["a1"])
        p = Producer(d)
        send(p, {"type": "call.ringing", "call_id": "b-new", "id": "b-new-r", "agent": "a1"})
        eq(list(pops_until_quiet(a1)[0]), ["b-new"], "a new id pops")
        for ev in evs:
            check(p.event(ev).get("duplicate"), ev)
        p2, u2, _ = dedup_counts(d)
        eq((p2 - probes, u2 - unprobed), (20, 1), "each stored id probed, the new one not")
        eq(pops_until_quiet(a1)[1], [], "nothing popped by the replay")


@test
def the_same_id_in_flight_twice_pops_once():
    with running() as d:
        tok = setup(d)
        a1, a2 = Console(d, "a1", tok["a1"]), Console(d, "a2", tok["a2"])
        p, q = Producer(d), Producer(d, unix=True)
        ring = json.dumps({"type": "call.ringing", "call_id": "f-1", "id": "f1-r", "agent": "a2"}) + "\n"
        answer = json.dumps({"type": "call.answered", "call_id": "f-1", "id": "f1-a", "agent": "a1"}) + "\n"
        # Ringing a2, answered by a1, then the ringing again (a resend), all before any ack;
        # and another connection resends the ringing at the same time.
        p.send_raw((ring + answer + ring).encode())
        q.send_raw(ring.encode())
        answers = [p.read(), p.read(), p.read(), q.read()]
        rings = [answers[0], answers[2], answers[3]]  # whichever connection is read first stores it
        eq(sorted(bool(a.get("duplicate")) for a in rings), [False, True, True], answers)
        eq(len({a["seq"] for a in rings}), 1, answers)
        check("seq" in answers[1] and not answers[1].get("duplicate"), answers)
        _, msgs = pops_until_quiet(a2)
        eq([(m["type"], m.get("state")) for m in msgs], [("pop", None), ("call", "retracted")],
           "the resent ringing must not ring a2 again")
        _, msgs = pops_until_quiet(a1)
        eq([(m["type"], m.get("state")) for m in msgs], [], "a1 only answered (trigger ringing)")
        got, _ = pops_until_quiet(Console(d, "a2", tok["a2"]))
        eq(got, {}, "a2 no longer has the call")


@test
def a_resend_after_a_storage_error_pops_once():
    with running() as d:
        tok = setup(d)
        a1 = Console(d, "a1", tok["a1"])
        p = Producer(d)
        evs = [{"type": "call.offered", "call_id": "s-1", "id": "s1-o", "from": "5551234567", "to": "8005550100",
                "queue": "support"},
               {"type": "call.ringing", "call_id": "s-1", "id": "s1-r", "agent": "a1"}]
        # Another writer holds the database past the daemon's busy timeout: the commit fails.
        db = sqlite3.connect(d.db, timeout=10, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        try:
            for ev in evs:
                p.send(ev)
            m = a1.read(timeout=3)  # the pop goes before the ack
            eq((m["type"], m["call_id"]), ("pop", "s-1"))
            # SQLite gives up after its busy timeout (5 s, longer on a loaded machine) per transaction.
            answers = [p.read(timeout=60), p.read(timeout=60)]
        finally:
            db.execute("ROLLBACK")
            db.close()
        eq([a.get("error") for a in answers], ["storage", "storage"], answers)
        # The producer sends again, as told: stored now, and nobody is popped twice.
        for ev in evs:
            a = p.event(ev)
            check("seq" in a and not a.get("duplicate"), a)
        eq(a1.try_read(0.5), None, "popped again by the resend")
        send(p, {"type": "call.answered", "call_id": "s-1", "id": "s1-a", "agent": "a1"})
        m = a1.read()
        eq((m["type"], m["state"]), ("call", "answered"))
        got, _ = pops_until_quiet(Console(d, "a1", tok["a1"]))
        eq(sorted(got), ["s-1"], "one live call")
        eq(metrics(d)["callogd_active_calls"], 1)


def offer_and_ring(p, call_id, frm="5551234567"):
    """call.offered and call.ringing (a1) in one write: read in the same loop turn, before any lookup ends."""
    lines = [{"type": "call.offered", "call_id": call_id, "from": frm, "to": "8005550100", "queue": "support"},
             {"type": "call.ringing", "call_id": call_id, "agent": "a1"}]
    p.send_raw("".join(json.dumps(e) + "\n" for e in lines).encode())


@test
def a_pop_waits_for_its_lookup():
    with running() as d:  # pops.lookup_ms: the 200 ms default
        tok = setup(d)
        a1 = Console(d, "a1", tok["a1"])
        p = Producer(d)
        offer_and_ring(p, "l-1")
        eq([("seq" in a) for a in (p.read(), p.read())], [True, True])
        # The pop went before the ringing's ack (SPEC §5): it is there already.
        m = a1.read(timeout=0.05)
        eq((m["type"], m["call_id"], m["customer"]["id"], m["matches"]), ("pop", "l-1", "C-7", 1))
        eq(a1.try_read(0.5), None, "no updated pop: the first one had the lookup")
        # An unknown caller: the lookup says so, and the pop still goes out at once.
        offer_and_ring(p, "l-2", frm="5550000000")
        p.read(), p.read()
        m = a1.read(timeout=0.05)
        eq((m["call_id"], m["customer"], m["number_status"]), ("l-2", None, "ok"))
        # Calls from one number offered together share one lookup; none sees itself in its history.
        lines = []
        for cid in ("r-1", "r-2", "r-3"):
            lines += [{"type": "call.offered", "call_id": cid, "from": "5551234567", "to": "8005550100"},
                      {"type": "call.ringing", "call_id": cid, "agent": "a1"}]
        p.send_raw("".join(json.dumps(e) + "\n" for e in lines).encode())
        for _ in lines:
            check("seq" in p.read())
        got, msgs = pops_until_quiet(a1, 0.3)
        eq(len(msgs), 3, msgs)
        for cid in ("r-1", "r-2", "r-3"):
            eq(got[cid]["customer"]["id"], "C-7")
            check(cid not in [h["call_id"] for h in got[cid]["history"]], got[cid]["history"])
        eq(metrics(d).get("callogd_pop_updates_total"), 0)


@test
def a_late_lookup_sends_an_updated_pop():
    with running(pops__lookup_ms=0) as d:  # pops never wait: the lookup is always late
        tok = setup(d)
        a1 = Console(d, "a1", tok["a1"])
        p = Producer(d)
        offer_and_ring(p, "u-1")
        p.read(), p.read()
        m = a1.read()
        eq((m["type"], m["call_id"], m["from"], m["customer"], m["matches"]), ("pop", "u-1", "+15551234567", None, 0),
           "the pop goes out with what is known")
        u = a1.read()
        eq((u["type"], u["call_id"], u["agent"], u["customer"]["id"], u["matches"]), ("pop", "u-1", "a1", "C-7", 1),
           "the updated pop")
        check(u["seq"] > m["seq"])
        eq(a1.try_read(0.3), None)
        eq(metrics(d).get("callogd_pop_updates_total"), 1)
        # A console that says hello now gets the pop with the lookup.
        got, _ = pops_until_quiet(Console(d, "a1", tok["a1"]))
        eq(got["u-1"]["customer"]["id"], "C-7")
        # The call record has its customer either way (the writer stamps it).
        status, c, _ = d.get("/api/calls/u-1")
        eq((status, c["customer_id"]), (200, "C-7"))


if __name__ == "__main__":
    run()
