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
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(__file__))
from harness import Producer, check, eq, run, running, test  # noqa: E402

AMS = ZoneInfo("Europe/Amsterdam")
SLA_MS, SHORT_MS = 20000, 5000


def ms_of(dt):
    return int(dt.timestamp() * 1000)


def iso_utc(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def local(y, mo, d, h=0, mi=0, s=0, fold=0):
    return ms_of(datetime(y, mo, d, h, mi, s, tzinfo=AMS, fold=fold))


# ---- the reference: intervals and figures computed from the events sent ----

def floor_start(ms, interval, zone):
    """The start (aware local datetime) of the interval holding instant ms."""
    t = datetime.fromtimestamp(ms / 1000, timezone.utc).astimezone(zone)
    if interval == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    day = datetime(t.year, t.month, t.day, tzinfo=zone)
    if interval == "day":
        return day
    if interval == "week":
        d = t.date() - timedelta(days=t.weekday())
        return datetime(d.year, d.month, d.day, tzinfo=zone)
    if interval == "month":
        return datetime(t.year, t.month, 1, tzinfo=zone)
    raise ValueError(interval)


def bounds(from_ms, until_ms, interval, zone):
    """[from, every interval start inside, until] as ms."""
    out = [from_ms]
    if interval != "total":
        t = floor_start(from_ms, interval, zone)
        while True:
            if interval == "hour":
                nxt = (t.astimezone(timezone.utc) + timedelta(hours=1)).astimezone(zone)
            elif interval == "day":
                d = t.date() + timedelta(days=1)
                nxt = datetime(d.year, d.month, d.day, tzinfo=zone)
            elif interval == "week":
                d = t.date() + timedelta(days=7)
                nxt = datetime(d.year, d.month, d.day, tzinfo=zone)
            else:
                y, m = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
                nxt = datetime(y, m, 1, tzinfo=zone)
            n = ms_of(nxt)
            if n >= until_ms:
                break
            if n > from_ms:
                out.append(n)
            t = nxt
    out.append(until_ms)
    return out


def start_label(ms, zone):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).astimezone(zone).isoformat(timespec="seconds")


def bucket(b, ms):
    if ms < b[0] or ms >= b[-1]:
        return None
    i = 0
    while i + 1 < len(b) - 1 and b[i + 1] <= ms:
        i += 1
    return i


class Call:
    """One call as the events sent make it; every figure derived from them."""

    def __init__(self, events):
        self.events = sorted(events, key=lambda e: e["_ms"])
        first = self.events[0]
        self.call_id = first["call_id"]
        offer = [e for e in self.events if e["type"] == "call.offered"]
        self.inbound = not offer or offer[0].get("direction", "inbound") == "inbound"
        self.queue = offer[0].get("queue") if offer else None
        self.offered = first["_ms"]
        ans = [e for e in self.events if e["type"] == "call.answered"]
        self.answered = ans[0]["_ms"] if ans else None
        end = [e for e in self.events if e["type"] == "call.ended"]
        self.ended = end[0]["_ms"] if end else None
        self.end_reason = end[0].get("reason") if end else None
        self.end_by = end[0].get("by") if end else None
        self.holds = []
        start = None
        for e in self.events:
            if e["type"] == "call.held" and start is None:
                start = e["_ms"]
            elif e["type"] == "call.resumed" and start is not None:
                self.holds.append((start, e["_ms"]))
                start = None
        if start is not None:  # a hold still open runs to the end
            self.holds.append((start, self.ended if self.ended is not None else 2 ** 62))
        self.transferred = any(e["type"] == "call.transferred" for e in self.events)
        disp = [e for e in self.events if e["type"] == "call.disposition"]
        self.disp_code = disp[-1]["code"] if disp else None
        self.disp_agent = disp[-1]["agent"] if disp else None
        after = [e["_ms"] for e in disp if self.ended is not None and e["_ms"] >= self.ended]
        self.wrap = (after[0] - self.ended) if after else 0

    @property
    def outcome(self):
        if self.ended is None:
            return "active"
        if self.answered is not None:
            return "answered"
        if self.end_reason == "abandoned" or self.end_by == "caller":
            return "abandoned"
        return "unanswered"

    @property
    def wait(self):
        return (self.answered if self.answered is not None else self.ended) - self.offered

    @property
    def hold(self):
        return sum(b - a for a, b in self.holds)

    @property
    def talk(self):
        return self.ended - self.answered - self.hold

    def legs(self):
        """agent -> [rang, answered, talk, hold]: each agent's part, from its answer to its
        transfer away or the end, holds within it counted as hold."""
        out = {}
        segs = []
        cur = None
        for e in self.events:
            t, a = e["type"], e.get("agent")
            if t == "call.ringing":
                out.setdefault(a, [0, 0, 0, 0])[0] = 1
            elif t == "call.transferred":
                out.setdefault(e["to_agent"], [0, 0, 0, 0])[0] = 1
                if cur is not None and cur[0] == a:
                    segs.append((a, cur[1], e["_ms"]))
                    cur = None
            elif t == "call.answered":
                leg = out.setdefault(a, [0, 0, 0, 0])
                leg[0] = leg[1] = 1
                if cur is not None:
                    segs.append((cur[0], cur[1], e["_ms"]))
                cur = (a, e["_ms"])
        if cur is not None and self.ended is not None:
            segs.append((cur[0], cur[1], self.ended))
        for a, s, t in segs:
            held = sum(max(0, min(t, he) - max(s, hs)) for hs, he in self.holds)
            out[a][2] += (t - s) - held
            out[a][3] += held
        return out


