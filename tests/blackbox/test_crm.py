"""test_crm.py : the external CRM lookup (docs/crm.md) against a fake CRM on
loopback: hits, misses, several matches, the deadline and the updated pop, the
cache, the concurrency cap, the breaker, hostile answers, reload and -t."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from fakecrm import FakeCRM  # noqa: E402
from harness import CALLOGD, Console, Daemon, Producer, check, eq, metrics, run, running, test  # noqa: E402

# A sanitizer build runs several times slower: its time bounds stretch.
SLOW = 3 if b"libasan" in subprocess.run(["ldd", CALLOGD], capture_output=True).stdout else 1

CUSTOMERS = """id,name,phones,email,account,tier,notes
C-7,Ada Local,+1 (555) 123-4567,ada@example.com,ACC-1,gold,
C-8,Bob Local,555-200-0001,bob@example.com,ACC-2,silver,
"""

FIELDS = 'fields = { id = "/id"; name = "/name"; email = "/email"; account = "/acct"; tier = "/org/tier"; url = "/link"; };'


def crm_conf(crm, path="/contacts?phone={e164}", more=""):
    if "timeout_ms" not in more:
        more += " timeout_ms = 1000;"
    return ('crm = { lookup_url = "%s"; header_file = "crm-headers"; list = "/results"; %s %s };\n'
            % (crm.url(path), FIELDS, more))


class CrmDaemon(running):
    """with CrmDaemon(crm, lookup_ms=..., more="cache_seconds = 1;") as (d, a1, p): a daemon asking crm."""

    def __init__(self, crm, lookup_ms=300, more="", **kw):
        super().__init__(**dict({"pops.lookup_ms": lookup_ms}, **kw))
        with open(os.path.join(self.d.dir, "crm-headers"), "w") as f:
            f.write("# sent with each lookup\nAuthorization: Bearer s3cret\nX-Tenant: acme\n")
        self.d.write_config(crm_conf(crm, more=more))

    def __enter__(self):
        d = self.d.start()
        r = d.import_customers(CUSTOMERS)
        eq(r.returncode, 0, r.stderr)
        tok = d.add_agent("a1")
        return d, Console(d, "a1", tok), Producer(d)


def ring(p, call_id, frm):
    """Offers and rings a call to a1; returns when the ringing line is sent (its ack waits for the pop)."""
    a = p.event({"type": "call.offered", "call_id": call_id, "from": frm, "to": "8005550100", "queue": "q"})
    check("seq" in a, a)
    p.send({"type": "call.ringing", "call_id": call_id, "agent": "a1"})


def pop_of(console, call_id, timeout=3.0):
    while True:
        m = console.next(timeout=timeout)
        if m.get("type") == "pop" and m["call_id"] == call_id:
            return m


def crm_pop_of(console, call_id, crm_id, timeout=3.0):
    """call_id's pop with the CRM's contact: the first, or the update that follows when the CRM
    answered after the pop's deadline (a loaded machine)."""
    while True:
        m = pop_of(console, call_id, timeout)
        if m["customer"] is not None and m["customer"]["id"] == crm_id:
            return m
        check(m["customer"] is None or m["customer"]["source"] == "local", m)


def contact(cid, name, **kw):
    c = {"id": cid, "name": name, "email": name.lower() + "@crm", "acct": "A-" + cid, "org": {"tier": "vip"},
         "link": "https://crm.example/c/" + cid}
    c.update(kw)
    return c


