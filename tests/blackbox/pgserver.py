"""pgserver.py : a private PostgreSQL server for the black-box suites.

With CALLOGD_TEST_BACKEND=pg, every Daemon the harness makes stores in its own
database on one server this module starts once per test process: initdb in a
temp directory, pg_ctl on a free loopback port, Unix socket in that directory,
no system service. The server is stopped and its directory removed at exit;
a watcher process does the same if the test process dies without its atexit
(SIGKILL, a ctest timeout), so nothing is left behind.

Run as root (CI), the server runs as the postgres user (initdb refuses root)."""
import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BACKEND = os.environ.get("CALLOGD_TEST_BACKEND", "sqlite")


def bindir():
    """Debian's versioned binaries (newest first), or PATH's."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    found = shutil.which("pg_ctl")
    return os.path.dirname(found) if found else None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """One postgres on 127.0.0.1:port, owned by this process."""

    def __init__(self, durable=False):
        self.bin = bindir()
        self.durable = durable  # fsync on (benchmarks); the tests run without it, the daemon's acks still wait
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (sh scripts/deps.sh --test installs it)")
        self.dir = tempfile.mkdtemp(prefix="callogd-pg-")
        self.data = os.path.join(self.dir, "data")
        self.user = None  # run the server as this user (root cannot)
        if os.geteuid() == 0:
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.port = None
        self.watcher = None
        self.ndb = 0

    def _run(self, *argv, check=True, timeout=60):
        cmd = list(argv)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("%s exited %d: %s%s" % (argv[0], p.returncode, p.stdout, p.stderr))
        return p

    def start(self):
        t0 = time.time()
        self._run(os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "callogd", "--auth=trust",
                  "--no-locale", "-E", "UTF8", "--no-sync")
        # The watcher first: from here on, a dead test process still gets its server removed.
        self.watcher = subprocess.Popen(
            ["sh", "-c", "while kill -0 %d 2>/dev/null; do sleep 1; done; %s%s -D %s stop -m immediate "
             ">/dev/null 2>&1; rm -rf %s" % (os.getpid(), "runuser -u %s -- " % self.user if self.user else "",
                                             os.path.join(self.bin, "pg_ctl"), self.data, self.dir)],
            start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        for _ in range(5):  # a port free when picked may be taken by the time postgres binds it
            self.port = free_port()
            opts = self.options()
            p = self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l",
                          os.path.join(self.dir, "server.log"), "-o", opts, "-w", "-t", "30", "start",
                          check=False)
            if p.returncode == 0:
                break
        else:
            raise RuntimeError("postgres did not start:\n" + self.log())
        self.started_in = time.time() - t0
        return self

    def options(self):
        opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=32MB"
                % (self.port, self.dir))
        return opts if self.durable else opts + " -c fsync=off -c full_page_writes=off"

    def log(self):
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def psql(self, sql, db="postgres"):
        p = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", "127.0.0.1", "-p", str(self.port), "-U", "callogd", "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("psql %r: %s" % (sql, p.stderr))
        return p.stdout

    def url(self, db):
        return "postgresql://callogd@127.0.0.1:%d/%s" % (self.port, db)

    def new_database(self):
        """A fresh, empty database: its URL."""
        self.ndb += 1
        name = "t%d_%d" % (os.getpid(), self.ndb)
        self.psql("CREATE DATABASE %s" % name)
        return name

    def drop_database(self, name):
        try:
            self.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass

    def stop(self, mode="fast"):
        """Stops the server (a test of PostgreSQL going away); start_again() brings it back."""
        self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def start_again(self):
        opts = self.options()
        self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "server.log"),
                  "-o", opts, "-w", "-t", "30", "start")

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.watcher is not None and self.watcher.poll() is None:
            os.killpg(self.watcher.pid, signal.SIGTERM)
            self.watcher.wait()


_server = None


def server():
    """The process's server, started on first use and removed at exit."""
    global _server
    if _server is None:
        _server = Server().start()
        atexit.register(_server.destroy)
    return _server
