#!/usr/bin/env python3
"""bench_sla.py — the SLA scheduler benchmark (issue 5, `bench/sla`), against a private Prosody.

Run through scripts/bench_sla.sh (it builds the release binary and sets DEALERBOT_BIN).

 1. store: a bot directory is made by the harness (tests/integration/dbot.py): `dealers import`
    of 500 dealers creates and migrates the database, `people import` adds 10 people per dealer
    (a manager and 9 agents: 5,001 people with a supervisor). Why 500 dealers and not 5,000:
    Prosody 0.12 takes more than 15 minutes of its CPU to work through the set-up of 5,000
    members-only rooms (it slows down as rooms accumulate), and until it is through nothing
    the bot sends is confirmed and Prosody keeps a core busy; 500 rooms take it under a
    minute. The directory keeps its 5,000 people, so the per-event look-ups cost what they
    would at 5,000 dealers with one person each. Then, offline, Python's sqlite3 writes
    1,000,000 open complaints (state 'notified') and their SLA events, with the columns and values the daemon writes at
    intake (intake.c, store_complaint_insert, eng__plan_sla / store_sla_add): the bench policy
    is ack = 30d, remind_before = [2h], one escalation level 4 h after the breach to
    dealer_managers, so the ack milestone plans 3 events per complaint (remind at ack_due - 2h,
    breach at ack_due, escalate level 1 at ack_due + 4h). The acknowledgement deadlines are
    spread uniformly over 30 days so that the store is in a steady state: events fall at about
    1.16 per second over the next 30 days; those already due when the bot starts are marked
    fired (as a running bot would have left them), the others (~3 M) are pending. Left out,
    and said here: the solution (60d) and close (90d) milestones' events, which the daemon
    would also plan but which all fall after the 30-day window (6 M more rows only deepen the
    index), the intake timeline rows and the penalties of past breaches (nothing the
    scheduler reads). The indexes are dropped for the load and re-created from their own SQL
    in sqlite_master, so the schema is the daemon's.
 2. start: events due within 5 s are marked fired too (the bot's own start reads the
    directory for the rooms before the scheduler starts), then the bot runs with
    chat.platform = xmpp (default rate limits: the outbox just grows) and sets up its 502
    rooms. It logs "session ready" once it has SENT the rooms' set-up; Prosody works through
    it for a while longer (nothing the bot sends is confirmed meanwhile), so the bench waits
    until the outbox is confirmed and Prosody is idle before measuring. The dealers' people
    have no Prosody accounts: the managers' direct messages bounce (a warning each).
 3. idle: 60 s with only the spread load coming due. Bot CPU (from /proc) as % of a core,
    scheduler wake-ups, and from /metrics the wake-up cost (p50/p99 since start, mean over the
    minute from _sum/_count) and the lateness of every event fired since the start (nothing was
    overdue at start, so this is the lateness outside the burst), RSS.
 4. burst: 10,000 complaints received in the same second (a batch from the CRM) are written
    into the database while the bot runs, with their planned events; their 10,000 reminders
    are due in the same second, ~15 s ahead. The bot only learns of rows written by another
    process when it re-arms: after every wake-up it takes min(due_at) of the pending rows
    again (scheduler.c arm()), and with the spread load it wakes about once a second, so a
    row due 15 s ahead is seen in time (the watchdog would catch it 60-90 s late otherwise).
    The reminders' rows are polled every 20 ms: drain time = from their due second to the
    commit of the last one. Lateness quantiles after the burst from /metrics, the burst's own
    from the rows (fired_at is whole seconds), the bot's CPU per fired event.
 5. after: 20 s more; bot CPU while the outbox works through the burst's messages, spread
    events that came due during and after the drain, then the checks: every event fired once
    (rows fired by the bot = its timeline lines = dealerbot_sla_fired_total, no complaint with
    two lines of one kind, outbox rows as the templates say), nothing pending and overdue.
Prints one line per figure (targets beside them); exits 1 when an event was lost or fired
twice (the targets are reported, not enforced).
"""

import argparse
import os
import random
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import dbot  # noqa: E402
from benchlib import cpu_seconds, fmt_ms, machine_line, percentile, rss_kb  # noqa: E402
import xmpp  # noqa: E402

