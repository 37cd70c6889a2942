#!/usr/bin/env python3
"""test_browser.py : the agent console page in a real headless Chromium (Debian's
chromium + chromium-driver, driven by python3-selenium) against a real callogd:
login and the agent's state from the server, live pops (name first, national
number, history, flattened data with safe links), the ringing alert and
timers, outbound calls, one wrap-up draft per call (the race: a new call rings
while a draft is typed), pending wrap-ups and drafts across a reload, retract,
select among candidates, a new customer for an unknown caller, the state
changed from outside, the reconnect banner, logout. Screenshots at 1366x768
and 1920x1080 go to $CALLOGD_ARTIFACTS."""
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
              "--window-size=1366,768", "--autoplay-policy=no-user-gesture-required", "--user-data-dir=" + W["profile"]):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(find("chromium-driver", "chromedriver")), options=opts)


def start():
    d = Daemon()
    d.start()
    W["d"] = d
    W["agent_token"] = d.add_agent("a1", "Alice Agent")
    d.add_agent("a2", "Bartholomew Longname-Agent")
    W["api"] = d.token()
    p = d.import_customers(CUSTOMERS)
    eq(p.returncode, 0, "callogctl import: %s %s" % (p.stdout, p.stderr))
    W["p"] = Producer(d)
    # A past call for Ada, wrapped up by a2: the history row the pop must show.
    for ev in ({"type": "call.offered", "call_id": "old-1", "from": "555-123-4567", "to": "8005550100",
                "queue": "support"},
               {"type": "call.ringing", "call_id": "old-1", "agent": "a2"},
               {"type": "call.answered", "call_id": "old-1", "agent": "a2"},
               {"type": "call.ended", "call_id": "old-1", "reason": "completed"},
               {"type": "call.disposition", "call_id": "old-1", "agent": "a2", "code": "abandoned_cart_followup",
                "notes": "refund issued"}):
        send(ev)
    os.makedirs(ARTIFACTS, exist_ok=True)
    W["b"] = browser()
    viewport(1366, 768)
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


def ring(call_id, frm, agents=("a1",), data=None, outbound=False):
    ev = {"type": "call.offered", "call_id": call_id, "from": frm, "to": "8005550100", "queue": "support"}
    if outbound:
        ev.update({"direction": "outbound", "from": "8005550100", "to": frm, "queue": "sales"})
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


def wait(cond, what, timeout=20):
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


def shots(name):
    """The page at both sizes agents use; the window goes back to 1366x768."""
    for w, h in ((1366, 768), (1920, 1080)):
        viewport(w, h)
        time.sleep(0.15)
        shot("%s-%dx%d" % (name, w, h))
    viewport(1366, 768)
    time.sleep(0.1)


def viewport(w, h):
    """The page's own size (the window also holds the browser's frame)."""
    W["b"].execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": False})


def js(script, *args):
    return W["b"].execute_script(script, *args)


def call(call_id):
    status, c, _ = W["d"].get("/api/calls/" + call_id, token=W["api"])
    eq(status, 200, "GET /api/calls/" + call_id)
    return c


def server_state():
    return W["d"].get("/api/agents/a1", token=W["api"])[1]


def broken_words(css):
    """Words under css that the layout split over two lines (a mid-word break)."""
    return js("""var out = [];
        document.querySelectorAll(arguments[0]).forEach(function (root) {
          var w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT), n;
          while ((n = w.nextNode())) {
            if (!n.parentElement.offsetParent) continue;
            var re = /\\S+/g, m;
            while ((m = re.exec(n.data))) {
              var r = document.createRange();
              r.setStart(n, m.index);
              r.setEnd(n, m.index + m[0].length);
              var tops = new Set(Array.from(r.getClientRects()).map(function (x) { return Math.round(x.top); }));
              if (tops.size > 1) out.push(m[0]);
            }
          }
        });
        return out;""", css)


@test
def login_form_and_the_state_from_the_server():
    start()
    wait(lambda: visible("#login-form"), "the login form")
    check(not visible("#console"), "the console is hidden before login")
    login("a1", "wrong-token")
    wait(lambda: visible("#login-error"), "the login error")
    check("wrong token" in text("#login-error").lower(), "error says why: %r" % text("#login-error"))
    login("a1", W["agent_token"])
    wait(lambda: visible("#console"), "the console")
    wait_text("#conn-status", "Connected")
    eq(text("#agent-id"), "a1")
    check(visible("#pop-empty"), "waiting for calls")
    # A new agent is logged_out on the server: the page must not claim Ready.
    wait(lambda: el("#state-select").get_attribute("value") == "logged_out", "the server's state, logged_out")
    Select(el("#state-select")).select_by_value("ready")
    wait(lambda: server_state()["state"] == "ready", "the state set from the page")
    codes = [o.get_attribute("value") for o in Select(el("#wrapup-code")).options]
    eq(codes, ["", "resolved", "callback", "escalated", "sale", "no_sale"], "codes from dispositions.codes")


