"""fakepbx.py : a fake Asterisk manager (AMI) and a fake FreeSWITCH event socket (ESL) for the
black-box tests. Each speaks its protocol byte for byte as the real one does (AMI's banner and
CRLF "Key: Value" blocks; ESL's auth/request, command/reply, api/response and Content-Length
framed text/event-plain), answers the actions callogd sends, and lets a test push events."""
import socket
import threading
import time
import urllib.parse


class _Server:
    tls = None  # an ssl.SSLContext (server side) to speak TLS with

    def __init__(self):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Condition()
        self.conn = None          # the connection logged in now
        self.accepts = []         # time.monotonic() of each connection accepted
        self.logins = 0           # successful logins
        self.failed_logins = 0
        self.received = []        # every action / command received, parsed
        self.closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self):
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self.accepts.append(time.monotonic())
                self.lock.notify_all()
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        """Greets, then answers each request (ended by self.end) until _answer says close."""
        if self.tls is not None:
            try:
                c = self.tls.wrap_socket(c, server_side=True)
            except OSError:  # the client refused our certificate
                c.close()
                return
        c.sendall(self.greeting())
        buf = b""
        while True:
            try:
                data = c.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while self.end in buf:
                raw, buf = buf.split(self.end, 1)
                req = self.parse(raw.decode())
                with self.lock:
                    self.received.append(req)
                    self.lock.notify_all()
                if not self._answer(c, req):
                    c.close()
                    return

    def wait(self, cond, timeout=10.0, what="condition"):
        deadline = time.monotonic() + timeout
        with self.lock:
            while not cond():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("fake PBX: timed out waiting for " + what)
                self.lock.wait(left)

    def wait_logins(self, n, timeout=10.0):
        self.wait(lambda: self.logins >= n, timeout, "%d logins" % n)

    def send_raw(self, data):
        with self.lock:
            c = self.conn
        c.sendall(data)

    def drop(self):
        """Closes the current connection, as a PBX restart or a network cut would."""
        with self.lock:
            c, self.conn = self.conn, None
        if c:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def close(self):
        self.closed = True
        self.drop()
        self.lsock.close()

    def count(self, pred):
        with self.lock:
            return sum(1 for r in self.received if pred(r))


class FakeAMI(_Server):
    """A manager interface: Login (secret checked), Ping, CoreShowChannels, QueueStatus, Logoff."""

    def __init__(self, username="callogd", secret="s3cret", version="5.0.1"):
        self.username, self.secret, self.version = username, secret, version
        self.channels = []   # CoreShowChannel items: dicts
        self.members = []    # QueueMember items
        self.entries = []    # QueueEntry items
        self.answer_pings = True
        super().__init__()

    @staticmethod
    def block(fields):
        return "".join("%s: %s\r\n" % (k, v) for k, v in fields) + "\r\n"

    def event(self, name, **fields):
        """Sends one event block; keyword order is kept (Asterisk's own field order)."""
        self.send_raw(self.block([("Event", name)] + [(k.replace("__", "-"), v) for k, v in fields.items()])
                      .encode())

    end = b"\r\n\r\n"

    def greeting(self):
        return ("Asterisk Call Manager/%s\r\n" % self.version).encode()

    @staticmethod
    def parse(text):
        action = {}
        for line in text.split("\r\n"):
            k, _, v = line.partition(": ")
            action[k] = v
        return action

    def _answer(self, c, a):
        name, aid = a.get("Action", ""), a.get("ActionID", "")
        if name == "Login":
            if a.get("Username") != self.username or a.get("Secret") != self.secret:
                c.sendall(self.block([("Response", "Error"), ("ActionID", aid),
                                      ("Message", "Authentication failed")]).encode())
                with self.lock:
                    self.failed_logins += 1
                    self.lock.notify_all()
                return False
            with self.lock:
                old, self.conn = self.conn, c
                self.logins += 1
                self.lock.notify_all()
            c.sendall((self.block([("Response", "Success"), ("ActionID", aid),
                                   ("Message", "Authentication accepted")]) +
                       self.block([("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", "12"),
                                   ("LastReload", "12"), ("Status", "Fully Booted")])).encode())
            return True
        if name == "Ping":
            if self.answer_pings:
                c.sendall(self.block([("Response", "Success"), ("ActionID", aid), ("Ping", "Pong"),
                                      ("Timestamp", "%.6f" % time.time())]).encode())
            return True
        if name == "CoreShowChannels":
            out = self.block([("Response", "Success"), ("ActionID", aid), ("EventList", "start"),
                              ("Message", "Channels will follow")])
            for ch in self.channels:
                out += self.block([("Event", "CoreShowChannel"), ("ActionID", aid)] + list(ch.items()))
            out += self.block([("Event", "CoreShowChannelsComplete"), ("ActionID", aid), ("EventList", "Complete"),
                               ("ListItems", str(len(self.channels)))])
            c.sendall(out.encode())
            return True
        if name == "QueueStatus":
            out = self.block([("Response", "Success"), ("ActionID", aid), ("EventList", "start"),
                              ("Message", "Queue status will follow")])
            out += self.block([("Event", "QueueParams"), ("Queue", "sales"), ("Max", "0"), ("Strategy", "ringall"),
                               ("Calls", str(len(self.entries))), ("ActionID", aid)])
            for m in self.members:
                out += self.block([("Event", "QueueMember")] + list(m.items()) + [("ActionID", aid)])
            for e in self.entries:
                out += self.block([("Event", "QueueEntry")] + list(e.items()) + [("ActionID", aid)])
            out += self.block([("Event", "QueueStatusComplete"), ("ActionID", aid), ("EventList", "Complete"),
                               ("ListItems", str(1 + len(self.members) + len(self.entries)))])
            c.sendall(out.encode())
            return True
        if name == "Logoff":
            c.sendall(self.block([("Response", "Goodbye"), ("ActionID", aid),
                                  ("Message", "Thanks for all the fish.")]).encode())
            return False
        c.sendall(self.block([("Response", "Error"), ("ActionID", aid), ("Message", "Invalid/unknown command")])
                  .encode())
        return True


