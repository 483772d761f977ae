#!/usr/bin/env python3
"""bench_commands.py — issue 4's chat command benchmark: the /ack round trip through a private
Prosody on loopback.

Run through scripts/bench_commands.sh (it builds the release binary and sets DEALERBOT_BIN).
A command's round trip is: a dealer person types "/ack C-n" in their dealer room (a plain XMPP
client of tests/integration/xmpp.py), Prosody relays it to the bot, the bot checks the sender's
real JID, acknowledges the ticket in one store transaction and writes its reply to the outbox,
the outbox sends it, Prosody relays it back into the room. Time = from handing the command to
the client's socket until the reply (the ack_ok text, "C-n 已受理，负责人：…") is parsed.

The bot's outgoing rate limits are lifted (rate_global = rate_room = 100000) so that the
limiter, which paces chat output on purpose, does not dominate what is measured.
Two phases, one Prosody, one bot each:

 1. latency:    one dealer, one person in the dealer room; N complaints are filed first over
                the intake API (their cards are waited for in the room), then the person sends
                "/ack C-n" one at a time, each as soon as the previous reply arrived.
 2. throughput: D dealers (D rooms, one person each, each in their room), M complaints each;
                all D type at once, closed loop (each sends its next /ack as soon as the reply
                to the previous one arrived), driven from this one process with select() over
                the D client sockets. Rate = replies from the first send to the last reply.
Prints one line per figure; exits 1 if a command got no reply (or a wrong one), or if a
ticket is not acknowledged afterwards.

Prosody keeps Nagle's algorithm on for its sockets by default (server_epoll's nagle = true).
A command and its reply form a request/answer pattern: Prosody reflects the command to the
sender, then writes the bot's reply while that reflection is not yet ACKed, and the client
delays its ACK (about 40 ms on Linux), so each round trip can wait ~40 ms on the network stack
whatever the bot does. --prosody-nodelay runs Prosody with network_settings = { nagle = false }
to show the round trip without that stall.
"""

import argparse
import collections
import os
import select
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import dbot  # noqa: E402
from benchlib import (cpu_seconds, fmt_ms, machine_line, own_cpu_seconds,  # noqa: E402
                      percentile, rss_kb)
import xmpp  # noqa: E402
from test_lifecycle import prefix  # noqa: E402  (templates rendered the way the bot does)

BOT_PW = "bench-bot-pw"
BOT_NICK = "dealerbot"          # chat.xmpp.nick's default
RATE = 100000                   # rate_global and rate_room: the outgoing limiter lifted
REPLY_TIMEOUT = 10.0            # a command without a reply after this long counts as lost
CARD = prefix("card")           # "【新投诉】": every card starts with it


def make_bot(p, name, n_dealers):
    """A bot with n_dealers dealers (codes NAME00, NAME01, ...: each phase its own, so its rooms
    are new on the shared Prosody) and one manager each (nameNN@localhost, language zh-CN),
    outgoing rate limits lifted. Returns (bot, [(code, user, display name)])."""
    staff = [("%s%02d" % (name.upper()[:3], i), "%s%02d" % (name, i), "经理%02d" % i)
             for i in range(n_dealers)]
    dealers = "code,name,region,sales_volume\n" + "".join(
        "%s,Bench Motors %d,East,100\n" % (code, i) for i, (code, _, _) in enumerate(staff))
    people = "jid,dealer,role,name,language\n" + "".join(
        "%s@localhost,%s,manager,%s,zh-CN\n" % (u, code, nm) for code, u, nm in staff)
    chat = ('platform = "xmpp"; xmpp = { url = "%s"; jid = "dealerbot@localhost";'
            ' password = "%s"; muc_service = "%s"; }; rate_global = %d; rate_room = %d;'
            % (p.ws_url, BOT_PW, p.muc, RATE, RATE))
    return dbot.Bot(name, dealers_csv=dealers, people_csv=people, chat=chat), staff


