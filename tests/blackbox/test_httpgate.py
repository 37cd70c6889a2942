"""test_httpgate.py : what an HTTP client can make the daemon hold before it
proves who it is (docs/security.md): bodies are not read before credentials,
bodies in flight are bounded together, a client that pipelines without reading
stalls only itself, heads are bounded in size and time, connections are capped;
and keep-alive, pipelining and chunked bodies still work through the gate."""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import check, eq, metrics, run, running, test  # noqa: E402


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitized(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()  # ASan's quarantine holds freed memory: RSS says little


def head(path, length, extra=""):
    return ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n"
            % (path, extra, length)).encode()


def answer(s, timeout=5.0):
    """The status of the first answer on s and whether the daemon then closed it."""
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, TimeoutError):
        return None, False
    except ConnectionResetError:
        return None, True
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else None
    closed = False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
    except (socket.timeout, TimeoutError):
        pass
    except ConnectionResetError:
        closed = True
    return status, closed


def half_posts(d, n, extra, what, bound_mb):
    """n connections, each sending the head of an 8 MB POST and 4 MB of its body; the daemon's RSS must
    grow less than bound_mb."""
    pid = d.proc.pid
    time.sleep(0.2)
    rss0 = rss_kb(pid)
    socks = []
    half = b"x" * (4 << 20)
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", d.http_port))
        s.sendall(head("/api/events", 8 << 20, extra))
        s.settimeout(0.5)
        try:
            s.sendall(half)
        except (OSError, socket.timeout):
            pass  # the daemon stopped reading (or closed): what it holds is what counts
        socks.append(s)
    time.sleep(0.5)
    grew = rss_kb(pid) - rss0
    print("  %d half-sent 8 MB POSTs, %s: RSS %d kB -> %d kB (+%d MB)" % (n, what, rss0, rss0 + grew, grew >> 10),
          flush=True)
    check(sanitized(pid) or grew < bound_mb << 10, "daemon RSS grew %d MB" % (grew >> 10))
    return socks


@test
def half_sent_bodies_without_credentials_are_refused_unread():
    with running() as d:
        socks = half_posts(d, 40, "", "no credentials", 16)
        for s in socks[:5]:
            status, closed = answer(s)
            eq(status, 401)
            check(closed, "the connection is closed after the 401")
        for s in socks:
            s.close()
        eq(d.get("/healthz")[0], 200)


@test
def bodies_in_flight_are_bounded_together():
    with running(**{"http.body_memory": 16}) as d:
        # A bearer token is only looked at once the body is in: these hold what the budget lets them.
        socks = half_posts(d, 40, "Authorization: Bearer not-a-token\r\n", "a bearer, http.body_memory = 16", 48)
        refused = [answer(s, timeout=2.0)[0] for s in socks[2:12]]
        eq(refused, [503] * 10, "past the budget: 503 before the body")
        check(metrics(d)["callogd_http_body_bytes"] == 16 << 20, "two declared bodies held")
        for s in socks:
            s.close()
        time.sleep(0.3)
        eq(metrics(d)["callogd_http_body_bytes"], 0, "released when their connections closed")
        # The budget is free again: a real POST goes through.
        eq(d.http("POST", "/api/events", body={"type": "agent.state", "agent": "a1", "state": "ready"})[0], 200)