def mean(s, n):
    return None if n == 0 else (2 * s + n) // (2 * n)


def ratio(a, b):
    return None if b == 0 else a / b


def queue_rows(calls, b, zone):
    acc = {}
    for c in calls:
        i = bucket(b, c.offered)
        if i is None or not c.inbound:
            continue
        for key in ((i, c.queue), ("total", c.queue)):
            r = acc.setdefault(key, {"calls": [], "short": 0})
            if c.outcome == "abandoned" and c.wait < SHORT_MS:
                r["short"] += 1
            else:
                r["calls"].append(c)
    rows, totals = [], []
    for key, r in acc.items():
        cs = r["calls"]
        ans = [c for c in cs if c.outcome == "answered"]
        ab = [c for c in cs if c.outcome == "abandoned"]
        un = [c for c in cs if c.outcome == "unanswered"]
        act = [c for c in cs if c.outcome == "active"]
        within = sum(1 for c in ans if c.wait <= SLA_MS)
        waits = [c.wait for c in ans + ab + un]
        row = {"queue": key[1], "offered": len(cs), "answered": len(ans), "abandoned": len(ab),
               "short_abandoned": r["short"], "unanswered": len(un), "active": len(act),
               "answered_within_sla": within, "service_level": ratio(within, len(ans) + len(ab)),
               "abandon_rate": ratio(len(ab), len(ans) + len(ab) + len(un)),
               "asa_ms": mean(sum(c.wait for c in ans), len(ans)),
               "avg_abandon_ms": mean(sum(c.wait for c in ab), len(ab)),
               "max_wait_ms": max(waits) if waits else None,
               "avg_talk_ms": mean(sum(c.talk for c in ans), len(ans)),
               "avg_hold_ms": mean(sum(c.hold for c in ans), len(ans)),
               "avg_wrap_ms": mean(sum(c.wrap for c in ans), len(ans)),
               "avg_handle_ms": mean(sum(c.talk + c.hold + c.wrap for c in ans), len(ans)),
               "transferred": sum(1 for c in ans if c.transferred)}
        if key[0] == "total":
            totals.append(row)
        else:
            rows.append(dict(start=start_label(b[key[0]], zone), **row))
    return rows, totals


