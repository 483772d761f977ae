"""test_rewards.py — rewards beside the penalties on a real Prosody, with real XMPP clients:

- a commendation (`表扬 C-1 <note>`, a supervisor, typed in the staff room without a slash)
  is posted in the dealer room and the staff room, is on the ledger (`台账`: penalties,
  rewards, the balance) and on the scorecard (`reward_points`, ranked) and the complaint's
  timeline;
- the automatic rewards, switched on in the config: a complaint closed with its report
  approved the first time and in time (`rewards.first_time_points`), a return-visit score of
  5 (`rewards.satisfaction_points`), each once per complaint and told in the dealer room; a
  complaint whose report was rejected once gets no first-time reward;
- refusals: a commendation by someone who is not a supervisor or admin, of a cancelled
  complaint (one line, nothing recorded, the refusal on the complaint's timeline), without a
  note.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
from dbot import check, eq  # noqa: E402
from test_lifecycle import (BOT, ZH, file_complaint, from_bot_direct, from_bot_in,  # noqa: E402
                            person, render, setup, wait_state)

ROOM = "dealer-sh001"
STAFF = "brand-service"
CONF = ('sla = { default = { ack = "12h"; solution = "5d"; close = "15d"; }; };'
        ' rewards = { commend_points = 2; first_time_points = 3; satisfaction_points = 1; };'
        ' penalties = { ack_points = 1; };')


def close_in_chat(p, b, wang, liu, cid, reject=False):
    room = p.room(ROOM)
    wait_state(b, cid, "notified")
    wang.send_groupchat(room, "受理 " + cid)
    wang.send_groupchat(room, "方案 %s 更换零件" % cid)
    report = "结案 %s\n原因：零件批次问题\n措施：已更换\n预防：入库抽检" % cid
    wang.send_groupchat(room, report)
    wait_state(b, cid, "report_submitted")
    if reject:
        liu.send_chat(BOT, "/驳回 %s 原因写得不清楚" % cid)
        wait_state(b, cid, "solution_agreed")
        wang.send_groupchat(room, report)
        wait_state(b, cid, "report_submitted")
    liu.send_chat(BOT, "/approve " + cid)
    wait_state(b, cid, "closed")


def rewards_of(b, dealer="SH001"):
    r = b.get("/api/v1/scorecards?dealer=" + dealer)
    eq(r.status, 200, "scorecard: %r" % r)
    d = r.json["dealers"][0]
    return d["reward_points"], d["rank"]["reward_points"]


def test_commend_and_automatic_rewards(t):
    p, b = setup(t, sla=CONF)
    room, staff = p.room(ROOM), p.room(STAFF)
    wang = person(p, "wang", ROOM)
    li = person(p, "li")
    liu = person(p, "liu", STAFF)
    boss = person(p, "boss")

    def auto(kind, cid, points):
        return wang.wait_for_message(lambda m: from_bot_in(room)(m) and m.body == render(
            "reward_auto", id=cid, dealer_code="SH001", kind=ZH["rkind_" + kind],
            points=points), 10)

    # closed right first time: +3; a return visit of 5: +1, once
    c1 = file_complaint(b, "rw-1")
    close_in_chat(p, b, wang, liu, c1)
    auto("first_time", c1, 3)
    r = b.post("/api/v1/complaints/%s/satisfaction" % c1, {"score": 5})
    eq(r.status, 200, "score 5: %r" % r)
    auto("satisfaction", c1, 1)
    r = b.post("/api/v1/complaints/%s/satisfaction" % c1, {"score": 5, "comment": "again"})
    eq(r.status, 200, "score 5 again: %r" % r)

    # a report rejected once: no first-time reward
    c2 = file_complaint(b, "rw-2")
    close_in_chat(p, b, wang, liu, c2, reject=True)

    # the commendation, typed in the staff room without a slash
    liu.send_groupchat(staff, "表扬 %s 回访及时，客户很满意" % c1)
    v = dict(id=c1, dealer_code="SH001", dealer_name="上海浦东汽车", points=2, total=6,
             who="刘主管", note="回访及时，客户很满意")
    wang.wait_for_message(lambda m: from_bot_in(room)(m) and m.body == render("commended", **v),
                          5)
    liu.wait_for_message(lambda m: from_bot_in(staff)(m) and m.body == render("commended", **v),
                         5)
    kinds = [e["kind"] for e in b.get("/api/v1/complaints/" + c1).json["timeline"]]
    eq([k for k in kinds if k in ("reward", "commend")], ["reward", "reward", "commend"],
       "on the timeline: %r" % kinds)

    # refusals: not a supervisor, a cancelled complaint, no note
    li.send_chat(BOT, "/commend %s 很好" % c1)
    li.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "err_not_allowed", command="/commend"), 5)
    c3 = file_complaint(b, "rw-3")
    wait_state(b, c3, "notified")
    boss.send_chat(BOT, "/cancel %s 重复投诉" % c3)
    wait_state(b, c3, "cancelled")
    liu.send_chat(BOT, "/表扬 %s 很好" % c3)
    liu.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "err_commend_cancelled", id=c3), 5)
    tl = b.get("/api/v1/complaints/" + c3).json["timeline"]
    check(any(e["kind"] == "refused" and "commend" in (e["detail"] or "") for e in tl),
          "the refusal is on the timeline: %r" % tl)
    liu.send_chat(BOT, "/commend " + c1)
    liu.wait_for_message(lambda m: from_bot_direct(m) and "/commend" in m.body, 5)

    # the ledger: rewards with the balance (no penalties: 6 - 0)
    wang.send_chat(BOT, "/台账")
    body = wang.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith(
        render("penalties_empty", dealer_code="SH001")), 5).body
    check(render("rewards_head", count=3, rewards=6) in body, body)
    check(render("ledger_balance", penalties=0, rewards=6, balance="+6") in body, body)
    check(ZH["rkind_commend"] in body and ZH["rkind_first_time"] in body and
          ZH["rkind_satisfaction"] in body and "回访及时" in body, body)

    # the scorecard: reward_points, ranked (SH001 first, BJ002 none)
    time.sleep(1.1)                          # windows end now, exclusive
    eq(rewards_of(b), (6, 1), "SH001's reward points and rank")
    eq(rewards_of(b, "BJ002"), (0, 2), "BJ002's")


if __name__ == "__main__":
    dbot.main(globals())
