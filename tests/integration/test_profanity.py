"""test_profanity.py — what the card tells a dealer to type works when it is typed into a real
terminal XMPP client (issue 10). profanity runs under tmux against the private Prosody (its
c2s port, TLS disabled, an account file in a temporary home); the keys are sent with `tmux
send-keys` as a person types them, and the ticket is checked through the intake API.

profanity takes every line that starts with '/' as its own command ("Unknown command: /ack"),
which is why the card shows "受理 C-1" and not "/受理 C-1"; the test shows both.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
from dbot import check, eq  # noqa: E402
from test_lifecycle import (ACCOUNTS, file_complaint, from_bot_in, person, prefix,  # noqa: E402
                            render, said, setup, state, wait_state)

ROOM = "dealer-sh001"


class Profanity:
    """One profanity process in its own tmux server (socket in a temporary directory)."""

    def __init__(self, p, user):
        self.home = tempfile.mkdtemp(prefix="dbot-profanity-")
        self.sock = os.path.join(self.home, "tmux.sock")
        data = os.path.join(self.home, ".local", "share", "profanity")
        os.makedirs(data)
        os.makedirs(os.path.join(self.home, ".config", "profanity"))
        jid = "%s@%s" % (user, p.domain)
        accounts = os.path.join(data, "accounts")
        with open(accounts, "w") as f:
            f.write("[%s]\nenabled=true\njid=%s\nserver=127.0.0.1\nport=%d\n"
                    "resource=profanity\npassword=%s\ntls.policy=disable\n"
                    % (jid, jid, p.c2s_port, ACCOUNTS[user]))
        os.chmod(accounts, 0o600)
        self.env = dict(os.environ, HOME=self.home,
                        XDG_CONFIG_HOME=os.path.join(self.home, ".config"),
                        XDG_DATA_HOME=os.path.join(self.home, ".local", "share"),
                        LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color")
        self.tmux("new-session", "-d", "-x", "160", "-y", "45", "profanity -a " + jid)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.sock, "-f", "/dev/null"] + list(args),
                              env=self.env, capture_output=True, timeout=10, check=True)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-S", "-200").stdout.decode("utf-8", "replace")

    def wait_screen(self, text, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if text in s:
                return s
            if time.monotonic() > deadline:
                raise dbot.TestFailure("profanity never showed %r; screen:\n%s" % (text, s))
            time.sleep(0.2)

    def type(self, line):
        """Types a line as a person does: the characters, then Enter."""
        self.tmux("send-keys", "-l", line)
        self.tmux("send-keys", "Enter")

    def close(self):
        try:
            self.tmux("kill-server")
        except (subprocess.SubprocessError, OSError):
            pass
        shutil.rmtree(self.home, ignore_errors=True)


def test_card_instruction_typed_in_profanity(t):
    if not shutil.which("profanity") or not shutil.which("tmux"):
        raise dbot.TestFailure("profanity and tmux are needed (scripts/deps.sh installs them)")
    p, b = setup(t)
    room = p.room(ROOM)
    li = person(p, "li", ROOM, "李顾问")           # watches the room
    cid = file_complaint(b, "prof-1")
    card = said(li, from_bot_in(room), prefix("card", id=cid))
    wait_state(b, cid, "notified")
    # the instruction as the card gives it: the first quoted command
    m = re.search(r"“([^”]+)”", card)
    check(m is not None, "the card quotes what to type: %s" % card)
    instruction = m.group(1)
    check(cid in instruction and not instruction.startswith("/"), instruction)

    prof = Profanity(p, "wang")
    try:
        prof.wait_screen("logged in successfully")
        prof.type("/join %s nick wang" % room)
        li.wait_for_presence(lambda pr: pr.room == room and pr.nick == "wang", timeout=10)
        # what the old card said: profanity keeps it to itself, nothing reaches the room
        prof.type("/受理 " + cid)
        li.no_message(lambda m: m.room == room and m.nick == "wang", within=1.0)
        eq(state(b, cid)["state"], "notified", "the slash form never left profanity")
        prof.type("/win 1")                         # profanity says why, in its console
        prof.wait_screen("Unknown command: /受理 " + cid)
        prof.type("/win 2")
        prof.wait_screen("You have joined the room as wang")
        # what the card says now
        prof.type(instruction)
        said(li, from_bot_in(room), prefix("ack_ok", id=cid))
        wait_state(b, cid, "acknowledged")
        eq(state(b, cid).get("owner"), "wang@localhost", "owner after typing in profanity")
        # the next step as the bot's reply words it
        prof.type("方案 %s 更换油封" % cid)
        said(li, from_bot_in(room), render("plan_ok", id=cid, who="王经理", solution="更换油封"))
        wait_state(b, cid, "solution_agreed")
        # and the bot's answer is on the dealer's screen too
        prof.wait_screen(prefix("plan_ok", id=cid).split("\n")[0][:8])
    except Exception:
        print("---- profanity screen ----\n%s\n----" % prof.screen())
        raise
    finally:
        prof.close()


if __name__ == "__main__":
    dbot.main(globals())