def start_bot(b, n_rooms):
    """Starts the bot and waits until its session is ready and it has set the member list of
    every dealer room (before that, a person's join is refused: the rooms are members-only)."""
    b.start()
    b.wait_log("session ready", 60)
    b.wait_log("member(s) added", 60, count=n_rooms)


def join(client, room, nick, timeout=30.0):
    """Joins; a "registration-required" refusal is retried until the timeout: the bot's
    affiliation change may still be on its way through Prosody when its log line appears."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.join(room, nick)
        except xmpp.JoinRefused as e:
            if e.condition != "registration-required" or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def pump_ready(clients, wait=0.0):
    """Handles whatever has arrived on any of the clients (select() over their sockets)."""
    by_sock = {c.sock: c for c in clients}
    r, _, _ = select.select(list(by_sock), [], [], wait)
    for s in r:
        if not by_sock[s].pump(0):
            raise xmpp.ConnectionClosed("%s: connection closed" % by_sock[s].bare)


def file_complaints(b, code, n, tag, clients):
    """Files n complaints for dealer `code` on one keep-alive connection; keeps the clients'
    sockets drained meanwhile (the cards come in while we file). Returns the ticket ids."""
    conn = b.connect()
    ids = []
    try:
        for i in range(n):
            r = b.post("/api/v1/complaints", {
                "external_id": "%s-%s-%d" % (tag, code, i), "dealer": code,
                "category": "after-sales", "priority": "normal",
                "customer": {"name": "张三", "phone": "13800000000"},
                "summary": "车辆异响 %d" % i}, conn=conn)
            if r.status != 201:
                raise dbot.TestFailure("intake %s #%d: %r" % (code, i, r))
            ids.append(r.json["id"])
            pump_ready(clients)
    finally:
        conn.close()
    return ids


def wait_quiet(b, timeout=60.0):
    """Waits until every outbox row (the cards) is confirmed by the server, so nothing from the
    set-up is still in flight when the timing starts."""
    deadline = time.monotonic() + timeout
    while b.metrics()["dealerbot_outbox_pending"] > 0:
        if time.monotonic() > deadline:
            raise dbot.TestFailure("outbox not empty %.0f s after the cards" % timeout)
        time.sleep(0.05)


def unacknowledged(b, codes):
    """Tickets of these dealers still 'new' or 'notified' (each /ack should have moved one)."""
    left = 0
    for code in codes:
        for st in ("new", "notified"):
            r = b.get("/api/v1/complaints?dealer=%s&state=%s" % (code, st))
            if r.status != 200:
                raise dbot.TestFailure("GET complaints %s %s: %r" % (code, st, r))
            left += r.json["count"]
    return left


# ---- the typing person ----

class Typist:
    """One dealer person in their dealer room, typing "/ack C-n" for their tickets one at a
    time: the next command goes out as soon as the bot's reply to the previous one arrived
    (or REPLY_TIMEOUT passed: then the command counts as missing). Everything the room says is
    consumed by the message hook, so nothing piles up in the client's inbox."""

    def __init__(self, client, room, name, tickets):
        self.client, self.room, self.name = client, room, name
        self.todo = collections.deque(tickets)
        self.cards = 0              # cards seen in the room (set-up)
        self.current = None         # ticket id of the command awaiting its reply
        self.t_sent = 0.0
        self.t_last = 0.0           # arrival of the latest reply
        self.latencies = []         # seconds, one per answered command
        self.missing = []           # ids whose command got no reply in time
        self.wrong = []             # replies to the current id that were not ack_ok
        self.other = []             # anything else the bot said in the room
        client.message_hook = self.on_message

    def on_message(self, m):
        if m.room != self.room or m.type != "groupchat":
            return False            # not ours (a direct message, an invitation): inbox
        if m.nick != BOT_NICK or m.body is None:
            return True             # our own command reflected by the room, subjects
        if m.body.startswith(CARD):
            self.cards += 1
        elif self.current is not None and m.body.startswith(self.current + " "):
            if m.body.startswith(prefix("ack_ok", id=self.current, owner=self.name)):
                self.latencies.append(m.time - self.t_sent)    # m.time: when it was parsed
            else:
                self.wrong.append(m.body)
            self.t_last = m.time
            self.current = None
        else:
            self.other.append(m.body)
        return True

    @property
    def done(self):
        return self.current is None and not self.todo

    def step(self, now):
        """Sends the next command when the previous one is answered (or given up on)."""
        if self.current is not None and now - self.t_sent > REPLY_TIMEOUT:
            self.missing.append(self.current)
            self.current = None
        if self.current is None and self.todo:
            self.current = self.todo.popleft()
            self.t_sent = time.monotonic()
            self.client.send_groupchat(self.room, "/ack " + self.current)


