"""test_unicode.py — text and names beyond ASCII end to end, on a real Prosody with real XMPP
clients (issue 16): a long /ack note in Chinese lands whole in the timeline (it was cut inside
a character); a people.csv JID with a non-ASCII capital matches the sender the server reports
(nodeprep folding); the bot logs in with a non-ASCII password (SCRAM with SASLprep).
Replies are checked against the shipped templates, as in test_lifecycle.py.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
from dbot import eq  # noqa: E402
from test_lifecycle import (ACCOUNTS, BOT, PEOPLE, file_complaint,  # noqa: E402
                            from_bot_direct, from_bot_in, person, render, said, setup, state,
                            wait_state)


def test_long_ack_note_kept_whole(t):
    """A note of any length a command may carry lands whole in the timeline (it was cut at
    256 bytes, inside a character, and the API then showed it as not valid UTF-8)."""
    p, b = setup(t)
    wang = person(p, "wang", "dealer-sh001", "王经理")
    room = p.room("dealer-sh001")
    cid = file_complaint(b, "long-ack")
    wait_state(b, cid, "notified")
    note = "x" + "今天联系客户并安排到店检查" * 60  # 1 + 60 * 13 characters, 2,341 bytes
    wang.send_groupchat(room, "/ack %s eta=2026-12-01 %s" % (cid, note))
    said(wang, from_bot_in(room), render("ack_ok", id=cid, owner="王经理", eta="2026-12-01"))
    acts = [e for e in state(b, cid)["timeline"] if e["kind"] == "ack"]
    eq(acts[0].get("detail"), "eta 2026-12-01; " + note, "the whole note")


def test_unicode_case_in_directory_jid(t):
    """people.csv spells a JID with a non-ASCII capital (Émile@localhost); the server folds it
    (nodeprep) and reports the sender as émile@localhost. The directory entry must match it:
    with an ASCII-only fold it never did, and every command was refused as from a stranger."""
    people = PEOPLE + "Émile@LocalHost,SH001,agent,Émile,en\n"
    accounts = dict(ACCOUNTS, **{"émile": "emile-pw"})
    p, b = setup(t, people=people, accounts=accounts)
    emile = p.client("émile", "emile-pw")
    emile.send_chat(BOT, "/help")
    said(emile, from_bot_direct, render("help_head", "en", name="Émile"))
    cid = file_complaint(b, "uni-1")
    wait_state(b, cid, "notified")
    emile.send_chat(BOT, "/ack " + cid)
    wait_state(b, cid, "acknowledged")
    eq(state(b, cid).get("owner"), "émile@localhost", "the owner is the folded JID")


def test_non_ascii_bot_password(t):
    """The bot's account has a non-ASCII password. SCRAM needs it SASLprepped the way the
    server prepared it (here a full-width letter that NFKC maps to ASCII, and a no-break space
    that becomes a space): the bot logs in and answers. It used to refuse the password at
    every connect and reconnect for ever."""
    pw = "密码\uff50\u00e4ss\u00a0w\u00f6rd"
    p, b = setup(t, accounts=dict(ACCOUNTS, dealerbot=pw))
    wang = person(p, "wang")
    wang.send_chat(BOT, "/help")
    said(wang, from_bot_direct, render("help_head", name="王经理"))


if __name__ == "__main__":
    dbot.main(globals())
