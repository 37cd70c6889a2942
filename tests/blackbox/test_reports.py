"""test_reports.py : GET /api/reports/queues|agents|dispositions (docs/http-api.md) against a
real daemon. Every expected figure is computed here, from the events the test sends,
with Python's own zoneinfo for the intervals (Europe/Amsterdam's 25- and 23-hour
days included); CSV is checked against the JSON; bad parameters are 400s naming
the parameter; callogctl report prints the same figures."""
import csv
import io
import os
import random
import sys
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(__file__))
from harness import Producer, check, eq, run, running, test  # noqa: E402

from reportmodel import (  # noqa: E402
    AMS, agent_rows, bounds, disposition_rows, iso_utc, keyed, local, make_calls, ms_of, queue_rows, report,
    same_rows, send, start_label)


# ---- the tests ----

@test
def queues_per_day_and_hour_over_dst():
    rng = random.Random(14)
    days = [local(2026, 10, 24), local(2026, 10, 25), local(2026, 10, 26)]
    calls_events = make_calls(rng, days, 40)
    # On the 25th, 02:30 happens twice: once in CEST, once in CET.
    calls_events.append([{"type": "call.offered", "call_id": "fold0", "queue": "support", "from": "1", "to": "2",
                          "ts": iso_utc(local(2026, 10, 25, 2, 30, fold=0)), "_ms": local(2026, 10, 25, 2, 30, fold=0)},
                         {"type": "call.answered", "call_id": "fold0", "agent": "a1",
                          "ts": iso_utc(local(2026, 10, 25, 2, 30, fold=0) + 3000),
                          "_ms": local(2026, 10, 25, 2, 30, fold=0) + 3000},
                         {"type": "call.ended", "call_id": "fold0",
                          "ts": iso_utc(local(2026, 10, 25, 2, 30, fold=0) + 63000),
                          "_ms": local(2026, 10, 25, 2, 30, fold=0) + 63000}])
    calls_events.append([{"type": "call.offered", "call_id": "fold1", "queue": "support", "from": "1", "to": "2",
                          "ts": iso_utc(local(2026, 10, 25, 2, 30, fold=1)), "_ms": local(2026, 10, 25, 2, 30, fold=1)},
                         {"type": "call.ended", "call_id": "fold1", "reason": "abandoned",
                          "ts": iso_utc(local(2026, 10, 25, 2, 30, fold=1) + 8000),
                          "_ms": local(2026, 10, 25, 2, 30, fold=1) + 8000}])
    with running() as d:
        calls = send(d, calls_events)
        for interval, frm, until in (("day", "2026-10-24", "2026-10-27"), ("hour", "2026-10-25", "2026-10-26"),
                                     ("total", "2026-10-24", "2026-10-27"), ("week", "2026-10-19", "2026-11-02"),
                                     ("month", "2026-10-01", "2026-11-01")):
            got = report(d, "queues", interval=interval, tz="Europe/Amsterdam", **{"from": frm, "until": until})
            f = ms_of(datetime.fromisoformat(frm).replace(tzinfo=AMS))
            u = ms_of(datetime.fromisoformat(until).replace(tzinfo=AMS))
            b = bounds(f, u, interval, AMS)
            rows, totals = queue_rows(calls, b, AMS)
            eq((got["tz"], got["interval"]), ("Europe/Amsterdam", interval))
            eq(got["from"], start_label(f, AMS))
            same_rows(got["rows"], rows, ("start", "queue"), "queues/" + interval)
            same_rows(got["totals"], totals, ("queue",), "queues/%s totals" % interval)
            if interval == "hour":
                starts = {r["start"] for r in got["rows"]}
                check("2026-10-25T02:00:00+02:00" in starts and "2026-10-25T02:00:00+01:00" in starts, starts)
            if interval == "day":
                check(len(got["rows"]) >= 6, got["rows"])
        # One queue only.
        got = report(d, "queues", interval="day", tz="Europe/Amsterdam", queue="sales",
                     **{"from": "2026-10-24", "until": "2026-10-27"})
        eq({r["queue"] for r in got["rows"]}, {"sales"})


