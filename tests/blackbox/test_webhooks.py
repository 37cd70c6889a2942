"""test_webhooks.py : call journaling through the outbox (docs/crm.md) against a
fake receiver on loopback that checks each signature: call.completed after the
wrap-up or the settle time, revisions, call.missed once, retries with the same
Callogd-Id across kill -9 with nothing lost, 4xx give-up, order per call,
callogctl webhooks, reload."""
import json
import os
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from fakecrm import Receiver, sign  # noqa: E402
from harness import Daemon, Producer, check, eq, metrics, run, running, test  # noqa: E402

SECRET = "whsec-test-0123456789"


def hook_conf(rcv, events='"call.completed", "call.missed"', settle=1, name="crm"):
    return ('webhooks = ( { name = "%s"; url = "%s"; secret_file = "hook-secret"; events = [ %s ];'
            ' settle_seconds = %d; timeout_ms = 2000; } );\n' % (name, rcv.url(), events, settle))


class HookDaemon(running):
    """with HookDaemon(receiver, settle=...) as d: a daemon with one webhook to receiver."""

    def __init__(self, rcv, **kw):
        super().__init__()
        with open(os.path.join(self.d.dir, "hook-secret"), "w") as f:
            f.write(SECRET + "\n")
        self.d.write_config(hook_conf(rcv, **kw))


def answered_call(p, cid, agent="a1", dispo=None):
    for ev in ({"type": "call.offered", "call_id": cid, "from": "5551234567", "to": "8005550100", "queue": "q"},
               {"type": "call.answered", "call_id": cid, "agent": agent},
               {"type": "call.ended", "call_id": cid, "reason": "completed"}):
        check("seq" in p.event(ev))
    if dispo:
        check("seq" in p.event({"type": "call.disposition", "call_id": cid, "agent": agent, "code": dispo}))


def wait_for(fn, timeout, what):
    deadline = time.time() + timeout
    while True:
        got = fn()
        if got:
            return got
        check(time.time() < deadline, "timed out waiting for " + what)
        time.sleep(0.05)


def of_call(rcv, cid, type_="call.completed", accepted=True):
    ds = rcv.accepted() if accepted else list(rcv.deliveries)
    return [d for d in ds if d["json"]["call"]["call_id"] == cid and d["json"]["type"] == type_]


@test
def completed_is_signed_and_carries_the_final_record_after_the_wrap_up():
    rcv = Receiver(SECRET)
    try:
        with HookDaemon(rcv, settle=60) as d:
            p = Producer(d)
            for ev in ({"type": "call.offered", "call_id": "w1", "from": "5551234567", "to": "8005550100",
                        "queue": "sales"},
                       {"type": "call.answered", "call_id": "w1", "agent": "a1"},
                       {"type": "call.transferred", "call_id": "w1", "agent": "a1", "to_agent": "a2"},
                       {"type": "call.answered", "call_id": "w1", "agent": "a2"},
                       {"type": "call.ended", "call_id": "w1", "reason": "completed"}):
                check("seq" in p.event(ev))
            time.sleep(0.5)
            eq(of_call(rcv, "w1"), [], "waits for the wrap-up (settle 60 s)")
            t0 = time.time()
            check("seq" in p.event({"type": "call.disposition", "call_id": "w1", "agent": "a2", "code": "sale",
                                    "notes": "upsell"}))
            got = wait_for(lambda: of_call(rcv, "w1"), 5, "call.completed")
            check(time.time() - t0 < 3, "sent soon after the wrap-up")
            d1 = got[0]
            check(d1["sig_ok"], "the receiver verified the signature")
            eq(d1["type"], "application/json")
            check(abs(int(d1["ts"]) - time.time()) < 30, d1["ts"])
            # A receiver with another secret would refuse it.
            check(sign("wrong", d1["id"], d1["ts"], d1["body"]) != sign(SECRET, d1["id"], d1["ts"], d1["body"]))
            b = d1["json"]
            eq((b["type"], b["revision"]), ("call.completed", 1))
            check(b["id"] and d1["id"] == b["id"] + "-1", (b["id"], d1["id"]))
            c = b["call"]
            eq((c["agent"], c["agents"], c["queue"]), ("a2", ["a1", "a2"], "sales"))
            eq(c["disposition"]["code"], "sale")
            eq(c["outcome"], "answered")
            check("events" not in c and "talk_ms" in c and "wrap_ms" in c, c)
            # A later change: a new revision, same body id, its own Callogd-Id.
            check("seq" in p.event({"type": "call.disposition", "call_id": "w1", "agent": "a2", "code": "no_sale"}))
            got = wait_for(lambda: len(of_call(rcv, "w1")) >= 2 and of_call(rcv, "w1"), 5, "revision 2")
            b2 = got[1]["json"]
            eq((b2["id"], b2["revision"]), (b["id"], 2))
            eq(got[1]["id"], b["id"] + "-2")
            eq(b2["call"]["disposition"]["code"], "no_sale")
            time.sleep(0.5)
            eq(len(of_call(rcv, "w1")), 2, "no revision without a change")
            got = metrics(d)
            eq(got['callogd_webhook_deliveries_total{result="delivered"}'], 2)
            eq(got["callogd_webhook_outbox"], 0)
    finally:
        rcv.close()