def wait_cards(typists, want, timeout):
    """Pumps until every typist saw `want[i]` cards in their room."""
    deadline = time.monotonic() + timeout
    while any(t.cards < w for t, w in zip(typists, want)):
        if time.monotonic() > deadline:
            got = sum(t.cards for t in typists)
            raise dbot.TestFailure("only %d of %d cards arrived within %.0f s"
                                   % (got, sum(want), timeout))
        pump_ready([t.client for t in typists], 0.05)


def closed_loop(typists):
    """All typists type at once, each one command at a time, from this one process: select()
    over their sockets, pump what is readable, send the next command of whoever got a reply.
    Returns (t_first_send, t_last_reply)."""
    by_sock = {t.client.sock: t for t in typists}
    t0 = time.monotonic()
    for t in typists:
        t.step(t0)
    while not all(t.done for t in typists):
        r, _, _ = select.select(list(by_sock), [], [], 0.2)
        for s in r:
            if not by_sock[s].client.pump(0):
                raise xmpp.ConnectionClosed("%s: connection closed" % by_sock[s].client.bare)
        now = time.monotonic()
        for t in typists:
            t.step(now)
    return t0, max([t.t_last for t in typists] + [t0])


def summary(typists):
    """(sorted latencies, answered, missing, wrong, other) over all typists."""
    lat = sorted(x for t in typists for x in t.latencies)
    return (lat, len(lat), sum(len(t.missing) for t in typists),
            sum(len(t.wrong) for t in typists), sum(len(t.other) for t in typists))


def report_problems(label, typists):
    for t in typists:
        if t.missing:
            print("%s: %s: no reply to /ack of %s" % (label, t.client.bare,
                                                     ", ".join(t.missing[:5])))
        for body in t.wrong[:3]:
            print("%s: %s: wrong reply: %s" % (label, t.client.bare, body.splitlines()[0]))
        for body in t.other[:3]:
            print("%s: %s: unexpected bot message: %s" % (label, t.client.bare,
                                                         body.splitlines()[0]))


# ---- the phases ----

