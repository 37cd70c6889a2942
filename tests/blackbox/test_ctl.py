"""test_ctl.py : callogctl against a live callogd: usage and exit codes, agents
and tokens, send, calls, purge, import, customer lookup and simulate."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq, running, test  # noqa: E402

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def ctl_raw(*args, input=None):
    return subprocess.run([harness.CALLOGCTL] + list(args), input=input, capture_output=True, text=True, timeout=60)


def lines(text):
    return [l for l in text.splitlines() if l.strip()]


def send(d, text, *extra):
    path = os.path.join(d.dir, "events-%d.ndjson" % len(os.listdir(d.dir)))
    with open(path, "w") as f:
        f.write(text)
    return d.ctl("send", *(extra + (path,)), check=False)


def nd(*events):
    return "".join(json.dumps(e) + "\n" for e in events)


CALL = [
    {"type": "call.offered", "id": "e1", "call_id": "c-1", "from": "(555) 123-4567", "to": "8005550100",
     "queue": "support", "ts": "2026-01-10T10:00:00Z"},
    {"type": "call.ringing", "id": "e2", "call_id": "c-1", "agent": "a1", "ts": "2026-01-10T10:00:05Z"},
    {"type": "call.answered", "id": "e3", "call_id": "c-1", "agent": "a1", "ts": "2026-01-10T10:00:07Z"},
    {"type": "call.ended", "id": "e4", "call_id": "c-1", "reason": "completed", "by": "caller",
     "ts": "2026-01-10T10:02:07Z"},
    {"type": "call.disposition", "id": "e5", "call_id": "c-1", "agent": "a1", "code": "billing",
     "notes": "refund promised", "ts": "2026-01-10T10:02:30Z"},
]


@test
def usage_and_exit_codes():
    for args in ([], ["frobnicate"], ["-x", "calls"], ["-c"], ["agent"], ["agent", "add"], ["agent", "fly"],
                 ["token"], ["token", "add"], ["customer"], ["import"], ["send", "a", "b"], ["purge"],
                 ["purge", "--before", "yesterday"], ["calls", "--limit", "0"], ["calls", "--limit", "1001"],
                 ["calls", "--limit", "ten"], ["calls", "--since", "last week"], ["calls", "--bogus"],
                 ["calls", "--agent"], ["simulate", "--calls", "0"], ["simulate", "--rate", "-1"],
                 ["simulate", "--agents", "x"], ["agent", "add", "bad id"], ["agent", "add", "x" * 129],
                 ["agent", "add", ""], ["agent", "add", "a1", "--name"], ["agent", "remove"]):
        p = ctl_raw("-c", "/nonexistent/callogd.conf", *args)
        eq(p.returncode, 2, "callogctl %s" % args)
        check("usage:" in p.stderr, "usage on stderr for %s: %r" % (args, p.stderr))
        eq(p.stdout, "", "nothing on stdout for %s" % args)
    p = ctl_raw("-c", "/nonexistent/callogd.conf", "agent", "add", "bad id")
    check("agent ID" in p.stderr and "space" in p.stderr, p.stderr)
    for args in (["-h"], ["help"], ["--help"]):
        p = ctl_raw(*args)
        eq(p.returncode, 0, "callogctl %s" % args)
        check(p.stdout.startswith("usage: callogctl"), p.stdout)
    # A valid command with a config that is not there: one line, exit 1.
    p = ctl_raw("-c", "/nonexistent/callogd.conf", "agent", "list")
    eq(p.returncode, 1)
    eq(len(p.stderr.strip().splitlines()), 1, p.stderr)
    check("/nonexistent/callogd.conf" in p.stderr, p.stderr)


@test
def agents_and_tokens():
    with running() as d:
        tok = d.ctl("agent", "add", "a1", "--name", "Ada Lovelace").stdout
        check(HEX64.match(tok.strip()), "agent token: %r" % tok)
        eq(tok.count("\n"), 1, "the token alone on stdout")
        tok = tok.strip()
        tok2 = d.ctl("agent", "add", "a2").stdout.strip()
        check(HEX64.match(tok2) and tok2 != tok)
        # The token is what a console logs in with; a wrong one is refused.
        c = harness.Console(d, "a1", tok)
        eq(c.welcome, {"type": "welcome", "agent": "a1"})
        c.close()
        c = harness.Console(d, "a1", tok2)
        eq(c.welcome.get("code"), "auth", "a2's token is not a1's")
        c.close()
        p = d.ctl("agent", "add", "a1", check=False)
        eq(p.returncode, 1)
        check("already exists" in p.stderr, p.stderr)
        out = d.ctl("agent", "list").stdout.splitlines()
        check(out[0].split() == ["ID", "NAME", "STATE", "SINCE"], out)
        check(any(l.startswith("a1") and "Ada Lovelace" in l for l in out), out)
        check(any(l.startswith("a2") for l in out), out)
        js = json.loads(d.ctl("agent", "list", "--json").stdout)
        eq(sorted(a["id"] for a in js["agents"]), ["a1", "a2"])
        d.ctl("agent", "remove", "a2")
        p = d.ctl("agent", "remove", "a2", check=False)
        eq(p.returncode, 1)
        check("no such agent" in p.stderr, p.stderr)
        check(not any(l.startswith("a2") for l in d.ctl("agent", "list").stdout.splitlines()[1:]))

        api = d.ctl("token", "add", "crm integration").stdout.strip()
        check(HEX64.match(api), api)
        status, body, _ = d.get("/api/calls", token=api)
        eq(status, 200, body)
        status, _, _ = d.get("/api/calls", token="0" * 64)
        eq(status, 401)
        p = d.ctl("token", "add", "crm integration", check=False)
        eq(p.returncode, 1)
        check("already exists" in p.stderr, p.stderr)


@test
def send_then_calls():
    with running() as d:
        p = send(d, nd(*CALL))
        eq(p.returncode, 0, p.stderr)
        answers = [json.loads(l) for l in p.stdout.splitlines()]
        eq([a.get("ack") for a in answers], ["e1", "e2", "e3", "e4", "e5"])
        # A repeat is acknowledged again as a duplicate and still exits 0.
        p = send(d, nd(CALL[0]))
        eq(p.returncode, 0)
        eq(json.loads(p.stdout).get("duplicate"), True)

        calls = json.loads(d.ctl("calls", "--json").stdout)["calls"]
        eq(len(calls), 1)
        c = calls[0]
        eq(c["call_id"], "c-1")
        eq(c["from"], "+15551234567")
        eq(c["agent"], "a1")
        eq(c["outcome"], "answered")
        eq(c["wait_ms"], 7000)
        eq(c["talk_ms"], 120000)
        eq(c["disposition"]["code"], "billing")
        # Filters: number in any format, agent, queue, time range.
        eq(len(json.loads(d.ctl("calls", "--json", "--number", "555.123.4567").stdout)["calls"]), 1)
        eq(len(json.loads(d.ctl("calls", "--json", "--number", "+15550000000").stdout)["calls"]), 0)
        eq(len(json.loads(d.ctl("calls", "--json", "--agent", "a1").stdout)["calls"]), 1)
        eq(len(json.loads(d.ctl("calls", "--json", "--agent", "a9").stdout)["calls"]), 0)
        eq(len(json.loads(d.ctl("calls", "--json", "--queue", "sales").stdout)["calls"]), 0)
        eq(len(json.loads(d.ctl("calls", "--json", "--since", "2026-01-10", "--until", "2026-01-10").stdout)
               ["calls"]), 1)
        eq(len(json.loads(d.ctl("calls", "--json", "--since", "2026-01-11").stdout)["calls"]), 0)
        eq(len(json.loads(d.ctl("calls", "--json", "--until", "2026-01-10T09:00:00Z").stdout)["calls"]), 0)
        p = d.ctl("calls", "--number", "not-a-number", check=False)
        eq(p.returncode, 2)
        table = d.ctl("calls").stdout.splitlines()
        eq(table[0].split()[:3], ["TIME", "CALL_ID", "DIR"])
        row = table[1].split()
        check("c-1" in row and "+15551234567" in row and "answered" in row and "billing" in row, table)
        check("7.0s" in row and "2:00" in row, row)

        # --limit bounds the answer, newest first.
        send(d, nd(*({"type": "call.offered", "call_id": "n-%d" % i, "from": "5551230000", "to": "1",
                      "ts": "2026-02-01T10:00:%02dZ" % i} for i in range(5))))
        got = json.loads(d.ctl("calls", "--json", "--limit", "2").stdout)["calls"]
        eq([c["call_id"] for c in got], ["n-4", "n-3"])


@test
def send_errors_blank_lines_and_long_lines():
    with running(**{"events.max_line": 512}) as d:
        good = {"type": "call.offered", "call_id": "x-1", "from": "5551112222", "to": "1"}
        text = ("\n" + json.dumps(good) + "\n\n   \r\n" + "not json\n" +
                json.dumps({"type": "call.offered", "call_id": "x-2", "from": "1", "to": "2", "data": {"p": "y" * 2000}})
                + "\n" + json.dumps({"type": "call.nope", "call_id": "x-3"}) + "\n" +
                json.dumps({"type": "call.ended", "call_id": "x-1"}))  # last line without LF
        p = send(d, text)
        eq(p.returncode, 1, p.stdout + p.stderr)
        answers = [json.loads(l) for l in p.stdout.splitlines()]
        eq(len(answers), 5, p.stdout)  # blank lines get no answer and are not counted
        check("ack" in answers[0], answers)
        eq(answers[1].get("error"), "bad_json")
        eq(answers[2].get("error"), "too_long")
        eq(answers[3].get("error"), "unknown_type")
        check("ack" in answers[4], answers)
        check("3 of 5" in p.stderr, p.stderr)
        # Only blank lines: nothing sent, nothing to wait for.
        p = send(d, "\n\n  \n")
        eq(p.returncode, 0, p.stderr)
        eq(p.stdout, "")
        # stdin, pipelined: many lines come back in order.
        many = nd(*({"type": "agent.state", "id": "s-%d" % i, "agent": "a%d" % (i % 7), "state": "ready"}
                    for i in range(3000)))
        p = d.ctl("send", input=many, check=False)
        eq(p.returncode, 0, p.stderr)
        acks = [json.loads(l)["ack"] for l in p.stdout.splitlines()]
        eq(acks, ["s-%d" % i for i in range(3000)])
        p = d.ctl("send", "/nonexistent/events.ndjson", check=False)
        eq(p.returncode, 1)


@test
def send_with_token_and_daemon_down():
    with running(**{"events.token": "s3cret", "events.unix": ""}) as d:
        p = send(d, nd(CALL[0]))
        eq(p.returncode, 0, p.stderr)
        eq(json.loads(p.stdout)["ack"], "e1")
        d.settings["events.token"] = "wrong"
        d.write_config()
        p = send(d, nd(CALL[1]))
        eq(p.returncode, 1)
        check("auth" in p.stderr, p.stderr)
        d.stop()
        p = send(d, nd(CALL[1]))
        eq(p.returncode, 1)
        eq(len(p.stderr.strip().splitlines()), 1, p.stderr)


@test
def purge_old_calls():
    with running() as d:
        old = [dict(e, id="o" + e["id"], call_id="old", ts=e["ts"].replace("2026", "2020")) for e in CALL]
        live = {"type": "call.offered", "call_id": "live", "from": "5551112222", "to": "1",
                "ts": "2020-01-01T00:00:00Z"}
        eq(send(d, nd(*old) + nd(live) + nd(*CALL)).returncode, 0)
        p = d.ctl("purge", "--before", "2021-01-01")
        check(p.stdout.startswith("purged 1 call "), p.stdout)
        ids = sorted(c["call_id"] for c in json.loads(d.ctl("calls", "--json").stdout)["calls"])
        eq(ids, ["c-1", "live"], "ended old call gone; active call kept")
        status, _, _ = d.get("/api/calls/old")
        eq(status, 404)
        p = d.ctl("purge", "--before", "2021-01-01T00:00:00Z")
        check(p.stdout.startswith("purged 0 calls"), p.stdout)


CSV = ("id,name,phones,email,account,tier,notes\n"
       "C-1,Ada Lovelace,(555) 123-4567;+44 20 7946 0000,ada@example.com,ACC-1,gold,likes tea\n"
       "C-2,Bad Phone,not-a-phone,,,,\n"
       "C-3,Charles Babbage,555-999-0000,cb@example.com,ACC-3,silver,\n")


@test
def import_and_customer_lookup():
    with running() as d:
        p = d.import_customers(CSV)
        eq(p.returncode, 0, p.stderr)
        check(re.search(r":3: ", p.stderr), "bad row reported with its line: %r" % p.stderr)
        check("2 inserted" in p.stdout and "1 rejected" in p.stdout, p.stdout)
        p = d.ctl("customer", "555 123 4567")
        look = json.loads(p.stdout)
        eq(look["customer"]["id"], "C-1")
        eq(look["matches"], 1)
        p = d.ctl("customer", "5550001111")
        eq(json.loads(p.stdout)["customer"], None)
        p = d.ctl("customer", "anonymous")
        eq(json.loads(p.stdout)["customer"], None)
        p = d.ctl("import", os.path.join(d.dir, "missing.csv"), check=False)
        eq(p.returncode, 1)


@test
def simulate_against_live_daemon():
    with running(**{"events.token": "tok"}) as d:
        d.import_customers(CSV)
        p = d.ctl("simulate", "--calls", "20", "--rate", "40", "--agents", "4", "--seed", "42", check=False)
        eq(p.returncode, 0, p.stdout + p.stderr)
        check(p.stdout.startswith("calls: 20 "), p.stdout)
        m = re.search(r"events: (\d+) sent, (\d+) acked \(0 duplicate\), 0 errors", p.stdout)
        check(m and m.group(1) == m.group(2) and int(m.group(1)) > 20 * 4, p.stdout)
        calls = json.loads(d.ctl("calls", "--json", "--limit", "100").stdout)["calls"]
        eq(len(calls), 20)
        check(all(c["outcome"] != "active" for c in calls), "every simulated call ended")
        check(any(c["customer_id"] == "C-1" or c["customer_id"] == "C-3" for c in calls) or
              all(c["from"] in ("anonymous", "restricted") or c["from"].startswith("+1555") for c in calls))
        check(any(c["disposition"] for c in calls), "some wrap-ups")
        agents = {a["id"]: a for a in json.loads(d.ctl("agent", "list", "--json").stdout)["agents"]}
        eq(sorted(agents), ["a1", "a2", "a3", "a4"])
        check(all(a["state"] == "logged_out" for a in agents.values()), agents)
        # The same seed plays the same traffic, under new ids: nothing is a duplicate.
        p2 = d.ctl("simulate", "--calls", "20", "--rate", "40", "--agents", "4", "--seed", "42", check=False)
        eq(p2.returncode, 0, p2.stderr)
        eq(p.stdout.splitlines()[0], p2.stdout.splitlines()[0])
        calls2 = json.loads(d.ctl("calls", "--json", "--limit", "100").stdout)["calls"]
        eq(len(calls2), 40)
        # ...with the same callers: the customer phones are sampled by the seed too.
        first = {c["call_id"] for c in calls}
        eq(sorted(c["from"] for c in calls2 if c["call_id"] not in first), sorted(c["from"] for c in calls),
           "the same callers")


@test
def simulate_samples_a_large_customer_table_by_seed():
    """Over 4,000 phones simulate probes the index instead of sorting the table: callers are
    still customers, and still the same for the same seed."""
    with running(**{"events.token": "tok"}) as d:
        rows = "".join("K-%d,Customer %d,+1555%07d,,,,\n" % (i, i, i * 7) for i in range(6000))
        p = d.import_customers("id,name,phones,email,account,tier,notes\n" + rows)
        eq(p.returncode, 0, p.stdout + p.stderr)
        froms = []
        for run in range(2):
            before = {c["call_id"] for c in json.loads(d.ctl("calls", "--json", "--limit", "100").stdout)["calls"]}
            p = d.ctl("simulate", "--calls", "15", "--rate", "50", "--agents", "3", "--seed", "7", check=False)
            eq(p.returncode, 0, p.stdout + p.stderr)
            new = [c for c in json.loads(d.ctl("calls", "--json", "--limit", "100").stdout)["calls"]
                   if c["call_id"] not in before]
            eq(len(new), 15)
            froms.append(sorted(c["from"] for c in new))
            check(any(c["customer_id"] and c["customer_id"].startswith("K-") for c in new), "some callers are customers")
        eq(froms[0], froms[1], "the same callers for the same seed")


@test
def text_from_producers_is_escaped_for_the_terminal():
    """An ESC, BEL or CR a producer sent never reaches the operator's terminal as it is."""
    with running() as d:
        r = send(d, nd({"type": "call.offered", "id": "x1", "call_id": "evil\x1b]0;owned\x07",
                        "from": "5551234567", "to": "8005550100", "queue": "q\x1b[2J\r"}))
        eq(r.returncode, 0, r.stdout + r.stderr)
        out = d.ctl("calls").stdout
        for ch in ("\x1b", "\x07", "\r"):
            check(ch not in out, "%r printed raw: %r" % (ch, out))
        check("\\x1b" in out and "\\x07" in out and "\\x0d" in out, out)


if __name__ == "__main__":
    harness.run()
