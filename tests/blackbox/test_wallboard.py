#!/usr/bin/env python3
"""test_wallboard.py : the supervisor's wallboard page (GET /wallboard) in a real
headless Chromium against a real callogd: it renders today's tiles, chart and agent
grid from the events sent, fed by the stream (GET /api/wallboard/stream), updates
within 2 s of an event, sets an agent's state from the grid, reconnects by itself
after a daemon restart, and polls GET /api/wallboard when it cannot have a stream.
Screenshots go to $CALLOGD_ARTIFACTS (wallboard-*.png)."""
import os
import sys

try:
    import selenium  # noqa: F401
except ImportError:
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("FAIL setup: python3-selenium is not installed (sh scripts/deps.sh --test)")
    print("0 passed, 1 failed")
    sys.exit(1)

import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ARTIFACTS, Daemon, Producer, check, eq, run, test  # noqa: E402

W = {}


def find(cmd, name):
    for p in ("/usr/bin/" + name, "/usr/lib/chromium/" + name, shutil.which(name)):
        if p and os.path.exists(p):
            return p
    raise RuntimeError("%s is not installed (sh scripts/deps.sh --test)" % cmd)


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = find("chromium", "chromium")
    W["profile"] = tempfile.mkdtemp(prefix="callogd-chromium-")
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--window-size=1280,1000", "--user-data-dir=" + W["profile"]):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(find("chromium-driver", "chromedriver")), options=opts)


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def send(ev):
    a = W["p"].event(ev)
    check("ack" in a, "event %r answered %r" % (ev, a))


def els(css):
    return W["b"].find_elements(By.CSS_SELECTOR, css)


def text(css):
    """The element's text, or None; the page redraws every second, so an element may go stale."""
    try:
        found = els(css)
        return found[0].text if found else None
    except StaleElementReferenceException:
        return None


def wait(cond, what, timeout=10):
    try:
        WebDriverWait(W["b"], timeout, poll_frequency=0.05).until(lambda b: cond())
    except TimeoutException:
        shot("timeout")
        raise AssertionError("timed out waiting for " + what)


def shot(name):
    path = os.path.join(ARTIFACTS, "wallboard-%s.png" % name)
    W["b"].save_screenshot(path)
    return path


def tile(queue, key):
    return text('.tile[data-queue="%s"] dd[data-k="%s"]' % (queue, key))


def mode():
    try:
        found = els("#status")
        return found[0].get_attribute("data-mode") if found else None
    except StaleElementReferenceException:
        return None


def stop():
    if "b" in W:
        W.pop("b").quit()
    if "d" in W:
        W.pop("d").cleanup()
    if "profile" in W:
        shutil.rmtree(W.pop("profile"), ignore_errors=True)


@test
def renders_todays_figures():
    d = Daemon(stats__timezone="UTC")
    d.start()
    W["d"] = d
    d.add_agent("a1", "Alice Agent")
    d.add_agent("a2", "Bob Agent")
    W["sup"] = d.ctl("token", "add", "wall", "--role", "supervisor").stdout.strip().splitlines()[-1]
    W["p"] = Producer(d)
    now = int(time.time() * 1000)
    day0 = now - now % 86400000
    t = max(day0, now - 300000)
    send({"type": "agent.state", "agent": "a1", "state": "not_ready", "reason": "lunch", "ts": iso(t)})
    send({"type": "agent.state", "agent": "a2", "state": "logged_in", "ts": iso(t)})
    send({"type": "call.offered", "call_id": "w1", "queue": "support", "from": "1", "to": "2", "ts": iso(t)})
    send({"type": "call.answered", "call_id": "w1", "agent": "a1", "ts": iso(t + 4000)})
    send({"type": "call.ended", "call_id": "w1", "ts": iso(t + 64000)})
    send({"type": "call.offered", "call_id": "w2", "queue": "support", "from": "1", "to": "2", "ts": iso(t + 100)})
    send({"type": "call.ended", "call_id": "w2", "reason": "abandoned", "ts": iso(t + 30100)})
    send({"type": "call.offered", "call_id": "w3", "queue": "sales", "from": "1", "to": "2", "ts": iso(t + 200)})
    send({"type": "call.offered", "call_id": "w6", "queue": "vip", "from": "1", "to": "2", "ts": iso(t + 300)})
    send({"type": "call.answered", "call_id": "w6", "agent": "a2", "ts": iso(t + 2300)})
    os.makedirs(ARTIFACTS, exist_ok=True)
    W["b"] = browser()
    W["b"].get("http://127.0.0.1:%d/wallboard" % d.http_port)
    wait(lambda: els("#token") and els("#token")[0].is_displayed(), "the token form")
    els("#token")[0].send_keys("not-a-token")
    els("#login button")[0].click()
    wait(lambda: "refused" in (text("#login-error") or ""), "the refusal")
    els("#token")[0].clear()
    els("#token")[0].send_keys(W["sup"])
    els("#login button")[0].click()
    wait(lambda: tile("support", "offered") == "2", "the support tile")
    wait(lambda: mode() == "stream", "the page reading the stream")
    eq((tile("support", "answered"), tile("support", "abandoned"), tile("support", "sl")), ("1", "1", "50 %"))
    eq((tile("sales", "offered"), tile("sales", "waiting")), ("1", "1"))
    check("bad" in els('.tile[data-queue="support"]')[0].get_attribute("class"), "under 60 %: red")
    eq(text('tr[data-agent="a1"] td[data-k="state"]'), "not_ready")
    eq(text('tr[data-agent="a1"] td[data-k="reason"]'), "lunch")
    check((text('tr[data-agent="a2"] td[data-k="call"]') or "").startswith("w6 (vip) "),
          text('tr[data-agent="a2"] td[data-k="call"]'))
    hour = int(datetime.fromtimestamp(t / 1000, timezone.utc).strftime("%H"))
    bars = els('#chart rect.bar-offered[data-hour="%d"]' % hour)
    eq(len(bars), 1)
    check(float(bars[0].get_attribute("height")) > 0, "the hour's bar is drawn")
    check(els('#chart circle.sl-point[data-hour="%d"]' % hour), "the hour's service level is drawn")
    check(not els("#login")[0].is_displayed(), "the token form is gone")
    shot("rendered")