@test
def hit_miss_and_several_matches():
    crm = FakeCRM()
    crm.contacts = {"+15551234567": [contact("42", "Ada CRM")],
                    "+15553330000": [contact("1", "One"), contact("2", "Two"), contact("3", "Three")]}
    try:
        with CrmDaemon(crm) as (d, a1, p):
            # Hit: the CRM's contact takes precedence over the local one with that number.
            ring(p, "c1", "(555) 123-4567")
            m = pop_of(a1, "c1")
            eq(p.read()["ack"], None)
            eq(m["customer"]["id"], "42")
            eq(m["customer"]["name"], "Ada CRM")
            eq(m["customer"]["source"], "crm")
            eq(m["customer"]["tier"], "vip")
            eq(m["customer"]["account"], "A-42")
            eq(m["customer"]["url"], "https://crm.example/c/42")
            eq(m["matches"], 2)
            eq([c["source"] for c in m["candidates"]], ["crm", "local"])
            eq(m["candidates"][1]["id"], "C-7")
            # The request: the number percent-encoded, the header file's lines sent.
            r = crm.requests[-1]
            check("phone=%2B15551234567" in r["path"], r["path"])
            eq(r["headers"].get("Authorization"), "Bearer s3cret")
            eq(r["headers"].get("X-Tenant"), "acme")
            # Miss: the local customer, marked local.
            ring(p, "c2", "555-200-0001")
            m = pop_of(a1, "c2")
            p.read()
            eq(m["customer"]["id"], "C-8")
            eq(m["customer"]["source"], "local")
            eq(m["matches"], 1)
            # Unknown to both.
            ring(p, "c3", "555-999-0000")
            m = pop_of(a1, "c3")
            p.read()
            eq((m["customer"], m["matches"]), (None, 0))
            # Several: candidates, best first.
            ring(p, "c4", "5553330000")
            m = pop_of(a1, "c4")
            p.read()
            eq(m["matches"], 3)
            eq([c["id"] for c in m["candidates"]], ["1", "2", "3"])
            # The agent picks one of the CRM's candidates: it becomes the call's customer.
            a1.send({"type": "select", "call_id": "c4", "customer_id": "2"})
            got = [a1.next(), a1.next()]  # the new pop goes before the answer, which waits for the commit
            eq(got[1], {"type": "ok"})
            m = got[0]
            eq((m["customer"]["id"], m["customer"]["name"], m["customer"]["source"]), ("2", "Two", "crm"))
            status, body, _ = d.get("/api/calls/c4", token=d.token())
            eq(body["customer_id"], "2")
            a1.send({"type": "select", "call_id": "c4", "customer_id": "no-such"})
            eq(a1.next()["type"], "error")
            # Extensions and anonymous callers are never asked.
            n = len(crm.requests)
            ring(p, "c5", "2001")
            pop_of(a1, "c5")
            p.read()
            ring(p, "c6", "anonymous")
            pop_of(a1, "c6")
            p.read()
            eq(len(crm.requests), n)
            got = metrics(d)
            eq(got['callogd_crm_requests_total{result="hit"}'], 2)
            eq(got['callogd_crm_requests_total{result="miss"}'], 2)
    finally:
        crm.close()


@test
def a_slow_crm_never_delays_the_pop_past_the_deadline_and_an_update_follows():
    crm = FakeCRM()
    crm.contacts = {"+15551234567": [contact("42", "Ada CRM")]}
    crm.delay = 0.8 * SLOW
    try:
        with CrmDaemon(crm, lookup_ms=200, more="timeout_ms = %d;" % (2000 * SLOW)) as (d, a1, p):
            ring(p, "s1", "5551234567")
            t0 = time.time()
            first = pop_of(a1, "s1")
            waited = time.time() - t0
            check(waited < 0.2 + 0.5 * SLOW, "the pop waited %.3fs" % waited)
            # What was known: the local customer (or, on a slow sanitizer build, maybe not even that yet).
            check(first["customer"] is None or first["customer"]["id"] == "C-7", first["customer"])
            eq(p.read()["ack"], None)
            second = pop_of(a1, "s1", timeout=3.0 * SLOW)
            eq(second["customer"]["id"], "42")
            eq(second["customer"]["source"], "crm")
            check(metrics(d)["callogd_pop_updates_total"] >= 1)
    finally:
        crm.close()


@test
def hits_and_misses_are_cached_for_cache_seconds():
    crm = FakeCRM()
    crm.contacts = {"+15551234567": [contact("42", "Ada CRM")]}
    try:
        with CrmDaemon(crm, more="cache_seconds = 2;") as (d, a1, p):
            for i, frm in enumerate(["5551234567", "5551234567", "5557770000", "5557770000"]):
                ring(p, "k%d" % i, frm)
                m = pop_of(a1, "k%d" % i)
                p.read()
                eq(m["customer"]["id"] if m["customer"] else None, "42" if frm == "5551234567" else None)
            eq(crm.numbers_asked(), ["+15551234567", "+15557770000"])
            eq(metrics(d)["callogd_crm_cache_hits_total"], 2)
            time.sleep(2.2)
            ring(p, "k9", "5551234567")
            pop_of(a1, "k9")
            p.read()
            eq(len(crm.requests), 3)
    finally:
        crm.close()


