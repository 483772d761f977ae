"""test_appeals.py — appeals on penalty entries on a real Prosody, with real XMPP clients:

- every ledger entry has an id (P-1) and a state on /penalties;
- a manager of the penalised dealer appeals (unprefixed in the dealer room, "申诉 P-1 理由"):
  the staff room hears of it, the sender is answered; a supervisor upholds (the dealer room is
  told, the points still count) or waives (the dealer room is told, the points leave the
  scorecard and the underperformer evaluation: a dealer over penalty_points_max only because
  of the waived entry leaves the group at the next evaluation), the entry stays listed;
- the API: GET /api/v1/penalties?dealer=&state= with each entry's history, POST
  /api/v1/penalties/{id}/appeal|uphold|waive acting as "api" under the same rules (409 with
  the refusal, 404 for an unknown id, 422 for a missing reason or a bad body);
- every refusal answers one line, changes nothing, and is in the entry's history: unknown
  id, another dealer's entry (answered like an unknown one), an agent appealing, an appeal
  without a reason, a second appeal, an appeal after penalties.appeal_window, upholding an
  entry not under appeal, a waiver without a reason, a decision by a dealer, a decided entry.
"""

import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
from dbot import check, eq  # noqa: E402
from test_lifecycle import (BOT, ZH, file_complaint, from_bot_direct, from_bot_in,  # noqa: E402
                            person, render, setup)

ROOM = "dealer-sh001"
STAFF = "brand-service"
CATALOGUE = os.path.join(dbot.SOURCE_DIR, "config", "demo", "penalties.csv")
CONF = ('sla = { default = { ack = "12h"; solution = "5d"; close = "15d"; }; };'
        ' underperformers = { window = "90d"; min_complaints = 0; rate_factor = 100.0;'
        ' close_sla_min = 0.0; penalty_points_max = 3; exit_after = "0s"; };'
        ' penalties = { catalogue = "%s"; appeal_window = "7d"; };' % CATALOGUE)


def db(b):
    return sqlite3.connect(os.path.join(b.dir, "dealerbot.db"), timeout=10)


def history(b, pid):
    con = db(b)
    try:
        return [r[0] for r in con.execute(
            "SELECT kind FROM penalty_history WHERE penalty_id = ? ORDER BY id", (pid,))]
    finally:
        con.close()


def states(b):
    con = db(b)
    try:
        return dict(con.execute("SELECT id, state FROM penalties"))
    finally:
        con.close()


def points(b, dealer="SH001"):
    r = b.get("/api/v1/scorecards?dealer=" + dealer)
    eq(r.status, 200, "scorecard: %r" % r)
    return r.json["dealers"][0]["penalty_points"]


def evaluate(b):
    r = b.post("/api/v1/underperformers/evaluate", {})
    eq(r.status, 200, "evaluate: %r" % r)
    return r.json