@test
def known_caller_pop_reads_at_a_glance():
    ring("c-ada", "+1 (555) 123-4567", data={
        "ivr_choice": "billing", "order": {"id": "A-99 <x>", "items": [{"sku": "S1"}, {"sku": "S2"}]},
        "crm": "https://crm.example/c/7", "bad": "javascript:alert(1)", "ftp": "ftp://x.example/f"})
    wait_text("#customer-name", "Ada Lovelace")
    eq(text("#customer-tier").lower(), "gold")
    eq(text("#customer-account-head"), "Account ACC-1")
    eq(text("#caller-number"), "(555) 123-4567", "the number second, in national format")
    name_y = el("#customer-name").rect["y"]
    check(name_y < el("#caller-number").rect["y"], "the name above the number")
    eq(text("#call-direction"), "Inbound")
    check(visible("#ring-alert") and "Ada Lovelace" in text("#ring-alert-text"), "the ringing alert")
    wait(lambda: text("#ring-timer") not in ("", "0:00"), "the ring timer to run", timeout=15)
    check(int(js("return document.body.dataset.beeps || '0'")) >= 1, "the ring sounds")
    check(js("return document.title").startswith("Ringing: Ada Lovelace"), js("return document.title"))
    eq(text("#customer-notes"), ADA_NOTES)
    eq(W["b"].find_elements(By.CSS_SELECTOR, "#injected, #customer-notes b, #call-data b"), [], "nothing injected")
    rows = W["b"].find_elements(By.CSS_SELECTOR, "#history [data-testid=history-row]")
    eq(len(rows), 1, "one past call")
    cells = [c.text for c in rows[0].find_elements(By.TAG_NAME, "td")]
    check(cells[0] not in ("", "—"), "a date: %r" % cells)
    check(":" in cells[1], "a duration: %r" % cells)
    eq(cells[2:], ["support", "Bartholomew Longname-Agent", "answered", "abandoned cart followup", "refund issued"],
       "history: queue, agent name, outcome, code, notes")
    data = [[c.text for c in r.find_elements(By.TAG_NAME, "td")]
            for r in W["b"].find_elements(By.CSS_SELECTOR, "#call-data [data-testid=data-row]")]
    keys = [r[0] for r in data]
    for k in ("ivr_choice", "order.id", "order.items[0].sku", "order.items[1].sku", "crm", "bad", "ftp"):
        check(k in keys, "flattened %s in %r" % (k, keys))
    links = W["b"].find_elements(By.CSS_SELECTOR, "#call-data a")
    eq([a.get_attribute("href") for a in links], ["https://crm.example/c/7"], "only http(s) becomes a link")
    eq(links[0].get_attribute("rel"), "noopener noreferrer")
    eq(broken_words("#pop, .side, .topbar"), [], "no word broken mid-word at 1366x768")
    # The check itself sees a word split over two lines.
    js("var e = document.querySelector('#customer-name'); e.dataset.w = e.style.cssText;"
       "e.style.cssText = 'width: 3em; word-break: break-all; display: block';")
    check(broken_words("#customer-name") != [], "the mid-word check notices a broken word")
    js("var e = document.querySelector('#customer-name'); e.style.cssText = e.dataset.w;")
    check(js("return document.documentElement.scrollWidth") <= 1366, "no horizontal scrolling at 1366")
    shots("pop-ringing")


@test
def answered_call_has_talk_and_hold_timers():
    send({"type": "call.answered", "call_id": "c-ada", "agent": "a1"})
    wait_text("#call-state", "ON CALL")
    check(not visible("#ring-alert"), "the ringing alert is gone")
    check(js("return document.body.dataset.ringing") is None, "the ring stops")
    check(visible("#talk-timer"), "the talk timer")
    send({"type": "call.held", "call_id": "c-ada", "agent": "a1"})
    wait_text("#call-state", "ON HOLD")
    wait(lambda: visible("#hold-timer") and text("#hold-timer") != "0:00", "the hold timer to run", timeout=15)
    send({"type": "call.resumed", "call_id": "c-ada", "agent": "a1"})
    wait_text("#call-state", "ON CALL")
    check("Ada Lovelace" in text("#wrapup-submit"), "the wrap-up opens for the answered call")
    shots("pop-on-call")


