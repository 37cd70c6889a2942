"""reportmodel.py : the reference the report tests check the daemon against: intervals
and every §10 figure computed in Python from the events a test sends (zoneinfo for the
intervals), and the traffic those tests send."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from harness import Producer, check, eq

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
