#!/usr/bin/env python3
"""bench_chat.py — issue 3's chat benchmark against a private Prosody and a private ejabberd
on loopback (--servers; both by default, one after the other, each with all the phases; on
ejabberd every account of the benchmark is exempt from the c2s shaper, as README tells
operators to exempt the bot, or the relay would measure the shaper).

Run through scripts/bench_chat.sh (it builds the release binary and sets DEALERBOT_BIN).
The phases, per server (named "Prosody" below):

 1. relay: the raw relay rate of Prosody, measured with two plain XMPP clients (the harness of
    tests/integration/xmpp.py) in one room: one pushes N messages as fast as the socket takes
    them, the other counts them. Twice: over c2s TCP, and over WebSocket (RFC 7395), the bot's
    transport, which costs Prosody more per stanza (it unmasks every client frame and frames
    every stanza it sends).
 2. push:  the bot with its rate limits lifted pushes N outbox rows (written in one transaction
    while it runs) into a dealer room; the same (TCP) observer client counts them. Rate =
    messages at the observer from the first to the last; the ratio to the WebSocket relay of
    phase 1 is the issue's figure (target >= 0.8), like for like on Prosody's side; the ratio
    to the TCP relay is printed beside it. The bot's confirm latency (chat_send to the server's confirmation) comes
    from its /metrics: under this burst it is bounded by the send window, not by the network.
 3. paced: the bot with the default limits (100/s overall, 10/s per room) sends M messages
    spread over 10 rooms: the confirm latency of messages that do not queue behind others.
 4. rooms (stretch): a bot with K dealers, so K rooms to join, create and configure: time until
    the session is ready, bot RSS and Prosody RSS afterwards.
Prints one line per figure; exits 1 if a message was lost or doubled.
"""

import argparse
import os
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import dbot  # noqa: E402
from benchlib import cpu_seconds, fmt_ms, machine_line, rss_kb  # noqa: E402
import xmpp  # noqa: E402

BOT_PW = "bench-bot-pw"
ACCOUNTS = {"dealerbot": BOT_PW, "pusher": "pusher-pw", "observer": "observer-pw",
            "pusher-ws": "pusher-ws-pw", "observer-ws": "observer-ws-pw"}


def make_bot(p, name, dealers, people, rate_global, rate_room):
    chat = ('platform = "xmpp"; xmpp = { url = "%s"; jid = "dealerbot@localhost";'
            ' password = "%s"; muc_service = "%s"; }; rate_global = %d; rate_room = %d;'
            % (p.ws_url, BOT_PW, p.muc, rate_global, rate_room))
    return dbot.Bot(name, dealers_csv=dealers, people_csv=people, chat=chat)


def enqueue(bot, rows):
    """rows: (target, body) pairs, written in one transaction as the engine writes them."""
    con = sqlite3.connect(os.path.join(bot.dir, "dealerbot.db"), timeout=30)
    try:
        with con:
            now = int(time.time())
            con.executemany(
                "INSERT INTO outbox (created_at, channel, target, body, stanza_id)"
                " VALUES (?, 'group', ?, ?, ?)",
                [(now, t, b, "bench-%d-%d" % (os.getpid(), i)) for i, (t, b) in enumerate(rows)])
    finally:
        con.close()


def pending(bot):
    con = sqlite3.connect(os.path.join(bot.dir, "dealerbot.db"), timeout=30)
    try:
        return con.execute("SELECT count(*) FROM outbox WHERE state <> 'delivered'").fetchone()[0]
    finally:
        con.close()


