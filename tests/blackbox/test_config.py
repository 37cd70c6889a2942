"""test_config.py : one configuration check for every reader: `callogd -t`, the
daemon's start-up, SIGHUP reload and callogctl agree on every value, and a
reload logs only the keys that changed."""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import CALLOGCTL, CALLOGD, Daemon, Producer, check, eq, run, running, test  # noqa: E402

# Values that each key may accept on its own but the daemon could not run with.
BAD = [
    ({"numbers.country_code": "0"}, "numbers.country_code"),
    ({"numbers.country_code": "1234"}, "numbers.country_code"),
    ({"numbers.national_prefix": "00", "numbers.international_prefix": "00"}, "numbers.national_prefix"),
    ({"numbers.national_prefix": "1x"}, "numbers.national_prefix"),
    ({"events.max_line": 10}, "events.max_line"),
    ({"log.level": "loud"}, "log.level"),
    ({"pops.trigger": "never"}, "pops.trigger"),
    ({"events.tcp": "nohost"}, "events.tcp"),
    ({"database.path": ""}, "database.path"),
    ({"database.url": "mysql://db/callog"}, "database.url"),
    ({"database.url": "postgresql://callogd@127.0.0.1/callog"}, "database.url"),  # with database.path: both
    ({"agents.unix": "events.sock"}, "agents.unix"),
    ({"events.bogus": 1}, "events.bogus"),
]


def run_prog(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30)


def one_line(stderr):
    """The lines a program wrote, without the daemon's own <N> log lines."""
    return [l for l in stderr.splitlines() if l.strip() and not l.startswith("<")]


@test
def every_reader_refuses_the_same_values():
    for overrides, key in BAD:
        d = Daemon()
        try:
            d.settings.update(overrides)
            d.write_config()
            # callogd -t: exit 1, one line FILE:LINE: naming the key.
            p = run_prog(CALLOGD, "-t", "-c", d.conf)
            eq(p.returncode, 1, "%s: -t said %r" % (overrides, p.stdout + p.stderr))
            lines = one_line(p.stderr)
            eq(len(lines), 1, p.stderr)
            check(re.match(re.escape(d.conf) + r":[1-9]\d*: ", lines[0]), lines[0])
            check(key in lines[0], "%s: %s" % (key, lines[0]))
            # The daemon: exit 1 with the same one line, and nothing listening.
            p = run_prog(CALLOGD, "-c", d.conf)
            eq(p.returncode, 1, "%s: daemon %r" % (overrides, p.stderr))
            eq(one_line(p.stderr), lines, "daemon and -t disagree")
            check(not os.path.exists(d.events_sock), "socket left by a daemon that refused its config")
            # callogctl: exit 1 naming the same key.
            p = run_prog(CALLOGCTL, "-c", d.conf, "agent", "list")
            eq(p.returncode, 1, "%s: callogctl %r" % (overrides, p.stdout + p.stderr))
            check(key in p.stderr, p.stderr)
        finally:
            d.cleanup()


@test
def every_reader_accepts_a_good_config():
    d = Daemon(numbers__country_code="31", numbers__national_prefix="0", numbers__international_prefix="00")
    try:
        p = run_prog(CALLOGD, "-t", "-c", d.conf)
        eq(p.returncode, 0, p.stderr)
        check("configuration ok" in p.stdout, p.stdout)
        d.start()
        a = Producer(d).event({"type": "call.offered", "call_id": "g1", "from": "0201234567", "to": "100"})
        check("seq" in a, a)
        eq(d.ctl("agent", "list").returncode, 0)
        # The rules the daemon runs with are the configured ones: 020... is Dutch.
        calls = d.ctl("calls", "--json").stdout
        check("+31201234567" in calls, calls)
    finally:
        d.cleanup()


@test
def reload_refuses_what_start_refuses():
    with running() as d:
        d.settings["numbers.country_code"] = "0"
        d.write_config()
        mark = len(d.read_log())
        d.proc.send_signal(signal.SIGHUP)
        log = wait_log(d, mark, "reload refused")
        check("numbers.country_code" in log, log)
        # The running rules are kept: a national number still gets +1.
        a = Producer(d).event({"type": "call.offered", "call_id": "r0", "from": "5551234567", "to": "100"})
        check("seq" in a, a)
        eq(d.ctl("calls", check=False).returncode, 1, "callogctl took the config the daemon refused")
        d.settings["numbers.country_code"] = "1"
        d.write_config()
        calls = d.ctl("calls", "--json").stdout
        check("+15551234567" in calls, calls)


def wait_log(d, mark, what, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        log = d.read_log()[mark:]
        if what in log:
            return log
        time.sleep(0.05)
    raise AssertionError("no %r in the log:\n%s" % (what, d.read_log()[mark:]))


def sighup(d, settings=None):
    """Rewrites the config with settings, reloads, and returns the reload's log lines."""
    d.settings.update(settings or {})
    d.write_config()
    mark = len(d.read_log())
    d.proc.send_signal(signal.SIGHUP)
    log = wait_log(d, mark, "reloaded")
    return [l for l in log.splitlines() if "reloaded" in l or "need a restart" in l]


def changed_keys(line):
    return re.findall(r"(\S+)=\S*->", line)


@test
def reload_logs_only_what_changed():
    with running() as d:
        # Nothing changed: nothing listed.
        lines = sighup(d)
        eq(len(lines), 1, lines)
        check("changed=0" in lines[0], lines[0])
        eq(changed_keys(lines[0]), [], lines[0])
        # One key changed: only it.
        lines = sighup(d, {"pops.history": 2})
        eq(len(lines), 1, lines)
        check("changed=1" in lines[0], lines[0])
        eq(changed_keys(lines[0]), ["pops.history"], lines[0])
        # A key that needs a restart: named alone, not applied; the rest applied.
        lines = sighup(d, {"http.timeout": 30, "log.level": "debug"})
        eq(len(lines), 2, lines)
        check('keys="http.timeout"' in lines[0], lines[0])
        eq(changed_keys(lines[1]), ["log.level"], lines[1])
        # The same file again: the restart key is still pending, nothing else changed.
        lines = sighup(d)
        check('keys="http.timeout"' in lines[0], lines)
        check("changed=0" in lines[-1], lines)


@test
def config_keys_enumerates_the_table():
    p = run_prog(CALLOGD, "--config-keys")
    eq(p.returncode, 0, p.stderr)
    rows = [l.split("\t") for l in p.stdout.splitlines()]
    check(len(rows) >= 26, p.stdout)
    for r in rows:
        eq(len(r), 6, r)
        check(re.match(r"^[a-z_]+\.[a-z_]+$", r[0]), r)
        check(r[4] in ("yes", "no"), r)
    names = [r[0] for r in rows]
    eq(len(names), len(set(names)), "a key listed twice")
    # A file spelling every default is valid: the defaults and the types agree.
    d = Daemon()
    try:
        groups = {}
        for r in rows:
            g, k = r[0].split(".")
            groups.setdefault(g, []).append("%s = %s;" % (k, r[2]))
        with open(d.conf, "w") as f:
            for g, kvs in groups.items():
                f.write("%s = { %s };\n" % (g, " ".join(kvs)))
        p = run_prog(CALLOGD, "-t", "-c", d.conf)
        eq(p.returncode, 0, p.stderr + open(d.conf).read())
    finally:
        d.cleanup()


if __name__ == "__main__":
    run()
