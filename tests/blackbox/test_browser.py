#!/usr/bin/env python3
"""test_browser.py : the agent console page in a real headless Chromium (Debian's
chromium + chromium-driver, driven by python3-selenium) against a real callogd:
login, live pops (known, unknown, no caller ID, several matches), call states,
a retracted call, the wrap-up landing in the call log, the agent state, and the
page reconnecting by itself across a daemon restart. Screenshots go to
$CALLOGD_ARTIFACTS."""
import os
import sys

try:
    import selenium  # noqa: F401
except ImportError:
    # python3 on PATH may be a private interpreter without Debian's selenium.
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("FAIL setup: python3-selenium is not installed (sh scripts/deps.sh --test)")
    print("0 passed, 1 failed")
    sys.exit(1)

import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ARTIFACTS, Daemon, Producer, check, eq, run, test  # noqa: E402

ADA_NOTES = "Prefers email. <img src=x id=injected> & <b>not bold</b>"
CUSTOMERS = ("id,name,phones,email,account,tier,notes\n"
             "C-7,Ada Lovelace,+1 555 123 4567,ada@example.com,ACC-1,gold,\"%s\"\n"
             "C-8,Bob Shared,555-000-1111,,ACC-8,silver,\n"
             "C-9,Carol Shared,(555) 000-1111,,ACC-9,platinum,\n" % ADA_NOTES)

# One daemon and one browser for the whole file: the tests below run in order.
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
              "--window-size=1280,800", "--user-data-dir=" + W["profile"]):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(find("chromium-driver", "chromedriver")), options=opts)


def start():
    d = Daemon()
    d.start()
    W["d"] = d
    W["agent_token"] = d.add_agent("a1", "Alice Agent")
    d.add_agent("a2")
    W["api"] = d.token()
    p = d.import_customers(CUSTOMERS)
    eq(p.returncode, 0, "callogctl import: %s %s" % (p.stdout, p.stderr))
    W["p"] = Producer(d)
    # A past call for Ada, wrapped up by a2: the history row the pop must show.
    for ev in ({"type": "call.offered", "call_id": "old-1", "from": "555-123-4567", "to": "8005550100"},
               {"type": "call.ringing", "call_id": "old-1", "agent": "a2"},
               {"type": "call.answered", "call_id": "old-1", "agent": "a2"},
               {"type": "call.ended", "call_id": "old-1", "reason": "completed"},
               {"type": "call.disposition", "call_id": "old-1", "agent": "a2", "code": "billing",
                "notes": "refund issued"}):
        send(ev)
    os.makedirs(ARTIFACTS, exist_ok=True)
    W["b"] = browser()
    W["b"].get("http://127.0.0.1:%d/" % d.http_port)


def stop():
    if "b" in W:
        W.pop("b").quit()
    if "d" in W:
        W.pop("d").cleanup()
    if "profile" in W:
        shutil.rmtree(W.pop("profile"), ignore_errors=True)


def send(ev):
    a = W["p"].event(ev)
    check("ack" in a, "event %r answered %r" % (ev, a))


def ring(call_id, frm, agents=("a1",), data=None):
    ev = {"type": "call.offered", "call_id": call_id, "from": frm, "to": "8005550100", "queue": "support"}
    if data:
        ev["data"] = data
    send(ev)
    for a in agents:
        send({"type": "call.ringing", "call_id": call_id, "agent": a})


def el(css):
    return W["b"].find_element(By.CSS_SELECTOR, css)


def text(css):
    return el(css).text


def visible(css):
    found = W["b"].find_elements(By.CSS_SELECTOR, css)
    return bool(found) and found[0].is_displayed()


def wait(cond, what, timeout=10):
    try:
        WebDriverWait(W["b"], timeout, poll_frequency=0.05).until(lambda b: cond())
    except TimeoutException:
        shot("timeout")
        raise AssertionError("timed out waiting for " + what)


def wait_text(css, want, timeout=10):
    wait(lambda: visible(css) and text(css) == want, "%s to read %r (it reads %r)" % (
        css, want, text(css) if W["b"].find_elements(By.CSS_SELECTOR, css) else None), timeout)


def shot(name):
    W["b"].execute_script("window.scrollTo(0, 0)")
    path = os.path.join(ARTIFACTS, "browser-%s.png" % name)
    W["b"].save_screenshot(path)
    return path


