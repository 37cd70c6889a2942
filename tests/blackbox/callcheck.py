"""callcheck.py : reads the events and calls tables of a daemon's database and
says what call record docs/http-api.md implies from a call's logged events. Shared by the
reliability suites (test_crash, test_storage)."""
import json


def db_rows(d):
    """The events and calls tables, on either backend (Daemon.query)."""
    events = d.query("SELECT seq, eid, call_id, type, ts, body FROM events ORDER BY seq")
    calls = d.query("SELECT call_id, has_offer, offered_at, answered_at, ended_at, hold_ms, end_reason, "
                    "end_by, agent, agents, disp_code FROM calls")
    return events, calls


def expected_call(evs):
    """The record docs/http-api.md implies from a call's logged events (in seq order)."""
    r = {"has_offer": 0, "offered_at": None, "answered_at": 0, "ended_at": 0, "hold_ms": 0, "end_reason": "",
         "end_by": "", "agent": "", "agents": [], "disp_code": ""}
    held = None
    for e in evs:
        t, ts = e["type"], e["_ms"]
        if t == "call.offered":
            r["has_offer"], r["offered_at"] = 1, ts
        elif t == "call.answered":
            r["answered_at"] = r["answered_at"] or ts
            r["agent"] = e["agent"]
            if e["agent"] not in r["agents"]:
                r["agents"].append(e["agent"])
        elif t == "call.held":
            held = ts
        elif t == "call.resumed" and held is not None:
            r["hold_ms"] += ts - held
            held = None
        elif t == "call.ended":
            r["ended_at"], r["end_reason"], r["end_by"] = ts, e.get("reason", ""), e.get("by", "")
        elif t == "call.disposition":
            r["disp_code"] = e["code"]
    return r


def outcome(answered_at, ended_at, reason, by):
    if not ended_at:
        return "active"
    if answered_at:
        return "answered"
    return "abandoned" if reason == "abandoned" or by == "caller" else "unanswered"