def disposition_rows(calls, b, zone):
    acc, answered = {}, {}
    for c in calls:
        i = bucket(b, c.offered)
        if i is None or not c.inbound or (c.outcome == "abandoned" and c.wait < SHORT_MS):
            continue
        for k in (i, "total"):
            if c.outcome == "answered":
                answered[(k, c.queue)] = answered.get((k, c.queue), 0) + 1
            if c.disp_code:
                acc[(k, c.queue, c.disp_code)] = acc.get((k, c.queue, c.disp_code), 0) + 1
    rows, totals = [], []
    for (k, q, code), n in acc.items():
        row = {"queue": q, "code": code, "count": n, "share": ratio(n, answered.get((k, q), 0))}
        if k == "total":
            totals.append(row)
        else:
            rows.append(dict(start=start_label(b[k], zone), **row))
    return rows, totals


def agent_rows(calls, states, b, zone):
    acc = {}

    def row(k, a):
        return acc.setdefault((k, a), {"rang": 0, "answered": 0, "missed": 0, "talk_ms": 0, "hold_ms": 0,
                                       "wrap_ms": 0, "logged_in_ms": 0, "ready_ms": 0, "not_ready_ms": 0,
                                       "not_ready_reasons": {}})
    for c in calls:
        i = bucket(b, c.offered)
        if i is None:
            continue
        for a, (rang, ans, talk, hold) in c.legs().items():
            for k in (i, "total"):
                r = row(k, a)
                r["rang"] += rang
                r["answered"] += ans
                r["missed"] += rang and not ans
                r["talk_ms"] += talk
                r["hold_ms"] += hold
        if c.wrap > 0 and c.disp_agent:
            for k in (i, "total"):
                row(k, c.disp_agent)["wrap_ms"] += c.wrap
    by_agent = {}
    for s in sorted(states, key=lambda e: e["_ms"]):
        by_agent.setdefault(s["agent"], []).append(s)
    for a, ss in by_agent.items():
        for n, s in enumerate(ss):
            start = s["_ms"]
            end = ss[n + 1]["_ms"] if n + 1 < len(ss) else b[-1]
            if s["state"] == "logged_out":
                continue
            for i in range(len(b) - 1):
                lo, hi = max(start, b[i]), min(end, b[i + 1])
                if hi <= lo:
                    continue
                for k in (i, "total"):
                    r = row(k, a)
                    r["logged_in_ms"] += hi - lo
                    if s["state"] == "ready":
                        r["ready_ms"] += hi - lo
                    elif s["state"] == "not_ready":
                        r["not_ready_ms"] += hi - lo
                        if s.get("reason"):
                            nr = r["not_ready_reasons"]
                            nr[s["reason"]] = nr.get(s["reason"], 0) + hi - lo
    rows, totals = [], []
    for (k, a), r in acc.items():
        r["handle_ms"] = r["talk_ms"] + r["hold_ms"] + r["wrap_ms"]
        r["occupancy"] = ratio(r["handle_ms"], r["handle_ms"] + r["ready_ms"])
        if k == "total":
            totals.append(dict(agent=a, **r))
        else:
            rows.append(dict(start=start_label(b[k], zone), agent=a, **r))
    return rows, totals


def keyed(rows, *keys):
    return {tuple(r.get(k) for k in keys): r for r in rows}


def same_rows(got, want, keys, what):
    g, w = keyed(got, *keys), keyed(want, *keys)
    eq(sorted(g, key=repr), sorted(w, key=repr), what + ": row keys")
    for k in w:
        for f, v in w[k].items():
            gv = g[k].get(f, "missing")
            if isinstance(v, float) and isinstance(gv, float):
                check(abs(gv - v) < 1e-12, "%s %s %s: %r != %r" % (what, k, f, gv, v))
            else:
                eq(gv, v, "%s %s %s" % (what, k, f))


# ---- the traffic ----

