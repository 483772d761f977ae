#!/usr/bin/env python3
"""bench_dingtalk.py — the DingTalk adapter's push rate to the repo's DingTalk simulator.

Run through scripts/bench_dingtalk.sh (it builds the release binary and sets DEALERBOT_BIN).
The bot (rate limits lifted) sends N outbox rows, written in one transaction while it runs,
into one dealer group through the OpenAPI (groupMessages/send, sampleMarkdown) with the
adapter's window of 16 requests on keep-alive connections. Prints: messages/s at the
simulator from the first send to the last, the confirm latency (chat_send to the send API's
processQueryKey) from the bot's /metrics, the bot's CPU per message, and the bot's RSS before
and after. The simulator is Python and shares the machine's cores with the bot: on a small
machine it is the likely bottleneck, which the CPU figures show. Exits 1 if a message was lost
or is unconfirmed.
"""

import argparse
import os
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import dbot  # noqa: E402
import dingtalk  # noqa: E402
from benchlib import cpu_seconds, fmt_ms, machine_line, rss_kb  # noqa: E402

DEALERS = "code,name,region,sales_volume\nD001,Bench Motors,East,100\n"
PEOPLE = "chat_id,dealer,role,name,language\nmgr01,D001,manager,Manager,en\n"


def enqueue(bot, n, tag):
    con = sqlite3.connect(os.path.join(bot.dir, "dealerbot.db"), timeout=30)
    try:
        with con:
            now = int(time.time())
            con.executemany(
                "INSERT INTO outbox (created_at, channel, target, body, stanza_id)"
                " VALUES (?, 'group', 'dealer-d001', ?, ?)",
                [(now, "%s %d complaint card text of a realistic length, 投诉卡片" % (tag, i),
                  "bench-%d-%d" % (os.getpid(), i)) for i in range(n)])
    finally:
        con.close()


def pending(bot):
    con = sqlite3.connect(os.path.join(bot.dir, "dealerbot.db"), timeout=30)
    try:
        return con.execute("SELECT count(*) FROM outbox WHERE state <> 'delivered'").fetchone()[0]
    finally:
        con.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=5000)
    a = ap.parse_args()
    print(machine_line())
    print("note: the machine is shared with other jobs; figures vary from run to run")
    sim = dingtalk.Sim(ping_interval=0).start()
    b = dbot.Bot("bench-dt", dealers_csv=DEALERS, people_csv=PEOPLE,
                 chat=dingtalk.chat_config(sim).replace("rate_global = 1000; rate_room = 1000;",
                                                        "rate_global = 100000; rate_room = 100000;"))
    ok = True
    try:
        dingtalk.map_rooms(b, ["dealer-d001", "brand-service", "underperformers"])
        b.start()
        b.wait_log("session ready")
        sim.wait_stream()
        time.sleep(1.0)
        rss0 = rss_kb(b.proc.pid)
        before = len(sim.sent())
        cpu0 = cpu_seconds(b.proc.pid)
        scpu0 = cpu_seconds(sim.proc.pid)
        t0 = time.monotonic()
        enqueue(b, a.messages, "bench")
        deadline = time.monotonic() + 300
        while len(sim.sent(before)) < a.messages and time.monotonic() < deadline:
            time.sleep(0.2)
        sent = sim.sent(before)
        while pending(b) and time.monotonic() < deadline:
            time.sleep(0.1)
        elapsed = time.monotonic() - t0
        cpu1 = cpu_seconds(b.proc.pid)
        scpu1 = cpu_seconds(sim.proc.pid)
        n = len(sent)
        texts = {m["text"] for m in sent}
        if n < a.messages or len(texts) < a.messages or pending(b):
            ok = False
        span = sent[-1]["t"] - sent[0]["t"] if n > 1 else float("nan")
        print("push: %d messages to one DingTalk group, %d arrived (%d distinct), %.0f msg/s at "
              "the simulator (first to last send), %.1f s from the outbox write to the last "
              "confirmation" % (a.messages, n, len(texts), (n - 1) / span if span else 0,
                                elapsed))
        print("push: bot CPU %.1f us/message (%.2f s), simulator CPU %.1f us/message (%.2f s)"
              % ((cpu1 - cpu0) / max(1, n) * 1e6, cpu1 - cpu0, (scpu1 - scpu0) / max(1, n) * 1e6,
                 scpu1 - scpu0))
        m = b.metrics()
        print("push: confirm latency (window 1024 accepted, 16 requests on the wire): p50 %s "
              "p90 %s p99 %s max %s"
              % (fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="0.5"}']),
                 fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="0.9"}']),
                 fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="0.99"}']),
                 fmt_ms(m['dealerbot_chat_confirm_seconds{quantile="1"}'])))
        print("push: bot RSS %d kB before, %d kB after (+%d kB)"
              % (rss0, rss_kb(b.proc.pid), rss_kb(b.proc.pid) - rss0))
        b.stop()
    finally:
        b.cleanup()
        sim.stop()
    print("result: %s" % ("ok" if ok else "FAILED (lost or unconfirmed messages)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
