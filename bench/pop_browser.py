#!/usr/bin/env python3
"""bench/pop_browser.py : screen-pop latency into a real browser. A real callogd
(build/callogd, or $CALLOGD) and the console page in headless Chromium, logged
in as a1; for each of N calls (default 200) the call is offered first, then the
clock starts just before its call.ringing line is written to the events socket
and stops when the page has put the call's card in the DOM (console.js records
performance.timeOrigin + performance.now() right after rendering the pop). The
browser's clock is tied to Python's by bracketing reads of both (offset printed).

    python3 bench/pop_browser.py [N]
"""
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "blackbox"))
import test_browser as tb  # noqa: E402  (its browser(), login and helpers)
from harness import Daemon, Producer  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200


def clock_offset(b):
    """browser ms - python ms, from the tightest of 20 bracketed reads."""
    best = None
    for _ in range(20):
        t0 = time.time() * 1000
        bt = b.execute_script("return performance.timeOrigin + performance.now()")
        t1 = time.time() * 1000
        if best is None or t1 - t0 < best[0]:
            best = (t1 - t0, bt - (t0 + t1) / 2)
    return best[1], best[0]


def main():
    d = Daemon()
    d.start()
    try:
        tb.W["d"] = d
        token = d.add_agent("a1", "Bench Agent")
        p = d.import_customers("id,name,phones,email,account,tier,notes\nC-1,Ada Lovelace,+1 555 123 4567,,ACC-1,gold,\n")
        assert p.returncode == 0, p.stderr
        prod = Producer(d)
        tb.W["b"] = b = tb.browser()
        tb.viewport(1366, 768)
        b.get("http://127.0.0.1:%d/" % d.http_port)
        tb.wait(lambda: tb.visible("#login-form"), "the login form")
        tb.login("a1", token)
        tb.wait(lambda: tb.text("#conn-status") == "Connected", "the stream")
        offset, spread = clock_offset(b)
        lat = []
        for i in range(N):
            cid = "bench-%d-%d" % (os.getpid(), i)
            prod.event({"type": "call.offered", "call_id": cid, "from": "+15551234567", "to": "8005550100",
                        "queue": "support"})
            t0 = time.time() * 1000
            prod.event({"type": "call.ringing", "call_id": cid, "agent": "a1"})
            seen = None
            deadline = time.time() + 10
            while seen is None and time.time() < deadline:
                seen = b.execute_script("return window.callogdPopSeen.get(arguments[0]) || null", cid)
            assert seen is not None, "no card for %s" % cid
            assert b.find_element(By.CSS_SELECTOR, "#pop").get_attribute("data-call-id") == cid
            lat.append(seen - offset - t0)
            prod.event({"type": "call.ended", "call_id": cid, "reason": "abandoned", "by": "caller"})
        lat.sort()
        q = statistics.quantiles(lat, n=100, method="inclusive")
        print("pops: %d  clock offset %.3f ms (bracket %.3f ms)" % (N, offset, spread))
        print("call.ringing written -> card in the DOM (ms): p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  min %.2f"
              % (statistics.median(lat), q[89], q[98], lat[-1], lat[0]))
    finally:
        if "b" in tb.W:
            tb.W.pop("b").quit()
        d.cleanup()


if __name__ == "__main__":
    main()
