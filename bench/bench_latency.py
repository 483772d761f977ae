#!/usr/bin/env python3
"""bench_latency.py — issue 17's intake latency benchmark: one complaint at a time, then 16 at
once, against a private Prosody on loopback, beside the disk's own durable commit.

Run through scripts/bench_latency.sh (it builds the release binaries and sets DEALERBOT_BIN and
DBOT_BENCH_DIR). Phases, one Prosody, one bot (one dealer, D0001, whose room an observer
client sits in; chat rate limits lifted so that the room is not throttled at 10/s):

 0. floor: bench_commit in the bot's directory (same disk, same run): one-row SQLite commits
    with WAL and synchronous=FULL, and a bare 4 kB write + fdatasync.
 1. relay: Prosody's raw relay rate over WebSocket (the bot's transport), two plain clients in
    one room (tests/integration/xmpp.py).
 2. one at a time, 201: bench_intake (C, raw sockets) with one keep-alive client: p50/p99 from
    the first byte sent to the last byte of the 201.
 3. one at a time, POST -> card: a Python client posts one complaint, reads its 201 and waits
    until the observer (a real XMPP client in the room, c2s TCP) has the card naming it; the
    next only then. p50/p99 of both; the Python client adds its own ~0.1 ms to each.
 4. the bot's own summary dealerbot_intake_commit_seconds (phases 2-3: lone commits).
 5. load: bench_intake with 16 clients (durable complaints/s), all for D0001, while the
    observer counts the cards arriving in the room: their rate beside phase 1's relay rate.
Targets (issue 17): 201 p50 <= 0.6 ms, p99 <= 2 ms (<= 2x the raw commit); POST -> card p50 <=
1.5 ms; commit summary p50 <= 0.5 ms; >= 3,000 complaints/s; cards >= 0.8 x relay.
Prints one "key: value" line per figure; exit 1 when a complaint failed or a card is missing.
"""

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import dbot  # noqa: E402
from benchlib import machine_line, percentile  # noqa: E402
import xmpp  # noqa: E402

BOT_PW = "bench-bot-pw"
ACCOUNTS = {"dealerbot": BOT_PW, "observer": "observer-pw", "pusher-ws": "pusher-ws-pw",
            "observer-ws": "observer-ws-pw"}
ROOM = "dealer-d0001"
CARD_RE = re.compile(r"^(【新投诉】|New complaint )(C-\d+)")


def ms(seconds):
    return "%.3f" % (seconds * 1000)


def kv(key, value):
    print("%s: %s" % (key, value), flush=True)


def run_tool(args):
    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
    out = {}
    for line in p.stdout.splitlines():
        if ": " in line:
            k, v = line.split(": ", 1)
            out[k.strip()] = v.strip()
    return p.returncode, out, p.stdout + p.stderr


