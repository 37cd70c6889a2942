"""test_framing.py : one framing path for every front end (issue 11): HTTP keeps
each event byte for byte and honours events.max_line and the backpressure
bounds; an over-long console line gets exactly one answer."""
import http.client
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Console, LineClient, check, eq, run, running, test  # noqa: E402


def stored_bodies(d, call_id):
    con = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
    try:
        return [r[0] for r in con.execute("SELECT body FROM events WHERE call_id = ? ORDER BY seq", (call_id,))]
    finally:
        con.close()


def ndjson(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@test
def http_keeps_each_event_byte_for_byte():
    with running() as d:
        one = '{"type":"call.offered", "call_id":"h-1","from":"5551234567","to":"100","data":{"amount":1.50,"n":1e2}}'
        status, body, _ = d.http("POST", "/api/events", body="  " + one + "\r\n")
        eq(status, 200, body)
        check("seq" in ndjson(body)[0], body)
        eq(stored_bodies(d, "h-1"), [one])
        # A pretty-printed object is still one event, kept as sent.
        pretty = '{\n  "type": "call.offered",\n  "call_id": "h-2",\n  "from": "5551234567",\n  "to": "100",\n' \
                 '  "data": {"x": 0.10}\n}'
        status, body, _ = d.http("POST", "/api/events", body=pretty + "\n")
        eq(status, 200, body)
        eq(len(ndjson(body)), 1, body)
        eq(stored_bodies(d, "h-2"), [pretty])
        # NDJSON: each line as sent.
        lines = ['{"type":"call.offered","call_id":"h-3","from":"5551234567","to":"100","data":{"v":2.50}}',
                 '{"call_id":"h-3","type":"call.ended","reason":"completed"}']
        status, body, _ = d.http("POST", "/api/events", body="\n".join(lines))
        eq(status, 200, body)
        eq([("seq" in a) for a in ndjson(body)], [True, True])
        eq(stored_bodies(d, "h-3"), lines)


@test
def http_honours_max_line():
    with running(events__max_line=256) as d:
        pad = "x" * 400
        big = '{"type":"call.offered","call_id":"m-1","from":"5551234567","to":"100","data":{"pad":"%s"}}' % pad
        status, body, _ = d.http("POST", "/api/events", body=big)
        eq(status, 200, body)
        eq([a.get("error") for a in ndjson(body)], ["too_long"])
        eq(stored_bodies(d, "m-1"), [])
        ok = '{"type":"call.offered","call_id":"m-2","from":"5551234567","to":"100"}'
        status, body, _ = d.http("POST", "/api/events", body="\n".join([ok, big.replace("m-1", "m-3"), ok]) + "\n")
        answers = ndjson(body)
        eq([a.get("error") for a in answers], [None, "too_long", None])
        eq(answers[2].get("duplicate"), None)
        eq(stored_bodies(d, "m-3"), [])
        # The same bound on the event socket, for comparison: one answer per line.
        p = LineClient(("127.0.0.1", d.events_port))
        p.send_raw(big + "\n" + ok.replace("m-2", "m-4") + "\n")
        eq(p.read().get("error"), "too_long")
        check("seq" in p.read())


@test
def http_bodies_past_the_backpressure_bound_are_all_answered_in_order():
    with running() as d:
        n = 9000  # past one producer's bound on answers waiting (8192): fed in steps
        body = "".join(json.dumps({"type": "call.offered", "id": "bp-%d" % i, "call_id": "bp-%d" % i,
                                   "from": "5551234567", "to": "100"}) + "\n" for i in range(n))
        # Its own client: under ASan on a loaded machine this takes longer than the harness's 10 s.
        c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=120)
        c.request("POST", "/api/events", body=body, headers={"Authorization": "Bearer " + d.token()})
        r = c.getresponse()
        text = r.read().decode()
        c.close()
        eq(r.status, 200)
        answers = ndjson(text)
        eq(len(answers), n)
        eq([a["ack"] for a in answers], ["bp-%d" % i for i in range(n)])
        seqs = [a["seq"] for a in answers]
        eq(seqs, sorted(seqs))


@test
def an_over_long_console_line_gets_one_answer():
    with running() as d:
        tok = d.add_agent("a1")
        c = Console(d, "a1", tok)
        eq(c.welcome["type"], "welcome")
        # Longer than the console bound (16 KiB), its newline in a later write.
        c.send_raw('{"type":"ping","pad":"' + "y" * 20000)
        c.send_raw('"}\n')
        c.send({"type": "ping"})
        eq(c.read().get("code"), "too_long")
        eq(c.read(), {"type": "pong"})
        check(c.try_read(0.3) is None, "a second answer for the same line")
        # In one write, newline included.
        c.send_raw('{"type":"ping","pad":"' + "z" * 20000 + '"}\n{"type":"ping"}\n')
        eq(c.read().get("code"), "too_long")
        eq(c.read(), {"type": "pong"})
        check(c.try_read(0.3) is None, "a second answer for the same line")


if __name__ == "__main__":
    run()
