"""test_storage.py : a real storage fault: the database's filesystem fills up
while the daemon runs. Producers get {"error":"storage"} for what could not be
committed, nothing acknowledged is lost, and service resumes without a restart
once space is freed.

The fault is real ENOSPC: the database lives on a small tmpfs mounted for the
test (needs root and CAP_SYS_ADMIN; elsewhere the test says why and skips). As
root, chmod cannot make SQLite fail, and a read-only remount is refused (EBUSY)
while the daemon holds the files open for writing, so a full disk is the fault
this test can make for real."""
import errno
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from callcheck import db_rows, expected_call  # noqa: E402
from harness import Daemon, Producer, check, eq, run, skip, test  # noqa: E402

FS_SIZE = "4m"


class SmallFs:
    """A tmpfs of FS_SIZE at a temp dir; None from mount() when it cannot be made here."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="callogd-fs-")
        self.mounted = False

    def mount(self):
        if os.geteuid() != 0:
            return "not root"
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % FS_SIZE, "tmpfs", self.dir],
                           capture_output=True, text=True)
        if p.returncode != 0:
            return "mount -t tmpfs failed: %s" % (p.stderr.strip() or p.returncode)
        self.mounted = True
        return None

    def fill(self, name="filler", leave=0):
        """Writes a file until ENOSPC, then frees leave bytes; returns the file's size."""
        path = os.path.join(self.dir, name)
        slack = os.path.join(self.dir, "slack")
        if leave:
            with open(slack, "wb") as f:
                f.write(b"\0" * leave)
        n = 0
        block = b"\0" * 4096
        with open(path, "wb", buffering=0) as f:
            while True:
                try:
                    n += f.write(block)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
        if leave:
            os.unlink(slack)
        return n

    def free(self, name="filler"):
        os.unlink(os.path.join(self.dir, name))

    def cleanup(self):
        if self.mounted:
            if subprocess.run(["umount", self.dir], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", self.dir], capture_output=True)
        os.rmdir(self.dir)


def big_event(i, tag):
    return {"type": "call.disposition", "call_id": "s-%d" % i, "agent": "a1", "code": "billing",
            "notes": "%s %d " % (tag, i) + "n" * 4000, "id": "%s-%d" % (tag, i)}


def logged_ids(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        rows = db.execute("SELECT eid, seq FROM events WHERE eid IS NOT NULL").fetchall()
    finally:
        db.close()
    ids = {}
    for eid, seq in rows:
        check(eid not in ids, "%s logged twice" % eid)
        ids[eid] = seq
    return ids


@test
def disk_full_answers_storage_and_recovers():
    fs = SmallFs()
    why = fs.mount()
    if why:
        fs.cleanup()
        skip("cannot make a small filesystem here (%s)" % why)
    d = Daemon(database__path=os.path.join(fs.dir, "callog.db"))
    try:
        d.start()
        p = Producer(d)
        acked = {}

        def send(e):
            a = p.event(e)
            if "ack" in a:
                eq(a["ack"], e["id"], "ack id")
                acked[e["id"]] = a["seq"]
            return a

        for i in range(20):
            check("ack" in send(big_event(i, "before")), "before the fault")
        filled = fs.fill()
        # The WAL reuses what it already has; keep writing until it must grow.
        storage_errors, ok_during = [], 0
        for i in range(400):
            a = send(big_event(i, "full"))
            if a.get("error") == "storage":
                storage_errors.append(a)
                if len(storage_errors) >= 5:
                    break
            else:
                check("ack" in a, "during the fault: %r" % a)
                ok_during += 1
        print("  filesystem %s, filler %d kB: %d acked, then %d answered storage: %r"
              % (FS_SIZE, filled >> 10, ok_during, len(storage_errors),
                 storage_errors[0] if storage_errors else None), flush=True)
        check(storage_errors, "a full disk never produced a storage error")
        for a in storage_errors:
            check(a.get("id", "").startswith("full-"), "storage error names the event: %r" % a)
            check(isinstance(a.get("message"), str), "storage error has a message")
        check(d.proc.poll() is None, "the daemon survives a full disk")
        status, body, _ = d.get("/healthz", auth=False)
        # docs/http-api.md: 503 "when the database is unusable", as it is while every commit fails.
        eq(status, 503, "/healthz while every commit fails: %r" % (body,))
        eq(body["status"], "error")
        check("full" in body["message"], body)
        eq(logged_ids(d.db).keys() >= acked.keys(), True, "acked events survive the fault")
        m = d.get("/metrics", auth=False)[1]
        check('callogd_errors_total{code="storage"} 0' not in m, "storage errors counted in /metrics")

        # Space comes back: the same events are accepted, without a restart.
        fs.free()
        failed = [json.loads(json.dumps(big_event(int(a["id"].split("-")[1]), "full"))) for a in storage_errors]
        deadline = time.time() + 10
        pending = failed
        while pending and time.time() < deadline:
            again = []
            for e in pending:
                a = send(e)
                if "ack" not in a:
                    eq(a.get("error"), "storage", "after freeing space: %r" % a)
                    again.append(e)
            pending = again
            if pending:
                time.sleep(0.2)
        eq(pending, [], "events refused for storage are accepted once space is back")
        for i in range(20):
            check("ack" in send(big_event(i, "after")), "after the fault")
        eq(d.get("/healthz", auth=False)[:2], (200, {"status": "ok"}), "healthy again once commits succeed")
        ids = logged_ids(d.db)
        lost = sorted(set(acked) - set(ids))
        eq(lost, [], "acknowledged events lost")
        eq({k: ids[k] for k in acked}, acked, "logged seqs match the acks")
        seqs = sorted(acked.values())
        eq(len(set(seqs)), len(seqs), "distinct seqs")

        # And it all survives a clean stop and a restart.
        p.close()
        eq(d.stop(), 0, "SIGTERM exit status")
        d.start()
        ids = logged_ids(d.db)
        eq(sorted(set(acked) - set(ids)), [], "acknowledged events lost across restart")
        p = Producer(d)
        check("ack" in p.event(big_event(0, "restart")), "serves after restart")
        p.close()
        eq(d.stop(), 0)
    except Exception:
        sys.stderr.write("---- callogd log ----\n" + d.read_log()[-4000:] + "\n")
        raise
    finally:
        d.cleanup()
        fs.cleanup()


def calls_agree(d, what):
    """The calls table agrees with the events logged for each call."""
    events, calls = db_rows(d)
    by_call = {}
    for seq, eid, cid, typ, ts, body in events:
        e = json.loads(body)
        e["_ms"] = ts
        by_call.setdefault(cid, []).append(e)
    for row in calls:
        got = dict(zip(["has_offer", "offered_at", "answered_at", "ended_at", "hold_ms", "end_reason", "end_by",
                        "agent", "agents", "disp_code"], row[1:]))
        got["agents"] = json.loads(got["agents"])
        want = expected_call(by_call.get(row[0], []))
        if want["offered_at"] is None:
            got["offered_at"] = None
        eq(got, want, "%s: call %s record vs its logged events" % (what, row[0]))
    return len(calls)


def ts(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


@test
def pipelined_calls_through_disk_full_stay_consistent():
    """A group commit fails mid-stream: its calls must not keep what was rolled back."""
    fs = SmallFs()
    why = fs.mount()
    if why:
        fs.cleanup()
        skip(why)
    d = Daemon(database__path=os.path.join(fs.dir, "callog.db"))
    n = 60
    t0 = 1768467600000
    pad = "p" * 3000  # unknown fields are kept in the logged body: makes the WAL grow fast

    def call_ev(i, k, typ, **kw):
        e = {"type": typ, "call_id": "k-%d" % i, "id": "k-%d:%s" % (i, k), "ts": ts(t0 + i * 1000 + k * 1000)}
        e.update(kw)
        return e

    def burst(p, evs):
        p.send_raw("".join(json.dumps(e) + "\n" for e in evs))
        out = []
        for e in evs:
            a = p.read(20)
            if "ack" in a:
                eq(a["ack"], e["id"])
            else:
                eq((a.get("error"), a.get("id")), ("storage", e["id"]), "answer %r" % a)
            out.append(a)
        return out

    try:
        d.start()
        p = Producer(d, unix=True)
        a = burst(p, [call_ev(i, k, t, **kw) for i in range(n) for k, t, kw in
                      [(0, "call.offered", {"from": "5551234567", "to": "8005550100"}),
                       (1, "call.ringing", {"agent": "a1"})]])
        check(all("ack" in x for x in a), "before the fault")
        fs.fill(leave=96 << 10)
        phase_b = [call_ev(i, k, t, agent="a%d" % (1 + i % 3), pad=pad) for i in range(n)
                   for k, t in [(2, "call.answered"), (3, "call.held")]]
        answers = burst(p, phase_b)
        failed = [e for e, a in zip(phase_b, answers) if "ack" not in a]
        print("  pipelined through a full disk: %d acked, %d storage errors"
              % (len(phase_b) - len(failed), len(failed)), flush=True)
        check(failed, "no storage error")
        fs.free()
        # A later event of every call commits before the failed ones are resent: the
        # call records must be built from what was committed, not from rolled-back events.
        a = burst(p, [call_ev(i, 4, "call.resumed", agent="a1") for i in range(n)])
        check(all("ack" in x for x in a), "after freeing space")
        calls_agree(d, "after the fault, before resending")
        a = burst(p, failed)
        check(all("ack" in x for x in a), "resent")
        a = burst(p, [call_ev(i, k, t, **kw) for i in range(n) for k, t, kw in
                      [(5, "call.ended", {"reason": "completed"}), (6, "call.disposition", {"agent": "a1",
                                                                                           "code": "x"})]])
        check(all("ack" in x for x in a), "the rest of the calls")
        eq(calls_agree(d, "at the end"), n, "calls")
        eq(d.stop(), 0)
    except Exception:
        sys.stderr.write("---- callogd log ----\n" + d.read_log()[-4000:] + "\n")
        raise
    finally:
        d.cleanup()
        fs.cleanup()


if __name__ == "__main__":
    run()