@test
def the_draft_stays_with_its_call_when_a_new_call_rings():
    send({"type": "call.ended", "call_id": "c-ada", "reason": "completed"})
    wait_text("#call-state", "ENDED")
    wait(lambda: "Ada Lovelace" in text("#pending-list"), "the pending wrap-up")
    Select(el("#wrapup-code")).select_by_value("callback")
    el("#wrapup-notes").send_keys("Ada: call back about the refund <Friday>.")
    # A new call rings while the draft is being typed.
    ring("c-new", "+1 555 999 0000")
    wait_text("#call-id", "c-new")
    eq(text("#wrapup-call"), "c-ada", "the form still belongs to Ada's call")
    eq(text("#wrapup-submit"), "Save wrap-up for Ada Lovelace", "the save button names the caller")
    eq(el("#wrapup-notes").get_attribute("value"), "Ada: call back about the refund <Friday>.")
    shots("draft-race")
    el("#wrapup-submit").click()
    wait(lambda: visible("#wrapup-result") and "Saved for Ada Lovelace" in text("#wrapup-result"), "saved")
    check("callback" in text("#wrapup-result") and "Friday" in text("#wrapup-result"), "shows what was saved")
    disp = call("c-ada")["disposition"] or {}
    eq((disp.get("code"), disp.get("notes"), disp.get("agent")),
       ("callback", "Ada: call back about the refund <Friday>.", "a1"), "stored on its own call")
    eq(call("c-new")["disposition"], None, "nothing on the new call")
    check("Ada Lovelace" not in text("#pending-list"), "no longer pending")


@test
def outbound_calls_are_labelled_outbound():
    ring("c-out", "+1 555 123 4567", outbound=True)
    wait_text("#call-id", "c-out")
    eq(text("#call-direction"), "Outbound")
    check("Outbound call" in text("#ring-alert-text"), text("#ring-alert-text"))
    check("incoming" not in text("#pop").lower(), "not labelled incoming")
    eq(text("#caller-label"), "To")
    eq(text("#caller-number"), "(555) 123-4567", "the customer side of an outbound call is 'to'")
    eq(text("#customer-name"), "Ada Lovelace")
    shots("pop-outbound")


@test
def a_retracted_call_keeps_its_own_card_under_its_banner():
    ring("c-race", "555-000-1111", agents=("a1", "a2"))
    wait_text("#call-id", "c-race")
    who = text("#customer-name")
    send({"type": "call.answered", "call_id": "c-race", "agent": "a2"})
    wait(lambda: visible("#call-note") and "answered elsewhere" in text("#call-note"), "the retraction banner")
    check(who in text("#call-note"), "the banner names the call's caller: %r / %r" % (text("#call-note"), who))
    eq(text("#call-id"), "c-race", "the card under the banner is that call's")
    eq(text("#customer-name"), who)
    wait_text("#call-state", "ANSWERED ELSEWHERE")
    shots("retracted")
    send({"type": "call.ring_ended", "call_id": "c-new", "agent": "a1", "reason": "no_answer"})
    el("#calls-list button[data-call-id='c-new']").click()
    wait_text("#call-state", "ANSWERED ELSEWHERE")


@test
def picking_a_candidate_selects_it_on_the_server():
    ring("c-shared", "555-000-1111")
    wait(lambda: visible("#candidate-select") and text("#call-id") == "c-shared", "the candidate chooser")
    sel = Select(el("#candidate-select"))
    eq(len(sel.options), 2, "two candidates")
    first = text("#customer-name")
    other_id = [o.get_attribute("value") for o in sel.options if o.text.split(" (")[0] != first][0]
    other = "Carol Shared" if first == "Bob Shared" else "Bob Shared"
    sel.select_by_value(other_id)
    el("#candidate-use").click()
    wait_text("#customer-name", other)
    eq(text("#customer-tier").lower(), "platinum" if other == "Carol Shared" else "silver")
    wait(lambda: call("c-shared")["customer_id"] == other_id, "the call's customer_id")
    shots("pop-candidates")