def make_calls(rng, day_starts, n_per_day):
    """Events for n_per_day calls on each local day: every outcome, short abandons at the
    threshold, holds, transfers, wraps, outbound calls, calls without a queue."""
    calls = []
    seq = 0
    for d0 in day_starts:
        for k in range(n_per_day):
            seq += 1
            cid = "c%d" % seq
            t0 = d0 + rng.randrange(0, 23 * 3600 * 1000)
            q = rng.choice(["support", "sales", None])
            kind = rng.choice(["answered"] * 5 + ["abandoned", "short", "unanswered", "active", "active_ans"])
            direction = "outbound" if rng.random() < 0.1 else "inbound"
            a1, a2 = rng.sample(["a1", "a2", "a3"], 2)
            evs = []

            def ev(t, typ, **f):
                e = {"type": typ, "call_id": cid, "ts": iso_utc(t), "id": "%s-%d" % (cid, len(evs)), "_ms": t}
                e.update(f)
                evs.append(e)
            offer = {"from": "+3120555%04d" % seq, "to": "+31800"}
            if q:
                offer["queue"] = q
            if direction == "outbound":
                offer["direction"] = "outbound"
            ev(t0, "call.offered", **offer)
            if kind in ("answered", "active_ans"):
                w = rng.choice([0, 1500, 19999, 20000, 20001, 45000, rng.randrange(0, 60000)])
                ev(t0 + max(0, w - 1000), "call.ringing", agent=a1)
                if rng.random() < 0.3:
                    ev(t0 + max(0, w - 1000), "call.ringing", agent=a2)
                ev(t0 + w, "call.answered", agent=a1)
                t = t0 + w + rng.randrange(1000, 90000)
                last = a1
                if rng.random() < 0.4:
                    ev(t, "call.held", agent=a1)
                    t += rng.randrange(1000, 30000)
                    ev(t, "call.resumed", agent=a1)
                    t += rng.randrange(1000, 30000)
                if rng.random() < 0.3:
                    ev(t, "call.transferred", agent=a1, to_agent=a2)
                    t += rng.randrange(1000, 8000)
                    ev(t, "call.answered", agent=a2)
                    last = a2
                    t += rng.randrange(1000, 60000)
                    if rng.random() < 0.5:
                        ev(t, "call.held", agent=a2)
                        t += rng.randrange(1000, 20000)
                if kind == "answered":
                    ev(t, "call.ended", reason="completed", by=rng.choice(["caller", "agent"]))
                    r = rng.random()
                    if r < 0.6:
                        tw = t + rng.randrange(0, 40000)
                        ev(tw, "call.disposition", agent=last, code=rng.choice(["resolved", "sale", "callback"]))
                        if rng.random() < 0.3:  # corrected later: the code changes, the wrap does not
                            ev(tw + 60000, "call.disposition", agent=last, code="escalated")
                    elif r < 0.7:
                        ev(t - 500, "call.disposition", agent=last, code="resolved")  # before the end: no wrap
            elif kind == "abandoned":
                ev(t0 + rng.choice([5000, 5001, 30000, rng.randrange(5000, 90000)]), "call.ended",
                   reason="abandoned", by="caller")
            elif kind == "short":
                ev(t0 + rng.choice([0, 4999, rng.randrange(0, 5000)]), "call.ended", reason="abandoned")
            elif kind == "unanswered":
                w = rng.randrange(1000, 60000)
                ev(t0 + 500, "call.ringing", agent=a1)
                ev(t0 + w, "call.ended", reason="no_answer", by="system")
            calls.append(evs)
    return calls


def send(d, calls, states=()):
    p = Producer(d)
    everything = [e for evs in calls for e in evs] + list(states)
    for e in everything:
        body = {k: v for k, v in e.items() if not k.startswith("_")}
        a = p.event(body)
        check("ack" in a, a)
    p.close()
    return [Call(evs) for evs in calls]


def report(d, kind, **params):
    qs = "&".join("%s=%s" % (k, v) for k, v in params.items())
    status, body, _ = d.get("/api/reports/%s?%s" % (kind, qs))
    eq(status, 200, body)
    return body


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
    import time as _time
    now = int(_time.time() * 1000)
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


if __name__ == "__main__":
    run()