def complaint(n, run):
    return json.dumps({
        "external_id": "lat-%s-%d" % (run, n), "dealer": "D0001", "category": "sales",
        "priority": "normal", "customer": {"name": "张三", "phone": "13800000000"},
        "summary": "新车交付延期两周，销售顾问不回电话 (latency %d)" % n},
        ensure_ascii=False).encode("utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--single", type=int, default=1000, help="phase 2 complaints (default 1000)")
    ap.add_argument("--cards", type=int, default=300, help="phase 3 complaints (default 300)")
    ap.add_argument("--load", type=int, default=20000, help="phase 5 complaints (default 20000)")
    ap.add_argument("--relay", type=int, default=20000, help="phase 1 messages (default 20000)")
    ap.add_argument("--floor", type=int, default=1000, help="phase 0 commits (default 1000)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    a = ap.parse_args()
    bindir = os.environ.get("DBOT_BENCH_DIR", "")
    bench_intake = os.path.join(bindir, "bench_intake")
    bench_commit = os.path.join(bindir, "bench_commit")
    for f in (bench_intake, bench_commit):
        if not os.access(f, os.X_OK):
            print("bench_latency: %s is not built (set DBOT_BENCH_DIR)" % f, file=sys.stderr)
            return 2

    print(machine_line())
    p = xmpp.Prosody()
    b = None
    ok = True
    try:
        p.start()
        p.register_many(ACCOUNTS)

        # ---- 1. Prosody's relay over WebSocket ----
        ws_pusher = p.client("pusher-ws", ACCOUNTS["pusher-ws"], transport="ws")
        ws_observer = p.client("observer-ws", ACCOUNTS["observer-ws"], transport="ws")
        ws_pusher.join(p.room("relay-lat"), "pusher")
        ws_observer.join(p.room("relay-lat"), "observer")
        relay = xmpp.relay_rate(ws_pusher, ws_observer, "relay-lat", n=a.relay)
        ws_pusher.disconnect()
        ws_observer.disconnect()
        kv("relay (ws) msg/s", "%.0f (%d messages, lost %d)" % (relay["rate"], relay["n"],
                                                               relay["lost"]))

        # ---- the bot ----
        chat = ('platform = "xmpp"; xmpp = { url = "%s"; jid = "dealerbot@localhost";'
                ' password = "%s"; muc_service = "%s"; }; rate_global = 100000;'
                ' rate_room = 100000;' % (p.ws_url, BOT_PW, p.muc))
        b = dbot.Bot("latency", dealers_csv="code,name,region,sales_volume\nD0001,Bench,East,100\n",
                     people_csv="jid,dealer,role,name,language\n"
                                "observer@localhost,D0001,agent,Observer,en\n", chat=chat)

        # ---- 0. the floor, in the bot's directory (same disk) ----
        rc, fl, text = run_tool([bench_commit, b.dir, str(a.floor)])
        if rc != 0:
            print(text, file=sys.stderr)
            return 1
        kv("raw commit (WAL, synchronous=FULL, 1 row) p50 ms",
           "%.3f" % (int(fl["commit p50 us"]) / 1000))
        kv("raw commit p99 ms", "%.3f" % (int(fl["commit p99 us"]) / 1000))
        kv("raw 4 kB write + fdatasync p50 ms", "%.3f" % (int(fl["fdatasync p50 us"]) / 1000))

        b.start()
        b.wait_log("session ready", 30)
        b.wait_log("member(s) added", 30)
        observer = p.client("observer", ACCOUNTS["observer"])
        observer.join(p.room(ROOM), "observer")
        observer.drain(0.2)
        token_file = os.path.join(b.dir, "api.token")
        url = "http://127.0.0.1:%d" % b.port
        run = "%x%d" % (int(time.time()), os.getpid())

        # ---- 2. one at a time, 201 ----
        rc, out, text = run_tool([bench_intake, "--url", url, "--token-file", token_file,
                                  "--clients", "1", "--count", str(a.single), "--dealers", "1",
                                  "--run-id", "single-" + run, "--pid", str(b.proc.pid)])
        if rc != 0:
            print(text, file=sys.stderr)
            ok = False
        kv("one at a time: 201 p50 ms", out.get("latency p50 ms"))
        kv("one at a time: 201 p99 ms", out.get("latency p99 ms"))
        kv("one at a time: bot cpu us/complaint", out.get("bot cpu us/req"))

        # the cards of phase 2 go by first
        seen = {}

        def hook(m):
            if m.body is not None:
                k = CARD_RE.match(m.body)
                if k:
                    seen[k.group(2)] = time.monotonic()
                    return True
            return False

        observer.message_hook = hook
        deadline = time.monotonic() + 60
        while len(seen) < a.single and time.monotonic() < deadline:
            observer.pump(0.05)
        if len(seen) < a.single:
            kv("phase 2 cards missing", a.single - len(seen))
            ok = False

        # ---- 3. one at a time, POST -> card ----
        conn = http.client.HTTPConnection("127.0.0.1", b.port, timeout=10)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        headers = {"Authorization": "Bearer " + b.token, "Content-Type": "application/json"}
        t201, tcard = [], []
        for i in range(a.cards):
            body = complaint(i, run)
            t0 = time.monotonic()
            conn.request("POST", "/api/v1/complaints", body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            t1 = time.monotonic()
            if r.status != 201:
                kv("unexpected answer", "%d %s" % (r.status, data[:200]))
                ok = False
                break
            cid = json.loads(data)["id"]
            end = t1 + 10
            while cid not in seen and time.monotonic() < end:
                observer.pump(0.01)
            if cid not in seen:
                kv("card missing", cid)
                ok = False
                break
            t201.append(t1 - t0)
            tcard.append(seen[cid] - t0)
        conn.close()
        t201.sort()
        tcard.sort()
        kv("one at a time (python client): 201 p50 ms", ms(percentile(t201, 50)))
        kv("one at a time (python client): 201 p99 ms", ms(percentile(t201, 99)))
        kv("one at a time: POST -> card in the room p50 ms", ms(percentile(tcard, 50)))
        kv("one at a time: POST -> card in the room p99 ms", ms(percentile(tcard, 99)))

        # ---- 4. the bot's commit summary (lone commits so far) ----
        m = b.metrics()
        for name, q in (("p50", "0.5"), ("p90", "0.9"), ("p99", "0.99")):
            kv("bot commit summary %s ms" % name,
               ms(m['dealerbot_intake_commit_seconds{quantile="%s"}' % q]))

        # ---- 5. load: 16 clients, cards into one room ----
        proc = subprocess.Popen([bench_intake, "--url", url, "--token-file", token_file,
                                 "--clients", "16", "--count", str(a.load), "--dealers", "1",
                                 "--run-id", "load-" + run], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        arrivals = []

        def load_hook(m):
            if m.body is not None and CARD_RE.match(m.body):
                arrivals.append(time.monotonic())
                return True
            return False

        observer.message_hook = load_hook
        deadline = time.monotonic() + 600
        while len(arrivals) < a.load and time.monotonic() < deadline:
            observer.pump(0.05)
        observer.message_hook = None
        text = proc.communicate(timeout=600)[0]
        out = {}
        for line in text.splitlines():
            if ": " in line:
                k, v = line.split(": ", 1)
                out[k.strip()] = v.strip()
        if proc.returncode != 0:
            print(text, file=sys.stderr)
            ok = False
        kv("load (16 clients): durable complaints/s", out.get("complaints/s"))
        kv("load (16 clients): 201 p50 ms", out.get("latency p50 ms"))
        kv("load (16 clients): 201 p99 ms", out.get("latency p99 ms"))
        got = len(arrivals)
        rate = (got - 1) / (arrivals[-1] - arrivals[0]) if got > 1 else 0.0
        kv("load: cards in the room", "%d/%d, %.0f cards/s first to last" % (got, a.load, rate))
        kv("load: cards/s / relay msg/s", "%.2f (target >= 0.8)" % (rate / relay["rate"]))
        if got < a.load:
            ok = False
        b.stop()
    finally:
        if b:
            b.cleanup(keep=a.keep)
        p.cleanup(keep=a.keep)
    kv("result", "ok" if ok else "FAILED (a complaint failed or a card is missing)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
