"""test_chat_keepalive.py — dead-connection detection end to end: the chat server hangs
(SIGSTOP: the TCP connection stays open, nothing answers), the bot's XEP-0199 keepalive finds
it (a ping after 20 s without traffic, given up 20 s later, checked every 5 s: within about
50 s), reconnects, and once the server goes on (SIGCONT) delivers what was queued meanwhile.

Kept apart from test_chat.py (whose helpers it uses) because it waits out the real
keepalive timers: about a minute.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
import test_chat as tc  # noqa: E402
from dbot import check, eq  # noqa: E402


def test_hung_server_detected_by_keepalive(t):
    p, b = tc.setup(t)
    li = p.client("li", tc.ACCOUNTS["li"])
    li.join(p.room("dealer-sh001"), "li")
    b.wait_log("member(s) added", count=4)
    p.pause()
    hung = time.monotonic()
    ids = tc.enqueue(b, "dealer-sh001", ["while hung %d" % i for i in range(5)])
    tc.wait_state(b, ids, "sent")            # written into the dead connection
    failed = b.wait_log("no answer to a keepalive ping within 20 s", timeout=60)
    check(failed - hung < 60, "keepalive failure noticed after %.0f s" % (failed - hung))
    print("     keepalive failure noticed %.1f s after the server hung" % (failed - hung))
    # it gives up on that connection and starts another one at once (backoff: about 1 s)
    b.wait_log("session down", timeout=5)
    b.wait_log("connecting to", count=2, timeout=5)
    eq(len(tc.undelivered(b, ids)), len(ids), "confirmed by a hung server")
    p.resume()
    b.wait_log("session ready", count=2, timeout=45)
    tc.wait_delivered(b, ids, timeout=30)
    counts = tc.count_ids(li, ids, 15)
    eq([i for i in ids if i not in counts], [], "messages lost")
    eq({i: n for i, n in counts.items() if n > 2}, {}, "messages more than twice")


if __name__ == "__main__":
    dbot.main(globals())
