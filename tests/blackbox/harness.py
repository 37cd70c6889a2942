"""harness.py : runs a real callogd with a temp config, and talks to it as a
telephony system, an agent console and an operator would.

The harness binds the daemon's TCP listeners itself (port 0: the kernel picks a
free port) and hands them to the daemon with LISTEN_FDS/LISTEN_FDNAMES, the way
systemd's socket activation does, so no other process can take a port between
choosing it and the daemon binding it. Readiness is the daemon's own READY=1 on
a NOTIFY_SOCKET the harness listens on.

Every black-box suite imports this. The binaries come from the environment
(CALLOGD, CALLOGCTL), set by ctest. A test may call skip("why"): it is reported
as SKIP, and a suite with skips and no failures exits SKIP_EXIT (77), which
ctest reports as a skipped test, never as a pass.

CALLOGD_TEST_BACKEND=pg runs the same tests on PostgreSQL (pgserver.py): each
Daemon gets its own database on a private server. A test that reads the SQLite
file itself (Daemon.db) is skipped there, and says so."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import pgserver

CALLOGD = os.environ.get("CALLOGD", "build/callogd")
CALLOGCTL = os.environ.get("CALLOGCTL", "build/callogctl")
SRC = os.environ.get("CALLOGD_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
ARTIFACTS = os.environ.get("CALLOGD_ARTIFACTS", os.path.join(tempfile.gettempdir(), "callogd-artifacts"))


SKIP_EXIT = 77  # tests/CMakeLists.txt: SKIP_RETURN_CODE


def free_port():
    """A port free now, for a test that must have the daemon bind by itself: racy, prefer Daemon's listeners."""
    return pgserver.free_port()


# The config keys of the TCP listeners and the names the daemon takes their passed fds by.
PASSED_LISTENERS = (("events.tcp", "events-tcp"), ("agents.tcp", "agents-tcp"), ("http.listen", "http"))

# Runs in the child: puts the passed fds at 3, 4, ... (sd_listen_fds(3)), sets LISTEN_PID to its own
# pid, which exec keeps, and execs the daemon. argv: N FD... PROGRAM ARGS...
_LAUNCH = """
import fcntl, os, sys
n = int(sys.argv[1])
fds = [int(f) for f in sys.argv[2:2 + n]]
high = [fcntl.fcntl(f, fcntl.F_DUPFD, 100) for f in fds]
for f in fds:
    os.close(f)
for i, f in enumerate(high):
    os.dup2(f, 3 + i)
    os.close(f)
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[2 + n], sys.argv[2 + n:])
"""


def _listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1024)
    return s


DEFAULTS = {
    "events.max_line": 65536,
    "events.token": "",
    "pops.trigger": "ringing",
    "pops.history": 5,
    "log.level": "info",
}