@test
def spring_forward_day_has_23_hours():
    rng = random.Random(329)
    calls_events = make_calls(rng, [local(2026, 3, 28), local(2026, 3, 29), local(2026, 3, 30)], 25)
    with running(stats__timezone="Europe/Amsterdam") as d:
        calls = send(d, calls_events)
        # stats.timezone is the default zone.
        got = report(d, "queues", interval="hour", **{"from": "2026-03-29", "until": "2026-03-30"})
        eq(got["tz"], "Europe/Amsterdam")
        b = bounds(local(2026, 3, 29), local(2026, 3, 30), "hour", AMS)
        eq(len(b) - 1, 23)
        rows, totals = queue_rows(calls, b, AMS)
        same_rows(got["rows"], rows, ("start", "queue"), "23-hour day")
        same_rows(got["totals"], totals, ("queue",), "23-hour day totals")
        check(not any(r["start"].startswith("2026-03-29T02:") for r in got["rows"]), got["rows"])
        # RFC 3339 bounds work too, cut inside an hour.
        frm, until = "2026-03-29T01:30:00%2B01:00", "2026-03-29T10:15:00Z"
        got = report(d, "queues", interval="hour", **{"from": frm, "until": until})
        b = bounds(ms_of(datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)),
                   ms_of(datetime(2026, 3, 29, 10, 15, tzinfo=timezone.utc)), "hour", AMS)
        rows, totals = queue_rows(calls, b, AMS)
        same_rows(got["rows"], rows, ("start", "queue"), "cut hours")


@test
def agents_and_dispositions():
    rng = random.Random(7)
    days = [local(2026, 11, 2), local(2026, 11, 3)]
    calls_events = make_calls(rng, days, 30)
    states = []

    def st(agent, state, t, reason=None):
        e = {"type": "agent.state", "agent": agent, "state": state, "ts": iso_utc(t), "_ms": t}
        if reason:
            e["reason"] = reason
        states.append(e)
    for a in ("a1", "a2", "a3"):
        t = local(2026, 11, 1, 22) + rng.randrange(0, 3600000)  # before the range: cut at from
        st(a, "logged_in", t)
        for _ in range(12):
            t += rng.randrange(600000, 7200000)
            s = rng.choice(["ready", "ready", "not_ready", "logged_out", "logged_in"])
            st(a, s, t, rng.choice(["lunch", "meeting", "training"]) if s == "not_ready" else None)
    with running() as d:
        calls = send(d, calls_events, states)
        for interval in ("hour", "day", "total"):
            f, u = local(2026, 11, 2), local(2026, 11, 4)
            b = bounds(f, u, interval, AMS)
            got = report(d, "agents", interval=interval, tz="Europe/Amsterdam",
                         **{"from": "2026-11-02", "until": "2026-11-04"})
            rows, totals = agent_rows(calls, states, b, AMS)
            same_rows(got["rows"], rows, ("start", "agent"), "agents/" + interval)
            same_rows(got["totals"], totals, ("agent",), "agents/%s totals" % interval)
            got = report(d, "dispositions", interval=interval, tz="Europe/Amsterdam",
                         **{"from": "2026-11-02", "until": "2026-11-04"})
            rows, totals = disposition_rows(calls, b, AMS)
            check(rows, "the scenario has dispositions")
            same_rows(got["rows"], rows, ("start", "queue", "code"), "dispositions/" + interval)
            same_rows(got["totals"], totals, ("queue", "code"), "dispositions/%s totals" % interval)
        got = report(d, "agents", interval="day", tz="Europe/Amsterdam", agent="a2",
                     **{"from": "2026-11-02", "until": "2026-11-04"})
        eq({r["agent"] for r in got["rows"]}, {"a2"})

        # CSV: one row per JSON row, nulls empty, a column per reason seen.
        for kind, keys in (("queues", ("start", "queue")), ("agents", ("start", "agent")),
                           ("dispositions", ("start", "queue", "code"))):
            params = "interval=hour&tz=Europe/Amsterdam&from=2026-11-02&until=2026-11-04"
            status, text, resp = d.get("/api/reports/%s?%s&format=csv" % (kind, params))
            eq(status, 200)
            check(resp.getheader("Content-Type").startswith("text/csv"), resp.getheader("Content-Type"))
            check(text.endswith("\r\n"), repr(text[-10:]))
            js = report(d, kind, interval="hour", tz="Europe/Amsterdam", **{"from": "2026-11-02", "until": "2026-11-04"})
            table = list(csv.DictReader(io.StringIO(text, newline="")))
            eq(len(table), len(js["rows"]), kind)
            byk = keyed(js["rows"], *keys)
            for r in table:
                k = tuple(r[x] or None for x in keys)
                j = byk[k]
                for f, v in j.items():
                    if f == "not_ready_reasons":
                        for reason, msv in v.items():
                            eq(int(r["not_ready_reasons." + reason]), msv)
                    elif v is None:
                        eq(r[f], "", "%s %s null" % (kind, f))
                    elif isinstance(v, float):
                        eq(float(r[f]), v)
                    elif isinstance(v, int):
                        eq(int(r[f]), v)
                    else:
                        eq(r[f], v)