@test
def a_body_is_held_until_its_answer():
    """Bodies being acted on count until answered: POST /api/events answers after its events' commits."""
    with running(**{"http.body_memory": 16}) as d:
        tok = d.token()
        line = json.dumps({"type": "agent.state", "agent": "a1", "state": "ready", "reason": "r" * 40}) + "\n"
        body = (line * (7_800_000 // len(line))).encode()
        auth = "Authorization: Bearer %s\r\n" % tok
        big = []
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", d.http_port))
            s.sendall(head("/api/events", len(body), auth) + body)
            big.append(s)
        # Both bodies are in and being fed: a third that does not fit is refused before its body.
        s = socket.create_connection(("127.0.0.1", d.http_port))
        s.sendall(head("/api/events", 2 << 20, auth))
        eq(answer(s, timeout=10)[0], 503, "while two 7.8 MB bodies are acted on")
        s.close()
        for s in big:
            s.settimeout(120)
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            check(data.startswith(b"HTTP/1.1 200"), data[:200])
            s.close()
        time.sleep(0.2)
        eq(metrics(d)["callogd_http_body_bytes"], 0, "free once answered")
        eq(d.http("POST", "/api/events", body=line)[0], 200)


@test
def heads_are_judged_before_bodies():
    with running() as d:
        d.token()
        cases = [
            (head("/api/login", 1 << 20), 413, "a login body over its bound"),
            (head("/api/agents/a1/state", 100), 401, "an agent post without credentials"),
            (head("/api/agents/a1/state", 100, "Cookie: callogd_session=6131.99999999999999.ff\r\n"), 401,
             "a forged session cookie"),
            (b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
             "conflicting lengths"),
            (b"POST /api/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "another coding"),
            (b"PUT /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", 501, "PUT"),
            (b"GET / HTTP/1.1\r\nX: " + b"a" * 30000 + b"\r\n\r\n", 431, "a head over 16 KiB"),
        ]
        for raw, want, why in cases:
            s = socket.create_connection(("127.0.0.1", d.http_port))
            s.sendall(raw)
            status, closed = answer(s)
            eq(status, want, why)
            check(closed, "closed after: " + why)
            s.close()


@test
def a_pipelining_client_that_never_reads_stalls_only_itself():
    with running() as d:
        pid = d.proc.pid
        rss0 = rss_kb(pid)
        s = socket.create_connection(("127.0.0.1", d.http_port))
        s.setblocking(False)
        req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 1000
        sent, t0 = 0, time.time()
        while time.time() - t0 < 3:
            try:
                sent += s.send(req)
            except BlockingIOError:
                time.sleep(0.01)
        grew = rss_kb(pid) - rss0
        print("  pipelined GET / for 3 s without reading: %d MB taken, RSS +%d MB" % (sent >> 20, grew >> 10),
              flush=True)
        check(sent < 64 << 20, "the daemon kept reading (%d MB)" % (sent >> 20))
        check(sanitized(pid) or grew < 32 << 10, "daemon RSS grew %d MB" % (grew >> 10))
        eq(d.get("/healthz")[0], 200, "others are served meanwhile")
        s.close()


@test
def keep_alive_pipelining_and_chunked_bodies_work():
    with running() as d:
        tok = d.token()
        s = socket.create_connection(("127.0.0.1", d.http_port))
        ev = json.dumps({"type": "call.offered", "id": "k-1", "call_id": "k-1", "from": "5551234567", "to": "100"})
        ev2 = ev.replace("k-1", "k-2")
        body = (ev + "\n" + ev2 + "\n").encode()
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:10], body[10:50], body[50:])) + b"0\r\n\r\n"
        auth = "Authorization: Bearer %s\r\n" % tok
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
                  head("/api/events", len(body), auth) + body +
                  ("POST /api/events HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: chunked\r\n\r\n" % auth).encode() +
                  chunked.replace(b"k-1", b"k-3").replace(b"k-2", b"k-4") +
                  b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(10)
        data = b""
        while data.count(b"HTTP/1.1 ") < 4 or not data.endswith(b'{"status":"ok"}\n'):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        statuses = [int(part.split(b" ", 1)[0]) for part in data.split(b"HTTP/1.1 ")[1:]]
        eq(statuses, [200, 200, 200, 200], data[:2000])
        for i in (1, 2, 3, 4):
            check(b'"ack":"k-%d"' % i in data, "k-%d acknowledged" % i)
        s.close()
        # A chunked body whose framing breaks is cut off, never read as another request.
        s = socket.create_connection(("127.0.0.1", d.http_port))
        s.sendall(("POST /api/events HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: chunked\r\n\r\n" % auth).encode() +
                  b"5;x\r\nhello\r\n0\r\n\r\n")
        status, closed = answer(s)
        check(closed, "closed")
        s.close()


@test
def connections_are_capped():
    with running(**{"http.max_clients": 4}) as d:
        held = [socket.create_connection(("127.0.0.1", d.http_port)) for _ in range(4)]
        time.sleep(0.2)
        extra = socket.create_connection(("127.0.0.1", d.http_port))
        t0 = time.time()
        status, closed = answer(extra, timeout=3)
        eq(status, 503)
        check(closed and time.time() - t0 < 2, "refused at once")
        extra.close()
        for s in held:
            s.close()
        time.sleep(0.3)
        m = metrics(d)
        check(m['callogd_connections_refused_total{kind="http"}'] >= 1, m)
        eq(d.get("/healthz")[0], 200, "served again once below the cap")


@test
def a_trickled_head_is_closed_at_the_timeout():
    with running(**{"http.timeout": 2}) as d:
        s = socket.create_connection(("127.0.0.1", d.http_port))
        t0 = time.time()
        closed_at = None
        for b in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 40:
            try:
                s.sendall(bytes([b]))
            except OSError:
                closed_at = time.time() - t0
                break
            s.settimeout(0.4)
            try:
                if s.recv(4096) == b"":
                    closed_at = time.time() - t0
                    break
            except (socket.timeout, TimeoutError):
                pass
            except ConnectionResetError:
                closed_at = time.time() - t0
                break
        check(closed_at is not None and closed_at < 4, "closed after %s s" % closed_at)
        s.close()


if __name__ == "__main__":
    run()