def _conf_value(v):
    """A Python value as libconfig spells it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v) if isinstance(v, str) else v


class Daemon:
    """A callogd in its own temp directory. Keys like "events.token" override the config.

    bind=True (the default): the harness owns the TCP listeners for the Daemon's
    whole life (across restarts) and passes them in on every start; a connection
    made while the daemon is down waits in the backlog. bind=False: the daemon
    binds free_port() ports itself (for tests of binding and of other activators)."""

    def __init__(self, bind=True, **overrides):
        named = {k.replace("__", ".") for k in overrides}
        if pgserver.BACKEND == "pg" and "database.path" in named:
            skip("stores in a SQLite file of its own; this run stores in %s" % pgserver.BACKEND)
        if pgserver.BACKEND == "pg" and "database.url" not in named and pgserver.bindir() is None:
            skip("PostgreSQL is not installed (sh scripts/deps.sh --test installs it)")
        self.dir = tempfile.mkdtemp(prefix="callogd-test-")
        self.listeners = {key: _listener() for key, _ in PASSED_LISTENERS} if bind else {}
        ports = {key: s.getsockname()[1] for key, s in self.listeners.items()}
        self.events_port = ports.get("events.tcp") or free_port()
        self.agents_port = ports.get("agents.tcp") or free_port()
        self.http_port = ports.get("http.listen") or free_port()
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(os.path.join(self.dir, "harness-notify.sock"))
        self.notify_used = False  # this run reports READY=1 to self.notify
        self.settings = {
            "database.path": "callog.db",
            "events.unix": "events.sock",
            "events.tcp": "127.0.0.1:%d" % self.events_port,
            "agents.unix": "agents.sock",
            "agents.tcp": "127.0.0.1:%d" % self.agents_port,
            "http.listen": "127.0.0.1:%d" % self.http_port,
        }
        self.settings.update(DEFAULTS)
        for k, v in overrides.items():
            self.settings[k.replace("__", ".")] = v
        self.pg_db = None  # the PostgreSQL database's name, on that backend
        if "database.url" in named and "database.path" not in named:
            del self.settings["database.path"]  # the test named its own database
        if pgserver.BACKEND == "pg" and "database.url" not in named:
            srv = pgserver.server()
            self.pg_db = srv.new_database()
            del self.settings["database.path"]
            self.settings["database.url"] = srv.url(self.pg_db)
        self.conf = os.path.join(self.dir, "callogd.conf")
        self.write_config()
        self.proc = None
        self.log_mark = 0  # where the current run's output starts in the log
        self.log_path = os.path.join(self.dir, "callogd.log")
        self.api_token = None

    @property
    def db(self):
        """The SQLite file: a test that reads it is about SQLite, and skipped on another backend."""
        if "database.path" not in self.settings:
            skip("reads the SQLite database file; this run stores in %s" % pgserver.BACKEND)
        return os.path.join(self.dir, self.settings["database.path"])

    def psql(self, sql):
        """On PostgreSQL: runs sql in this daemon's database; its output (unaligned, tuples only)."""
        return pgserver.server().psql(sql, db=self.pg_db)

    def query(self, sql):
        """The rows (tuples) of a read-only query on the daemon's database, whichever the backend."""
        if self.pg_db is not None:
            out = self.psql("SELECT coalesce(json_agg(q), '[]') FROM (%s) AS q" % sql)
            return [tuple(r.values()) for r in json.loads(out)]
        import sqlite3
        db = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=10)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    @property
    def events_sock(self):
        return os.path.join(self.dir, self.settings["events.unix"])

    @property
    def agents_sock(self):
        return os.path.join(self.dir, self.settings["agents.unix"])

    def write_config(self, extra_text=""):
        groups = {}
        for key, value in self.settings.items():
            g, k = key.split(".", 1)
            groups.setdefault(g, []).append((k, value))
        lines = []
        for g, kvs in groups.items():
            body = " ".join("%s = %s;" % (k, _conf_value(v)) for k, v in kvs)
            lines.append("%s = { %s };" % (g, body))
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n" + extra_text)

    def passed_listeners(self):
        """[(fd name, socket)] for the listeners the config still names at the harness's address."""
        out = []
        for key, name in PASSED_LISTENERS:
            s = self.listeners.get(key)
            if s is not None and self.settings.get(key) == "127.0.0.1:%d" % s.getsockname()[1]:
                out.append((name, s))
        return out

    def start(self, wait=True, env=None):
        self.log = open(self.log_path, "ab")
        self.log_mark = self.log.tell()  # where this run's output starts
        e = dict(os.environ)
        for k in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            e.pop(k, None)
        self.notify_used = not (env and "NOTIFY_SOCKET" in env)
        if self.notify_used:
            self.notify.setblocking(False)
            try:
                while self.notify.recv(4096):  # what an earlier run said
                    pass
            except BlockingIOError:
                pass
            e["NOTIFY_SOCKET"] = self.notify.getsockname()
        passed = self.passed_listeners()
        argv = [CALLOGD, "-c", self.conf]
        fds = ()
        if passed:
            fds = tuple(s.fileno() for _, s in passed)
            e["LISTEN_FDS"] = str(len(passed))
            e["LISTEN_FDNAMES"] = ":".join(name for name, _ in passed)
            argv = [sys.executable, "-S", "-c", _LAUNCH, str(len(fds))] + [str(f) for f in fds] + argv
        if env:
            e.update(env)
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log, env=e, pass_fds=fds)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20.0):
        """Returns once the daemon said READY=1 (or, when a test took NOTIFY_SOCKET, answers HTTP)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("callogd exited with %s:\n%s" % (self.proc.returncode, self.read_log()))
            if self.notify_used:
                self.notify.settimeout(0.05)
                try:
                    if "READY=1" in self.notify.recv(4096).decode("utf-8", "replace").split("\n"):
                        return
                except (socket.timeout, TimeoutError):
                    pass
                continue
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=0.5)
                c.request("GET", "/healthz")
                c.getresponse().read()
                c.close()
                return
            except (OSError, http.client.HTTPException):
                time.sleep(0.02)
        raise RuntimeError("callogd did not start:\n" + self.read_log())

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self.log.close()
        self.check_sanitizers()
        return rc

    SANITIZER_MARKS = ("LeakSanitizer", "ERROR: AddressSanitizer", "runtime error:")

    def check_sanitizers(self):
        """Raises if this run's log holds an ASan/LSan/UBSan report (sanitize builds; LSan runs at exit)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_mark)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return
        for mark in self.SANITIZER_MARKS:
            i = text.find(mark)
            if i >= 0:
                raise AssertionError("sanitizer report in the callogd log:\n" + text[max(0, i - 200):i + 3000])

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        try:
            self.stop()
        finally:
            for s in self.listeners.values():
                s.close()
            self.listeners = {}
            self.notify.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            if self.pg_db is not None:
                pgserver.server().drop_database(self.pg_db)
                self.pg_db = None

    # ---- operator ----

    def ctl(self, *args, input=None, check=True, timeout=60):
        p = subprocess.run([CALLOGCTL, "-c", self.conf] + list(args), input=input, capture_output=True,
                           timeout=timeout, text=True)
        if check and p.returncode != 0:
            raise RuntimeError("callogctl %s exited %d: %s %s" % (args, p.returncode, p.stdout, p.stderr))
        return p

    def add_agent(self, agent, name=None):
        args = ["agent", "add", agent] + (["--name", name] if name else [])
        return self.ctl(*args).stdout.strip().splitlines()[-1]

    def token(self, name="test"):
        if self.api_token is None:
            self.api_token = self.ctl("token", "add", name).stdout.strip().splitlines()[-1]
        return self.api_token

    def import_customers(self, csv_text):
        path = os.path.join(self.dir, "customers-%d.csv" % time.time_ns())
        with open(path, "w") as f:
            f.write(csv_text)
        return self.ctl("import", path, check=False)

    # ---- HTTP ----

    def http(self, method, path, body=None, token=None, headers=None, auth=True):
        h = {}
        if auth:
            h["Authorization"] = "Bearer " + (token or self.token())
        if headers:
            h.update(headers)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        ctype = r.getheader("Content-Type", "")
        if "json" in ctype and "ndjson" not in ctype:
            try:
                return r.status, json.loads(data), r
            except ValueError:
                pass
        return r.status, data.decode("utf-8", "replace"), r

    def get(self, path, **kw):
        return self.http("GET", path, **kw)