BOT_PW = "bench-bot-pw"
DAY = 86400
ACK_S = 30 * DAY
REMIND_S = 2 * 3600
ESCALATE_S = 4 * 3600
START_MARGIN_S = 5
SLA_CONF = ('sla = { default = { ack = "30d"; solution = "60d"; close = "90d";'
            ' remind_before = [ "2h" ]; };'
            ' escalation = ( { after = "4h"; notify = "dealer_managers"; } ); };')
# Outbox rows one firing writes here: remind = room + DM to the dealer's one manager; breach =
# room; escalate = DM to the manager + staff room.
OUTBOX_PER_KIND = {"remind": 2, "breach": 1, "escalate": 2}
SUMMARIES = ["交车时发现引擎盖有划痕", "保养后发动机故障灯常亮", "销售顾问承诺的赠品未兑现",
             "维修等待时间过长且无人解释", "空调异味，两次维修仍未解决", "新车异响，4S店未给出方案"]
CATEGORIES = ["paint", "after-sales", "sales", "service", "quality"]


def db_path(bot):
    return os.path.join(bot.dir, "dealerbot.db")


def connect(bot):
    return sqlite3.connect(db_path(bot), timeout=30, isolation_level=None)


def dealer_code(i):
    return "D%04d" % (i + 1)