@test
def at_most_max_concurrent_in_flight_and_late_waiters_pop_local_only():
    crm = FakeCRM()
    crm.delay = 1.5 * SLOW
    try:
        with CrmDaemon(crm, lookup_ms=300, more="max_concurrent = 2; timeout_ms = 5000;") as (d, a1, p):
            n = 6
            for i in range(n):
                ev = {"type": "call.offered", "call_id": "m%d" % i, "from": "555444000%d" % i, "to": "8005550100"}
                check("seq" in p.event(ev))
            for i in range(n):
                p.send({"type": "call.ringing", "call_id": "m%d" % i, "agent": "a1"})
            t0 = time.time()
            seen = set()
            while len(seen) < n:
                m = a1.next(timeout=3.0)
                seen.add(m["call_id"])
            check(time.time() - t0 < 0.3 + 1.0 * SLOW, "pops went out by their deadline")
            for i in range(n):
                p.read()
            time.sleep(2.0 * SLOW)
            eq(crm.max_in_flight, 2)
            eq(len(crm.requests), 2)  # the others could not start in time: never asked
            eq(metrics(d)["callogd_crm_not_started_total"], n - 2)
    finally:
        crm.close()


@test
def five_failures_open_the_breaker_and_local_lookups_go_on():
    crm = FakeCRM()
    crm.status = 500
    try:
        with CrmDaemon(crm, more="cache_seconds = 0;") as (d, a1, p):
            for i in range(5):
                ring(p, "b%d" % i, "5551234567")
                m = pop_of(a1, "b%d" % i)
                p.read()
                eq(m["customer"]["id"], "C-7")
            eq(len(crm.requests), 5)
            got = metrics(d)
            eq(got["callogd_crm_breaker_open"], 1)
            eq(got['callogd_crm_requests_total{result="status"}'], 5)
            eq(got["callogd_crm_breaker_opens_total"], 1)
            # Open: not asked, and the pop does not wait for it.
            ring(p, "b9", "5551234567")
            t0 = time.time()
            m = pop_of(a1, "b9")
            check(time.time() - t0 < 0.25 * SLOW, "no wait while the breaker is open")
            p.read()
            eq(m["customer"]["id"], "C-7")
            eq(len(crm.requests), 5)
            check(metrics(d)["callogd_crm_skipped_total"] >= 1)
    finally:
        crm.close()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@test
def html_garbage_hangs_and_50_mb_answers_are_failures_with_bounded_memory():
    crm = FakeCRM()
    try:
        with CrmDaemon(crm, lookup_ms=200, more="cache_seconds = 0; max_body = 65536; timeout_ms = 600;") as (
                d, a1, p):
            cases = [("html", dict(body=b"<html><body><h1>502 Bad Gateway</h1></body></html>"), "bad_body"),
                     ("junk", dict(body=b'{"results": [{"id": 1,'), "bad_body"),
                     ("big", dict(big=50 * 1024 * 1024), "too_large"),
                     ("hang", dict(fail="hang"), "timeout"),
                     ("close", dict(fail="close"), "connect")]
            before = rss_kb(d.proc.pid)
            for i, (name, knobs, result) in enumerate(cases):
                crm.body, crm.big, crm.fail = None, 0, None
                for k, v in knobs.items():
                    setattr(crm, k, v)
                ring(p, "h%d" % i, "5551234567")
                t0 = time.time()
                m = pop_of(a1, "h%d" % i)
                check(time.time() - t0 < 0.2 + 0.5 * SLOW, "%s: the pop waited %.3fs" % (name, time.time() - t0))
                # Local data only (none yet when the local lookup itself was slower than the deadline).
                check(m["customer"] is None or m["customer"]["source"] == "local", (name, m["customer"]))
                p.read()
                deadline = time.time() + 5 * SLOW
                while metrics(d)['callogd_crm_requests_total{result="%s"}' % result] < 1:
                    check(time.time() < deadline, "%s counted as %s" % (name, result))
                    time.sleep(0.05)
            grew = rss_kb(d.proc.pid) - before
            check(grew < 20 * 1024, "RSS grew by %d KiB over a 50 MB answer" % grew)
            crm.release.set()
    finally:
        crm.close()