@test
def without_a_wrap_up_completed_goes_after_settle_seconds_and_missed_goes_once():
    rcv = Receiver(SECRET)
    try:
        with HookDaemon(rcv, settle=2) as d:
            p = Producer(d)
            answered_call(p, "s1")
            t_end = time.time()
            for ev in ({"type": "call.offered", "call_id": "x1", "from": "5551234567", "to": "8005550100"},
                       {"type": "call.ended", "call_id": "x1", "reason": "abandoned", "by": "caller"}):
                check("seq" in p.event(ev))
            missed = wait_for(lambda: of_call(rcv, "x1", "call.missed"), 3, "call.missed")
            eq(missed[0]["json"]["call"]["outcome"], "abandoned")
            check(missed[0]["sig_ok"])
            got = wait_for(lambda: of_call(rcv, "s1"), 6, "call.completed after settle")
            waited = got[0]["t"] - t_end
            check(1.5 < waited < 5, "settle 2 s: sent after %.2fs" % waited)
            eq(got[0]["json"]["call"]["disposition"], None)
            # A late event that changes nothing about the missed call: no second call.missed.
            check("seq" in p.event({"type": "call.ended", "call_id": "x1", "reason": "abandoned", "by": "caller"}))
            wait_for(lambda: of_call(rcv, "x1"), 6, "x1's call.completed")
            time.sleep(0.3)
            eq(len(of_call(rcv, "x1", "call.missed")), 1)
            # Outbound calls are never missed.
            for ev in ({"type": "call.offered", "call_id": "o1", "from": "2001", "to": "5551234567",
                        "direction": "outbound"},
                       {"type": "call.ended", "call_id": "o1", "reason": "no_answer"}):
                check("seq" in p.event(ev))
            wait_for(lambda: of_call(rcv, "o1"), 6, "o1's call.completed")
            eq(of_call(rcv, "o1", "call.missed"), [])
    finally:
        rcv.close()


@test
def retries_keep_the_callogd_id_and_4xx_gives_up_until_retried_by_hand():
    rcv = Receiver(SECRET)
    rcv.statuses = [500, 503]
    try:
        with HookDaemon(rcv, events='"call.completed"') as d:
            p = Producer(d)
            answered_call(p, "r1", dispo="resolved")
            got = wait_for(lambda: of_call(rcv, "r1"), 8, "delivered after two 5xx")
            tries = of_call(rcv, "r1", accepted=False)
            eq([t["status"] for t in tries], [500, 503, 200])
            eq(len({t["id"] for t in tries}), 1, "one Callogd-Id for every try")
            check(all(t["sig_ok"] for t in tries))
            gaps = [tries[i + 1]["t"] - tries[i]["t"] for i in range(2)]
            check(0.4 < gaps[0] < 1.6 and 0.9 < gaps[1] < 2.6, "backoff 1 s then 2 s with jitter: %r" % gaps)
            eq(got[0]["body"], tries[0]["body"], "the same body on every try")
            # 400: given up at once, shown by callogctl with its answer.
            rcv.status = 400
            answered_call(p, "r2", dispo="resolved")
            wait_for(lambda: of_call(rcv, "r2", accepted=False), 5, "the 400")
            time.sleep(2.5)
            eq(len(of_call(rcv, "r2", accepted=False)), 1, "no retry after a 400")
            out = json.loads(d.ctl("webhooks", "--json").stdout)["deliveries"]
            failed = [x for x in out if x["call_id"] == "r2"]
            eq(len(failed), 1, out)
            eq(failed[0]["state"], "failed")
            check(failed[0]["last_answer"].startswith("400"), failed[0])
            table = d.ctl("webhooks").stdout
            check(failed[0]["id"] in table and "failed" in table, table)
            rcv.status = 200
            r = d.ctl("webhooks", "retry", failed[0]["id"])
            check("again" in r.stdout, r.stdout)
            got = wait_for(lambda: of_call(rcv, "r2"), 5, "sent again by hand")
            eq(got[0]["id"], failed[0]["id"])
            eq(d.ctl("webhooks", "retry", "nope-1", check=False).returncode, 1)
            wait_for(lambda: [x for x in json.loads(d.ctl("webhooks", "--json").stdout)["deliveries"]
                              if x["call_id"] == "r2"] == [], 3, "r2 no longer listed")
            # Retention takes a purged call's finished deliveries with it, never an unfinished one.
            rcv.status = 503
            answered_call(p, "r3", dispo="resolved")
            wait_for(lambda: of_call(rcv, "r3", accepted=False), 5, "r3's first try")
            eq(d.ctl("purge", "--before", "2100-01-01").returncode, 0)
            db = sqlite3.connect(d.db)
            left = db.execute("SELECT call_id, state FROM webhook_outbox ORDER BY id").fetchall()
            db.close()
            eq(left, [("r3", 1)], "only the undelivered one stays")
            got = metrics(d)
            check(got['callogd_webhook_deliveries_total{result="retried"}'] >= 2, got)
            check(got['callogd_webhook_deliveries_total{result="failed"}'] >= 1, got)
    finally:
        rcv.close()


