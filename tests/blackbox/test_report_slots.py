"""test_report_slots.py : the queue report's roll-up (report_slots, docs/reports.md) kept
exact by a real daemon: events that change a call after it ended (a late answer that
lowers a slot's longest wait, a late offer that moves a call to another queue), a purge
that removes calls and agent states, and new thresholds on SIGHUP. Every figure is
computed in Python from the events sent (reportmodel.py); the database is read only to
check that the reports used the roll-up."""
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Producer, check, eq, run, running, test  # noqa: E402

import reportmodel  # noqa: E402
from reportmodel import (  # noqa: E402
    AMS, Call, agent_rows, bounds, disposition_rows, iso_utc, local, make_calls, queue_rows, report, same_rows)


def slot_conf(d, want=None):
    """The thresholds the roll-up was counted with (None: not counted); with want, waits up to 10 s for them
    (the writer counts the slots after start-up, on its thread)."""
    deadline = time.time() + 10
    while want is not None and time.time() < deadline and slot_conf(d) != want:
        time.sleep(0.05)
    if d.pg_db is not None:  # PostgreSQL keeps them in a table of their own
        rows = d.query("SELECT sla_ms || ' ' || short_ms FROM slot_conf")
    else:
        rows = d.query("SELECT CAST(value AS TEXT) FROM meta WHERE key = 'report_slots'")
    return rows[0][0] if rows else None


def send_all(d, events):
    p = Producer(d)
    for e in events:
        a = p.event({k: v for k, v in e.items() if not k.startswith("_")})
        check("ack" in a, a)
    p.close()


def ev(cid, t, typ, **f):
    e = {"type": typ, "call_id": cid, "ts": iso_utc(t), "_ms": t}
    e.update(f)
    return e


def check_queues(d, calls, frm, until, what):
    f = local(*frm)
    u = local(*until)
    for interval in ("day", "hour"):
        b = bounds(f, u, interval, AMS)
        params = {"interval": interval, "tz": "Europe/Amsterdam", "from": "%04d-%02d-%02d" % frm,
                  "until": "%04d-%02d-%02d" % until}
        got = report(d, "queues", **params)
        rows, totals = queue_rows(calls, b, AMS)
        same_rows(got["rows"], rows, ("start", "queue"), "%s: queues/%s" % (what, interval))
        same_rows(got["totals"], totals, ("queue",), "%s: queues/%s totals" % (what, interval))
        got = report(d, "dispositions", **params)
        rows, totals = disposition_rows(calls, b, AMS)
        same_rows(got["rows"], rows, ("start", "queue", "code"), "%s: dispositions/%s" % (what, interval))


@test
def slots_follow_calls_changed_after_they_ended():
    rng = random.Random(1714)
    days = [local(2026, 10, 24), local(2026, 10, 25)]
    calls = make_calls(rng, days, 30)
    t0 = local(2026, 10, 24, 10, 1)
    # m1 ends unanswered after 5 minutes (its hour's longest wait); a late answer makes it a 2 s wait.
    m1 = [ev("m1", t0, "call.offered", queue="support", **{"from": "+31205550001", "to": "+31800"}),
          ev("m1", t0 + 300000, "call.ended", reason="no_answer", by="system")]
    m1_late = [ev("m1", t0 + 2000, "call.answered", agent="a1")]
    # m2 starts with its ringing (no queue, offered at the ring); its offer, earlier and with a queue, comes later.
    t2 = local(2026, 10, 25, 14, 10)
    m2 = [ev("m2", t2 + 5000, "call.ringing", agent="a2"), ev("m2", t2 + 9000, "call.answered", agent="a2"),
          ev("m2", t2 + 99000, "call.ended", reason="completed")]
    m2_late = [ev("m2", t2, "call.offered", queue="sales", **{"from": "+31205550002", "to": "+31800"})]
    # m3's disposition comes long after it ended: its wrap and code change, its wait does not.
    t3 = local(2026, 10, 25, 9, 0)
    m3 = [ev("m3", t3, "call.offered", queue="sales", **{"from": "+31205550003", "to": "+31800"}),
          ev("m3", t3 + 4000, "call.answered", agent="a1"), ev("m3", t3 + 64000, "call.ended", reason="completed")]
    m3_late = [ev("m3", t3 + 94000, "call.disposition", agent="a1", code="sale")]
    # The rest: some calls' last event only after everything else (another transaction).
    first, late = [], []
    for evs in calls:
        if len(evs) > 2 and rng.random() < 0.3:
            first += evs[:-1]
            late.append(evs[-1])
        else:
            first += evs
    with running() as d:
        eq(slot_conf(d, "20000 5000"), "20000 5000")
        send_all(d, first + m1 + m2 + m3)
        before = report(d, "queues", interval="hour", tz="Europe/Amsterdam", queue="support",
                        **{"from": "2026-10-24T10:00:00+02:00", "until": "2026-10-24T11:00:00+02:00"})
        eq(before["rows"][0]["max_wait_ms"], 300000, before)
        send_all(d, late + m1_late + m2_late + m3_late)
        model = [Call(evs) for evs in calls] + [Call(m1 + m1_late), Call(m2 + m2_late), Call(m3 + m3_late)]
        check_queues(d, model, (2026, 10, 24), (2026, 10, 26), "late events")
        after = report(d, "queues", interval="hour", tz="Europe/Amsterdam", queue="support",
                       **{"from": "2026-10-24T10:00:00+02:00", "until": "2026-10-24T11:00:00+02:00"})
        check(after["rows"][0]["max_wait_ms"] < 300000, after)
        # A restart keeps the roll-up (same thresholds: not counted again) and the figures.
        eq(d.stop(), 0)
        d.start()
        eq(slot_conf(d, "20000 5000"), "20000 5000")
        check_queues(d, model, (2026, 10, 24), (2026, 10, 26), "after a restart")
        check('msg="report slots counted"' not in d.read_log()[d.log_mark:], "counted again with the same thresholds")