@test
def reload_changes_the_url_and_timeouts_without_a_restart():
    crm, other = FakeCRM(), FakeCRM()
    crm.contacts = {"+15551234567": [contact("42", "Ada CRM")]}
    other.contacts = {"15551234567": [contact("77", "Ada Other")]}  # asked with {digits}
    try:
        with CrmDaemon(crm) as (d, a1, p):
            ring(p, "r1", "5551234567")
            crm_pop_of(a1, "r1", "42")
            p.read()
            pid = d.proc.pid
            d.write_config(crm_conf(other, path="/v2/lookup?phone={digits}", more="timeout_ms = 900;"))
            d.proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 5
            while "crm.lookup_url" not in d.read_log():
                check(time.time() < deadline, "reload logged")
                time.sleep(0.05)
            check("crm.timeout_ms=1000->900" in d.read_log(), "the timeout change is logged")
            ring(p, "r2", "5551234567")
            crm_pop_of(a1, "r2", "77")  # a new URL empties the cache
            p.read()
            eq(d.proc.pid, pid)
            check(other.requests and other.requests[-1]["path"] == "/v2/lookup?phone=15551234567",
                  other.requests)
            # Off by reload: only the local table.
            d.write_config("crm = { lookup_url = \"\"; };\n")
            d.proc.send_signal(signal.SIGHUP)
            time.sleep(0.5)
            ring(p, "r3", "5551234567")
            eq(pop_of(a1, "r3")["customer"]["id"], "C-7")
            p.read()
            eq(len(other.requests), 1)
    finally:
        crm.close()
        other.close()


def check_config(d, text):
    d.write_config(text)
    r = subprocess.run([CALLOGD, "-t", "-c", d.conf], capture_output=True, text=True)
    return r.returncode, r.stderr.strip()


@test
def dash_t_checks_the_files_and_the_pointers():
    d = Daemon()
    try:
        url = 'lookup_url = "http://127.0.0.1:9/c?p={e164}";'
        rc, err = check_config(d, "crm = { %s header_file = \"nope\"; };\n" % url)
        eq(rc, 1)
        check("crm.header_file" in err and "nope" in err and ":" in err, err)
        with open(os.path.join(d.dir, "hdr"), "w") as f:
            f.write("Authorization Bearer x\n")
        rc, err = check_config(d, "crm = { %s header_file = \"hdr\"; };\n" % url)
        eq(rc, 1)
        check("Name: value" in err, err)
        with open(os.path.join(d.dir, "hdr"), "w") as f:
            f.write("Authorization: Bearer x\n")
        eq(check_config(d, "crm = { %s header_file = \"hdr\"; };\n" % url)[0], 0)
        rc, err = check_config(d, "crm = { %s fields = { name = \"name\"; }; };\n" % url)
        eq(rc, 1)
        check("crm.fields.name" in err, err)
        rc, err = check_config(d, "crm = { %s list = \"/a~2\"; };\n" % url)
        eq(rc, 1)
        check("crm.list" in err, err)
        rc, err = check_config(d, "crm = { lookup_url = \"http://x/{phone}\"; };\n")
        eq(rc, 1)
        check("{phone}" in err, err)
        rc, err = check_config(d, "crm = { %s fields = { color = \"/c\"; }; };\n" % url)
        eq(rc, 1)
        check("crm.fields.color" in err, err)
        # A webhook's secret comes from its file, which must be readable.
        hook = 'webhooks = ( { name = "crm"; url = "https://crm.example/h"; secret_file = "%s"; } );\n'
        rc, err = check_config(d, hook % "no-secret")
        eq(rc, 1)
        check("no-secret" in err, err)
        with open(os.path.join(d.dir, "hook.secret"), "w") as f:
            f.write("s3cret\n")
        eq(check_config(d, hook % "hook.secret")[0], 0)
        rc, err = check_config(d, hook.replace("https://crm.example/h", "ftp://x") % "hook.secret")
        eq(rc, 1)
        check("http://" in err, err)
    finally:
        d.cleanup()


if __name__ == "__main__":
    run()
