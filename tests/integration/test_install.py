"""test_install.py — the installed daemon (DESIGN.md, Deployment), from this build tree:
`cmake --install` into a temporary DESTDIR with --prefix /usr, then the installed binary run
from / with a config that uses relative paths (it must find the installed chat texts and put
its database beside the config); the one-line failures for a missing config, a messages folder
without a language and a database folder that is missing or not writable; the installed config
kept on a second install; the systemd unit through `systemd-analyze verify` (skipped where
systemd is not installed); --version with a revision, also from a tree without .git."""

import os
import re
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import time

import dbot
from dbot import check, eq

BUILD = os.environ.get("DBOT_BINARY_DIR") or os.path.dirname(os.path.dirname(dbot.BIN))
SRC = dbot.SOURCE_DIR


class Installed:
    """One `cmake --install` of this build tree into a fresh temp dir."""

    def __init__(self, prefix="/usr", destdir=True):
        self.root = tempfile.mkdtemp(prefix="dbot-install-")
        os.chmod(self.root, 0o755)  # another user must reach the binary (not-writable test)
        env = dict(os.environ)
        if destdir:
            env["DESTDIR"] = self.root
            self.prefix = self.root + prefix
        else:
            prefix = os.path.join(self.root, prefix.lstrip("/"))
            self.prefix = prefix
        p = subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], env=env,
                           capture_output=True, timeout=120)
        eq(p.returncode, 0, "cmake --install: %s" % p.stderr.decode()[-800:])
        self.bin = os.path.join(self.prefix, "bin", "dealerbot")
        self.etc = (self.root + "/etc") if destdir and prefix == "/usr" else \
            os.path.join(self.prefix, "etc")

    def run(self, *args, cwd="/", env=None, user=None):
        cmd = [self.bin] + list(args)
        if user is not None:
            cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups"] + cmd
        e = {k: v for k, v in os.environ.items() if k != "DEALERBOT_CONFIG"}
        e.update(env or {})
        p = subprocess.run(cmd, cwd=cwd, env=e, capture_output=True, timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


def one_line(err):
    lines = [l for l in err.splitlines() if l.strip()]
    eq(len(lines), 1, "stderr lines (%r)" % err)
    return lines[0]


def site(inst, conf_text, name="site"):
    """A config folder <root>/<name> with the secrets; returns (folder, config path)."""
    d = os.path.join(inst.root, name)
    os.makedirs(os.path.join(d, "secrets"))
    with open(os.path.join(d, "secrets", "api.token"), "w") as f:
        f.write(dbot.TOKEN + "\n")
    with open(os.path.join(d, "secrets", "xmpp.password"), "w") as f:
        f.write("pw\n")
    path = os.path.join(d, "dealerbot.conf")
    with open(path, "w") as f:
        f.write(conf_text)
    return d, path


def relative_conf(port, texts=None):
    return ('database = "state/dealerbot.db";\n'
            + ('messages_dir = "%s";\n' % texts if texts else "")
            + 'http = { listen = "127.0.0.1:%d"; token_file = "secrets/api.token"; };\n'
            'chat = { platform = "xmpp"; xmpp = { url = "ws://127.0.0.1:1/xmpp-websocket";\n'
            '  jid = "bot@localhost"; password_file = "secrets/xmpp.password";\n'
            '  muc_service = "conference.localhost"; }; };\n' % port)


def test_destdir_install_runs_from_root(t):
    inst = Installed()
    try:
        r, p = inst.root, inst.prefix
        for f in ("usr/bin/dealerbot", "usr/share/dealerbot/messages/zh-CN.msg",
                  "usr/share/dealerbot/messages/en.msg", "usr/share/doc/dealerbot/README.md",
                  "usr/share/doc/dealerbot/dealerbot.example.conf",
                  "usr/share/doc/dealerbot/dealerbot-backup.timer",
                  "usr/lib/systemd/system/dealerbot.service", "usr/share/man/man8/dealerbot.8",
                  "usr/share/man/man5/dealerbot.conf.5", "etc/dealerbot/dealerbot.conf"):
            check(os.path.isfile(os.path.join(r, f)), "installed: " + f)
        check(os.stat(inst.bin).st_mode & stat.S_IXOTH, "the binary is executable")
        with open(os.path.join(r, "usr/lib/systemd/system/dealerbot.service")) as f:
            unit = f.read()
        check("ExecStart=/usr/bin/dealerbot -c /etc/dealerbot/dealerbot.conf run" in unit, unit)

        port = dbot.free_port()
        d, conf = site(inst, relative_conf(port))
        os.mkdir(os.path.join(d, "state"))
        rc, out, err = inst.run("-c", conf, "check-config")
        eq(rc, 0, "check-config from / (%s)" % err)
        check('database = "%s/state/dealerbot.db";' % d in out, out[:600])
        check('messages_dir = "%s/usr/share/dealerbot/messages";' % r in out, out[:600])
        check('token_file = "%s/secrets/api.token";' % d in out, out[:900])
        dealers = os.path.join(d, "dealers.csv")
        with open(dealers, "w") as f:
            f.write(dbot.DEALERS_CSV)
        rc, out, err = inst.run("-c", conf, "dealers", "import", dealers)
        eq(rc, 0, "dealers import (%s)" % err)

        log = open(os.path.join(d, "run.log"), "wb")
        e = {k: v for k, v in os.environ.items() if k != "DEALERBOT_CONFIG"}
        proc = subprocess.Popen([inst.bin, "-c", conf, "run"], cwd="/", env=e, stdout=log,
                                stderr=subprocess.STDOUT)
        log.close()
        try:
            bot = dbot.Bot.__new__(dbot.Bot)  # only its HTTP helpers, on the installed daemon
            bot.port, bot.token = port, dbot.TOKEN
            deadline = time.monotonic() + dbot.START_TIMEOUT
            while True:
                check(proc.poll() is None, "the installed daemon exited with %s: %s"
                      % (proc.returncode, open(os.path.join(d, "run.log")).read()[-1500:]))
                try:
                    if bot.request("GET", "/healthz", token=None, timeout=1.0).status == 200:
                        break
                except OSError:
                    pass
                check(time.monotonic() < deadline, "no /healthz from the installed daemon")
                time.sleep(0.05)
            res = bot.post("/api/v1/complaints", dbot.complaint("inst-1"))
            eq(res.status, 201, "intake on the installed daemon")
        finally:
            proc.terminate()
            eq(proc.wait(dbot.STOP_TIMEOUT), 0, "exit status after SIGTERM")
        with open(os.path.join(d, "run.log"), errors="replace") as f:
            text = f.read()
        check("cannot open" not in text and "listening on" in text, text[-1500:])
        db = os.path.join(d, "state", "dealerbot.db")
        check(os.path.isfile(db), "the database is beside the config: " + db)
        with sqlite3.connect(db) as c:
            eq(c.execute("select count(*) from complaints").fetchone()[0], 1, "complaints")
        check(not os.path.exists("/state"), "nothing written relative to the working directory")
    finally:
        inst.cleanup()


def test_installed_config_is_found_and_kept(t):
    inst = Installed()
    try:
        installed_conf = os.path.join(inst.etc, "dealerbot", "dealerbot.conf")
        # No -c, no $DEALERBOT_CONFIG, no config/dealerbot.conf in /: the installed one is used
        # (it names api.token beside it, which only the package writes).
        rc, _, err = inst.run("check-config")
        eq(rc, 1, "check-config with the installed config")
        line = one_line(err)
        check(installed_conf in line and "api.token" in line, line)
        # An edited config survives another install.
        with open(installed_conf, "a") as f:
            f.write("# edited by the operator\n")
        p = subprocess.run(["cmake", "--install", BUILD, "--prefix", "/usr"],
                           env=dict(os.environ, DESTDIR=inst.root), capture_output=True)
        eq(p.returncode, 0, "second install")
        with open(installed_conf) as f:
            check("# edited by the operator" in f.read(), "the installed config was overwritten")
        # Without it, the binary says where it looked, in one line.
        os.remove(installed_conf)
        rc, _, err = inst.run("check-config")
        eq(rc, 1, "check-config without any config")
        line = one_line(err)
        check("config/dealerbot.conf (in /)" in line and installed_conf in line, line)
        # $DEALERBOT_CONFIG wins over the fallbacks and is named when missing.
        rc, _, err = inst.run("check-config", env={"DEALERBOT_CONFIG": "/nonexistent/d.conf"})
        eq(rc, 1, "missing $DEALERBOT_CONFIG")
        check("/nonexistent/d.conf" in one_line(err), err)
    finally:
        inst.cleanup()


def test_bad_paths_fail_with_one_line(t):
    inst = Installed()
    try:
        # a config path that does not exist
        rc, _, err = inst.run("-c", "/nonexistent/dealerbot.conf", "check-config")
        eq(rc, 1, "missing config")
        check("/nonexistent/dealerbot.conf: cannot open" in one_line(err), err)

        # a messages folder without one of the languages: check-config and run both refuse
        port = dbot.free_port()
        d, conf = site(inst, relative_conf(port, texts="texts"))
        os.mkdir(os.path.join(d, "state"))
        os.mkdir(os.path.join(d, "texts"))
        shutil.copy(os.path.join(inst.prefix, "share/dealerbot/messages/zh-CN.msg"),
                    os.path.join(d, "texts"))
        missing = os.path.join(d, "texts", "en.msg")
        rc, _, err = inst.run("-c", conf, "check-config")
        eq(rc, 1, "check-config, texts without en.msg")
        check(missing in one_line(err), err)
        rc, _, err = inst.run("-c", conf, "run")
        eq(rc, 1, "run, texts without en.msg")
        check(missing in one_line(err), err)
        check(not os.listdir(os.path.join(d, "state")), "a failed start left a database behind")

        # a database folder that does not exist
        shutil.copy(os.path.join(inst.prefix, "share/dealerbot/messages/en.msg"),
                    os.path.join(d, "texts"))
        os.rmdir(os.path.join(d, "state"))
        for args in (["check-config"], ["run"], ["dealers", "list"], ["db", "migrate"]):
            rc, _, err = inst.run("-c", conf, *args)
            eq(rc, 1, "%s without the state folder" % args)
            line = one_line(err)
            check("%s/state does not exist" % d in line, line)

        # a database folder the daemon's user cannot write (root may write anywhere, so as
        # root the commands run as nobody)
        state = os.path.join(d, "state")
        os.mkdir(state, 0o755)
        user = None
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                print("skip: not-writable check needs setpriv when run as root")
                return
            user = 65534
            for dirpath, dirs, files in os.walk(d):
                os.chmod(dirpath, 0o755)
                for f in files:
                    os.chmod(os.path.join(dirpath, f), 0o644)
        else:
            os.chmod(state, 0o555)
        for args in (["check-config"], ["run"]):
            rc, _, err = inst.run("-c", conf, *args, user=user)
            eq(rc, 1, "%s with a read-only state folder" % args)
            line = one_line(err)
            check("%s is not writable" % state in line, line)
        check(not os.listdir(state), "nothing was created")
    finally:
        inst.cleanup()


def test_unit_verifies(t):
    inst = Installed(prefix="/opt/dealerbot", destdir=False)
    try:
        unit_path = os.path.join(inst.prefix, "lib/systemd/system/dealerbot.service")
        with open(unit_path) as f:
            unit = f.read()
        # the prefix given at install time, not at configure time
        check("ExecStart=%s -c %s/dealerbot/dealerbot.conf run" % (inst.bin, inst.etc) in unit,
              unit)
        for directive in ("Type=notify", "User=dealerbot", "StateDirectory=dealerbot",
                          "ConfigurationDirectory=dealerbot", "ExecStartPre=%s -c" % inst.bin,
                          "Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict",
                          "ProtectHome=yes", "PrivateTmp=yes",
                          "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                          "SystemCallFilter=@system-service", "KillSignal=SIGTERM",
                          "TimeoutStopSec="):
            check(("\n" + directive) in unit, "the unit lacks " + directive)
        if not shutil.which("systemd-analyze"):
            print("skip: systemd-analyze is not installed")
            return
        # MANPATH: verify also checks that Documentation=man:... pages exist (installed ones).
        p = subprocess.run(["systemd-analyze", "verify", unit_path], capture_output=True,
                           env=dict(os.environ, MANPATH=os.path.join(inst.prefix, "share/man")))
        eq((p.returncode, p.stdout + p.stderr), (0, b""), "systemd-analyze verify")
        p = subprocess.run(["systemd-analyze", "security", "--offline=yes", unit_path],
                           capture_output=True)
        m = re.search(rb"Overall exposure level for dealerbot.service: ([0-9.]+)", p.stdout)
        check(m, "systemd-analyze security: %r" % p.stdout[-300:])
        exposure = float(m.group(1))
        print("systemd-analyze security: exposure %.1f (0 best, 10 worst)" % exposure)
        check(exposure <= 2.0, "exposure %.1f: the sandbox got weaker" % exposure)
    finally:
        inst.cleanup()


def test_version_has_a_revision(t):
    p = subprocess.run([dbot.BIN, "--version"], capture_output=True)
    eq(p.returncode, 0, "--version")
    out = p.stdout.decode().strip()
    check(re.fullmatch(r"dealerbot \d+\.\d+\.\d+ \(revision ([0-9a-f]{12}(-dirty)?|unknown)\)",
                       out), out)
    if os.path.isdir(os.path.join(SRC, ".git")) and shutil.which("git"):
        head = subprocess.run(["git", "-C", SRC, "rev-parse", "--short=12", "HEAD"],
                              capture_output=True).stdout.decode().strip()
        check(head in out, "%s does not name HEAD %s" % (out, head))
    # a source tree without .git: dist/REVISION as `git archive` fills it in, or "unknown"
    tmp = tempfile.mkdtemp(prefix="dbot-rev-")
    try:
        os.mkdir(os.path.join(tmp, "dist"))
        out_h = os.path.join(tmp, "revision.h")
        for content, want in (("0123456789abcdef0123456789abcdef01234567\n", "0123456789ab"),
                              ("$Format:%H$\n", "unknown")):
            with open(os.path.join(tmp, "dist", "REVISION"), "w") as f:
                f.write(content)
            p = subprocess.run(["cmake", "-DSRC=" + tmp, "-DOUT=" + out_h, "-P",
                                os.path.join(SRC, "cmake", "revision.cmake")], capture_output=True)
            eq(p.returncode, 0, "revision.cmake: %r" % p.stderr)
            with open(out_h) as f:
                eq(f.read(), '#define DBOT_REVISION "%s"\n' % want, "revision.h")
    finally:
        shutil.rmtree(tmp)


dbot.main(globals())