@test
def kill_9_loses_no_delivery_and_keeps_each_callogd_id():
    rcv = Receiver(SECRET)
    rcv.status = 503
    d = Daemon()
    try:
        with open(os.path.join(d.dir, "hook-secret"), "w") as f:
            f.write(SECRET)
        d.write_config(hook_conf(rcv, events='"call.completed"'))
        d.start()
        p = Producer(d)
        n = 20
        for i in range(n):
            answered_call(p, "k%d" % i, dispo="resolved")
        wait_for(lambda: len({x["id"] for x in rcv.deliveries}) >= 1, 5, "a first failed try")
        ids_before = {x["json"]["call"]["call_id"]: x["id"] for x in list(rcv.deliveries)}
        d.kill9()
        rcv.status = 200
        d.start()
        wait_for(lambda: len({x["json"]["call"]["call_id"] for x in rcv.accepted()}) == n, 15, "all delivered")
        for cid, did in ids_before.items():
            eq({x["id"] for x in rcv.deliveries if x["json"]["call"]["call_id"] == cid}, {did}, cid)
        check(all(x["sig_ok"] for x in rcv.deliveries))
        # Acknowledged, then killed before any try: still delivered.
        rcv.status = 503
        p = Producer(d)
        for i in range(5):
            answered_call(p, "q%d" % i, dispo="resolved")
        d.kill9()
        rcv.status = 200
        d.start()
        wait_for(lambda: all(of_call(rcv, "q%d" % i) for i in range(5)), 15, "q* delivered after kill -9")
        eq(d.stop(), 0)
    finally:
        rcv.close()
        d.cleanup()


@test
def deliveries_of_one_call_go_in_order():
    rcv = Receiver(SECRET)
    rcv.statuses = [503]
    try:
        with HookDaemon(rcv, events='"call.completed", "call.missed"', settle=0) as d:
            p = Producer(d)
            for ev in ({"type": "call.offered", "call_id": "o1", "from": "5551234567", "to": "8005550100"},
                       {"type": "call.ended", "call_id": "o1", "reason": "abandoned"}):
                check("seq" in p.event(ev))
            wait_for(lambda: rcv.deliveries, 3, "the first try (503)")
            # Two changes while the first delivery waits for its retry.
            check("seq" in p.event({"type": "call.disposition", "call_id": "o1", "agent": "a1", "code": "callback"}))
            time.sleep(0.2)
            check("seq" in p.event({"type": "call.disposition", "call_id": "o1", "agent": "a1", "code": "resolved"}))
            wait_for(lambda: [x for x in rcv.accepted() if (x["json"]["call"]["disposition"] or {}).get("code")
                              == "resolved"], 8, "the last change delivered")
            time.sleep(0.5)
            got = [(x["json"]["type"], x["json"]["revision"]) for x in rcv.accepted()]
            eq(got[0], ("call.missed", 1), "the first delivery first, though it was retried")
            completed = [r for t, r in got if t == "call.completed"]
            eq(completed, list(range(1, len(completed) + 1)), "revisions in order, none lost")
            eq(rcv.accepted()[-1]["json"]["call"]["disposition"]["code"], "resolved")
    finally:
        rcv.close()


@test
def reload_moves_a_webhook_to_a_new_url():
    rcv, other = Receiver(SECRET), Receiver(SECRET)
    try:
        with HookDaemon(rcv, events='"call.completed"') as d:
            p = Producer(d)
            answered_call(p, "u1", dispo="resolved")
            wait_for(lambda: of_call(rcv, "u1"), 5, "to the first receiver")
            d.write_config(hook_conf(other, events='"call.completed"'))
            d.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "webhooks=(changed)" in d.read_log(), 5, "the reload")
            answered_call(p, "u2", dispo="resolved")
            wait_for(lambda: of_call(other, "u2"), 5, "to the new receiver")
            eq(of_call(rcv, "u2", accepted=False), [])
    finally:
        rcv.close()
        other.close()


if __name__ == "__main__":
    run()