def complaint_rows(first_id, n, n_dealers, ack_due_of, rnd, prefix):
    for k in range(n):
        cid = first_id + k
        ack_due = ack_due_of(k)
        received = ack_due - ACK_S
        yield (cid, "%s-%08d" % (prefix, cid), dealer_code(rnd.randrange(n_dealers)),
               CATEGORIES[cid % len(CATEGORIES)], "normal", "default",
               "客户%d" % (cid % 9973), "+86 138 %04d %04d" % (cid // 10000 % 10000, cid % 10000),
               "%s（第 %d 号）" % (SUMMARIES[cid % len(SUMMARIES)], cid),
               "客户来电投诉，要求尽快处理。", received, received, received + 1, "notified",
               ack_due, received + 60 * DAY, received + 90 * DAY)


def event_rows(first_id, n, ack_due_of, now):
    """The ack milestone's plan, in the order the daemon writes it (by due time)."""
    for k in range(n):
        cid = first_id + k
        a = ack_due_of(k)
        for kind, level, due, notify in (("remind", 0, a - REMIND_S, ""), ("breach", 0, a, ""),
                                         ("escalate", 1, a + ESCALATE_S, "dealer_managers")):
            if due < now:   # already behind a running bot: fired on time
                yield (cid, "ack", kind, level, due, notify, "fired", due, 0)
            else:
                yield (cid, "ack", kind, level, due, notify, "pending", None, 0)


INSERT_COMPLAINT = (
    "INSERT INTO complaints (id, external_id, dealer_code, category, priority, policy,"
    " customer_name, customer_phone, summary, details, received_at, created_at, updated_at,"
    " state, ack_due, solution_due, close_due)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_EVENT = (
    "INSERT INTO sla_events (complaint_id, milestone, kind, level, due_at, notify, state,"
    " fired_at, late) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


def generate(bot, n, n_dealers, days, seed):
    """The spread store, offline. Returns (seconds, bytes, pending, first pending due)."""
    t0 = time.monotonic()
    now = int(time.time())
    rnd = random.Random(seed)
    # ack_due uniform over [now - 4h, now + days - 4h]: with the 2 h reminder before it and the
    # escalation 4 h after it, every kind is coming due at the same rate from now on.
    start = now - ESCALATE_S
    span = days * DAY
    dues = [start + int(rnd.random() * span) for _ in range(n)]
    con = sqlite3.connect(db_path(bot), isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = OFF")    # a throw-away bench file; the bot sets WAL
        con.execute("PRAGMA synchronous = OFF")
        con.execute("PRAGMA cache_size = -1048576")
        indexes = con.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('complaints', 'sla_events')").fetchall()
        for name, _ in indexes:
            con.execute('DROP INDEX "%s"' % name)
        chunk = 100000
        for lo in range(0, n, chunk):
            m = min(chunk, n - lo)
            con.execute("BEGIN")
            con.executemany(INSERT_COMPLAINT, complaint_rows(
                lo + 1, m, n_dealers, lambda k, lo=lo: dues[lo + k], rnd, "CRM"))
            con.executemany(INSERT_EVENT,
                            event_rows(lo + 1, m, lambda k, lo=lo: dues[lo + k], now))
            con.execute("COMMIT")
        for _, sql in indexes:
            con.execute(sql)
        con.execute("PRAGMA journal_mode = WAL")
        pending, first = con.execute(
            "SELECT count(*), min(due_at) FROM sla_events WHERE state = 'pending'").fetchone()
    finally:
        con.close()
    size = sum(os.path.getsize(p) for p in (db_path(bot), db_path(bot) + "-wal")
               if os.path.exists(p))
    return time.monotonic() - t0, size, pending, first


def count_fired(bot):
    con = connect(bot)
    try:
        return con.execute("SELECT count(*) FROM sla_events WHERE state = 'fired'").fetchone()[0]
    finally:
        con.close()


def catch_up(bot, before):
    """Marks fired what came due since the store was written (a running bot would have).
    Returns (rows marked, rows left pending)."""
    con = connect(bot)
    try:
        marked = con.execute(
            "UPDATE sla_events SET state = 'fired', fired_at = due_at"
            " WHERE state = 'pending' AND due_at < ?", (before,)).rowcount
        pending = con.execute(
            "SELECT count(*) FROM sla_events WHERE state = 'pending'").fetchone()[0]
    finally:
        con.close()
    return marked, pending


def wait_settled(bot, prosody, timeout):
    """The bot says "session ready" once it has sent the rooms' set-up; Prosody works through
    it for a while longer (minutes with thousands of rooms), and nothing the bot sends is
    confirmed before. Waits until the outbox is confirmed and Prosody is idle. Returns
    (settled, Prosody CPU seconds)."""
    p0 = cpu_seconds(prosody.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c0 = cpu_seconds(prosody.pid)
        time.sleep(2)
        busy = (cpu_seconds(prosody.pid) - c0) / 2
        m = bot.metrics()
        if (m["dealerbot_chat_delivered_total"] > 0 and m["dealerbot_outbox_pending"] <= 10
                and busy < 0.1):
            return True, cpu_seconds(prosody.pid) - p0
    return False, cpu_seconds(prosody.pid) - p0


def insert_burst(bot, n, n_dealers, due, seed):
    """n complaints received in one second whose reminders are all due at `due`, written in
    one transaction while the bot runs. Returns (seconds, first, last reminder row id)."""
    rnd = random.Random(seed + 1)
    ack_due = due + REMIND_S
    con = connect(bot)
    try:
        t0 = time.monotonic()
        con.execute("BEGIN IMMEDIATE")
        first_cid = con.execute("SELECT max(id) FROM complaints").fetchone()[0] + 1
        con.executemany(INSERT_COMPLAINT, complaint_rows(
            first_cid, n, n_dealers, lambda k: ack_due, rnd, "BURST"))
        # the reminders first, so that their row ids are one range
        rows = list(event_rows(first_cid, n, lambda k: ack_due, 0))
        lo = con.execute("SELECT max(id) FROM sla_events").fetchone()[0] + 1
        con.executemany(INSERT_EVENT, [r for r in rows if r[2] == "remind"])
        hi = con.execute("SELECT max(id) FROM sla_events").fetchone()[0]
        con.executemany(INSERT_EVENT, [r for r in rows if r[2] != "remind"])
        con.execute("COMMIT")
        return time.monotonic() - t0, lo, hi
    finally:
        con.close()


def q(m, name, quant):
    return m['%s{quantile="%s"}' % (name, quant)]


def quantiles(m, name):
    return "p50 %s p99 %s max %s" % (fmt_ms(q(m, name, "0.5")), fmt_ms(q(m, name, "0.99")),
                                     fmt_ms(q(m, name, "1")))


def verdict(ok):
    return "met" if ok else "MISSED"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--complaints", type=int, default=1000000, help="default 1000000")
    ap.add_argument("--dealers", type=int, default=500, help="default 500 (max 9999)")
    ap.add_argument("--staff", type=int, default=10,
                    help="people per dealer, the first a manager (default 10)")
    ap.add_argument("--days", type=int, default=30, help="spread of the deadlines (default 30)")
    ap.add_argument("--idle", type=int, default=60, help="idle measurement, s (default 60)")
    ap.add_argument("--burst", type=int, default=10000, help="default 10000")
    ap.add_argument("--lead", type=int, default=15, help="burst due this many s ahead (15)")
    ap.add_argument("--after", type=int, default=20, help="s watched after the drain (20)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    a = ap.parse_args()
    if not 1 <= a.dealers <= 9999 or a.staff < 1:
        ap.error("--dealers must be in 1..9999, --staff at least 1")

    print(machine_line())
    p = xmpp.Prosody()
    bot = None
    ok = True
    try:
        p.start()
        p.register_many({"dealerbot": BOT_PW})
        dealers = "code,name,region,sales_volume\n" + "".join(
            "%s,经销商%04d,%s,%d\n" % (dealer_code(i), i + 1, "华东华南华北华中西南西北东北"[
                (i % 7) * 2:(i % 7) * 2 + 2], 200 + (i * 7919) % 3000) for i in range(a.dealers))
        people = ("jid,dealer,role,name,language\n"
                  "supervisor@localhost,brand,supervisor,刘主管,zh-CN\n" + "".join(
                      "p%d-%s@localhost,%s,%s,员工%d,zh-CN\n"
                      % (j, dealer_code(i).lower(), dealer_code(i),
                         "manager" if j == 0 else "agent", j)
                      for i in range(a.dealers) for j in range(a.staff)))
        chat = ('platform = "xmpp"; xmpp = { url = "%s"; jid = "dealerbot@localhost";'
                ' password = "%s"; muc_service = "%s"; };' % (p.ws_url, BOT_PW, p.muc))
        bot = dbot.Bot("sla", dealers_csv=dealers, people_csv=people, chat=chat, extra=SLA_CONF)

        # ---- 1. the store ----
        secs, size, pending, first = generate(bot, a.complaints, a.dealers, a.days, a.seed)
        n_events = 3 * a.complaints
        print("store: %d complaints at %d dealers (%d people), %d SLA events (%d pending, due over %d days"
              " = %.2f/s) written in %.1f s; database %.0f MB"
              % (a.complaints, a.dealers, a.dealers * a.staff + 1, n_events, pending, a.days,
                 n_events / (a.days * DAY), secs, size / 1e6))

        # ---- 2. start ----
        fired0 = count_fired(bot)
        # What comes due before the bot's scheduler runs would fire late at its start: a few
        # seconds of margin (its start reads the whole directory for the rooms, ~2 s here).
        marked, pending0 = catch_up(bot, int(time.time()) + START_MARGIN_S)
        fired0 += marked
        t0 = time.monotonic()
        bot.start()
        t_up = time.monotonic()
        t_ready = bot.wait_log("session ready", 600)
        at_start = bot.log_text().count("came due while the bot was down")
        print("start: %d events came due while the store was written (marked fired); %d pending;"
              " /healthz after %.2f s (%s), session ready (%d rooms) after %.1f s"
              % (marked, pending0, t_up - t0,
                 "nothing overdue at the scheduler's start" if not at_start else
                 "the scheduler started with events overdue", a.dealers + 2, t_ready - t0))
        settled, pcpu = wait_settled(bot, p, 900)
        print("chat: Prosody worked %.0f s more on the rooms after the bot's \"session ready\""
              " (%.0f s of its CPU); %s" % (
                  time.monotonic() - t_ready, pcpu,
                  "then the outbox was confirmed" if settled else
                  "NOT settled after 900 s, measuring anyway"))

        # ---- 3. idle ----
        time.sleep(5)
        pid = bot.proc.pid
        m0 = bot.metrics()
        c0, w0, pc0 = cpu_seconds(pid), time.monotonic(), cpu_seconds(p.pid)
        time.sleep(a.idle)
        c1, w1, pc1 = cpu_seconds(pid), time.monotonic(), cpu_seconds(p.pid)
        m1 = bot.metrics()
        idle_cpu = 100 * (c1 - c0) / (w1 - w0)
        wakes = m1["dealerbot_sla_wakeups_total"] - m0["dealerbot_sla_wakeups_total"]
        fired = m1["dealerbot_sla_fired_total"] - m0["dealerbot_sla_fired_total"]
        dsum = m1["dealerbot_sla_wakeup_seconds_sum"] - m0["dealerbot_sla_wakeup_seconds_sum"]
        print("idle (%d s, the spread load only): bot CPU %.2f %% of a core (target < 1 %%, %s);"
              " %d wake-ups (%.2f/s) fired %d events; Prosody CPU %.1f %%" % (
                  a.idle, idle_cpu, verdict(idle_cpu < 1), wakes, wakes / (w1 - w0), fired,
                  100 * (pc1 - pc0) / (w1 - w0)))
        print("idle: wake-up cost %s since start (%d wake-ups), mean %s over the idle minute;"
              " bot RSS %d kB" % (
                  quantiles(m1, "dealerbot_sla_wakeup_seconds"),
                  m1["dealerbot_sla_wakeup_seconds_count"], fmt_ms(dsum / max(wakes, 1)),
                  rss_kb(pid)))
        late_max = q(m1, "dealerbot_sla_lateness_seconds", "1")
        lsum = (m1["dealerbot_sla_lateness_seconds_sum"]
                - m0["dealerbot_sla_lateness_seconds_sum"])
        print("lateness outside the burst (%d events since the start): %s, mean %s over the idle"
              " minute (target: none > 1 s, %s)" % (
                  m1["dealerbot_sla_lateness_seconds_count"],
                  quantiles(m1, "dealerbot_sla_lateness_seconds"),
                  fmt_ms(lsum / max(fired, 1)), verdict(late_max <= 1.0)))

        # ---- 4. burst ----
        due = int(time.time()) + a.lead
        ins_s, lo, hi = insert_burst(bot, a.burst, a.dealers, due, a.seed)
        con = connect(bot)
        count_sql = "SELECT count(*) FROM sla_events WHERE id BETWEEN ? AND ? AND state = 'pending'"
        while time.time() < due - 0.5:
            time.sleep(0.05)
        c2 = cpu_seconds(pid)
        t_first = t_last = None
        left = a.burst
        while time.time() < due + 120:
            left = con.execute(count_sql, (lo, hi)).fetchone()[0]
            now = time.time()
            if t_first is None and left < a.burst:
                t_first = now
            if left == 0:
                t_last = now
                break
            time.sleep(0.02)
        c3 = cpu_seconds(pid)
        m2 = bot.metrics()
        drained = t_last is not None and t_last - due <= 10
        if t_last is None:
            print("burst: %d of %d reminders still pending 120 s after their due second"
                  % (left, a.burst))
        else:
            print("burst: %d reminders due in the same second, written %d s ahead (%.2f s to"
                  " write); first fired +%.2f s, the last +%.2f s after their due second"
                  " (target: drained within 10 s, %s)"
                  % (a.burst, a.lead, ins_s, t_first - due, t_last - due, verdict(drained)))
            bw = m2["dealerbot_sla_wakeups_total"] - m1["dealerbot_sla_wakeups_total"]
            bsum = (m2["dealerbot_sla_wakeup_seconds_sum"]
                    - m1["dealerbot_sla_wakeup_seconds_sum"])
            bfired = m2["dealerbot_sla_fired_total"] - m1["dealerbot_sla_fired_total"]
            print("burst: %.0f events/s from first to last; bot CPU %.0f us per fired event"
                  " (%d fired while polled); %d wake-ups, mean %s each"
                  % (a.burst / max(t_last - t_first, 1e-3), (c3 - c2) * 1e6 / max(bfired, 1),
                     bfired, bw, fmt_ms(bsum / max(bw, 1))))
        lat = sorted(r[0] for r in con.execute(
            "SELECT fired_at - due_at FROM sla_events WHERE id BETWEEN ? AND ?"
            " AND state = 'fired'", (lo, hi)))
        print("burst lateness: all events since start %s (/metrics); the burst's rows %d/%d/%d s"
              " p50/p99/max (fired_at, whole seconds)"
              % (quantiles(m2, "dealerbot_sla_lateness_seconds"), percentile(lat, 50),
                 percentile(lat, 99), percentile(lat, 100)))

        # ---- 5. after ----
        c4, w4 = cpu_seconds(pid), time.monotonic()
        time.sleep(a.after)
        c5, w5 = cpu_seconds(pid), time.monotonic()
        m3 = bot.metrics()
        end_drain = int(t_last) + 1 if t_last else due + 120
        during = con.execute(
            "SELECT count(*), max(fired_at - due_at) FROM sla_events WHERE state = 'fired'"
            " AND due_at > ? AND due_at <= ? AND id NOT BETWEEN ? AND ?",
            (due, end_drain, lo, hi)).fetchone()
        after = con.execute(
            "SELECT count(*), coalesce(sum(fired_at - due_at >= 2), 0),"
            " coalesce(max(fired_at - due_at), 0) FROM sla_events WHERE state = 'fired'"
            " AND due_at > ?", (end_drain,)).fetchone()
        print("after the burst (%d s): bot CPU %.1f %% of a core with %d messages still in the"
              " outbox (rate_global 100/s); spread events due during the drain %d (latest %s s"
              " late), due after it %d, of which >1 s late %d (target 0, %s)"
              % (a.after, 100 * (c5 - c4) / (w5 - w4), m3.get("dealerbot_outbox_pending", -1),
                 during[0], "-" if during[1] is None else during[1], after[0], after[1],
                 verdict(after[1] == 0)))

        # ---- checks ----
        # One read snapshot of the store, between two /metrics with the same fired count.
        for _ in range(20):
            ma = bot.metrics()
            con.execute("BEGIN")
            now = int(time.time())
            by_bot = con.execute("SELECT count(*) FROM sla_events WHERE state = 'fired'"
                                 ).fetchone()[0] - fired0
            cancelled = con.execute(
                "SELECT count(*) FROM sla_events WHERE state = 'cancelled'").fetchone()[0]
            kinds = dict(con.execute(
                "SELECT kind, count(*) FROM timeline WHERE kind IN ('remind','breach','escalate')"
                " GROUP BY kind").fetchall())
            doubled = con.execute(
                "SELECT count(*) FROM (SELECT complaint_id, kind FROM timeline WHERE kind IN"
                " ('remind','breach','escalate') GROUP BY complaint_id, kind"
                " HAVING count(*) > 1)").fetchone()[0]
            outbox = con.execute("SELECT count(*) FROM outbox WHERE kind = 'sla'").fetchone()[0]
            lost = con.execute("SELECT count(*) FROM sla_events WHERE state = 'pending'"
                               " AND due_at < ?", (now - 5,)).fetchone()[0]
            con.execute("COMMIT")
            mb = bot.metrics()
            if ma["dealerbot_sla_fired_total"] == mb["dealerbot_sla_fired_total"]:
                break
        con.close()
        lines = sum(kinds.values())
        want_outbox = sum(OUTBOX_PER_KIND[k] * v for k, v in kinds.items())
        metric_fired = mb["dealerbot_sla_fired_total"]
        print("check: fired by the bot %d (rows) = %d (timeline) = %d (/metrics), %d cancelled;"
              " %d fired twice; outbox %d rows for %d expected; %d pending and overdue > 5 s;"
              " watchdog %d" % (by_bot, lines, metric_fired, cancelled, doubled, outbox,
                                want_outbox, lost, mb["dealerbot_sla_overdue_unfired"]))
        if (doubled or lost or by_bot != lines or lines != metric_fired or outbox != want_outbox
                or t_last is None):
            ok = False
        print("bot RSS %d kB at the end, CPU %.1f s in total" % (rss_kb(pid), cpu_seconds(pid)))
        bot.stop()
    finally:
        if bot is not None:
            bot.cleanup(keep=a.keep)
            if a.keep:
                print("kept %s" % bot.dir)
        p.cleanup(keep=a.keep)
    print("result: %s" % ("ok" if ok else "FAILED (an event lost or fired twice)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
