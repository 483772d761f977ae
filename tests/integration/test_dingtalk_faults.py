"""test_dingtalk_faults.py — the bot on DingTalk when things go wrong, against the repo's
simulator (tests/dingtalk_sim/): a gateway that refuses the credentials, a dropped socket and a
SYSTEM disconnect mid-burst, a throttling storm (HTTP 429 and the flow-control code), a kill -9
between a send and its answer, a callback that arrives while the bot is down, an expired
token, and bad input (frames that are not JSON or lack a messageId, callbacks without msgId or
senderStaffId, data that is not a JSON string, text that is not UTF-8, send answers that are
not JSON or lack processQueryKey): every message arrives at least once, the outbox drains,
nothing is answered that was not recorded.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
import dingtalk  # noqa: E402
from dbot import check, eq  # noqa: E402
from test_dingtalk import (file_complaint, prefix, run_with_cleanups, setup,  # noqa: E402
                           to_person, wait_state)


# ---- the connection ----

def test_gateway_401_is_logged_and_retried(t):
    sim, b = setup(t, start=False)
    sim.ctl("fail", {"what": "open", "count": 2})
    b.start()
    b.wait_log("the gateway refused the app's credentials (HTTP 401", timeout=20)
    b.wait_log("session ready", timeout=30)
    check(sim.stats()["opens_refused"] == 2, sim.stats())
    check("client_secret\": " not in b.log_text() and dingtalk.CLIENT_SECRET not in b.log_text(),
          "the secret is never logged")


def test_drop_and_disconnect_reconnect_and_resend(t):
    sim, b = setup(t)
    sim.ctl("delay", {"ms": 300})
    ids = [file_complaint(b, "dt-drop-%d" % i) for i in range(20)]
    time.sleep(0.2)
    sim.ctl("drop", {})
    b.wait_log("session down")
    sim.wait(lambda: sim.streams() >= 1 and sim.stats()["streams"] >= 2, "a new stream",
             timeout=20)
    sim.ctl("delay", {"ms": 0})
    for cid in ids:
        wait_state(b, cid, "notified", timeout=30)
    for cid in ids:
        check(sim.sent_to(dingtalk.room_cid("dealer-sh001")) and
              any(m["text"].startswith(prefix("card", id=cid))
                  for m in sim.sent_to(dingtalk.room_cid("dealer-sh001"))), cid)
    sim.ctl("disconnect", {})
    sim.wait(lambda: sim.stats()["streams"] >= 3, "a stream after SYSTEM disconnect", timeout=20)
    mid = sim.callback("/help", "wang01", group=False)
    eq(sim.wait_ack(mid, timeout=20), 200, "a callback after the reconnect")


def test_throttling_storm_every_message_arrives(t):
    sim, b = setup(t)
    sim.ctl("throttle", {"count": 40, "mode": "flow"})
    ids = [file_complaint(b, "dt-storm-%d" % i) for i in range(30)]
    sim.wait(lambda: sim.stats()["sends_throttled"] >= 40, "40 throttled answers", timeout=60)
    sim.ctl("throttle", {"count": 20, "mode": "429"})
    for cid in ids:
        wait_state(b, cid, "notified", timeout=60)
    got = [m["text"] for m in sim.sent_to(dingtalk.room_cid("dealer-sh001"))]
    for cid in ids:
        check(any(t.startswith(prefix("card", id=cid)) for t in got), "card of %s" % cid)
    check("pausing sends" in b.log_text(), "throttling is logged")


def test_kill_between_send_and_answer(t):
    sim, b = setup(t)
    sim.ctl("delay", {"ms": 3000})
    cid = file_complaint(b, "dt-kill")
    sim.wait(lambda: sim.stats()["sends"] >= 1, "the send on the wire")
    b.kill()
    sim.ctl("delay", {"ms": 0})
    b.start()
    wait_state(b, cid, "notified", timeout=30)
    cards = [m for m in sim.sent_to(dingtalk.room_cid("dealer-sh001"))
             if m["text"].startswith(prefix("card", id=cid))]
    check(1 <= len(cards) <= 2, "the card arrives at least once: %d" % len(cards))


def test_callback_answered_only_after_commit_and_pushed_again(t):
    sim, b = setup(t, sim_kw={"resend_after": 1.0})
    cid = file_complaint(b, "dt-crash-cb")
    wait_state(b, cid, "notified")
    b.kill()
    # the message arrives while the bot is down: unanswered, DingTalk pushes it again
    mid = sim.callback("/ack %s" % cid, "wang01", cid=dingtalk.room_cid("dealer-sh001"))
    time.sleep(0.5)
    check(mid in sim.acks()["pending"], "not answered while the bot is down")
    b.start()
    eq(sim.wait_ack(mid, timeout=20), 200, "answered once handled")
    wait_state(b, cid, "acknowledged")


def test_callback_not_recorded_is_not_acknowledged(t):
    """The store cannot take the message (another writer holds the database past the bot's
    busy timeout): the callback is answered with an error, DingTalk pushes it again, and once
    the store is free it is acted on, once."""
    import sqlite3
    sim, b = setup(t, sim_kw={"resend_after": 1.0})
    cid = file_complaint(b, "dt-busy")
    wait_state(b, cid, "notified")
    con = sqlite3.connect(os.path.join(b.dir, "dealerbot.db"), timeout=30, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    try:
        mid = sim.callback("/ack %s" % cid, "wang01", cid=dingtalk.room_cid("dealer-sh001"))
        b.wait_log("was not recorded: answered with an error", timeout=30)
        sim.wait(lambda: sim.acks()["acks"].get(mid + "/codes"), "the first answer", timeout=10)
        eq(sim.acks()["acks"][mid + "/codes"][0], 500, "the first answer")
    finally:
        con.execute("ROLLBACK")
        con.close()
    sim.wait(lambda: sim.acks()["acks"].get(mid) == 200, "the answer after the push again",
             timeout=30)
    wait_state(b, cid, "acknowledged")
    acks = [m for m in sim.sent_to(dingtalk.room_cid("dealer-sh001"))
            if m["text"].startswith(prefix("ack_ok", id=cid))]
    eq(len(acks), 1, "acted on once")


def test_expired_token_is_renewed(t):
    sim, b = setup(t)
    cid = file_complaint(b, "dt-tok-1")
    wait_state(b, cid, "notified")
    tokens = sim.stats()["tokens"]
    sim.ctl("expire_tokens", {})
    cid2 = file_complaint(b, "dt-tok-2")
    wait_state(b, cid2, "notified")
    check(sim.stats()["tokens"] == tokens + 1 and sim.stats()["sends_401"] >= 1, sim.stats())


# ---- bad input ----

def test_bad_frames_and_callbacks(t):
    sim, b = setup(t)
    sim.ctl("raw", {"text": "this is not json"})
    sim.ctl("raw", {"text": '{"type":"CALLBACK","headers":{"topic":"x"}}'})
    b.wait_log("ignoring a frame is not JSON")
    b.wait_log("ignoring a frame without a usable messageId")
    m1 = sim.callback("/help", "wang01", omit=["msgId"])
    m2 = sim.callback("/help", "", group=False)
    m3 = sim.ctl("callback", {"data_raw": {"not": "a string"}})["messageId"]
    m4 = sim.ctl("callback", {"data_raw": "{\"msgId\":\"x\",\"senderStaffId\":\"wang01\","
                                          "\"conversationType\":\"1\",\"conversationId\":\"c\","
                                          "\"text\":{\"content\":\"\\udc80\"}}"})["messageId"]
    eq(sim.wait_ack(m1), 400, "no msgId")
    eq(sim.wait_ack(m2), 400, "no senderStaffId")
    b.wait_log("data is not a JSON string")
    eq(sim.wait_ack(m4), 400, "text not valid UTF-8")
    check(m3 not in sim.acks()["acks"], "a frame with bad data has nothing to answer by")
    log = b.log_text()
    check("a robot message without msgId" in log and
          "a robot message without senderStaffId" in log, log[-2000:])
    # the session goes on
    mid = sim.callback("/help", "wang01", group=False)
    eq(sim.wait_ack(mid), 200, "still working")
    sim.wait_sent(to_person("wang01", ""), "an answer after the bad input")


def test_bad_send_answers_are_retried(t):
    sim, b = setup(t)
    sim.ctl("fail", {"what": "send", "count": 2, "mode": "notjson"})
    cid = file_complaint(b, "dt-badans-1")
    wait_state(b, cid, "notified", timeout=20)
    b.wait_log("an answer that is not a JSON object")
    sim.ctl("fail", {"what": "send", "count": 1, "mode": "nokey"})
    cid2 = file_complaint(b, "dt-badans-2")
    wait_state(b, cid2, "notified", timeout=20)
    b.wait_log("an answer without processQueryKey")


dbot.FILE_TIMEOUT = 280
run_with_cleanups(globals())
