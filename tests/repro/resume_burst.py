#!/usr/bin/env python3
"""resume_burst.py — reproduces a bug in Prosody 0.12 (Debian 12), not in the bot; not a CTest test.

The bot pushes N outbox messages into a room; after `delay` seconds its WebSocket to Prosody
is killed with `ss -K` (root). The bot reconnects and resumes the stream (XEP-0198) with a few
hundred unacknowledged stanzas to write again; within milliseconds Prosody closes the resumed
stream with <not-well-formed/>. The bot then starts a new session and resends its outbox with
the same stanza ids (nothing is lost; what the room had already got may show twice), but the
resumption is wasted.

Cause (found with strace on the bot and Prosody's debug log): every frame the bot writes on the
new connection is well formed and masked once. Prosody's mod_smacks moves the new connection to
the hibernated session (`c2s_sessions[conn] = original_session`) but keeps the old session's
`session.data`, a closure from mod_c2s over the *old* connection's filters and XML parser, so
the new bytes are fed into the old connection's WebSocket frame buffer. When the old TCP
connection died in the middle of a frame, that buffer still holds the partial frame: its header
and mask swallow the first bytes of the new connection, and the parse goes wrong from there
(Prosody logs a frame that starts as an old stanza and ends in garbage, then a frame with a
random opcode). A connection that dies between frames resumes fine, which is why the restart
tests in tests/integration pass. Nothing on the client side can realign that buffer (the client
cannot know how many bytes of the partial frame the server kept).

Usage, from the repository root, with a built release binary:

    DEALERBOT_BIN=$PWD/build/release/src/dealerbot python3 tests/repro/resume_burst.py 20000 1.0

Prints the bot's reconnect lines and writes Prosody's debug log to /tmp/resume_burst.log.
"""
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import dbot  # noqa: E402
import xmpp  # noqa: E402

n, delay = int(sys.argv[1]), float(sys.argv[2])
p = xmpp.Prosody(extra_config='log = { { levels = { min = "debug" }, to = "file",'
                              ' filename = base .. "/prosody.log" } }')
p.start()
p.register_many({"dealerbot": "pw"})
chat = ('platform = "xmpp"; xmpp = { url = "%s"; jid = "dealerbot@localhost"; password = "pw";'
        ' muc_service = "%s"; }; rate_global = 100000; rate_room = 100000;' % (p.ws_url, p.muc))
b = dbot.Bot("rz", dealers_csv="code,name,region,sales_volume\nR1,R,E,1\n", chat=chat)
try:
    b.start()
    b.wait_log("session ready", 20)
    con = sqlite3.connect(os.path.join(b.dir, "dealerbot.db"))
    with con:
        con.executemany("INSERT INTO outbox (created_at, channel, target, body, stanza_id)"
                        " VALUES (?, 'group', 'dealer-r1', ?, ?)",
                        [(int(time.time()), "msg %d %s" % (i, "x" * 40), "rz-%d" % i)
                         for i in range(n)])
    con.close()
    time.sleep(delay)
    subprocess.run(["ss", "-K", "dst", "127.0.0.1", "dport", "=", ":%d" % p.http_port],
                   capture_output=True)
    time.sleep(8)
    for line in b.log_text().splitlines():
        if any(k in line for k in ("resumed", "not-well", "refused", "session down")):
            print(line)
    with open("/tmp/resume_burst.log", "w") as f:
        f.write(p.log_text())
finally:
    b.cleanup()
    p.cleanup()
