"""dbot.py — harness for dealerbot integration tests (Python 3 standard library only).

Like mosquitto's test/broker helpers or redis's start_server: every Bot gets a private temp
directory, a free loopback port, a config file (database in that directory, token_file,
chat.platform = "none", timezone Asia/Shanghai) and an imported dealers CSV; `start()` runs the
real binary (`$DEALERBOT_BIN -c CONF run`) and waits until /healthz answers, `stop()` sends
SIGTERM to that PID and insists on exit status 0, `kill()` sends SIGKILL. When a test fails the
runner prints the log of every bot the test used.

Environment: DEALERBOT_BIN (the built binary, required), DBOT_KEEP=1 keeps the temp dirs,
DBOT_LOG_LEVEL sets the daemon's log_level (default info), DBOT_VALGRIND=1 runs every
`dealerbot run` under valgrind's memcheck (scripts/valgrind.sh): a clean stop then also insists
on no memory errors and no definite or indirect leaks.

A test file defines functions `test_*(t)` and ends with `dbot.main(globals())`. `t` is a
TestContext: `t.bot(...)` makes a Bot that is cleaned up after the test. Each file prints a
final line "N passed, N failed" and exits 1 when anything failed.
"""

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

BIN = os.environ.get("DEALERBOT_BIN", "")
SOURCE_DIR = os.environ.get("DBOT_SOURCE_DIR") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MESSAGES_DIR = os.path.join(SOURCE_DIR, "config", "messages")
TOKEN = "it-token-7f3a9c1e5b"
START_TIMEOUT = 15.0   # seconds until /healthz must answer (ASan builds start slower)
STOP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 10.0
FILE_TIMEOUT = 120     # hard limit for a whole test file (SIGALRM)
VALGRIND = os.environ.get("DBOT_VALGRIND") == "1"
if VALGRIND:           # memcheck runs the daemon some 20 times slower
    START_TIMEOUT, STOP_TIMEOUT, REQUEST_TIMEOUT, FILE_TIMEOUT = 90.0, 90.0, 60.0, 1200
VALGRIND_ARGS = ["valgrind", "--quiet", "--leak-check=full",
                 "--show-leak-kinds=definite,indirect", "--errors-for-leak-kinds=definite,indirect",
                 "--error-exitcode=97"]

DEALERS_CSV = (
    "code,name,region,sales_volume,timezone\n"
    "D001,Shanghai Pudong Motors,East,1200,Asia/Shanghai\n"
    "D002,Beijing Chaoyang Auto,North,800,\n"
    "D003,\"Guangzhou Tianhe Cars, Ltd\",South,,\n"
)


class TestFailure(AssertionError):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise TestFailure(msg)


def eq(got, want, what="value"):
    if got != want:
        raise TestFailure("%s: got %r, want %r" % (what, got, want))