@test
def updates_within_two_seconds_and_sets_a_state():
    now = int(time.time() * 1000)
    t0 = time.monotonic()
    send({"type": "call.offered", "call_id": "w4", "queue": "support", "from": "1", "to": "2", "ts": iso(now)})
    wait(lambda: tile("support", "offered") == "3", "the new call on the tile", timeout=5)
    took = time.monotonic() - t0
    check(took < 2.0, "the tile changed %.2f s after the event" % took)
    eq(tile("support", "waiting"), "1")
    eq(mode(), "stream")
    # The clocks count on between updates: the waiting call's wait grows with nothing sent.
    first = tile("support", "longest")
    wait(lambda: tile("support", "longest") not in (first, None), "the longest wait counting on", timeout=3)
    # The grid is redrawn each second: pick and click in one script, as a hand would between two redraws.
    W["b"].execute_script('const r = document.querySelector(\'tr[data-agent="a2"]\');'
                          'r.querySelector("select").value = "ready"; r.querySelector("button").click();')
    wait(lambda: text('tr[data-agent="a2"] td[data-k="state"]') == "ready", "a2 set ready from the grid")
    status, body, _ = W["d"].get("/api/agents")
    eq([a["state"] for a in body["agents"] if a["id"] == "a2"], ["ready"])
    shot("updated")


@test
def reconnects_after_a_daemon_restart():
    d = W["d"]
    W["p"].close()
    eq(d.stop(), 0)
    wait(lambda: "reconnecting" in (text("#status") or ""), "the page noticing the daemon is gone")
    shot("reconnecting")
    d.start()
    W["p"] = Producer(d)
    wait(lambda: (text("#status") or "").startswith("live") and mode() == "stream", "the stream back", timeout=15)
    eq(tile("support", "offered"), "3")
    send({"type": "call.offered", "call_id": "w5", "queue": "support", "from": "1", "to": "2",
          "ts": iso(int(time.time() * 1000))})
    wait(lambda: tile("support", "offered") == "4", "a call after the restart", timeout=5)
    shot("after-restart")
    stop()


@test
def polls_when_it_cannot_have_a_stream():
    d = Daemon(stats__timezone="UTC", stats__wallboard_streams=0)
    d.start()
    W["d"] = d
    sup = d.ctl("token", "add", "wall", "--role", "supervisor").stdout.strip().splitlines()[-1]
    W["p"] = Producer(d)
    send({"type": "call.offered", "call_id": "p1", "queue": "support", "from": "1", "to": "2",
          "ts": iso(int(time.time() * 1000))})
    W["b"] = browser()
    W["b"].get("http://127.0.0.1:%d/wallboard" % d.http_port)
    wait(lambda: els("#token") and els("#token")[0].is_displayed(), "the token form")
    els("#token")[0].send_keys(sup)
    els("#login button")[0].click()
    wait(lambda: tile("support", "offered") == "1", "the support tile, polled")
    eq(mode(), "poll")
    check((text("#status") or "").startswith("polling"), text("#status"))
    t0 = time.monotonic()
    send({"type": "call.offered", "call_id": "p2", "queue": "support", "from": "1", "to": "2",
          "ts": iso(int(time.time() * 1000))})
    wait(lambda: tile("support", "offered") == "2", "the new call, polled", timeout=5)
    check(time.monotonic() - t0 < 2.0, "polled update took %.2f s" % (time.monotonic() - t0))
    shot("polling")
    stop()


if __name__ == "__main__":
    try:
        run()
    finally:
        stop()