@test
def unknown_caller_becomes_a_customer():
    ring("c-unknown", "+1 555 777 8888")
    wait(lambda: text("#call-id") == "c-unknown" and visible("#newcust-open"), "the new-customer button")
    eq(text("#customer-name"), "Unknown caller")
    el("#newcust-open").click()
    wait(lambda: visible("#newcust-form"), "the form")
    eq(el("#nc-phones").get_attribute("value"), "+15557778888", "the caller's number")
    el("#nc-name").send_keys("Grace Hopper")
    el("#nc-phones").clear()
    el("#nc-phones").send_keys("555-777-8888; 12ab")
    el("#newcust-submit").click()
    wait(lambda: visible("#newcust-error") and "12ab" in text("#newcust-error"), "the phone error")
    eq(W["d"].get("/api/customers?phone=5557778888", token=W["api"])[1]["customers"], [], "nothing created")
    el("#nc-phones").clear()
    el("#nc-phones").send_keys("555-777-8888")
    el("#nc-account").send_keys("x" * 130)
    el("#newcust-submit").click()
    wait(lambda: "account is longer than 128" in text("#newcust-error"), "the account error")
    shots("newcust-error")
    el("#nc-account").clear()
    el("#nc-account").send_keys("ACC-G")
    el("#nc-tier").send_keys("gold")
    el("#newcust-submit").click()
    wait_text("#customer-name", "Grace Hopper")
    check(not visible("#unknown-caller"), "no longer unknown")
    eq(text("#customer-account-head"), "Account ACC-G")
    # The pop comes before the commit (pops before acks): the record follows within moments.
    wait(lambda: (call("c-unknown")["customer_id"] or "").startswith("C-"), "the call's customer is set")


@test
def the_state_changed_by_a_supervisor_shows():
    status, _, _ = W["d"].http("POST", "/api/agents/a1/state", body={"state": "not_ready", "reason": "coaching"},
                               token=W["api"])
    eq(status, 200)
    wait(lambda: el("#state-select").get_attribute("value") == "not_ready", "not_ready from outside")
    eq(el("#state-reason").get_attribute("value"), "coaching")
    shots("state-from-outside")


@test
def a_reload_keeps_drafts_pending_wrap_ups_and_the_state():
    send({"type": "call.answered", "call_id": "c-shared", "agent": "a1"})
    send({"type": "call.ended", "call_id": "c-shared"})
    wait(lambda: text("#wrapup-call") == "c-shared", "the wrap-up for c-shared")
    el("#wrapup-notes").send_keys("half-typed note")
    W["b"].refresh()
    wait(lambda: visible("#console"), "the console after the reload")
    wait(lambda: el("#state-select").get_attribute("value") == "not_ready", "the state after the reload")
    wait(lambda: "c-shared" == text("#wrapup-call"), "the pending wrap-up after the reload")
    eq(el("#wrapup-notes").get_attribute("value"), "half-typed note", "the draft after the reload")
    items = W["b"].find_elements(By.CSS_SELECTOR, "#pending-list [data-testid=pending-item]")
    eq([i.get_attribute("data-call-id") for i in items], ["c-shared"])
    check("draft" in items[0].text, items[0].text)
    shots("after-reload")
    Select(el("#wrapup-code")).select_by_value("resolved")
    el("#wrapup-submit").click()
    wait(lambda: "Saved for" in text("#wrapup-result"), "saved after the reload")
    eq(call("c-shared")["disposition"]["notes"], "half-typed note")


@test
def reconnecting_is_a_banner_and_the_page_resyncs():
    d = W["d"]
    W["p"].close()
    d.stop()
    wait(lambda: visible("#conn-banner"), "the reconnecting banner", timeout=10)
    check("Reconnecting" in text("#conn-banner"), text("#conn-banner"))
    shots("reconnecting")
    d.start()
    W["p"] = Producer(d)
    W["d"].http("POST", "/api/agents/a1/state", body={"state": "ready"}, token=W["api"])
    wait_text("#conn-status", "Connected", timeout=20)
    check(not visible("#conn-banner"), "the banner goes")
    wait(lambda: el("#state-select").get_attribute("value") == "ready", "the state resynced")
    ring("c-after", "+15551234567")
    wait(lambda: text("#call-id") == "c-after", "the pop after the restart")


@test
def logout_of_the_last_console_logs_the_agent_out():
    if visible("#login-form"):
        login("a1", W["agent_token"])
        wait(lambda: visible("#console"), "the console")
    el("#logout").click()
    wait(lambda: visible("#login-form"), "the login form")
    eq(el("#login-agent").get_attribute("value"), "a1", "the agent ID is remembered")
    wait(lambda: server_state()["state"] == "logged_out", "logged_out on the server")
    W["b"].refresh()
    wait(lambda: visible("#login-form"), "still logged out after a reload")
    stop()


if __name__ == "__main__":
    try:
        run()
    finally:
        stop()