def free_port():
    """A loopback port that was free a moment ago (bind to 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            self.json = None

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


class Bot:
    def __init__(self, name="bot", token=TOKEN, dealers_csv=DEALERS_CSV, http_extra="",
                 chat='platform = "none";', extra="", people_csv=None):
        """http_extra: more settings inside the http group ("commit_window_us = 0;");
        chat: the inside of the chat group; extra: more top-level config text."""
        if not BIN or not os.access(BIN, os.X_OK):
            raise RuntimeError("DEALERBOT_BIN is not set to an executable: %r" % BIN)
        self.name = name
        self.token = token
        self.dir = tempfile.mkdtemp(prefix="dbot-%s-" % name)
        self.port = free_port()
        self.proc = None
        self.log_path = os.path.join(self.dir, "dealerbot.log")
        self.conf = os.path.join(self.dir, "dealerbot.conf")
        with open(os.path.join(self.dir, "api.token"), "w") as f:
            f.write(token + "\n")
        level = os.environ.get("DBOT_LOG_LEVEL", "info")
        with open(self.conf, "w") as f:
            f.write(
                "# written by tests/integration/dbot.py\n"
                'database = "%s";\n'
                'timezone = "Asia/Shanghai";\n'
                'log_level = "%s";\n'
                'messages_dir = "%s";\n'
                'http = { listen = "127.0.0.1:%d"; token_file = "%s"; %s };\n'
                'chat = { %s };\n'
                '%s\n'
                % (os.path.join(self.dir, "dealerbot.db"), level, MESSAGES_DIR, self.port,
                   os.path.join(self.dir, "api.token"), http_extra, chat, extra))
        if dealers_csv is not None:
            path = os.path.join(self.dir, "dealers.csv")
            with open(path, "w", encoding="utf-8") as f:
                f.write(dealers_csv)
            self.cli("dealers", "import", path)
        if people_csv is not None:
            path = os.path.join(self.dir, "people.csv")
            with open(path, "w", encoding="utf-8") as f:
                f.write(people_csv)
            self.cli("people", "import", path)

    # ---- the binary ----

    def cli(self, *args, expect=0):
        """Runs `dealerbot -c CONF ARGS...`; returns (exit status, stdout, stderr)."""
        p = subprocess.run([BIN, "-c", self.conf] + list(args), cwd=self.dir,
                           capture_output=True, timeout=60)
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        with open(self.log_path, "a") as f:
            f.write("$ dealerbot %s -> %d\n%s%s" % (" ".join(args), p.returncode, out, err))
        if expect is not None and p.returncode != expect:
            raise TestFailure("dealerbot %s: exit %d (want %d): %s"
                              % (" ".join(args), p.returncode, expect, err.strip()))
        return p.returncode, out, err

    def start(self, env=None):
        """env: more environment variables for the daemon (NOTIFY_SOCKET, ...)."""
        check(self.proc is None, "bot already running")
        log = open(self.log_path, "ab")
        log.write(b"$ dealerbot run\n")
        log.flush()
        cmd = [BIN, "-c", self.conf, "run"]
        if VALGRIND:
            self.runs = getattr(self, "runs", 0) + 1
            self.vg_log = os.path.join(self.dir, "valgrind.%d.log" % self.runs)
            cmd = VALGRIND_ARGS + ["--log-file=" + self.vg_log] + cmd
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, **env) if env else None)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                raise TestFailure("dealerbot run exited with %d during start" % rc)
            try:
                r = self.request("GET", "/healthz", token=None, timeout=1.0)
                if r.status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        raise TestFailure("dealerbot did not answer /healthz within %.0f s" % START_TIMEOUT)

    def stop(self):
        """SIGTERM to the PID; the exit status must be 0 and the log free of sanitizer reports."""
        check(self.proc is not None, "bot not running")
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise TestFailure("dealerbot did not stop within %.0f s of SIGTERM" % STOP_TIMEOUT)
        self.check_log_clean()
        if VALGRIND:
            with open(self.vg_log, encoding="utf-8", errors="replace") as f:
                report = f.read().strip()
            check(rc != 97 and not report, "valgrind (%s):\n%s" % (self.vg_log, report[:4000]))
        eq(rc, 0, "exit status after SIGTERM")

    def kill(self):
        check(self.proc is not None, "bot not running")
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGKILL)
        proc.wait(STOP_TIMEOUT)

    def restart(self):
        self.stop()
        return self.start()

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, text, timeout=15.0, count=1):
        """Waits until `text` appears `count` times in the daemon's log; returns the monotonic
        time it was seen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_text().count(text) >= count:
                return time.monotonic()
            time.sleep(0.02)
        raise TestFailure("no %r in the bot's log within %.0f s" % (text, timeout))

    def check_log_clean(self):
        text = self.log_text()
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            if marker in text:
                raise TestFailure("sanitizer report in the daemon log (%s)" % marker)

    def cleanup(self, keep=False):
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait(5)
            except OSError:
                pass
            self.proc = None
        if keep or os.environ.get("DBOT_KEEP"):
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- HTTP ----

    def connect(self, timeout=REQUEST_TIMEOUT):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def auth_headers(self, token="default"):
        if token == "default":
            token = self.token
        return {"Authorization": "Bearer " + token} if token is not None else {}

    def request(self, method, path, body=None, token="default", headers=None,
                content_type="application/json", timeout=REQUEST_TIMEOUT, conn=None):
        """One request on a fresh connection (or on `conn`). body: dict/list (sent as JSON),
        str or bytes. Returns a Response."""
        h = self.auth_headers(token)
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        if body is not None and content_type is not None:
            h["Content-Type"] = content_type
        if headers:
            h.update(headers)
        own = conn is None
        c = self.connect(timeout) if own else conn
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return Response(r.status, r.getheaders(), data)
        finally:
            if own:
                c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body=body, **kw)

    def metrics(self):
        """GET /metrics as {sample name with labels: value}."""
        r = self.get("/metrics", token=None)
        check(r.status == 200, "GET /metrics: %r" % r)
        out = {}
        for line in r.body.decode("utf-8").splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                out[key] = float(value)
        return out

    def put(self, path, body, **kw):
        return self.request("PUT", path, body=body, **kw)


def complaint(external_id, dealer="D001", priority="normal", **fields):
    """A valid intake body; keyword arguments add or replace fields (None removes one)."""
    body = {
        "external_id": external_id,
        "dealer": dealer,
        "category": "paint",
        "priority": priority,
        "customer": {"name": "张三", "phone": "+86 138 0000 0000"},
        "summary": "Scratches on the bonnet at delivery",
        "details": "Customer noticed the scratches the day after delivery.",
    }
    for k, v in fields.items():
        if v is None:
            body.pop(k, None)
        else:
            body[k] = v
    return body


class TestContext:
    def __init__(self):
        self.bots = []

    def bot(self, name="bot", start=True, **kw):
        b = Bot(name, **kw)
        self.bots.append(b)
        if start:
            b.start()
        return b


def main(namespace):
    """Runs every test_* function of the calling module in definition order."""
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    only = sys.argv[1:]
    if only:
        tests = [(n, f) for n, f in tests if n in only]

    def on_alarm(signum, frame):
        raise TestFailure("hard timeout: the test file ran over %d s" % FILE_TIMEOUT)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(FILE_TIMEOUT)
    passed = failed = 0
    t_start = time.monotonic()
    for name, fn in tests:
        ctx = TestContext()
        t0 = time.monotonic()
        ok = False
        try:
            fn(ctx)
            # a bot the test left running must still stop cleanly
            for b in ctx.bots:
                if b.proc is not None:
                    b.stop()
            ok = True
        except Exception:
            print("FAIL %s (%.2f s)" % (name, time.monotonic() - t0))
            traceback.print_exc(file=sys.stdout)
            for b in ctx.bots:
                print("---- daemon log of %s (%s) ----" % (b.name, b.dir))
                print(b.log_text().rstrip())
                print("---- end of daemon log ----")
        finally:
            for b in ctx.bots:
                b.cleanup(keep=not ok)
        if ok:
            passed += 1
            print("ok   %s (%.2f s)" % (name, time.monotonic() - t0))
        else:
            failed += 1
        sys.stdout.flush()
    signal.alarm(0)
    print("total %.1f s" % (time.monotonic() - t_start))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
