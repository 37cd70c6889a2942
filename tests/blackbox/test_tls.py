"""test_tls.py : TLS on the TCP listeners (docs/security.md) with certificates made by
openssl(1): events, consoles and HTTPS over TLS only, the Secure cookie, the
certificate reloaded on SIGHUP without dropping connections (a bad pair kept
out), callogd -t checking the pair, and the start-up warnings for listeners
reachable from the network without TLS."""
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import CALLOGD, Daemon, LineClient, Producer, check, eq, free_port, run, test  # noqa: E402


def make_certs(d):
    """ca.pem signs one.pem/one.key (CN one) and two.pem/two.key (CN two), both for
    localhost and 127.0.0.1; stray.key matches neither."""
    script = """
set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 2 -subj /CN=test-ca
for n in one two; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr -subj /CN=$n
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext
  openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out $n.pem
done
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out stray.key
cp one.pem server.pem; cp one.key server.key
"""
    subprocess.run(["sh", "-c", script], cwd=d.dir, check=True, capture_output=True)


def tls_daemon():
    d = Daemon(**{"events.tls": True, "agents.tls": True, "http.tls": True,
                  "tls.cert": "server.pem", "tls.key": "server.key"})
    make_certs(d)
    return d


def client_ctx(d):
    ctx = ssl.create_default_context(cafile=os.path.join(d.dir, "ca.pem"))
    return ctx


class TlsLine(LineClient):
    """A line peer over TLS, verified against the test CA."""

    def __init__(self, d, port, host="localhost", timeout=5.0):
        raw = socket.create_connection(("127.0.0.1", port))
        self.sock = client_ctx(d).wrap_socket(raw, server_hostname=host)
        self.sock.settimeout(timeout)
        self.buf = b""

    def peer_cn(self):
        subject = dict(x[0] for x in self.sock.getpeercert()["subject"])
        return subject["commonName"]


def https(d, method, path, body=None, headers=None):
    import http.client
    conn = http.client.HTTPSConnection("localhost", d.http_port, context=client_ctx(d), timeout=10)
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data, r


def offered(call_id, eid):
    return {"type": "call.offered", "id": eid, "call_id": call_id, "from": "+15551230000", "to": "+18005550100"}


@test
def events_consoles_and_https_speak_tls_only():
    d = tls_daemon()
    try:
        d.start()
        p = TlsLine(d, d.events_port)
        p.send(offered("c1", "e1"))
        a = p.read()
        eq(a.get("ack"), "e1", a)
        check(isinstance(a.get("seq"), int))
        # Plain text on a TLS port: no ack, the connection is closed.
        plain = LineClient(("127.0.0.1", d.events_port))
        plain.send(offered("c2", "e2"))
        check(plain.closed(timeout=5), "a plain-text producer on a TLS port was not closed")
        # The Unix socket stays plain.
        u = Producer(d, unix=True)
        eq(u.event(offered("c3", "e3")).get("ack"), "e3")
        # HTTPS, and the session cookie is Secure.
        status, body, _ = https(d, "GET", "/healthz")
        eq(status, 200, body)
        token = d.add_agent("a1")
        c = TlsLine(d, d.agents_port)
        c.send({"type": "hello", "agent": "a1", "token": token})
        eq(c.read(), {"type": "welcome", "agent": "a1"})
        status, body, r = https(d, "POST", "/api/login", {"agent": "a1", "token": token},
                                {"Content-Type": "application/json", "Origin": "https://localhost:%d" % d.http_port})
        eq(status, 200, body)
        cookie = r.getheader("Set-Cookie") or ""
        check("; Secure" in cookie and "HttpOnly" in cookie, cookie)
        # A name the certificate does not carry is refused by a verifying client.
        try:
            TlsLine(d, d.events_port, host="evil.example")
            check(False, "a wrong host name was accepted")
        except ssl.SSLCertVerificationError:
            pass
        # c2 never reached the log.
        eq(d.ctl("calls", "--json", check=False).stdout.count('"c2"'), 0)
    finally:
        d.cleanup()