class FakeESL(_Server):
    """An inbound event socket: auth, event, api (show channels, callcenter_config), exit."""

    def __init__(self, password="ClueCon"):
        self.password = password
        self.channels = []         # rows of `show channels as json`
        self.members = []          # rows of `callcenter_config queue list members`: dicts
        self.agents = []           # (name, status)
        self.core_uuid = "0b1f7c3e-8d4a-4f0e-9a51-2c6d8e9f0a11"
        self.seq = 1000
        super().__init__()

    @staticmethod
    def _reply(text):
        return ("Content-Type: command/reply\nReply-Text: %s\n\n" % text).encode()

    @staticmethod
    def _api(body):
        b = body.encode()
        return ("Content-Type: api/response\nContent-Length: %d\n\n" % len(b)).encode() + b

    def event(self, name, **fields):
        """Sends one text/event-plain event, values URL-encoded as FreeSWITCH does."""
        self.seq += 1
        hdrs = [("Event-Name", name), ("Core-UUID", self.core_uuid), ("FreeSWITCH-Hostname", "fs1"),
                ("Event-Date-Timestamp", "%d" % int(time.time() * 1e6)), ("Event-Sequence", str(self.seq))]
        hdrs += [(k.replace("__", "-"), v) for k, v in fields.items()]
        body = "".join("%s: %s\n" % (k, urllib.parse.quote(str(v), safe="")) for k, v in hdrs) + "\n"
        b = body.encode()
        self.send_raw(("Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(b)).encode() + b)

    end = b"\n\n"

    @staticmethod
    def greeting():
        return b"Content-Type: auth/request\n\n"

    @staticmethod
    def parse(text):
        return text.strip()

    def _answer(self, c, cmd):
        if cmd.startswith("auth "):
            if cmd[5:] != self.password:
                notice = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
                c.sendall(self._reply("-ERR invalid") + b"Content-Type: text/disconnect-notice\nContent-Length: "
                          + str(len(notice)).encode() + b"\n\n" + notice)
                with self.lock:
                    self.failed_logins += 1
                    self.lock.notify_all()
                return False
            c.sendall(self._reply("+OK accepted"))
            return True
        if cmd.startswith("event "):
            with self.lock:
                self.conn = c
                self.logins += 1
                self.lock.notify_all()
            c.sendall(self._reply("+OK event listener enabled " + cmd.split()[1]))
            return True
        if cmd == "api show channels as json":
            import json
            body = json.dumps({"row_count": len(self.channels), "rows": self.channels}) if self.channels \
                else json.dumps({"row_count": 0})
            c.sendall(self._api(body + "\n"))
            return True
        if cmd.startswith("api callcenter_config queue list members"):
            cols = ["queue", "instance", "uuid", "session_uuid", "cid_number", "cid_name", "system_epoch",
                    "joined_epoch", "rejoined_epoch", "bridge_epoch", "abandoned_epoch", "base_score",
                    "skill_score", "serving_agent", "serving_system", "state", "score"]
            lines = ["|".join(cols)] + ["|".join(str(m.get(k, "")) for k in cols) for m in self.members]
            c.sendall(self._api("\n".join(lines) + "\n+OK\n"))
            return True
        if cmd == "api callcenter_config agent list":
            lines = ["name|instance|uuid|type|contact|status|state|max_no_answer|wrap_up_time"]
            lines += ["%s|single_box||callback|user/x|%s|Waiting|3|10" % a for a in self.agents]
            c.sendall(self._api("\n".join(lines) + "\n+OK\n"))
            return True
        if cmd.startswith("api "):
            c.sendall(self._api("UP 0 years, 0 days, 0 hours, 1 minute\n"))
            return True
        if cmd == "exit":
            c.sendall(self._reply("+OK bye"))
            return False
        c.sendall(self._reply("-ERR command not found"))
        return True
