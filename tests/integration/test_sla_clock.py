"""test_sla_clock.py — SLA behaviour that hangs on the wall clock, on a real Prosody with real
clients: a reminder held by quiet hours goes out when they end, and the watchdog that reports
events overdue and not fired.

Quiet hours are HH:MM in the dealer's zone, so the quiet-hours test waits for the next minute
boundary (10 to 70 s); the watchdog looks every 30 s. They live here, apart from test_sla.py,
which would otherwise run for three minutes or more.
"""

import math
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
from dbot import check, eq  # noqa: E402
from test_lifecycle import file_complaint, from_bot_direct, from_bot_in, person  # noqa: E402
from test_sla import ROOM, both, deadline, setup, sla_conf, starts  # noqa: E402

ZONE = 8 * 3600   # the bot's zone in dbot.py, Asia/Shanghai: UTC+8 all year
# Up to 80 s for the quiet hours and 40 s for the watchdog: more than the harness's default
# limit for a file in the worst case (CTest allows 300 s).
dbot.FILE_TIMEOUT = 200


def hhmm(t):
    """A Unix time as HH:MM on the wall clock of ZONE."""
    g = time.gmtime(t + ZONE)
    return "%02d:%02d" % (g.tm_hour, g.tm_min)


def test_quiet_hours_hold_a_reminder_until_they_end(t):
    # Quiet hours from the current minute to the next minute boundary `end` (one more minute
    # when that is under 10 s away, so that the complaint is filed well inside them). The
    # reminder is due 1 s after filing, inside them; the deadline is 10 s after they end, so
    # the held reminder still comes before it: at `end`, not before.
    now = time.time()
    end = math.ceil(now / 60) * 60
    if end - now < 10:
        end += 60
    ack = int(end - now) + 10
    p, b = setup(t, sla_conf(ack="%ds" % ack, solution="1h", close="2h",
                             remind='["%ds"]' % (ack - 1),
                             extra='quiet_hours = "%s-%s";' % (hhmm(now), hhmm(end))))
    wang = person(p, "wang", ROOM)
    cid = file_complaint(b, "quiet-2")
    filed = time.time()
    check(filed + 1 < end - 1, "filed %.1f s before the quiet hours end" % (end - filed))
    due = deadline(b, cid, "ack")
    check(due > end + 5, "the deadline is after the quiet hours")
    m = wang.wait_for_message(both(from_bot_in(p.room(ROOM)), starts("remind_room", id=cid)),
                              end - time.time() + 5)
    got = time.time()
    check(got >= end - 0.2, "the reminder came %.2f s before the quiet hours ended" % (end - got))
    check(got - end <= 1.0, "the reminder came %.2f s after the quiet hours ended" % (got - end))
    wang.wait_for_message(both(from_bot_direct, starts("remind_dm", id=cid)), 3)
    kinds = [e["kind"] for e in b.get("/api/v1/complaints/" + cid).json["timeline"]]
    eq(kinds.count("remind"), 1, "reminded once (the ack reminder)")


def test_watchdog_reports_an_event_that_cannot_fire(t):
    # What the watchdog guards: at start everything overdue fires (test_sla.py), and a timer
    # another process did not kick is found by the scheduler's 5 s look; what stays overdue
    # is an event the scheduler takes but cannot fire, every time it tries. Here that is a
    # reminder of a complaint whose dealer row is gone (planted with foreign keys off, as a
    # hand edit or a broken restore would leave it). Its firing is undone and it is held back
    # for a retry, so the reminder due after it still fires; the watchdog (every 30 s) keeps
    # saying it is overdue in the log, /metrics and the staff room.
    p, b = setup(t, sla_conf(ack="1h", solution="2h", close="3h"))
    liu = person(p, "liu", "brand-service")
    wang = person(p, "wang", ROOM)
    good = file_complaint(b, "wd-good")
    b.stop()
    due = int(time.time()) - 120
    con = sqlite3.connect(os.path.join(b.dir, "dealerbot.db"))
    con.execute("PRAGMA foreign_keys = OFF")
    cur = con.execute(
        "INSERT INTO complaints (external_id, dealer_code, category, priority, policy,"
        " customer_name, customer_phone, summary, received_at, created_at, updated_at, state,"
        " ack_due, solution_due, close_due) VALUES ('ghost-1', 'GONE', 'paint', 'normal',"
        " 'default', '张三', '13800000000', '漆面划伤', ?1, ?1, ?1, 'notified', ?2, ?3, ?4)",
        (due - 3600, due + 60, due + 3600, due + 7200))
    con.execute("INSERT INTO sla_events (complaint_id, milestone, kind, level, due_at)"
                " VALUES (?, 'ack', 'remind', 0, ?)", (cur.lastrowid, due))
    # a reminder of a sound complaint, due a second after the broken one
    con.execute("INSERT INTO sla_events (complaint_id, milestone, kind, level, due_at)"
                " VALUES (?, 'ack', 'remind', 0, ?)", (int(good.split("-")[1]), due + 1))
    con.commit()
    con.close()
    b.start()
    b.wait_log("2 SLA event(s) came due while the bot was down")
    b.wait_log("held back for a retry")
    wang.wait_for_message(both(from_bot_in(p.room(ROOM)), starts("remind_room", id=good)), 10)
    line = "1 SLA event(s) more than 60 s overdue and not fired (oldest due %s)" % \
        time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(due + ZONE))
    b.wait_log(line, timeout=40)
    eq(b.metrics().get("dealerbot_sla_overdue_unfired"), 1.0, "the watchdog's gauge")
    oldest = time.strftime("%Y-%m-%d %H:%M", time.gmtime(due + ZONE))
    m = liu.wait_for_message(both(from_bot_in(p.room("brand-service")),
                                  starts("watchdog_staff", count=1)), 10)
    check(oldest in m.body, "the alarm names the oldest due time %s: %s" % (oldest, m.body))


if __name__ == "__main__":
    dbot.main(globals())
