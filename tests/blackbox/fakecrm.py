"""fakecrm.py : a fake CRM and a fake webhook receiver for the tests and the
benchmarks: real HTTP servers on loopback (a thread each), with knobs.

FakeCRM answers GET lookups. Knobs, set from the test at any time:
  contacts  {number: [contact, ...]}   what a lookup of that number finds
  list_key  where the array goes ("results" -> {"results": [...]}, None = top level)
  delay     seconds to wait before answering
  status    the HTTP status (200)
  body      bytes to send instead of the JSON (HTML, garbage)
  big       send this many bytes of JSON-ish filler instead (streamed; a 50 MB answer)
  fail      "close": close the connection without an answer; "hang": never answer
It records every request (path, headers, time) and the most requests in flight at once.

Receiver takes webhook POSTs. Knobs: statuses (a list popped per delivery,
then status), delay. It records every delivery with its headers, body and
whether the signature checks out with secret."""
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass  # a client that went away mid-request (a daemon killed with -9): expected here


class FakeCRM:
    def __init__(self):
        self.contacts = {}
        self.list_key = "results"
        self.delay = 0.0
        self.status = 200
        self.body = None
        self.big = 0
        self.fail = None
        self.requests = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.release = threading.Event()  # set to let "hang" requests go
        crm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *a):
                pass

            def do_GET(self):
                with crm.lock:
                    crm.in_flight += 1
                    crm.max_in_flight = max(crm.max_in_flight, crm.in_flight)
                    crm.requests.append({"path": self.path, "headers": dict(self.headers), "t": time.time()})
                try:
                    crm._answer(self)
                finally:
                    with crm.lock:
                        crm.in_flight -= 1

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/contacts?phone={e164}"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def numbers_asked(self):
        """The phone= values of the requests so far, decoded."""
        out = []
        for r in list(self.requests):
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(r["path"]).query)
            out.append(q.get("phone", [None])[0])
        return out

    def _answer(self, h):
        if self.delay:
            time.sleep(self.delay)
        if self.fail == "close":
            h.close_connection = True
            h.connection.shutdown(2)
            return
        if self.fail == "hang":
            self.release.wait(60)
            h.close_connection = True
            return
        if self.big:
            h.send_response(self.status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(self.big))
            h.end_headers()
            chunk = b" " * 65536
            sent = 0
            try:
                while sent < self.big:
                    n = min(len(chunk), self.big - sent)
                    h.wfile.write(chunk[:n])
                    sent += n
            except OSError:
                pass  # the client gave up: what it should do
            h.close_connection = True
            return
        if self.body is not None:
            body = self.body
        else:
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)
            found = self.contacts.get(q.get("phone", [""])[0], [])
            body = json.dumps({self.list_key: found} if self.list_key else found).encode()
        h.send_response(self.status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def sign(secret, cid, ts, body):
    """What a receiver computes: HMAC-SHA256 over "ID.TIMESTAMP.BODY", in hex."""
    return hmac.new(secret.encode(), cid.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256).hexdigest()


class Receiver:
    def __init__(self, secret):
        self.secret = secret
        self.statuses = []
        self.status = 200
        self.delay = 0.0
        self.deliveries = []
        self.lock = threading.Lock()
        rcv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                cid = self.headers.get("Callogd-Id", "")
                ts = self.headers.get("Callogd-Timestamp", "")
                sig = self.headers.get("Callogd-Signature", "")
                ok = sig == "v1=" + sign(rcv.secret, cid, ts, body)
                if rcv.delay:
                    time.sleep(rcv.delay)
                with rcv.lock:
                    status = rcv.statuses.pop(0) if rcv.statuses else rcv.status
                    rcv.deliveries.append({"id": cid, "ts": ts, "sig_ok": ok, "body": body, "status": status,
                                           "json": json.loads(body) if body else None, "t": time.time(),
                                           "type": self.headers.get("Content-Type")})
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hooks/calls"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def accepted(self):
        """The deliveries answered 2xx."""
        with self.lock:
            return [d for d in self.deliveries if 200 <= d["status"] < 300]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