def phase(p, label, n_dealers, per_dealer, keep=False):
    """Sets up a bot with n_dealers dealer rooms, one person in each, per_dealer complaints per
    dealer (cards waited for, outbox empty), runs the closed loop and prints the figures.
    Returns True when every command got its ack_ok reply and every ticket is acknowledged."""
    b, staff = make_bot(p, label, n_dealers)
    try:
        p.register_many({u: u + "-pw" for _, u, _ in staff})
        start_bot(b, n_dealers)
        typists = []
        for code, user, name in staff:
            c = p.client(user, user + "-pw")
            room = p.room("dealer-" + code.lower())
            join(c, room, user)
            typists.append(Typist(c, room, name, []))
        clients = [t.client for t in typists]

        t0 = time.monotonic()
        tag = xmpp.new_id()
        for (code, _, _), t in zip(staff, typists):
            t.todo.extend(file_complaints(b, code, per_dealer, tag, clients))
        t_filed = time.monotonic()
        wait_cards(typists, [per_dealer] * n_dealers, 60 + per_dealer * n_dealers / 50)
        t_cards = time.monotonic()
        wait_quiet(b)
        print("%s: %d dealer room(s), one person each, %d complaint(s) each: filed over the API"
              " in %.2f s, all cards in the rooms %.2f s later"
              % (label, n_dealers, per_dealer, t_filed - t0, t_cards - t_filed))

        cpu0, pcpu0, me0 = cpu_seconds(b.proc.pid), cpu_seconds(p.pid), own_cpu_seconds()
        t_first, t_last = closed_loop(typists)
        cpu1, pcpu1, me1 = cpu_seconds(b.proc.pid), cpu_seconds(p.pid), own_cpu_seconds()
        lat, answered, missing, wrong, other = summary(typists)
        secs = max(t_last - t_first, 1e-9)
        total = n_dealers * per_dealer

        if n_dealers == 1:
            print("%s: %d/%d /ack answered one at a time, round trip p50 %s p90 %s p99 %s max %s"
                  % (label, answered, total, fmt_ms(percentile(lat, 50)),
                     fmt_ms(percentile(lat, 90)), fmt_ms(percentile(lat, 99)),
                     fmt_ms(lat[-1] if lat else float("nan"))))
        else:
            print("%s: %d typists closed loop, %d/%d /ack answered in %.2f s = %.0f commands/s"
                  % (label, n_dealers, answered, total, secs, answered / secs))
            print("%s: round trip under that load p50 %s p90 %s p99 %s max %s"
                  % (label, fmt_ms(percentile(lat, 50)), fmt_ms(percentile(lat, 90)),
                     fmt_ms(percentile(lat, 99)), fmt_ms(lat[-1] if lat else float("nan"))))
        m = b.metrics()
        print("%s: bot CPU %.1f us/command (%.0f %% of a core); Prosody %.0f %%, this driver"
              " %.0f %% of a core; bot RSS %d kB; limiter waits %d"
              % (label, (cpu1 - cpu0) * 1e6 / max(answered, 1), 100 * (cpu1 - cpu0) / secs,
                 100 * (pcpu1 - pcpu0) / secs, 100 * (me1 - me0) / secs, rss_kb(b.proc.pid),
                 m["dealerbot_chat_throttled_total"]))
        left = unacknowledged(b, [code for code, _, _ in staff])
        report_problems(label, typists)
        if missing or wrong or other or left:
            print("%s: %d without reply, %d wrong replies, %d other bot messages,"
                  " %d tickets not acknowledged" % (label, missing, wrong, other, left))
        for c in clients:
            c.disconnect()
        b.stop()
        return not (missing or wrong or left or answered != total)
    finally:
        b.cleanup(keep=keep)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--commands", type=int, default=1000,
                    help="phase 1: complaints, one /ack each (default 1000)")
    ap.add_argument("--dealers", type=int, default=20,
                    help="phase 2: dealers = rooms = typists; 0 skips (default 20)")
    ap.add_argument("--per-dealer", type=int, default=50,
                    help="phase 2: complaints per dealer (default 50)")
    ap.add_argument("--prosody-nodelay", action="store_true",
                    help="Prosody with network_settings = { nagle = false } (TCP_NODELAY)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    a = ap.parse_args()

    print(machine_line())
    print("setup: bot chat config rate_global = rate_room = %d (the outgoing rate limiter"
          " lifted, so it does not dominate); reply timeout %.0f s" % (RATE, REPLY_TIMEOUT))
    print("setup: Prosody %s" % ("network_settings = { nagle = false } (TCP_NODELAY)"
                                 if a.prosody_nodelay else "default network settings (Nagle on)"))
    p = xmpp.Prosody(extra_config="network_settings = { nagle = false }"
                     if a.prosody_nodelay else "")
    ok = True
    try:
        p.start()
        p.register_many({"dealerbot": BOT_PW})
        if a.commands:
            ok = phase(p, "latency", 1, a.commands, a.keep) and ok
        if a.dealers:
            ok = phase(p, "throughput", a.dealers, a.per_dealer, a.keep) and ok
    finally:
        p.cleanup(keep=a.keep)
    print("result: %s" % ("ok" if ok else "FAILED (commands without reply, wrong replies or"
                                          " tickets not acknowledged)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