@test
def https_heads_are_judged_before_bodies_and_pipelining_works():
    """The HTTP gate sits above TLS: a POST without credentials is 401 before its body; pipelined
    requests and a closing answer all arrive whole (nothing left unwritten below the gate)."""
    d = tls_daemon()
    d.start()
    try:
        tok = d.token()

        def conn():
            raw = socket.create_connection(("127.0.0.1", d.http_port))
            s = client_ctx(d).wrap_socket(raw, server_hostname="localhost")
            s.settimeout(10)
            return s

        def read_all(s, until):
            data = b""
            while not until(data):
                try:
                    chunk = s.recv(65536)
                except (ssl.SSLError, OSError):
                    break
                if not chunk:
                    break
                data += chunk
            return data

        s = conn()
        s.sendall(b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n")
        try:
            s.sendall(b"x" * 4096)
        except (ssl.SSLError, OSError):
            pass  # already answered and closed
        data = read_all(s, lambda b: False)  # until the daemon closes
        check(data.startswith(b"HTTP/1.1 401"), data[:200])
        check(data.endswith(b"}\n"), "the whole answer before the close: %r" % data[-80:])
        s.close()
        body = (json.dumps(offered("tg-1", "tg-1")) + "\n").encode()
        s = conn()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 3 +
                  b"POST /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok.encode() +
                  b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body +
                  b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = read_all(s, lambda b: False)
        eq(data.count(b"HTTP/1.1 200"), 5, data[:3000])
        check(b'"ack":"tg-1"' in data and data.endswith(b'{"status":"ok"}\n'), data[-300:])
        s.close()
    finally:
        d.cleanup()


@test
def sighup_reloads_the_certificate_and_refuses_a_bad_pair():
    d = tls_daemon()
    try:
        d.start()
        old = TlsLine(d, d.events_port)
        eq(old.peer_cn(), "one")
        # A key that does not match: the reload is refused, the old pair stays.
        subprocess.run(["cp", os.path.join(d.dir, "two.pem"), os.path.join(d.dir, "server.pem")], check=True)
        subprocess.run(["cp", os.path.join(d.dir, "stray.key"), os.path.join(d.dir, "server.key")], check=True)
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and "reload refused" not in d.read_log():
            time.sleep(0.05)
        check("reload refused" in d.read_log(), d.read_log()[-2000:])
        eq(TlsLine(d, d.events_port).peer_cn(), "one")
        # A good pair: new connections get it, the open one keeps working.
        subprocess.run(["cp", os.path.join(d.dir, "two.key"), os.path.join(d.dir, "server.key")], check=True)
        mark = len(d.read_log())
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and "reloaded" not in d.read_log()[mark:]:
            time.sleep(0.05)
        eq(TlsLine(d, d.events_port).peer_cn(), "two")
        old.send(offered("c9", "e9"))
        eq(old.read().get("ack"), "e9")
    finally:
        d.cleanup()


@test
def check_mode_names_a_mismatched_pair():
    d = tls_daemon()
    try:
        r = subprocess.run([CALLOGD, "-t", "-c", d.conf], capture_output=True, text=True)
        eq(r.returncode, 0, r.stderr)
        subprocess.run(["cp", os.path.join(d.dir, "stray.key"), os.path.join(d.dir, "server.key")], check=True)
        r = subprocess.run([CALLOGD, "-t", "-c", d.conf], capture_output=True, text=True)
        eq(r.returncode, 1, r.stderr)
        check("tls.key" in r.stderr and d.conf in r.stderr, r.stderr)
        eq(len(r.stderr.strip().splitlines()), 1, r.stderr)
        os.unlink(os.path.join(d.dir, "server.pem"))
        r = subprocess.run([CALLOGD, "-t", "-c", d.conf], capture_output=True, text=True)
        eq(r.returncode, 1, r.stderr)
        check("server.pem" in r.stderr, r.stderr)
    finally:
        d.cleanup()


@test
def warns_about_exposed_listeners_without_tls():
    d = Daemon(bind=False, **{"events.tcp": "0.0.0.0:%d" % free_port(), "agents.tcp": "127.0.0.1:%d" % free_port()})
    try:
        d.start()
        log = d.read_log()
        check('without TLS" listener=events.tcp' in log, log[-2000:])
        check("without events.token" in log, log[-2000:])
        check("listener=agents.tcp" not in log, "a loopback listener was warned about")
    finally:
        d.cleanup()


@test
def files_the_daemon_creates_are_its_users_alone():
    d = Daemon()
    try:
        old = os.umask(0)  # the daemon inherits it
        try:
            d.start()
        finally:
            os.umask(old)
        Producer(d).event(offered("c1", "e1"))
        for name in ("callog.db", "callog.db-wal", "callog.db-shm"):
            path = os.path.join(d.dir, name)
            if os.path.exists(path):
                mode = os.stat(path).st_mode & 0o777
                eq(mode & 0o077, 0, "%s has mode %o" % (name, mode))
        check(os.path.exists(os.path.join(d.dir, "callog.db")))
        eq(os.stat(d.events_sock).st_mode & 0o777, 0o660)
    finally:
        d.cleanup()


if __name__ == "__main__":
    run()
