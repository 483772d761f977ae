"""dingtalk.py — the DingTalk side of the integration tests (Python 3 standard library only).

`Sim` starts tests/dingtalk_sim/dingtalk_sim.py (the repo's local DingTalk: gateway, stream,
OpenAPI) on a free loopback port and drives its control API. `chat_config(sim)` is the inside
of a bot's `chat` group that points the bot at it; `bot_on_dingtalk(t, sim, ...)` makes such a
bot. A room of the bot maps to a DingTalk group through `dealerbot rooms import`; `map_rooms`
does that with the ids `cid-<room>`.

Kept apart from dbot.py/xmpp.py so that scenarios can take the platform as a parameter
(`PLATFORM=dingtalk`) without touching the XMPP harness.
"""

import http.client
import json
import os
import subprocess
import sys
import time

from dbot import SOURCE_DIR, TestFailure, check

SIM = os.path.join(SOURCE_DIR, "tests", "dingtalk_sim", "dingtalk_sim.py")
CLIENT_ID = "dingtestapp01"
CLIENT_SECRET = "sim-secret-5b8e0c2f9d1a"


class Sim:
    def __init__(self, ping_interval=10.0, resend_after=5.0, token_ttl=7200, dir=None):
        self.args = [sys.executable, SIM, "--port", "0", "--client-id", CLIENT_ID,
                     "--client-secret", CLIENT_SECRET, "--ping-interval", str(ping_interval),
                     "--resend-after", str(resend_after), "--token-ttl", str(token_ttl)]
        self.proc = None
        self.port = None
        self.conn = None
        self.log_path = os.path.join(dir, "dingtalk_sim.log") if dir else None

    def start(self):
        err = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=err)
        line = self.proc.stdout.readline().decode()
        check(line.startswith("port "), "simulator did not start: %r" % line)
        self.port = int(line.split()[1])
        return self

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def call(self, method, path, body=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                data = json.dumps(body).encode() if body is not None else None
                self.conn.request(method, path, body=data,
                                  headers={"Content-Type": "application/json"})
                r = self.conn.getresponse()
                out = r.read()
                return r.status, json.loads(out) if out else None
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        return None

    def ctl(self, path, body=None):
        status, obj = self.call("POST" if body is not None else "GET", "/_sim/" + path, body)
        check(status == 200, "simulator %s: %s %r" % (path, status, obj))
        return obj

    def state(self):
        return self.ctl("state")

    def stats(self):
        return self.state()["stats"]

    def streams(self):
        return self.state()["streams"]

    def wait(self, cond, what, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(0.05)
        raise TestFailure("simulator: %s not within %.0f s (state %r)"
                          % (what, timeout, self.state()))

    def wait_stream(self, n=1, timeout=15.0):
        return self.wait(lambda: self.streams() >= n, "%d open stream(s)" % n, timeout)

    def callback(self, text, sender, group=True, cid="cid-none", msg_id=None, **extra):
        body = {"conversationType": "2" if group else "1", "conversationId": cid,
                "senderStaffId": sender, "text": text}
        if msg_id:
            body["msgId"] = msg_id
        body.update(extra)
        return self.ctl("callback", body)["messageId"]

    def acks(self):
        return self.ctl("acks")

    def wait_ack(self, mid, timeout=15.0):
        return self.wait(lambda: self.acks()["acks"].get(mid), "ack of %s" % mid, timeout)

    def sent(self, since=0):
        return self.ctl("sent?since=%d" % since)["sent"]

    def wait_sent(self, pred, what, since=0, timeout=15.0):
        """Waits for a sent message matching pred; returns it."""
        def find():
            for m in self.sent(since):
                if pred(m):
                    return m
            return None
        return self.wait(find, "a sent message: " + what, timeout)

    def sent_to(self, to, since=0):
        return [m for m in self.sent(since)
                if (m["to"] == to if m["group"] else to in m["to"])]


def chat_config(sim, extra=""):
    return ('platform = "dingtalk"; rate_global = 1000; rate_room = 1000; '
            'dingtalk = { client_id = "%s"; client_secret = "%s"; api_url = "%s"; }; %s'
            % (CLIENT_ID, CLIENT_SECRET, sim.url, extra))


def room_cid(room):
    return "cid-" + room


def map_rooms(bot, rooms):
    """Maps each room to the DingTalk group cid-<room> with `dealerbot rooms import`."""
    path = os.path.join(bot.dir, "rooms.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("room,address\n")
        for r in rooms:
            f.write("%s,%s\n" % (r, room_cid(r)))
    bot.cli("rooms", "import", path)
