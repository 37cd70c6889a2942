"""test_roles.py : API token roles (docs/security.md): admin reaches all of /api/,
supervisor reads and sets agents' states but sends no events, producer only
sends events; a token beyond its role gets 403, a wrong one 401."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import check, eq, run, running, test  # noqa: E402

JSON = {"Content-Type": "application/json"}
EVENT = '{"type":"call.offered","id":"e1","call_id":"c1","from":"+15551230000","to":"+18005550100"}\n'


def make_token(d, name, role=None):
    args = ["token", "add", name] + (["--role", role] if role else [])
    r = d.ctl(*args)
    check("(%s)" % (role or "admin") in r.stderr, r.stderr)
    return r.stdout.strip().splitlines()[-1]


@test
def each_role_reaches_what_it_may_and_gets_403_beyond():
    with running() as d:
        d.add_agent("a1")
        admin = make_token(d, "ops")
        sup = make_token(d, "floor", "supervisor")
        prod = make_token(d, "pbx", "producer")
        state = {"state": "not_ready", "reason": "lunch"}
        wrap = {"call_id": "c1", "code": "resolved"}

        # producer: events only
        status, body, _ = d.http("POST", "/api/events", EVENT, token=prod)
        eq(status, 200, body)
        check('"ack":"e1"' in body, body)
        for path in ("/api/calls", "/api/agents", "/api/calls/c1", "/api/reports/queues?from=2026-01-01&until=2026-01-02"):
            status, body, _ = d.get(path, token=prod)
            eq(status, 403, "%s: %s" % (path, body))
            eq(body["error"], "forbidden", body)
            check("producer" in body["message"], body)
        status, body, _ = d.http("POST", "/api/agents/a1/state", state, token=prod, headers=JSON)
        eq(status, 403, body)

        # supervisor: reads, and any agent's state; no events, no wrap-ups for agents
        for path in ("/api/calls", "/api/agents", "/api/calls/c1"):
            status, body, _ = d.get(path, token=sup)
            eq(status, 200, "%s: %s" % (path, body))
        status, body, _ = d.http("POST", "/api/events", EVENT.replace("e1", "e2"), token=sup)
        eq(status, 403, body)
        status, body, _ = d.http("POST", "/api/agents/a1/state", state, token=sup, headers=JSON)
        eq(status, 200, body)
        status, body, _ = d.get("/api/agents", token=sup)
        a1 = [a for a in body["agents"] if a["id"] == "a1"][0]
        eq((a1["state"], a1["reason"]), ("not_ready", "lunch"))
        status, body, _ = d.http("POST", "/api/agents/a1/disposition", wrap, token=sup, headers=JSON)
        eq(status, 403, body)

        # admin: everything
        status, body, _ = d.http("POST", "/api/events", EVENT.replace("e1", "e3"), token=admin)
        eq(status, 200, body)
        status, body, _ = d.get("/api/calls", token=admin)
        eq(status, 200, body)

        # a token that is none of these: 401, not 403
        status, body, _ = d.get("/api/calls", token="f" * 64)
        eq(status, 401, body)
        # e2 was refused whole: never applied
        status, body, _ = d.get("/api/calls/c1", token=admin)
        eq([e.get("id") for e in body["events"]].count("e2"), 0)


@test
def callogctl_refuses_an_unknown_role():
    with running() as d:
        r = d.ctl("token", "add", "x", "--role", "root", check=False)
        eq(r.returncode, 2, r.stderr)
        check("admin, supervisor or producer" in r.stderr, r.stderr)


if __name__ == "__main__":
    run()
