"""test_sla_clock.py — SLA behaviour that hangs on the wall clock, on a real Prosody with real
clients: a reminder held by quiet hours goes out when they end, and the watchdog that reports
events overdue and not fired.

Quiet hours are HH:MM in the dealer's zone, so the quiet-hours test waits for the next minute
boundary (10 to 70 s); the watchdog looks every 30 s. They live here, apart from test_sla.py,
so that each file stays well inside the harness's time limit.
"""

import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
from dbot import check, eq  # noqa: E402
from test_lifecycle import file_complaint, from_bot_direct, from_bot_in, person  # noqa: E402
from test_sla import ROOM, both, deadline, setup, sla_conf, starts  # noqa: E402

ZONE = 8 * 3600   # the bot's zone in dbot.py, Asia/Shanghai: UTC+8 all year


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


if __name__ == "__main__":
    dbot.main(globals())