@test
def bad_parameters_are_400s_naming_them():
    with running() as d:
        for qs, param in (("interval=year", "interval"), ("format=xml", "format"), ("tz=Mars/Olympus", "tz"),
                          ("tz=../../etc/passwd", "tz"), ("from=yesterday", "from"), ("until=2026-13-01", "until"),
                          ("from=2026-02-30", "from"), ("from=2026-11-05&until=2026-11-01", "until"),
                          ("from=2000-01-01&until=2030-01-01&interval=hour", "interval"),
                          ("queue=", "queue"), ("agent=" + "x" * 200, "agent")):
            status, body, _ = d.get("/api/reports/queues?" + qs)
            eq(status, 400, qs)
            eq(body.get("parameter"), param, qs)
            check(body["message"].startswith(param), body)
        status, body, _ = d.get("/api/reports/calls")
        eq(status, 404)
        status, body, _ = d.get("/api/reports/queues", auth=False)
        eq(status, 401)
        status, body, _ = d.get("/api/reports/queues?interval=year", auth=False)
        eq(status, 401, "the token is checked before the parameters")
        # Roles: supervisors read reports, producers do not.
        sup = d.ctl("token", "add", "sup", "--role", "supervisor").stdout.strip().splitlines()[-1]
        prod = d.ctl("token", "add", "prod", "--role", "producer").stdout.strip().splitlines()[-1]
        for kind in ("queues", "agents", "dispositions"):
            eq(d.get("/api/reports/%s?format=csv" % kind, token=sup)[0], 200, kind)
            status, body, _ = d.get("/api/reports/%s" % kind, token=prod)
            eq((status, body["error"]), (403, "forbidden"), kind)
        eq(d.get("/api/calls?format=csv", token=sup)[0], 200)
        eq(d.get("/api/calls?format=csv", token=prod)[0], 403)
        # No parameters: today in the host's zone, every row empty.
        status, body, _ = d.get("/api/reports/queues")
        eq((status, body["rows"], body["totals"], body["interval"]), (200, [], [], "day"))