class LineClient:
    """A newline-delimited JSON peer over TCP or a Unix socket."""

    def __init__(self, addr, timeout=5.0):
        if isinstance(addr, str):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(addr)
        else:
            self.sock = socket.create_connection(addr)
        self.sock.settimeout(timeout)
        self.buf = b""

    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def send(self, obj):
        """A dict or list is sent as one JSON line, a str as the line itself."""
        line = obj if isinstance(obj, str) else json.dumps(obj)
        self.send_raw(line + "\n")

    def readline(self, timeout=None):
        if timeout is not None:
            self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def read(self, timeout=None):
        return json.loads(self.readline(timeout))

    def try_read(self, timeout=0.3):
        try:
            return self.read(timeout)
        except (socket.timeout, TimeoutError):
            return None

    def closed(self, timeout=2.0):
        """True when the peer closed the connection (after any buffered lines)."""
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.time()))
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            return True
        return False

    def close(self):
        self.sock.close()


class Producer(LineClient):
    def __init__(self, d, unix=False, token=None):
        super().__init__(d.events_sock if unix else ("127.0.0.1", d.events_port))
        if token is not None:
            self.send({"type": "hello", "token": token})
            assert self.read() == {"ok": True}

    def event(self, ev):
        """Sends one event and returns its answer."""
        self.send(ev)
        return self.read()


class Console(LineClient):
    def __init__(self, d, agent, token, unix=False):
        super().__init__(d.agents_sock if unix else ("127.0.0.1", d.agents_port))
        self.send({"type": "hello", "agent": agent, "token": token})
        self.welcome = self.read()

    def next(self, timeout=2.0, skip_types=()):
        while True:
            m = self.read(timeout)
            if m.get("type") not in skip_types:
                return m


