"""test_sessions.py : sessions and what an agent's credentials opened end
durably and at once (docs/security.md, docs/consoles.md): a burst of logouts
outlasts a restart, an agent removed and added again does not get its old
sessions back, and its open consoles and streams are closed."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import SSE, Console, check, eq, login_cookie, run, running, test  # noqa: E402


def at_once(d, requests):
    """Sends raw HTTP requests each on its own connection, all at once; the statuses of their answers."""
    socks = [socket.create_connection(("127.0.0.1", d.http_port)) for _ in requests]
    for s, r in zip(socks, requests):
        s.sendall(r)
    statuses = []
    for s in socks:
        s.settimeout(30)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        statuses.append(int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None)
        s.close()
    return statuses


def post(path, body, cookie=None):
    h = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (path, len(body))
    if cookie:
        h += "Cookie: callogd_session=%s\r\n" % cookie
    return (h + "\r\n" + body).encode()


def session_status(d, cookie):
    status, _, _ = d.http("GET", "/api/agents/a1", auth=False, headers={"Cookie": "callogd_session=" + cookie})
    return status


@test
def a_burst_of_logouts_outlasts_a_restart():
    with running() as d:
        tok = d.add_agent("a1")
        n = 300
        cookies = [login_cookie(d, "a1", tok)[1] for _ in range(n)]
        check(all(cookies) and len(set(cookies)) == n, "distinct sessions")
        eq(session_status(d, cookies[0]), 200)
        eq(at_once(d, [post("/api/logout", "{}", c) for c in cookies]), [200] * n)
        d.stop()
        d.start()
        valid = sum(1 for c in cookies if session_status(d, c) == 200)
        eq(valid, 0, "logged-out sessions valid again after the restart")


@test
def an_agent_removed_and_added_again_does_not_get_its_sessions_back():
    with running() as d:
        tok = d.add_agent("a1")
        _, cookie = login_cookie(d, "a1", tok)
        eq(session_status(d, cookie), 200)
        d.ctl("agent", "remove", "a1")
        eq(session_status(d, cookie), 401, "removed")
        tok2 = d.add_agent("a1")
        eq(session_status(d, cookie), 401, "added again with a new token")
        eq(SSE(d, "a1", cookie=cookie).status, 401)
        _, fresh = login_cookie(d, "a1", tok2)
        eq(session_status(d, fresh), 200, "a new login works")
        eq(login_cookie(d, "a1", tok)[0], 401, "the old token is refused")


@test
def consoles_and_streams_of_a_removed_agent_are_closed():
    with running() as d:
        tok = d.add_agent("a1")
        other = d.add_agent("a2")
        _, cookie = login_cookie(d, "a1", tok)
        console = Console(d, "a1", tok)
        eq(console.welcome["type"], "welcome")
        by_cookie, by_token = SSE(d, "a1", cookie=cookie), SSE(d, "a1", token=tok)
        eq((by_cookie.status, by_token.status), (200, 200))
        bystander = Console(d, "a2", other)
        t0 = time.time()
        d.ctl("agent", "remove", "a1")
        check(console.closed(timeout=4), "the console is closed")
        check(by_cookie.closed(timeout=4) and by_token.closed(timeout=4), "the streams are closed")
        print("  closed within %.1f s of agent remove" % (time.time() - t0), flush=True)
        check(not bystander.closed(timeout=0.5), "another agent's console stays")
        bystander.send({"type": "ping"})
        eq(bystander.next(skip_types=("pop", "call", "state"))["type"], "pong")


@test
def a_new_token_closes_what_the_old_one_opened():
    with running() as d:
        tok = d.add_agent("a1")
        console = Console(d, "a1", tok)
        eq(console.welcome["type"], "welcome")
        d.ctl("agent", "remove", "a1")
        tok2 = d.add_agent("a1")  # before the check runs: the agent exists, with another token
        check(console.closed(timeout=4), "the old token's console is closed")
        fresh = Console(d, "a1", tok2)
        eq(fresh.welcome["type"], "welcome")
        check(not fresh.closed(timeout=2.5), "the new token's console stays")


if __name__ == "__main__":
    run()
