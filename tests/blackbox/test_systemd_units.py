#!/usr/bin/env python3
"""test_systemd_units.py : the shipped systemd units verify, score <= 2.0 exposure, and agree with sdnotify.h."""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

SRC = os.environ.get("CALLOGD_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
UNITS = os.path.join(SRC, "systemd")
MAX_EXPOSURE = 2.0

passed = 0
failed = 0
skipped = 0
SKIP_EXIT = 77  # tests/CMakeLists.txt: SKIP_RETURN_CODE; a skip is never a pass


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what, file=sys.stderr)


def run(argv, stdin=None):
    p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=120)
    return p.returncode, p.stdout


def parse_unit(path):
    """{section: [(key, value), ...]}: a list, as keys such as SystemCallFilter= repeat."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                out.setdefault(section, [])
            elif "=" in line and section is not None:
                k, v = line.split("=", 1)
                out[section].append((k.strip(), v.strip()))
    return out


def values(unit, section, key):
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit, section, key):
    v = values(unit, section, key)
    return v[-1] if v else None


def unit_files():
    return sorted(f for f in os.listdir(UNITS) if f.endswith((".service", ".socket")))


def stage_units(tmp, exe):
    """Copies the units into tmp with ExecStart= pointing at exe, since /usr/sbin/callogd is not installed here."""
    for name in unit_files():
        with open(os.path.join(UNITS, name)) as f:
            text = f.read()
        text = re.sub(r"^ExecStart=/usr/sbin/callogd\b", "ExecStart=" + exe, text, flags=re.M)
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)


def verify(tmp, names):
    # --man=no: Documentation= is a file:// URL; --generators=no: no PID 1 (a container) needed.
    rc, out = run(["systemd-analyze", "verify", "--man=no", "--generators=no"] + [os.path.join(tmp, n) for n in names])
    # verify exits 0 on unknown keys and bad values, printing a warning: any line about our units fails.
    ours = [l for l in out.splitlines() if tmp in l or "callogd" in l]
    return rc, ours


def test_verify(tmp):
    exe = os.environ.get("CALLOGD", "")
    if not (exe and os.access(exe, os.X_OK)):
        # The daemon may not be built yet; verify only needs an executable there.
        exe = os.path.join(tmp, "callogd-stub")
        with open(exe, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(exe, stat.S_IRWXU)
    stage = os.path.join(tmp, "units")
    os.mkdir(stage)
    stage_units(stage, exe)
    names = unit_files()
    rc, ours = verify(stage, names)
    check(rc == 0, "systemd-analyze verify exit %d" % rc)
    check(not ours, "systemd-analyze verify warnings:\n  " + "\n  ".join(ours))

    # The check above must be able to fail: a unit with a typo has to be reported.
    with open(os.path.join(stage, "callogd-http.socket"), "a") as f:
        f.write("\n[Socket]\nNoDelay=perhaps\nListenStreem=127.0.0.1:1\n")
    rc, ours = verify(stage, names)
    check(any("perhaps" in l or "ListenStreem" in l for l in ours), "verify did not report a broken unit: %r" % ours)


def test_security():
    path = os.path.join(UNITS, "callogd.service")
    rc, out = run(["systemd-analyze", "security", "--offline=yes", "--no-pager", path])
    check(rc == 0, "systemd-analyze security exit %d:\n%s" % (rc, out[-2000:]))
    m = re.search(r"Overall exposure level for callogd\.service:\s*([0-9.]+)\s+(\w+)", out)
    check(m is not None, "no overall exposure line in:\n" + out[-2000:])
    if m:
        score, verdict = float(m.group(1)), m.group(2)
        print("exposure %.1f %s" % (score, verdict))
        check(score <= MAX_EXPOSURE, "exposure %.1f > %.1f" % (score, MAX_EXPOSURE))
        # systemd's scale: SAFE below 1, OK below 2, then MEDIUM, EXPOSED, UNSAFE.
        check(verdict in ("SAFE", "OK"), "verdict %s, want OK or better" % verdict)
        for l in out.splitlines():
            if l.startswith("\u2717"):
                print("  " + " ".join(l.split()))


def header_names():
    with open(os.path.join(SRC, "include", "callogd", "sdnotify.h")) as f:
        return dict(re.findall(r'#define (CL_SD_NAME_\w+) "([^"]+)"', f.read()))


def test_consistency():
    svc = parse_unit(os.path.join(UNITS, "callogd.service"))
    S = "Service"
    check(one(svc, S, "Type") == "notify", "Type=notify")
    check(one(svc, S, "NotifyAccess") == "main", "NotifyAccess=main")
    check(one(svc, S, "ExecStart") == "/usr/sbin/callogd -c /etc/callogd/callogd.conf", "ExecStart")
    check(one(svc, S, "ExecReload") == "/bin/kill -HUP $MAINPID", "ExecReload")
    check(one(svc, S, "WatchdogSec") not in (None, "", "0"), "WatchdogSec= set")
    check(one(svc, S, "Restart") == "on-failure", "Restart=on-failure")
    check(one(svc, S, "StateDirectory") == "callogd", "StateDirectory=callogd")
    # /run/callogd holds the socket units' files: removing it on stop would delete them.
    check(one(svc, S, "RuntimeDirectory") is None or one(svc, S, "RuntimeDirectoryPreserve") == "yes",
          "RuntimeDirectory= without RuntimeDirectoryPreserve=yes")
    check(one(svc, S, "UMask") == "0077", "UMask=0077")
    sockets_listed = " ".join(values(svc, S, "Sockets")).split()

    names = header_names()
    check(len(names) == 5, "sdnotify.h defines 5 listener names, found %r" % names)
    seen = {}
    for f in unit_files():
        if not f.endswith(".socket"):
            continue
        u = parse_unit(os.path.join(UNITS, f))
        fdname = one(u, "Socket", "FileDescriptorName")
        listen = values(u, "Socket", "ListenStream")
        check(one(u, "Socket", "Service") == "callogd.service", f + ": Service=callogd.service")
        check(fdname in names.values(), "%s: FileDescriptorName=%s is not one of %s" % (f, fdname, sorted(names.values())))
        check(fdname not in seen, "%s: FileDescriptorName=%s also in %s" % (f, fdname, seen.get(fdname)))
        seen[fdname] = f
        check(len(listen) == 1, f + ": exactly one ListenStream=")
        check(one(u, "Socket", "Accept") in (None, "no", "false"), f + ": Accept=no (the daemon accepts)")
        check(f in sockets_listed, f + " not in callogd.service Sockets=")
        if listen and listen[0].startswith("/"):
            check(one(u, "Socket", "SocketMode") == "0660", f + ": SocketMode=0660")
            check(listen[0].startswith("/run/callogd/"), f + ": socket under /run/callogd")
            check(one(u, "Socket", "SocketGroup") == one(svc, S, "Group"), f + ": SocketGroup= the service's Group=")
        else:
            check(one(u, "Socket", "IPAddressDeny") == "any", f + ": IPAddressDeny=any on a TCP socket")
    check(set(seen) == set(names.values()), "socket units for %s, want %s" % (sorted(seen), sorted(names.values())))


def test_sysusers(tmp):
    global skipped
    if shutil.which("systemd-sysusers") is None:
        print("SKIP sysusers: systemd-sysusers not installed")
        skipped += 1
        return
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(UNITS, "callogd.sysusers")) as f:
        rc, out = run(["systemd-sysusers", "--root=" + root, "-"], stdin=f.read())
    check(rc == 0, "systemd-sysusers exit %d: %s" % (rc, out))
    user = one(parse_unit(os.path.join(UNITS, "callogd.service")), "Service", "User")
    try:
        with open(os.path.join(root, "etc", "passwd")) as f:
            check(any(l.split(":")[0] == user for l in f), "sysusers does not create User=%s" % user)
    except OSError as e:
        check(False, "no passwd written: %s" % e)


def main():
    if shutil.which("systemd-analyze") is None:
        print("SKIP: systemd-analyze not installed (apt-get install systemd)")
        return SKIP_EXIT
    rc, out = run(["systemd-analyze", "--version"])
    print(out.splitlines()[0] if out else "systemd-analyze: no version")
    with tempfile.TemporaryDirectory(prefix="callogd-units-") as tmp:
        test_verify(tmp)
        test_security()
        test_consistency()
        test_sysusers(tmp)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else SKIP_EXIT if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