def login(agent, token):
    el("#login-agent").clear()
    el("#login-agent").send_keys(agent)
    el("#login-token").clear()
    el("#login-token").send_keys(token)
    el("#login-submit").click()


@test
def login_form_and_a_wrong_token():
    start()
    wait(lambda: visible("#login-form"), "the login form")
    check(not visible("#console"), "the console is hidden before login")
    login("a1", "wrong-token")
    wait(lambda: visible("#login-error"), "the login error")
    check("wrong token" in text("#login-error").lower(), "error says why: %r" % text("#login-error"))
    shot("login-error")
    login("a1", W["agent_token"])
    wait(lambda: visible("#console"), "the console")
    wait_text("#conn-status", "Connected")
    eq(text("#agent-id"), "a1")
    check(visible("#pop-empty"), "waiting for calls")


@test
def known_caller_pop_with_history_and_data():
    ring("c-ada", "+1 (555) 123-4567", data={"ivr_choice": "billing", "order": "A-99 <x>"})
    wait_text("#customer-name", "Ada Lovelace")
    eq(text("#customer-tier").lower(), "gold")
    eq(text("#caller-number"), "+15551234567")
    eq(text("#customer-account"), "ACC-1")
    eq(text("#customer-email"), "ada@example.com")
    eq(text("#call-id"), "c-ada")
    eq(text("#call-queue"), "support")
    check(not visible("#unknown-caller"), "not unknown")
    # Markup in data stays text.
    eq(text("#customer-notes"), ADA_NOTES)
    eq(W["b"].find_elements(By.CSS_SELECTOR, "#injected, #customer-notes b, #call-data b"), [], "nothing injected")
    rows = W["b"].find_elements(By.CSS_SELECTOR, "#history [data-testid=history-row]")
    eq(len(rows), 1, "one past call")
    eq(rows[0].get_attribute("data-call-id"), "old-1")
    cells = [c.text for c in rows[0].find_elements(By.TAG_NAME, "td")]
    eq(cells[1:], ["a2", "answered", "billing", "refund issued"], "history row")
    data = [[c.text for c in r.find_elements(By.TAG_NAME, "td")]
            for r in W["b"].find_elements(By.CSS_SELECTOR, "#call-data [data-testid=data-row]")]
    eq(data, [["ivr_choice", "billing"], ["order", "A-99 <x>"]], "attached data")
    eq(el("#pop").get_attribute("aria-live"), "polite", "the pop is announced")
    shot("pop-known")


@test
def call_states_follow_the_call():
    send({"type": "call.answered", "call_id": "c-ada", "agent": "a1"})
    wait_text("#call-state", "ANSWERED")
    send({"type": "call.held", "call_id": "c-ada", "agent": "a1"})
    wait_text("#call-state", "ON HOLD")
    send({"type": "call.resumed", "call_id": "c-ada", "agent": "a1"})
    wait_text("#call-state", "ANSWERED")


@test
def unknown_caller_and_no_caller_id():
    ring("c-unknown", "+1 555 999 0000")
    wait_text("#unknown-title", "Unknown caller")
    check(not visible("#customer"), "no customer card")
    eq(text("#caller-number"), "+15559990000")
    shot("pop-unknown")
    ring("c-anon", "anonymous")
    wait_text("#unknown-title", "No caller ID")
    eq(text("#caller-number"), "No caller ID")
    check(visible("#history-empty"), "no history")


@test
def candidate_chooser_switches_the_customer():
    ring("c-shared", "555-000-1111")
    wait(lambda: visible("#candidate-select"), "the candidate chooser")
    sel = Select(el("#candidate-select"))
    names = [o.text for o in sel.options]
    eq(len(names), 2, "two candidates")
    first = text("#customer-name")
    check(first in ("Bob Shared", "Carol Shared"), "best match shown: %r" % first)
    check("2 customers" in text("#candidates-label"), text("#candidates-label"))
    other = "Carol Shared" if first == "Bob Shared" else "Bob Shared"
    sel.select_by_index(1)
    wait_text("#customer-name", other)
    eq(text("#customer-tier").lower(), "platinum" if other == "Carol Shared" else "silver")
    shot("pop-candidates")


