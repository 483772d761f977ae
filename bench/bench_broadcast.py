#!/usr/bin/env python3
"""bench_broadcast.py — a broadcast to 5,000 dealer rooms: time to deliver all at the configured rate.

Run through scripts/bench_broadcast.sh (it builds the release binary and sets DEALERBOT_BIN).
One private Prosody on loopback; for each rate setting (default: the built-in chat limits,
chat.rate_global = 100/s and chat.rate_room = 10/s, then rate_global = 1000/s to show that the
limit is what sets the time) a fresh bot with N dealers (one person each, so every room has a
recipient; accounts need not exist for room membership) and one brand staff person:

 1. provision: start, wait for "session ready" (every room joined, created and configured),
    then until the bot and Prosody are idle (member lists set), and join a few rooms with
    plain clients (the people of the first, middle and last dealer have real accounts);
 2. POST /api/v1/broadcasts {"audience": "all", "kind": "standard", "require_read": true}
    (the POST is timed: it writes N outbox rows and N recipient rows);
 3. poll /metrics until dealerbot_outbox_pending is 0 and dealerbot_chat_delivered_total grew
    by N: time to deliver all, achieved rate beside the configured one (and the floor the token
    bucket allows: a burst of rate_global, then rate_global per second), throttled count, the
    bot's CPU and RSS over the drain; then GET /api/v1/broadcasts/B-1 (recipients / delivered:
    delivered per person = the room message confirmed by the server), and whether the clients
    got the text.
Prints one line per figure; exits 1 unless all N were delivered in every run.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import dbot  # noqa: E402
from benchlib import cpu_seconds, fmt_ms, machine_line, rss_kb  # noqa: E402
import xmpp  # noqa: E402

BOT_PW = "bench-bot-pw"
DEFAULT_RATE_GLOBAL = 100   # chat.rate_global's built-in default (src/config/config.c)
DEFAULT_RATE_ROOM = 10      # chat.rate_room's
POLL = 0.1                  # seconds between /metrics polls during the drain


def code_of(i):
    return "BC%05d" % i


def person_of(i):
    return "p%05d" % i


def quiet(bot_pid, prosody_pid, timeout, window=1.0):
    """Waits until the bot and Prosody both used < 3 % of a core over `window` seconds; returns
    the seconds waited (None on timeout)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    b0, p0 = cpu_seconds(bot_pid), cpu_seconds(prosody_pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        b1, p1 = cpu_seconds(bot_pid), cpu_seconds(prosody_pid)
        if b1 - b0 < 0.03 * window and p1 - p0 < 0.03 * window:
            return time.monotonic() - t0
        b0, p0 = b1, p1
    return None


def wait_log(bot, text, timeout):
    """dbot.Bot.wait_log at a gentler pace (the log of 5,000 rooms is large): the monotonic
    time `text` was seen, within 0.2 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bot.proc is None or bot.proc.poll() is not None:
            raise dbot.TestFailure("the bot exited while waiting for %r" % text)
        if text in bot.log_text():
            return time.monotonic()
        time.sleep(0.2)
    raise dbot.TestFailure("no %r in the bot's log within %.0f s" % (text, timeout))


def run(p, a, rate_global, watch_idx, passwords, label):
    """One bot, one broadcast. Returns True when all were delivered."""
    n = a.dealers
    rate_room = DEFAULT_RATE_ROOM
    limits = ""
    if rate_global != DEFAULT_RATE_GLOBAL:
        limits = " rate_global = %d;" % rate_global
    chat = ('platform = "xmpp"; xmpp = { url = "%s"; jid = "dealerbot@localhost";'
            ' password = "%s"; muc_service = "%s"; };%s'
            % (p.ws_url, BOT_PW, p.muc, limits))
    dealers = "code,name,region,sales_volume\n" + "".join(
        "%s,Dealer %d,Region%d,100\n" % (code_of(i), i, i % 7) for i in range(n))
    people = "jid,dealer,role,name,language\n" + "".join(
        "%s@localhost,%s,agent,Person %d,en\n" % (person_of(i), code_of(i), i) for i in range(n))
    people += "staff@localhost,brand,supervisor,Brand Staff,en\n"
    pre = "%s:" % label
    print("%s chat.rate_global %d/s%s, chat.rate_room %d/s (default), %d dealers, %d people"
          % (pre, rate_global, " (default)" if not limits else "", rate_room, n, n + 1))
    sys.stdout.flush()

    b = dbot.Bot("bcast-%d" % rate_global, dealers_csv=dealers, people_csv=people, chat=chat)
    clients = []
    ok = False
    try:
        t0 = time.monotonic()
        b.start()
        pid = b.proc.pid
        t_ready = wait_log(b, "session ready", 900)
        settle = quiet(pid, p.pid, 600)
        t_quiet = time.monotonic()
        members = b.log_text().count("member(s) added")
        print("%s provision: %d dealer rooms (+2) joined and configured, session ready in %.1f s;"
              " bot and Prosody idle %.1f s later (%s); %d member list(s) set; bot RSS %d kB"
              % (pre, n, t_ready - t0, t_quiet - t_ready,
                 "settled" if settle is not None else "NOT settled within 600 s", members,
                 rss_kb(pid)))

        # plain clients in a few rooms, to see the text arrive
        tag = "bench-%s" % xmpp.new_id()
        text = ("Standard update %s: from next month every delivery inspection is recorded with"
                " photos of all four sides of the car." % tag)
        arrivals = {}
        joined = 0
        for i in watch_idx:
            c = p.client(person_of(i), passwords[person_of(i)])
            clients.append(c)
            room = p.room("dealer-%s" % code_of(i).lower())
            try:
                c.join(room, person_of(i), history=0)
            except xmpp.XmppError as e:
                print("%s client %s cannot join %s: %s" % (pre, person_of(i), room, e))
                continue
            c.drain(0.1)

            def hook(m, room=room):
                if m.body is not None and tag in m.body and m.room == room:
                    arrivals.setdefault(room, (time.monotonic(), m.body))
                    return True
                return False

            c.message_hook = hook
            joined += 1

        m0 = b.metrics()
        base_del = m0["dealerbot_chat_delivered_total"]
        base_sent = m0["dealerbot_chat_sent_total"]
        base_thr = m0["dealerbot_chat_throttled_total"]
        rss0 = rss_kb(pid)
        rss_max = rss0
        cpu0, pcpu0 = cpu_seconds(pid), cpu_seconds(p.pid)

        tp0 = time.monotonic()
        r = b.post("/api/v1/broadcasts", {"audience": "all", "kind": "standard", "text": text,
                                          "require_read": True}, timeout=600)
        tp1 = time.monotonic()
        j = r.json or {}
        print("%s POST /api/v1/broadcasts: %d in %s (id %s, state %s, rooms %s, recipients %s)"
              % (pre, r.status, fmt_ms(tp1 - tp0), j.get("id"), j.get("state"), j.get("rooms"),
                 j.get("recipients")))
        if r.status != 201:
            print("%s POST failed: %r" % (pre, r))
            return False
        bid = j["id"]

        floor = max(0.0, (n - rate_global) / rate_global)   # a full bucket, then the rate
        deadline = tp1 + 3 * n / rate_global + 120
        done_at = None
        m = m0
        polls = 0
        while time.monotonic() < deadline:
            m = b.metrics()
            polls += 1
            rss_max = max(rss_max, rss_kb(pid))
            for c in clients:
                c.pump(0)
            if (m["dealerbot_outbox_pending"] == 0
                    and m["dealerbot_chat_delivered_total"] - base_del >= n):
                done_at = time.monotonic()
                break
            time.sleep(POLL)
        t_end = time.monotonic()
        cpu1, pcpu1 = cpu_seconds(pid), cpu_seconds(p.pid)
        rss1 = rss_kb(pid)
        delivered = int(m["dealerbot_chat_delivered_total"] - base_del)
        sent = int(m["dealerbot_chat_sent_total"] - base_sent)
        throttled = int(m["dealerbot_chat_throttled_total"] - base_thr)
        pending = int(m["dealerbot_outbox_pending"])
        span = t_end - tp0
        if done_at is not None:
            print("%s deliver all: %d/%d room messages confirmed, outbox empty, %.2f s after the"
                  " POST began (%.2f s after its answer; polled every %.1f s)"
                  % (pre, delivered, n, done_at - tp0, done_at - tp1, POLL))
        else:
            print("%s deliver all: NOT DONE after %.1f s: %d/%d confirmed, %d pending in the outbox"
                  % (pre, span, delivered, n, pending))
        rate = delivered / span if span > 0 else 0.0
        print("%s rate: achieved %.1f msg/s vs configured %d/s overall (%d/s per room) = %.2f of"
              " the limit; token-bucket floor %.1f s (burst %d, then %d/s) vs %.2f s measured"
              % (pre, rate, rate_global, rate_room, rate / rate_global, floor, rate_global,
                 rate_global, span))
        print("%s throttled: %d (times the outbox waited for the rate limits); sent %d"
              " (%d resends)" % (pre, throttled, sent, max(0, sent - delivered)))
        print("%s bot during the drain: CPU %.2f s = %.1f %% of a core (%.0f us/message, %d"
              " /metrics polls included); RSS %d kB before, %d kB max, %d kB after; Prosody CPU"
              " %.1f %% of a core"
              % (pre, cpu1 - cpu0, 100 * (cpu1 - cpu0) / span,
                 (cpu1 - cpu0) * 1e6 / max(delivered, 1), polls, rss0, rss_max, rss1,
                 100 * (pcpu1 - pcpu0) / span))
        print("%s confirm latency: p50 %s p90 %s p99 %s max %s"
              % (pre, fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="0.5"}']),
                 fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="0.9"}']),
                 fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="0.99"}']),
                 fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="1"}'])))

        # the per-person view: delivered = the room message that reached them was confirmed
        counts = {}
        tg0 = time.monotonic()
        g = None
        while time.monotonic() < tg0 + 10:
            g = b.get("/api/v1/broadcasts/%s" % bid, timeout=60)
            counts = (g.json or {}).get("counts", {})
            if g.status != 200 or counts.get("delivered") == counts.get("recipients"):
                break
            time.sleep(0.2)
        tg1 = time.monotonic()
        print("%s GET /api/v1/broadcasts/%s: %d, recipients %s, delivered %s, read %s"
              " (%d bytes; last GET %s)"
              % (pre, bid, g.status, counts.get("recipients"), counts.get("delivered"),
                 counts.get("read"), len(g.body), fmt_ms(tg1 - tg0) if tg1 - tg0 < 0.5
                 else "%.1f s of polling" % (tg1 - tg0)))

        t_wait = time.monotonic() + 5
        while len(arrivals) < joined and time.monotonic() < t_wait:
            for c in clients:
                c.pump(0.05)
        seen = ", ".join("%s at +%.2f s" % (xmpp.bare(room).split("@")[0], at - tp0)
                         for room, (at, _) in sorted(arrivals.items(), key=lambda kv: kv[1][0]))
        body_ok = all(text in body for _, body in arrivals.values())
        print("%s clients: %d/%d rooms got the text%s%s"
              % (pre, len(arrivals), joined, " (" + seen + ")" if seen else "",
                 "" if body_ok else " (BODY DIFFERS)"))

        ok = (done_at is not None and delivered >= n and pending == 0 and g.status == 200
              and counts.get("recipients") == n and counts.get("delivered") == n)
        return ok
    finally:
        for c in clients:
            try:
                c.disconnect()
            except Exception:  # noqa: BLE001 - a benchmark's cleanup
                c.close()
        if b.proc is not None:
            try:
                b.stop()
            except dbot.TestFailure as e:
                print("%s stop: %s" % (pre, e))
        b.cleanup(keep=a.keep)
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dealers", type=int, default=5000, help="dealer rooms (default 5000)")
    ap.add_argument("--rates", default="%d,1000" % DEFAULT_RATE_GLOBAL,
                    help="chat.rate_global of each run, comma separated (default 100,1000;"
                         " 100 is the built-in default and is not written to the config)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    a = ap.parse_args()
    rates = [int(x) for x in a.rates.split(",") if x.strip()]
    n = a.dealers
    watch_idx = sorted({0, n // 2, n - 1})

    print(machine_line())
    passwords = {person_of(i): "pw-%s" % person_of(i) for i in watch_idx}
    accounts = dict(passwords)
    accounts["dealerbot"] = BOT_PW
    p = xmpp.Prosody()
    results = []
    try:
        p.start()
        p.register_many(accounts)
        for k, rg in enumerate(rates):
            results.append((rg, run(p, a, rg, watch_idx, passwords, "run %d" % (k + 1))))
    finally:
        p.cleanup(keep=a.keep)
    ok = len(results) == len(rates) and all(r for _, r in results)
    print("result: %s" % ("ok" if ok else "FAILED (%s)" % ", ".join(
        "rate_global %d: %s" % (rg, "ok" if r else "not all delivered") for rg, r in results)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