@test
def purge_recounts_slots_and_keeps_each_agents_last_state():
    rng = random.Random(1715)
    days = [local(2026, 10, 24), local(2026, 10, 25), local(2026, 10, 26)]
    calls = make_calls(rng, days, 25)
    cut = local(2026, 10, 26)
    # Offered before the cut, ended after it: kept, and its slot (the 25th, 23:45) counts it alone.
    calls.append([ev("x1", cut - 60000, "call.offered", queue="support", **{"from": "+31205550009", "to": "+1"}),
                  ev("x1", cut - 50000, "call.answered", agent="a3"),
                  ev("x1", cut + 120000, "call.ended", reason="completed")])
    states = []
    for a, n in (("a1", 0), ("a2", 1), ("a3", 2)):
        t = local(2026, 10, 24, 8) + n * 60000
        for k, (st, reason) in enumerate([("logged_in", None), ("ready", None), ("not_ready", "lunch"),
                                          ("ready", None), ("logged_out", None)] * 2 + [("ready", None)]):
            e = {"type": "agent.state", "agent": a, "state": st, "ts": iso_utc(t), "_ms": t}
            if reason:
                e["reason"] = reason
            states.append(e)
            t += (k + 1) * 3600000 + n * 7000  # the last ones fall on the 26th
    with running() as d:
        send_all(d, [e for evs in calls for e in evs] + states)
        out = d.ctl("purge", "--before", "2026-10-26T00:00:00+01:00").stdout
        model = [Call(evs) for evs in calls]
        kept = [c for c in model if not (c.ended is not None and c.ended < cut and c.offered < cut)]
        check(0 < len(kept) < len(model), (len(kept), len(model)))
        check(("purged %d calls" % (len(model) - len(kept))) in out, out)
        check_queues(d, kept, (2026, 10, 24), (2026, 10, 27), "after the purge")
        rows = d.query("SELECT agent, ts FROM agent_states ORDER BY agent, ts")
        for a in ("a1", "a2", "a3"):
            mine = [s["_ms"] for s in states if s["agent"] == a]
            want = [max(t for t in mine if t < cut)] + [t for t in mine if t >= cut]
            eq([t for ag, t in rows if ag == a], want, "agent_states of %s after the purge" % a)
        # The 26th's state time is what it was: the state holding at the cut was kept.
        b = bounds(cut, local(2026, 10, 27), "day", AMS)
        got = report(d, "agents", interval="day", tz="Europe/Amsterdam", **{"from": "2026-10-26", "until": "2026-10-27"})
        rows, totals = agent_rows(kept, states, b, AMS)
        same_rows(got["rows"], rows, ("start", "agent"), "agents on the 26th after the purge")


@test
def new_thresholds_on_sighup_count_the_slots_again():
    rng = random.Random(1716)
    calls = make_calls(rng, [local(2026, 10, 24)], 60)
    with running() as d:
        send_all(d, [e for evs in calls for e in evs])
        model = [Call(evs) for evs in calls]
        check_queues(d, model, (2026, 10, 24), (2026, 10, 25), "20 s / 5 s")
        d.settings.update({"stats.sla_seconds": 30, "stats.short_abandon_seconds": 10})
        d.write_config()
        d.proc.send_signal(signal.SIGHUP)
        eq(slot_conf(d, "30000 10000"), "30000 10000")
        saved = reportmodel.SLA_MS, reportmodel.SHORT_MS
        reportmodel.SLA_MS, reportmodel.SHORT_MS = 30000, 10000
        try:
            check_queues(d, model, (2026, 10, 24), (2026, 10, 25), "30 s / 10 s")
        finally:
            reportmodel.SLA_MS, reportmodel.SHORT_MS = saved


if __name__ == "__main__":
    run()