def test_appeal_uphold_waive(t):
    p, b = setup(t, sla=CONF)
    b.wait_log("penalty catalogue: 4 rule(s)")
    room, staff = p.room(ROOM), p.room(STAFF)
    wang = person(p, "wang", ROOM)           # SH001 manager
    li = person(p, "li", ROOM)               # SH001 agent
    zhao = person(p, "zhao")                 # BJ002 manager
    liu = person(p, "liu", STAFF)            # brand supervisor
    boss = person(p, "boss")                 # brand admin

    def reply(client, key, **v):
        return client.wait_for_message(lambda m: (from_bot_direct(m) or from_bot_in(room)(m))
                                       and m.body == render(key, **v), 5)

    file_complaint(b, "ap-1")                # a dealer without complaints is never listed
    # three entries: P-1 (P-102, 2 points), P-2 (P-101, 1), P-3 (P-101, 1)
    liu.send_chat(BOT, "/处罚 SH001 P-102 原因写成客户误解")
    liu.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith("📌"), 5)
    liu.send_chat(BOT, "/处罚 SH001 P-101")
    liu.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith("📌"), 5)
    liu.send_chat(BOT, "/penalty SH001 P-101")
    liu.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith("📌"), 5)
    time.sleep(1.1)                          # windows end now, exclusive: a second on
    eq(points(b), 4, "4 points on the scorecard")
    eq(evaluate(b)["entered"], 1, "SH001 is over penalty_points_max (3)")

    # the ledger shows the ids and states
    wang.send_chat(BOT, "/处罚记录")
    body = wang.wait_for_message(lambda m: from_bot_direct(m) and
                                 m.body.startswith(render("penalties_head", dealer_code="SH001",
                                                          count=3, total=4)), 5).body
    check("P-1｜" in body and "P-3｜" in body and ZH["pstate_standing"] in body, body)

    # refusals before any appeal
    wang.send_groupchat(room, "申诉 P-99 理由")
    reply(wang, "pen_unknown", pid="P-99")
    zhao.send_chat(BOT, "/appeal P-1 不是我们")             # another dealer: like unknown
    reply(zhao, "pen_unknown", pid="P-1")
    li.send_chat(BOT, "/appeal P-1 系统故障")               # an agent, not a manager
    reply(li, "pen_not_manager", pid="P-1")
    wang.send_chat(BOT, "/申诉 P-1")                        # no reason
    reply(wang, "pen_need_reason", pid="P-1", command="/申诉")
    liu.send_chat(BOT, "/uphold P-1")                       # not under appeal
    reply(liu, "pen_not_appealed", pid="P-1")
    eq(states(b), {1: "standing", 2: "standing", 3: "standing"}, "nothing changed")

    # the appeal, typed in the dealer room without a slash
    wang.send_groupchat(room, "申诉 P-1 客户已书面确认原因属实")
    wang.wait_for_message(lambda m: from_bot_in(room)(m) and
                          m.body == render("pen_appeal_ok", pid="P-1"), 5)
    msg = liu.wait_for_message(lambda m: from_bot_in(staff)(m) and m.body == render(
        "pen_appeal_staff", pid="P-1", dealer_code="SH001", dealer_name="上海浦东汽车",
        code="P-102", points=2, who="王经理", reason="客户已书面确认原因属实"), 5)
    check("P-1" in msg.body, msg.body)
    wang.send_groupchat(room, "/appeal P-1 again")          # once per entry
    reply(wang, "pen_appealed_before", pid="P-1")
    li.send_chat(BOT, "/waive P-1 我们自己撤销")             # a dealer cannot decide
    reply(li, "err_not_allowed", command="/waive")
    liu.send_chat(BOT, "/撤销 P-1")                          # a waiver needs a reason
    reply(liu, "pen_need_reason", pid="P-1", command="/撤销")

    # P-2: appealed and upheld — still counts
    wang.send_chat(BOT, "/appeal P-2 已按时受理")
    reply(wang, "pen_appeal_ok", pid="P-2")
    liu.send_chat(BOT, "/维持 P-2 系统记录显示超时")
    wang.wait_for_message(lambda m: from_bot_in(room)(m) and m.body == render(
        "pen_upheld", pid="P-2", dealer_code="SH001", code="P-101", points=1, who="刘主管",
        note="系统记录显示超时"), 5)
    liu.send_chat(BOT, "/waive P-2 改判")
    reply(liu, "pen_decided", pid="P-2", state=ZH["pstate_upheld"])
    eq(points(b), 4, "an upheld entry counts")

    # P-3: recorded 8 days ago, past the 7-day window
    con = db(b)
    with con:
        con.execute("UPDATE penalties SET at = at - 8 * 86400 WHERE id = 3")
    con.close()
    wang.send_chat(BOT, "/appeal P-3 迟到的申诉")
    reply(wang, "pen_window", pid="P-3", window="7天")
    eq(points(b), 4, "still 4 points")
    eq(evaluate(b)["left"], 0, "SH001 stays listed")

    # P-1 waived by the admin: told in the dealer room, out of the scorecard and the
    # evaluation (2 points left, under 3: SH001 leaves), still listed as waived
    boss.send_chat(BOT, "/撤销 P-1 录入错误")
    wang.wait_for_message(lambda m: from_bot_in(room)(m) and m.body == render(
        "pen_waived", pid="P-1", dealer_code="SH001", code="P-102", points=2, who="总监",
        reason="录入错误", total=2), 5)
    eq(points(b), 2, "the waived points left the scorecard")
    r = evaluate(b)
    eq((r["left"], r["listed"]), (1, 0), "SH001 leaves the group at the next evaluation")
    boss.send_chat(BOT, "/uphold P-1")
    reply(boss, "pen_decided", pid="P-1", state=ZH["pstate_waived"])
    wang.send_chat(BOT, "/penalties")
    body = wang.wait_for_message(lambda m: from_bot_direct(m) and
                                 m.body.startswith(render("penalties_head", dealer_code="SH001",
                                                          count=3, total=2)), 5).body
    check(ZH["pstate_waived"] in body and ZH["pstate_upheld"] in body, body)

    eq(states(b), {1: "waived", 2: "upheld", 3: "standing"}, "the states")
    eq(history(b, 1), ["refused", "refused", "refused", "refused", "appeal", "refused",
                       "refused", "refused", "waive", "refused"], "P-1's history")
    eq(history(b, 2), ["appeal", "uphold", "refused"], "P-2's history")
    eq(history(b, 3), ["refused"], "P-3's history")
    time.sleep(0.3)