@test
def a_retracted_call_disappears_with_a_note():
    ring("c-race", "+15551234567", agents=("a1", "a2"))
    wait_text("#call-id", "c-race")
    send({"type": "call.answered", "call_id": "c-race", "agent": "a2"})
    wait(lambda: visible("#call-note") and "taken by agent a2" in text("#call-note"), "the retraction note")
    check(text("#call-id") != "c-race", "the retracted call is no longer shown")
    ids = [b.get_attribute("data-call-id") for b in W["b"].find_elements(By.CSS_SELECTOR, "#calls-list button")]
    check("c-race" not in ids and "c-ada" in ids, "calls list: %r" % ids)
    shot("retracted")


@test
def wrap_up_lands_in_the_call_log():
    el("#calls-list button[data-call-id='c-ada']").click()
    wait_text("#customer-name", "Ada Lovelace")
    send({"type": "call.ended", "call_id": "c-ada", "reason": "completed"})
    wait_text("#call-state", "ENDED")
    eq(text("#wrapup-call"), "c-ada")
    # Nothing chosen: the page says so and sends nothing.
    el("#wrapup-submit").click()
    wait(lambda: visible("#wrapup-result") and "Choose" in text("#wrapup-result"), "the missing-code hint")
    Select(el("#wrapup-code")).select_by_value("other")
    wait(lambda: visible("#wrapup-code-other"), "the free-text code")
    el("#wrapup-code-other").send_keys("upgrade_offer")
    el("#wrapup-notes").send_keys("Offered platinum; will call back <Friday>.")
    el("#wrapup-submit").click()
    wait(lambda: "Saved" in text("#wrapup-result"), "the saved message")
    shot("wrapup-saved")
    status, call, _ = W["d"].get("/api/calls/c-ada", token=W["api"])
    eq(status, 200)
    disp = call.get("disposition") or {}
    eq((disp.get("code"), disp.get("notes"), disp.get("agent")),
       ("upgrade_offer", "Offered platinum; will call back <Friday>.", "a1"), "the stored disposition")


@test
def agent_state_control():
    Select(el("#state-select")).select_by_value("not_ready")
    wait(lambda: visible("#state-reason"), "the reason")
    Select(el("#state-reason")).select_by_value("lunch")
    el("#state-submit").click()
    wait(lambda: visible("#state-result") and "not ready" in text("#state-result").lower(), "the state answer")
    check("msg-ok" in el("#state-result").get_attribute("class"), "ok")
    _, agents, _ = W["d"].get("/api/agents", token=W["api"])
    a1 = [a for a in agents["agents"] if a["id"] == "a1"][0]
    eq((a1["state"], a1["reason"]), ("not_ready", "lunch"))
    eq(a1["consoles"], 1, "the page's stream counts as a console")
    Select(el("#state-select")).select_by_value("ready")
    el("#state-submit").click()
    wait(lambda: "ready" in text("#state-result").lower() and "not" not in text("#state-result").lower(), "ready")


@test
def narrow_screen():
    W["b"].set_window_size(400, 900)
    time.sleep(0.2)
    el("#calls-list button[data-call-id='c-ada']").click()
    shot("narrow")
    width = W["b"].execute_script("return document.documentElement.scrollWidth")
    check(width <= 400, "no horizontal scrolling at 400px (scrollWidth %d)" % width)
    W["b"].set_window_size(1280, 800)


@test
def page_reconnects_after_a_daemon_restart():
    d = W["d"]
    W["p"].close()
    d.stop()
    wait(lambda: text("#conn-status") != "Connected", "the page to notice", timeout=10)
    shot("offline")
    d.start()
    W["p"] = Producer(d)
    try:
        wait_text("#conn-status", "Connected", timeout=15)
    except AssertionError:
        if visible("#login-form"):
            raise AssertionError("after the restart the page was sent back to the login form: "
                                 "the daemon forgot the session (GET /api/agents/a1/stream with the cookie -> 401)")
        raise
    ring("c-after", "+15551234567")
    wait(lambda: text("#call-id") == "c-after", "the pop after the restart")
    eq(text("#customer-name"), "Ada Lovelace")
    shot("after-restart")


@test
def logout_returns_to_the_login_form():
    if visible("#login-form"):  # a failure above may have left the page logged out
        login("a1", W["agent_token"])
        wait(lambda: visible("#console"), "the console")
    el("#logout").click()
    wait(lambda: visible("#login-form"), "the login form")
    check(not visible("#console"), "the console is hidden")
    eq(el("#login-agent").get_attribute("value"), "a1", "the agent ID is remembered")
    W["b"].refresh()
    wait(lambda: visible("#login-form"), "still logged out after a reload")
    stop()


if __name__ == "__main__":
    try:
        run()
    finally:
        stop()