def count_at(client, tag, n, timeout):
    """Pumps `client` until n messages whose body starts with tag arrived; returns
    (first_arrival, last_arrival, count, doubled)."""
    seen = {}
    first = [None]

    def hook(m):
        if m.body is not None and m.body.startswith(tag):
            if first[0] is None:
                first[0] = time.monotonic()
            seen[m.id] = seen.get(m.id, 0) + 1
            return True
        return False

    client.message_hook = hook
    last = None
    deadline = time.monotonic() + timeout
    try:
        while len(seen) < n and time.monotonic() < deadline:
            client.pump(0.05)
        last = time.monotonic()
    finally:
        client.message_hook = None
    return first[0], last, len(seen), sum(c - 1 for c in seen.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=20000, help="phase 1 and 2 (default 20000)")
    ap.add_argument("--paced", type=int, default=1000, help="phase 3 messages (default 1000)")
    ap.add_argument("--rooms", type=int, default=5000, help="phase 4 rooms; 0 skips (default 5000)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("--servers", default="prosody,ejabberd",
                    help="comma-separated: prosody, ejabberd (default both)")
    a = ap.parse_args()

    print(machine_line())
    ok = True
    for kind in a.servers.split(","):
        print("==== %s ====" % kind)
        if not run(kind, a):
            ok = False
    print("result: %s" % ("ok" if ok else "FAILED (lost, doubled or unconfirmed messages)"))
    return 0 if ok else 1