@test
def callogctl_report_table_and_csv():
    rng = random.Random(99)
    with running() as d:
        calls = send(d, make_calls(rng, [local(2026, 11, 2)], 20))
        args = ["--from", "2026-11-02", "--until", "2026-11-03", "--tz", "Europe/Amsterdam", "--interval", "hour"]
        for kind in ("queues", "agents", "dispositions"):
            r = d.ctl("report", kind, *args, "--csv")
            _, api, _ = d.get("/api/reports/%s?from=2026-11-02&until=2026-11-03&tz=Europe/Amsterdam"
                              "&interval=hour&format=csv" % kind)
            eq(r.stdout, api.replace("\r\n", "\n"), kind)  # text mode turns CRLF into LF
        r = d.ctl("report", "queues", *args)
        lines = r.stdout.splitlines()
        head = lines[0].split()
        eq(head[:4], ["start", "queue", "offered", "answered"])
        # Aligned: each column starts where its header does.
        col = lines[0].index("offered")
        b = bounds(local(2026, 11, 2), local(2026, 11, 3), "hour", AMS)
        rows, totals = queue_rows(calls, b, AMS)
        eq(len(lines), 1 + len(rows) + len(totals))
        for line in lines[1:]:
            check(line[col - 1] == " " and line[col] != " ", (line, col))
        tot = [l.split() for l in lines if l.startswith("total")]
        want = {(t["queue"] or "-"): t["offered"] for t in totals}
        eq({t[1]: int(t[2]) for t in tot}, want)
        r = d.ctl("report", "calls", check=False)
        eq(r.returncode, 2, r.stderr)
        r = d.ctl("report", "queues", "--tz", "Nowhere/Land", check=False)
        eq(r.returncode, 2, r.stderr)
        check("Nowhere/Land" in r.stderr, r.stderr)
        r = d.ctl("report", "queues", "--interval", "fortnight", check=False)
        eq(r.returncode, 2, r.stderr)


