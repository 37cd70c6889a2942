"""test_api.py : the supervisor's HTTP API (docs/http-api.md): customers,
retention and purge, unknown routes and methods."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Producer, check, eq, run, running, test  # noqa: E402


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


@test
def customers_by_phone():
    with running() as d:
        r = d.import_customers("id,name,phones,email,account,tier,notes\n"
                               "C-1,Ada Lovelace,+1 (555) 123-4567;555-000-1111,ada@example.com,A1,gold,\n"
                               "C-2,\"Babbage, Charles\",555-000-1111,,A2,silver,\"says \"\"hi\"\"\"\n"
                               "bad-row-without-phones-column-count\n")
        eq(r.returncode, 0, r.stderr)
        check(":4:" in r.stderr, r.stderr)
        check("2 inserted" in r.stdout and "1 rejected" in r.stdout, r.stdout)
        status, body, _ = d.get("/api/customers?phone=%2B15551234567")
        eq(status, 200)
        eq([c["id"] for c in body["customers"]], ["C-1"])
        eq(body["customers"][0]["phones"], ["+15551234567", "+15550001111"])
        status, body, _ = d.get("/api/customers?phone=555.000.1111")
        eq(sorted(c["id"] for c in body["customers"]), ["C-1", "C-2"])
        eq([c["name"] for c in body["customers"] if c["id"] == "C-2"], ["Babbage, Charles"])
        status, body, _ = d.get("/api/customers?phone=anonymous")
        eq((status, body), (200, {"customers": []}))
        status, body, _ = d.get("/api/customers")
        eq(status, 400)
        # The operator's lookup is the one a pop makes.
        out = json.loads(d.ctl("customer", "(555) 123-4567").stdout)
        eq(out["customer"]["id"], "C-1")


@test
def agents_and_their_state():
    with running() as d:
        d.add_agent("a1", name="Ada")
        d.add_agent("a2")
        p = Producer(d)
        p.event({"type": "agent.state", "agent": "a1", "state": "ready"})
        p.event({"type": "agent.state", "agent": "a2", "state": "not_ready", "reason": "training"})
        p.event({"type": "agent.state", "agent": "a9", "state": "logged_in"})  # unknown: kept all the same
        status, body, _ = d.get("/api/agents")
        eq(status, 200)
        ag = {a["id"]: a for a in body["agents"]}
        eq(ag["a1"]["name"], "Ada")
        eq(ag["a1"]["state"], "ready")
        eq(ag["a1"]["reason"], None)
        eq((ag["a2"]["state"], ag["a2"]["reason"]), ("not_ready", "training"))
        eq(ag["a9"]["state"], "logged_in")
        check(ag["a1"]["since"].endswith("Z"))
        eq(ag["a1"]["consoles"], 0)
        # An older state never overwrites a newer one.
        p.event({"type": "agent.state", "agent": "a1", "state": "logged_out", "ts": "2020-01-01T00:00:00Z"})
        status, body, _ = d.get("/api/agents")
        eq({a["id"]: a["state"] for a in body["agents"]}["a1"], "ready")


@test
def live_stats_per_queue():
    with running(stats__sla_seconds=20) as d:
        p = Producer(d)
        now = int(time.time() * 1000)
        lt = time.localtime(now // 1000)
        midnight = int(time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))) * 1000
        base = max(now - 600000, midnight + 1000)  # "today" starts at local midnight
        t = lambda s: iso(base + int(s * 1000))  # noqa: E731
        evs = []
        # support: answered in 5 s and in 30 s, one abandoned, one still waiting.
        evs += [{"type": "call.offered", "call_id": "s1", "from": "5551230001", "to": "1", "queue": "support", "ts": t(0)},
                {"type": "call.answered", "call_id": "s1", "agent": "a1", "ts": t(5)},
                {"type": "call.offered", "call_id": "s2", "from": "5551230002", "to": "1", "queue": "support", "ts": t(0)},
                {"type": "call.answered", "call_id": "s2", "agent": "a2", "ts": t(30)},
                {"type": "call.offered", "call_id": "s3", "from": "5551230003", "to": "1", "queue": "support", "ts": t(0)},
                {"type": "call.ended", "call_id": "s3", "reason": "abandoned", "ts": t(50)},
                {"type": "call.offered", "call_id": "s4", "from": "5551230004", "to": "1", "queue": "support",
                 "ts": iso(max(now - 45000, midnight))},
                {"type": "call.offered", "call_id": "x1", "from": "5551230005", "to": "1", "queue": "sales", "ts": t(0)},
                {"type": "call.answered", "call_id": "x1", "agent": "a3", "ts": t(2)}]
        for e in evs:
            check("seq" in p.event(e))
        status, body, _ = d.get("/api/stats")
        eq(status, 200, body)
        eq(body["sla_seconds"], 20)
        q = {r["queue"]: r for r in body["queues"]}
        s = q["support"]
        eq((s["offered"], s["waiting"], s["answered"], s["abandoned"]), (4, 1, 2, 1))
        check(min(44000, now - midnight - 1000) <= s["longest_wait_ms"] <= 60000, s["longest_wait_ms"])
        eq(s["average_wait_ms"], 17500)
        eq(s["answered_within_sla"], 1)
        check(abs(s["service_level"] - 1 / 3) < 1e-9, s["service_level"])
        eq(q["sales"]["service_level"], 1.0)
        status, body, _ = d.get("/api/stats?queue=sales")
        eq([r["queue"] for r in body["queues"]], ["sales"])


@test
def retention_purges_old_calls_inside_the_daemon():
    d0 = None
    with running() as d:
        p = Producer(d)
        old = iso(int(time.time() * 1000) - 10 * 86400000)
        for ev in ({"type": "call.offered", "call_id": "old", "from": "5551230001", "to": "1", "ts": old},
                   {"type": "call.ended", "call_id": "old", "ts": old},
                   {"type": "call.offered", "call_id": "new", "from": "5551230001", "to": "1"},
                   {"type": "call.ended", "call_id": "new"},
                   {"type": "call.offered", "call_id": "old-active", "from": "5551230002", "to": "1", "ts": old}):
            a = p.event(ev)
            check("ack" in a, a)
        eq(d.ctl("purge", "--before", "2000-01-01").stdout, "purged 0 calls that ended before 2000-01-01T00:00:00.000Z\n")
        d.stop()
        d.settings["retention.days"] = 7
        d.write_config()
        d.start()
        deadline = time.time() + 5
        while time.time() < deadline:
            status, body, _ = d.get("/api/calls/old")
            if status == 404:
                break
            time.sleep(0.1)
        eq(status, 404)
        eq(d.get("/api/calls/new")[0], 200)
        eq(d.get("/api/calls/old-active")[0], 200)  # never ended: kept
        eq(d.query("SELECT count(*) FROM events WHERE call_id = 'old'")[0][0], 0)
        # Exactly the one call that ended 10 days ago, counted once.
        purges = [l for l in d.read_log().splitlines() if 'msg="retention purge"' in l]
        eq(len(purges), 1, d.read_log()[-2000:])
        check(purges[0].endswith(" calls=1"), purges[0])


@test
def purge_on_demand():
    with running() as d:
        p = Producer(d)
        for ev in ({"type": "call.offered", "call_id": "p1", "from": "1", "to": "1", "ts": "2025-01-01T00:00:00Z"},
                   {"type": "call.ended", "call_id": "p1", "ts": "2025-01-01T00:01:00Z"},
                   {"type": "call.offered", "call_id": "p2", "from": "1", "to": "1", "ts": "2025-01-01T00:00:00Z"},
                   {"type": "call.offered", "call_id": "p3", "from": "1", "to": "1", "ts": "2025-06-01T00:00:00Z"},
                   {"type": "call.ended", "call_id": "p3", "ts": "2025-06-01T00:01:00Z"}):
            a = p.event(ev)
            check("ack" in a, a)
        # Only p1 ended before the date: p2 never ended, p3 ended after it.
        out = d.ctl("purge", "--before", "2025-03-01")
        eq(out.stdout, "purged 1 call that ended before 2025-03-01T00:00:00.000Z\n")
        eq(d.get("/api/calls/p1")[0], 404)
        eq(d.get("/api/calls/p2")[0], 200)
        eq(d.get("/api/calls/p3")[0], 200)
        eq(d.query("SELECT call_id, count(*) FROM events GROUP BY call_id ORDER BY call_id"), [("p2", 1), ("p3", 2)])
        eq(d.ctl("purge", check=False).returncode, 2)


@test
def unknown_routes_and_methods():
    with running() as d:
        eq(d.get("/api/nothing")[0], 404)
        eq(d.get("/nothing", auth=False)[0], 404)
        eq(d.http("POST", "/api/calls", body="{}")[0], 405)
        eq(d.http("DELETE", "/api/calls")[0], 501)  # evhttp refuses methods not allowed at all
        status, body, r = d.get("/", auth=False)
        eq(status, 200)
        check(r.getheader("Content-Type").startswith("text/html"))


if __name__ == "__main__":
    run()