def run(kind, a):
    if kind == "ejabberd":
        p = xmpp.Ejabberd(unshaped=list(ACCOUNTS))
    else:
        p = xmpp.server_class(kind)()
    bots = []
    ok = True
    try:
        p.start()
        p.register_many(ACCOUNTS)
        pusher = p.client("pusher", ACCOUNTS["pusher"])
        observer = p.client("observer", ACCOUNTS["observer"])

        # ---- 1. raw relay: plain clients over TCP, then over WebSocket ----
        pusher.join(p.room("relay-bench"), "pusher")
        observer.join(p.room("relay-bench"), "observer")
        pcpu0 = cpu_seconds(p.pid)
        r_tcp = xmpp.relay_rate(pusher, observer, "relay-bench", n=a.messages)
        pcpu1 = cpu_seconds(p.pid)
        print("relay (tcp): %d messages in %.2f s = %.0f msg/s at the receiver (lost %d);"
              " %s CPU %.0f %% of a core"
              % (r_tcp["n"], r_tcp["seconds"], r_tcp["rate"], r_tcp["lost"], p.kind,
                 100 * (pcpu1 - pcpu0) / r_tcp["seconds"]))
        observer.leave(p.room("relay-bench"))
        ws_pusher = p.client("pusher-ws", ACCOUNTS["pusher-ws"], transport="ws")
        ws_observer = p.client("observer-ws", ACCOUNTS["observer-ws"], transport="ws")
        ws_pusher.join(p.room("relay-bench-ws"), "pusher")
        ws_observer.join(p.room("relay-bench-ws"), "observer")
        pcpu0 = cpu_seconds(p.pid)
        r = xmpp.relay_rate(ws_pusher, ws_observer, "relay-bench-ws", n=a.messages)
        pcpu1 = cpu_seconds(p.pid)
        print("relay (ws):  %d messages in %.2f s = %.0f msg/s at the receiver (lost %d);"
              " %s CPU %.0f %% of a core"
              % (r["n"], r["seconds"], r["rate"], r["lost"], p.kind,
                 100 * (pcpu1 - pcpu0) / r["seconds"]))
        if r_tcp["lost"] or r["lost"]:
            ok = False
        ws_pusher.disconnect()
        ws_observer.disconnect()

        # ---- 2. bot push, limits lifted ----
        people = "jid,dealer,role,name,language\nobserver@localhost,BENCH1,agent,Observer,en\n"
        b = make_bot(p, "push", "code,name,region,sales_volume\nBENCH1,Bench,East,100\n",
                     people, 100000, 100000)
        bots.append(b)
        b.start()
        b.wait_log("session ready", 30)
        b.wait_log("member(s) added", 30)
        observer.join(p.room("dealer-bench1"), "observer")
        observer.drain(0.2)
        tag = "push-%s " % xmpp.new_id()
        pad = "x" * 30
        cpu0 = cpu_seconds(b.proc.pid)
        pcpu0 = cpu_seconds(p.pid)
        enqueue(b, [("dealer-bench1", "%s%06d %s" % (tag, i, pad)) for i in range(a.messages)])
        t0 = time.monotonic()
        t_first, t_last, got, doubled = count_at(observer, tag, a.messages, 120)
        cpu1 = cpu_seconds(b.proc.pid)
        pcpu1 = cpu_seconds(p.pid)
        deadline = time.monotonic() + 30
        while pending(b) and time.monotonic() < deadline:
            time.sleep(0.1)
        m = b.metrics()
        rate = (got - 1) / (t_last - t_first) if got > 1 else 0.0
        print("push: %d/%d messages at the observer, %d doubled, %.2f s first to last = %.0f msg/s"
              % (got, a.messages, doubled, t_last - t_first, rate))
        print("push/relay ratio: %.2f against the WebSocket relay (target >= 0.8);"
              " %.2f against the TCP relay" % (rate / r["rate"], rate / r_tcp["rate"]))
        print("push: bot CPU %.1f us/message, %d unconfirmed in the outbox after the run;"
              " %s CPU %.0f %% of a core (the bot's stream is WebSocket)"
              % ((cpu1 - cpu0) * 1e6 / max(got, 1), pending(b), p.kind,
                 100 * (pcpu1 - pcpu0) / max(t_last - t0, 1e-3)))
        print("push: confirm latency under the burst (window %s): p50 %s p90 %s p99 %s max %s"
              % ("1024", fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="0.5"}']),
                 fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="0.9"}']),
                 fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="0.99"}']),
                 fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="1"}'])))
        print("push: bot RSS %d kB" % rss_kb(b.proc.pid))
        if got != a.messages or doubled or pending(b):
            ok = False
        b.stop()
        observer.leave(p.room("dealer-bench1"))

        # ---- 3. paced, default limits ----
        dealers = "code,name,region,sales_volume\n" + "".join(
            "P%03d,Paced %d,East,100\n" % (i, i) for i in range(10))
        b = make_bot(p, "paced", dealers, None, 100, 10)
        bots.append(b)
        b.start()
        b.wait_log("session ready", 30)
        enqueue(b, [("dealer-p%03d" % (i % 10), "paced %d" % i) for i in range(a.paced)])
        deadline = time.monotonic() + a.paced / 50 + 30
        while pending(b) and time.monotonic() < deadline:
            time.sleep(0.2)
        m = b.metrics()
        print("paced (rate_global 100/s, rate_room 10/s, 10 rooms): %d messages,"
              " confirm latency p50 %s p90 %s p99 %s max %s, %d unconfirmed"
              % (a.paced, fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="0.5"}']),
                 fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="0.9"}']),
                 fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="0.99"}']),
                 fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="1"}']), pending(b)))
        if pending(b):
            ok = False
        b.stop()

        # ---- 4. many rooms ----
        if a.rooms:
            dealers = "code,name,region,sales_volume\n" + "".join(
                "R%05d,Room %d,East,100\n" % (i, i) for i in range(a.rooms))
            people = ("jid,dealer,role,name,language\n"
                      "observer@localhost,brand,supervisor,Observer,en\n")
            b = make_bot(p, "rooms", dealers, people, 100000, 100000)
            bots.append(b)
            t0 = time.monotonic()
            b.start()
            t_ready = b.wait_log("session ready", 600)
            m = b.metrics()
            print("rooms: %d dealer rooms (+2) joined, created and configured in %.1f s;"
                  " bot RSS %d kB (metrics %.0f kB), %s RSS %d kB"
                  % (a.rooms, t_ready - t0, rss_kb(b.proc.pid),
                     m["process_resident_memory_bytes"] / 1024, p.kind, rss_kb(p.pid)))
            time.sleep(2)
            print("rooms: bot RSS %d kB after 2 s idle, CPU %.2f s in total"
                  % (rss_kb(b.proc.pid), cpu_seconds(b.proc.pid)))
            b.stop()
    finally:
        for b in bots:
            b.cleanup(keep=a.keep)
        p.cleanup(keep=a.keep)
    return ok


if __name__ == "__main__":
    sys.exit(main())