@test
def calls_cursor_exports_everything():
    """/api/calls pages with before= (the last row's call_id) through more than 1,000
    calls, several offered in the same millisecond; format=csv pages the same way."""
    n = 1234
    with running() as d:
        p = Producer(d)
        base = local(2026, 11, 2, 9)
        for k in range(n):
            t = base + (k // 3) * 1000  # three calls per instant
            a = p.event({"type": "call.offered", "call_id": "x%04d" % k, "from": "+3120555%04d" % k, "to": "1",
                         "queue": "q", "ts": iso_utc(t)})
            check("ack" in a, a)
        p.close()
        seen, before = [], None
        while True:
            status, body, _ = d.get("/api/calls?limit=1000" + ("&before=" + before if before else ""))
            eq(status, 200, body)
            seen += [c["call_id"] for c in body["calls"]]
            before = body["next"]
            if before is None:
                break
            eq(before, body["calls"][-1]["call_id"])
        eq(len(seen), n)
        eq(set(seen), {"x%04d" % k for k in range(n)})
        offered = [int(s[1:]) // 3 for s in seen]
        eq(offered, sorted(offered, reverse=True), "newest first")
        # The same through CSV, 500 a page.
        rows, before = [], None
        while True:
            status, text, resp = d.get("/api/calls?format=csv&limit=500&since=2026-11-02" +
                                       ("&before=" + before if before else ""))
            eq(status, 200, text)
            check(resp.getheader("Content-Type").startswith("text/csv"))
            page = list(csv.DictReader(io.StringIO(text, newline="")))
            rows += page
            if len(page) < 500:
                break
            before = page[-1]["call_id"]
        eq([r["call_id"] for r in rows], seen)
        eq(rows[0]["outcome"], "active")
        eq(rows[0]["answered_at"], "")
        eq(rows[-1]["offered_at"], iso_utc(base))
        status, body, _ = d.get("/api/calls?format=xml")
        eq(status, 400)
        status, body, _ = d.get("/api/calls?before=nosuchcall")
        eq((status, body["calls"], body["next"]), (200, [], None))


@test
def wallboard_snapshot_today():
    """GET /api/wallboard: today's tiles per queue (as the queue report counts them),
    the calls waiting now, the agents' states and today's hours."""
    now = int(time.time() * 1000)
    day0 = ms_of(datetime.fromtimestamp(now / 1000, timezone.utc).replace(hour=0, minute=0, second=0,
                                                                          microsecond=0))
    t = max(day0, now - 600000)  # ten minutes ago, or midnight if sooner
    evs = [
        {"type": "agent.state", "agent": "a1", "state": "not_ready", "reason": "lunch", "ts": iso_utc(t)},
        {"type": "call.offered", "call_id": "w1", "queue": "q", "from": "1", "to": "2", "ts": iso_utc(t)},
        {"type": "call.answered", "call_id": "w1", "agent": "a1", "ts": iso_utc(t + 5000)},
        {"type": "call.ended", "call_id": "w1", "ts": iso_utc(t + 65000)},
        {"type": "call.offered", "call_id": "w2", "queue": "q", "from": "1", "to": "2", "ts": iso_utc(t + 1000)},
        {"type": "call.ended", "call_id": "w2", "reason": "abandoned", "ts": iso_utc(t + 31000)},
        {"type": "call.offered", "call_id": "w3", "queue": "q", "from": "1", "to": "2", "ts": iso_utc(t + 2000)},
        {"type": "call.offered", "call_id": "w4", "queue": "r", "from": "1", "to": "2", "ts": iso_utc(t + 3000)},
        {"type": "call.answered", "call_id": "w4", "agent": "a2", "ts": iso_utc(t + 4000)},
    ]
    with running(stats__timezone="UTC") as d:
        d.add_agent("a2")
        p = Producer(d)
        for e in evs:
            check("ack" in p.event(e))
        p.close()
        status, body, _ = d.get("/api/wallboard")
        eq(status, 200, body)
        eq((body["tz"], body["sla_seconds"]), ("UTC", 20))
        eq(body["date"], datetime.fromtimestamp(now / 1000, timezone.utc).strftime("%Y-%m-%d"))
        tile = [q for q in body["queues"] if q["queue"] == "q"][0]
        eq((tile["offered"], tile["answered"], tile["abandoned"], tile["waiting"]), (3, 1, 1, 1))
        eq(tile["service_level"], 0.5)
        check(tile["longest_wait_ms"] >= now - (t + 2000) - 1000, tile)
        a1 = [a for a in body["agents"] if a["id"] == "a1"][0]
        eq((a1["state"], a1["reason"], a1["call"]), ("not_ready", "lunch", None))
        a2 = [a for a in body["agents"] if a["id"] == "a2"][0]
        eq((a2["call"]["call_id"], a2["call"]["queue"], a2["call"]["since"]), ("w4", "r", iso_utc(t + 4000)))
        check(a2["call"]["duration_ms"] >= now - (t + 4000) - 1000, a2)
        check(a1["in_state_ms"] >= now - t - 1000, a1)
        eq(sum(h["offered"] for h in body["hours"]), 4)
        eq(sum(h["answered"] for h in body["hours"]), 1)
        prod = d.ctl("token", "add", "prod", "--role", "producer").stdout.strip().splitlines()[-1]
        eq(d.get("/api/wallboard", token=prod)[0], 403)
        eq(d.get("/api/wallboard", auth=False)[0], 401)


@test
def stats_is_today_in_stats_timezone():
    # Kiritimati is 14 hours ahead of UTC: its today is another date than UTC's for most of the day.
    zone = "Pacific/Kiritimati"
    with running(stats__timezone=zone) as d:
        t = int(time.time() * 1000)
        p = Producer(d)
        check("ack" in p.event({"type": "call.offered", "call_id": "k1", "queue": "support", "from": "1", "to": "2",
                                "ts": iso_utc(t)}))
        p.close()
        status, body, _ = d.get("/api/stats")
        eq(status, 200, body)
        eq(body["date"], datetime.fromtimestamp(t / 1000, ZoneInfo(zone)).strftime("%Y-%m-%d"))
        eq([(q["queue"], q["offered"], q["waiting"]) for q in body["queues"]], [("support", 1, 1)])
        _, wall, _ = d.get("/api/wallboard")
        eq(wall["date"], body["date"])
        for param in ("since", "date"):
            status, body, _ = d.get("/api/stats?%s=2026-01-01" % param)
            eq((status, body["error"], body["parameter"]), (400, "bad_request", param), body)


if __name__ == "__main__":
    run()
