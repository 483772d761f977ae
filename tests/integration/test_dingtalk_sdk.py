"""test_dingtalk_sdk.py — the simulator's fidelity, checked by the official DingTalk Stream SDK.

The npm package `dingtalk-stream` (DWClient, locked in tests/dingtalk_sim/sdk/, installed by
scripts/npm-deps.sh into the build tree) connects to tests/dingtalk_sim/dingtalk_sim.py with
only its gateway URL's origin rewritten: the SDK's own connection-open request, WebSocket,
ping answers and callback acknowledgements must work against the simulator. Without node or
the installed SDK this test fails (it never skips silently).
"""
import json
import os
import queue
import shutil
import subprocess
import threading
import time

import dbot
from dbot import check, eq
import dingtalk

NPM_DIR = os.environ.get("DBOT_NPM_DIR") or os.path.join(dbot.SOURCE_DIR, "build", "npm")
SCRIPT = os.path.join(dbot.SOURCE_DIR, "tests", "dingtalk_sim", "sdk", "sdk_check.cjs")


class Sdk:
    def __init__(self, sim, secret=dingtalk.CLIENT_SECRET):
        node = shutil.which("node")
        check(node, "node is not installed (scripts/deps.sh)")
        if not os.path.isdir(os.path.join(NPM_DIR, "node_modules", "dingtalk-stream")):
            subprocess.run([os.path.join(dbot.SOURCE_DIR, "scripts", "npm-deps.sh"), NPM_DIR],
                           check=True, timeout=300)
        self.proc = subprocess.Popen(
            [node, SCRIPT, os.path.join(NPM_DIR, "node_modules"), sim.url, dingtalk.CLIENT_ID,
             secret], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.lines = queue.Queue()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.proc.stdout:
            try:
                self.lines.put(json.loads(line))
            except ValueError:
                pass

    def next(self, key, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            check(left > 0, "the SDK printed no %r within %.0f s" % (key, timeout))
            try:
                o = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if key in o:
                return o

    def stop(self):
        self.proc.kill()
        self.proc.wait(5)


def with_sdk(fn):
    def run(t):
        d = dbot.tempfile.mkdtemp(prefix="dbot-sdk-")
        sim = dingtalk.Sim(ping_interval=0, dir=d).start()
        sdk = None
        try:
            sdk = Sdk(sim)
            fn(sim, sdk)
        finally:
            if sdk:
                sdk.stop()
            sim.stop()
            shutil.rmtree(d, ignore_errors=True)
    return run


@with_sdk
def test_sdk_receives_a_callback_and_answers_it(sim, sdk):
    sdk.next("connected")
    sim.wait_stream()
    st = sim.stats()
    eq(st["opens"], 1, "gateway opens by the SDK")
    mid = sim.callback("@dealerbot ack C-1", "staff-001", cid="cid-dealer-d001",
                       msg_id="msgABC")
    got = sdk.next("callback")
    eq(got["messageId"], mid, "messageId the SDK saw")
    eq(got["callback"]["msgId"], "msgABC", "msgId")
    eq(got["callback"]["senderStaffId"], "staff-001", "senderStaffId")
    eq(got["callback"]["conversationType"], "2", "conversationType")
    eq(got["callback"]["text"]["content"], "@dealerbot ack C-1", "text.content")
    eq(sim.wait_ack(mid), 200, "the SDK's acknowledgement code")
    check(mid not in sim.acks()["pending"], "an acknowledged callback is not pushed again")


@with_sdk
def test_sdk_answers_pings_with_their_data(sim, sdk):
    sdk.next("connected")
    sim.wait_stream()
    before = sim.stats()["frames_bad"]
    mid = sim.ctl("ping", {})["messageId"]
    eq(sim.wait_ack(mid), 200, "ping answer")
    eq(sim.stats()["frames_bad"], before, "frames the simulator could not read")


@with_sdk
def test_sdk_reconnects_after_disconnect(sim, sdk):
    sdk.next("connected")
    sim.wait_stream()
    sim.ctl("disconnect", {})
    sdk.next("connected", timeout=20)   # the SDK opens a new connection (new ticket)
    sim.wait(lambda: sim.stats()["opens"] >= 2, "a second gateway open")
    mid = sim.callback("hello again", "staff-002", group=False)
    eq(sdk.next("callback")["messageId"], mid, "callback after the reconnect")
    eq(sim.wait_ack(mid), 200, "ack after the reconnect")


def test_sdk_is_refused_with_a_wrong_secret(t):
    d = dbot.tempfile.mkdtemp(prefix="dbot-sdk-")
    sim = dingtalk.Sim(ping_interval=0, dir=d).start()
    sdk = Sdk(sim, secret="wrong-secret")
    try:
        sim.wait(lambda: sim.stats()["opens_refused"] >= 1, "a refused open")
        time.sleep(0.5)
        eq(sim.streams(), 0, "streams opened with a wrong secret")
    finally:
        sdk.stop()
        sim.stop()
        shutil.rmtree(d, ignore_errors=True)


dbot.main(globals())
