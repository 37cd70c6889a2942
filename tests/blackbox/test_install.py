"""test_install.py : `cmake --install` puts the programs, the production config
and the systemd units in place, and the installed config is valid."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import CALLOGD, check, eq, run, test  # noqa: E402


@test
def install_tree():
    build = os.path.dirname(os.path.abspath(CALLOGD))
    dest = tempfile.mkdtemp(prefix="callogd-install-")
    try:
        env = dict(os.environ, DESTDIR=dest)
        p = subprocess.run(["cmake", "--install", build, "--prefix", "/usr"], env=env, capture_output=True, text=True)
        eq(p.returncode, 0, p.stderr)
        for f in ("usr/sbin/callogd", "usr/bin/callogctl", "etc/callogd/callogd.conf",
                  "usr/lib/systemd/system/callogd.service", "usr/lib/systemd/system/callogd-events.socket",
                  "usr/lib/sysusers.d/callogd.conf"):
            check(os.path.exists(os.path.join(dest, f)), f)
        conf = open(os.path.join(dest, "etc/callogd/callogd.conf")).read()
        check('"/var/lib/callogd/callog.db"' in conf and '"/run/callogd/events.sock"' in conf, conf[:400])
        check("../var" not in conf)
        p = subprocess.run([os.path.join(dest, "usr/sbin/callogd"), "-t", "-c",
                            os.path.join(dest, "etc/callogd/callogd.conf")], capture_output=True, text=True)
        eq(p.returncode, 0, p.stderr)
    finally:
        shutil.rmtree(dest, ignore_errors=True)


if __name__ == "__main__":
    run()