def test_api(t):
    p, b = setup(t, sla=CONF)
    b.wait_log("penalty catalogue: 4 rule(s)")
    room, staff = p.room(ROOM), p.room(STAFF)
    wang = person(p, "wang", ROOM)
    liu = person(p, "liu", STAFF)
    for code in ("P-102", "P-101"):
        liu.send_chat(BOT, "/penalty SH001 " + code)
        liu.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith("📌"), 5)

    r = b.get("/api/v1/penalties?dealer=sh001")
    eq(r.status, 200, "GET: %r" % r)
    eq([(e["id"], e["code"], e["points"], e["state"], e["history"]) for e in r.json["penalties"]],
       [("P-1", "P-102", 2, "standing", []), ("P-2", "P-101", 1, "standing", [])], "the ledger")
    eq(b.get("/api/v1/penalties?dealer=BJ002").json["penalties"], [], "another dealer's")

    # the appeal, on the dealer's behalf: the staff room hears of it from "api"
    r = b.post("/api/v1/penalties/P-1/appeal", {"reason": "客户已确认"})
    eq((r.status, r.json), (200, {"id": "P-1", "state": "appealed"}), "appeal")
    liu.wait_for_message(lambda m: from_bot_in(staff)(m) and m.body == render(
        "pen_appeal_staff", pid="P-1", dealer_code="SH001", dealer_name="上海浦东汽车",
        code="P-102", points=2, who="api", reason="客户已确认"), 5)

    # refusals: one answer, nothing changes, in the entry's history
    r = b.post("/api/v1/penalties/1/appeal", {"reason": "again"})
    eq((r.status, r.json["refusal"], r.json["state"]), (409, "appealed_before", "appealed"),
       "a second appeal")
    r = b.post("/api/v1/penalties/P-1/waive", {"reason": "  "})
    eq((r.status, r.json["error"]), (422, "missing field: reason"), "a waiver without a reason")
    eq(b.post("/api/v1/penalties/P-99/uphold", {}).status, 404, "unknown id")
    r = b.post("/api/v1/penalties/P-2/uphold", {})
    eq((r.status, r.json["refusal"]), (409, "not_appealed"), "uphold a standing entry")
    eq(b.post("/api/v1/penalties/P-1/delete", {}).status, 404, "unknown action")
    eq(b.post("/api/v1/penalties/P-1/waive", {"why": "x"}).status, 422, "unknown field")
    eq(b.post("/api/v1/penalties/P-1/waive", {"reason": 5}).status, 422, "not a string")
    eq(b.get("/api/v1/penalties?state=gone").status, 400, "unknown state")
    eq(b.get("/api/v1/penalties/P-1/appeal").status, 405, "GET on an action")
    eq(states(b), {1: "appealed", 2: "standing"}, "nothing changed")

    # waived: the dealer room is told, the points leave the scorecard
    time.sleep(1.1)
    eq(points(b), 3, "3 points before")
    r = b.post("/api/v1/penalties/P-1/waive", {"reason": "录入错误"})
    eq((r.status, r.json), (200, {"id": "P-1", "state": "waived"}), "waive")
    wang.wait_for_message(lambda m: from_bot_in(room)(m) and m.body == render(
        "pen_waived", pid="P-1", dealer_code="SH001", code="P-102", points=2, who="api",
        reason="录入错误", total=1), 5)
    eq(points(b), 1, "1 point after")
    liu.send_chat(BOT, "/uphold P-1")
    liu.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "pen_decided", pid="P-1", state=ZH["pstate_waived"]), 5)
    r = b.get("/api/v1/penalties?state=waived")
    eq([e["id"] for e in r.json["penalties"]], ["P-1"], "the waived ones")
    h = r.json["penalties"][0]["history"]
    eq([(s["kind"], s["actor"]) for s in h],
       [("appeal", "api"), ("refused", "api"), ("refused", "api"), ("waive", "api"),
        ("refused", "liu@localhost")], "the history")
    eq((h[0]["detail"], h[1]["detail"], h[3]["detail"]),
       ("客户已确认", "appeal: appealed_before", "录入错误"), "with the words")


if __name__ == "__main__":
    dbot.main(globals())