class SSE:
    """A Server-Sent Events stream over a raw socket (HTTP/1.1, chunked or not).

    SSE(d, "a1", token=T) or cookie=C (the callogd_session value), last_event_id=N;
    path= another stream (SSE(d, None, token=T, path="/api/wallboard/stream")).
    After the constructor, .status and .headers hold the answer; on 200,
    next() returns {"id", "event", "data" (parsed JSON), "raw"} and skips comments."""

    def __init__(self, d, agent, token=None, cookie=None, last_event_id=None, timeout=5.0, path=None):
        self.sock = socket.create_connection(("127.0.0.1", d.http_port), timeout=timeout)
        self.sock.settimeout(timeout)
        h = ["GET %s HTTP/1.1" % (path or "/api/agents/%s/stream" % agent), "Host: 127.0.0.1", "Accept: text/event-stream"]
        if token is not None:
            h.append("Authorization: Bearer " + token)
        if cookie is not None:
            h.append("Cookie: callogd_session=" + cookie)
        if last_event_id is not None:
            h.append("Last-Event-ID: %s" % last_event_id)
        self.sock.sendall(("\r\n".join(h) + "\r\n\r\n").encode())
        self.raw = b""
        self.text = b""  # de-chunked body not yet parsed
        while b"\r\n\r\n" not in self.raw:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed before the headers")
            self.raw += chunk
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        self.eof = False
        if self.status == 200:
            self._dechunk()

    def body(self, timeout=2.0):
        """The whole body of a non-stream answer (an error), parsed if JSON."""
        n = int(self.headers.get("content-length", "-1"))
        self.sock.settimeout(timeout)
        while (n < 0 or len(self.raw) < n) and not self.chunked:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.raw += chunk
        try:
            return json.loads(self.raw.decode())
        except ValueError:
            return self.raw.decode("utf-8", "replace")

    def _dechunk(self):
        if not self.chunked:
            self.text += self.raw
            self.raw = b""
            return
        while b"\r\n" in self.raw:
            size_line, rest = self.raw.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                self.eof = True
                self.raw = b""
                return
            if len(rest) < size + 2:
                return
            self.text += rest[:size]
            self.raw = rest[size + 2:]

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            self.eof = True
            raise EOFError("stream closed")
        self.raw += chunk
        self._dechunk()

    def next(self, timeout=2.0):
        """The next message (not a comment); socket.timeout if none in time, EOFError at the end."""
        deadline = time.time() + timeout
        while True:
            while b"\n\n" in self.text:
                block, self.text = self.text.split(b"\n\n", 1)
                msg = {"id": None, "event": "message", "data": None, "raw": block.decode()}
                data = []
                for line in block.decode().split("\n"):
                    if line.startswith(":") or not line:
                        continue
                    k, _, v = line.partition(":")
                    v = v[1:] if v.startswith(" ") else v
                    if k == "data":
                        data.append(v)
                    elif k in ("id", "event"):
                        msg[k] = v
                if not data:
                    continue
                msg["data"] = json.loads("\n".join(data))
                return msg
            if self.eof:
                raise EOFError("stream closed")
            left = deadline - time.time()
            if left <= 0:
                raise socket.timeout("no message")
            self.sock.settimeout(left)
            self._fill()

    def try_next(self, timeout=0.3):
        try:
            return self.next(timeout)
        except (socket.timeout, TimeoutError):
            return None

    def closed(self, timeout=2.0):
        """True when the server ended the stream within timeout (reading what is left)."""
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.time()))
                self._fill()
                if self.eof:
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except (EOFError, ConnectionResetError):
            return True
        return self.eof

    def close(self):
        self.sock.close()


def login_cookie(d, agent, token):
    """POST /api/login; returns (status, the callogd_session cookie value or None)."""
    status, _, r = d.http("POST", "/api/login", body={"agent": agent, "token": token}, auth=False)
    for k, v in r.getheaders():
        if k.lower() == "set-cookie" and v.startswith("callogd_session="):
            return status, v.split(";", 1)[0].split("=", 1)[1]
    return status, None


# ---- a tiny test runner: ctest reads the exit status, people the closing "N passed, N failed, N skipped" ----

_tests = []


class Skip(Exception):
    """Raised by skip(): the test could not run here; reported, never counted as passed."""


def skip(reason):
    raise Skip(reason)


def test(fn):
    _tests.append(fn)
    return fn


def check(cond, msg=""):
    if not cond:
        raise AssertionError(msg)


def eq(a, b, msg=""):
    if a != b:
        raise AssertionError("%s: %r != %r" % (msg, a, b) if msg else "%r != %r" % (a, b))


def summary(passed, failed, skipped):
    """Prints the tally; the exit status: 1 on any failure, else SKIP_EXIT on any skip, else 0."""
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), flush=True)
    return 1 if failed else SKIP_EXIT if skipped else 0


def metrics(d):
    """/metrics as {"name{labels}": value}."""
    status, text, _ = d.get("/metrics", auth=False)
    eq(status, 200, "/metrics")
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def run():
    only = sys.argv[1:]
    passed = failed = skipped = 0
    for fn in _tests:
        if only and fn.__name__ not in only:
            continue
        t0 = time.time()
        try:
            fn()
            passed += 1
            print("ok   %s (%.2fs)" % (fn.__name__, time.time() - t0), flush=True)
        except Skip as e:
            skipped += 1
            print("SKIP %s: %s" % (fn.__name__, e), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s (%.2fs)" % (fn.__name__, time.time() - t0), flush=True)
            traceback.print_exc()
    sys.exit(summary(passed, failed, skipped))


class running:
    """with running(**overrides) as d: ... — a started daemon, cleaned up after."""

    def __init__(self, **overrides):
        self.d = Daemon(**overrides)

    def __enter__(self):
        return self.d.start()

    def __exit__(self, *exc):
        if exc[0] is not None and exc[0] is not Skip:
            sys.stderr.write("---- callogd log ----\n" + self.d.read_log()[-4000:] + "\n")
        self.d.cleanup()
        return False
