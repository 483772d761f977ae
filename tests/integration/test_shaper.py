"""test_shaper.py — the bot says so when its confirmations fall far behind its sends (issue 19),
seen on ejabberd's default c2s shaper: the bot's account NOT exempted, so the server reads its
stream at 3,000 bytes/s (about 5 messages/s in all) while the outbox holds a thousand messages
for one room. Within about a minute and a half the log says it once, and /metrics shows
dealerbot_chat_confirmations_behind = 1; once the backlog is gone the gauge goes back to 0.

ejabberd only (Prosody loads no shaper): on Prosody the file passes with a note. Kept apart
from test_hostile.py because it waits out the one-minute threshold.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
import test_chat as tc  # noqa: E402
import xmpp  # noqa: E402
from dbot import check, eq  # noqa: E402


def test_confirmations_falling_behind_are_reported(t):
    if xmpp.SERVER != "ejabberd":
        print("     skipped: %s has no c2s shaper" % xmpp.SERVER)
        return
    p, b = tc.setup(t, unshaped=())            # the stock shaper on the bot too
    li = p.client("li", tc.ACCOUNTS["li"])
    li.join(p.room("dealer-sh001"), "li")
    ids = tc.enqueue(b, "dealer-sh001", ["backlog %04d %s" % (i, "x" * 80) for i in range(1000)])
    t0 = time.monotonic()
    seen = b.wait_log("confirmations are falling behind", timeout=100)
    print("     said %.0f s after the backlog was written" % (seen - t0))
    m = b.metrics()
    eq(m["dealerbot_chat_confirmations_behind"], 1, "the gauge")
    check(m["dealerbot_chat_oldest_unconfirmed_seconds"] >= 60, "oldest unconfirmed: %r"
          % m["dealerbot_chat_oldest_unconfirmed_seconds"])
    check(m["dealerbot_chat_unconfirmed"] > 0, "unconfirmed")
    eq(b.log_text().count("confirmations are falling behind"), 1, "said once")
    eq(float(m["dealerbot_chat_up"]), 1, "the session stays up")


if __name__ == "__main__":
    dbot.main(globals())
