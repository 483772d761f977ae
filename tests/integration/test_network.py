"""test_network.py — the network programme on a real Prosody (issue 6, the parts built so far):
the return visit (a dissatisfied customer reopens the complaint and the dealer room hears of
it) and batch warnings (many complaints of one category give the staff room ONE warning).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
from dbot import check, eq  # noqa: E402
from test_lifecycle import (BOT, ZH, file_complaint, from_bot_direct, from_bot_in,  # noqa: E402
                            person, prefix,
                            render, setup, wait_state)

ROOM = "dealer-sh001"


def close_in_chat(p, b, wang, liu, cid):
    room = p.room(ROOM)
    wait_state(b, cid, "notified")
    wang.send_groupchat(room, "/ack " + cid)
    wang.send_groupchat(room, "/plan %s 更换零件" % cid)
    wang.send_groupchat(room, "/close %s\n原因：零件批次问题\n措施：已更换\n预防：入库抽检" % cid)
    wait_state(b, cid, "report_submitted")
    liu.send_chat(BOT, "/approve " + cid)
    wait_state(b, cid, "closed")


def test_return_visit(t):
    p, b = setup(t)
    wang = person(p, "wang", ROOM)
    liu = person(p, "liu")
    c1 = file_complaint(b, "rv-1")
    c2 = file_complaint(b, "rv-2")
    close_in_chat(p, b, wang, liu, c1)
    close_in_chat(p, b, wang, liu, c2)

    # a satisfied customer: recorded, nothing else
    r = b.post("/api/v1/complaints/%s/satisfaction" % c2, {"score": 4, "comment": "满意"})
    eq(r.status, 200, "satisfied: %r" % r)
    eq(r.json["state"], "closed", "stays closed")
    eq(r.json["satisfaction"]["score"], 4, "score recorded")
    eq(r.json["reopened"], 0, "not reopened")

    # a dissatisfied one reopens, with the comment as the reason, and the room hears of it
    r = b.post("/api/v1/complaints/%s/satisfaction" % c1, {"score": 1, "comment": "异响仍在"})
    eq(r.status, 200, "dissatisfied: %r" % r)
    eq(r.json["reopened"], 1, "reopened once")
    eq(r.json["state"], "acknowledged", "back with the dealer")
    eq(r.json["satisfaction"]["comment"], "异响仍在", "comment")
    body = wang.wait_for_message(
        lambda m: from_bot_in(p.room(ROOM))(m) and m.body.startswith(
            prefix("satisfaction_reopened", id=c1, score=1)), 10).body
    check("异响仍在" in body, body)
    c = b.get("/api/v1/complaints/" + c1).json
    kinds = [e["kind"] for e in c["timeline"]]
    check("satisfaction" in kinds and kinds.count("reopen") == 1, kinds)
    eq(c["reopened"], 1, "the reopen is counted")

    # bad input changes nothing
    for body, status in (({"score": 6}, 422), ({}, 422), ({"score": "1"}, 422),
                         ({"score": 2, "comment": 5}, 422), ({"score": 2, "x": 1}, 422),
                         ("{bad json", 400), ([1], 422)):
        r = b.post("/api/v1/complaints/%s/satisfaction" % c2, body)
        eq(r.status, status, "satisfaction %r -> %r" % (body, r))
        check(r.json and "error" in r.json, "one-line error: %r" % r)
    eq(b.post("/api/v1/complaints/C-999/satisfaction", {"score": 1}).status, 404, "unknown")
    eq(b.post("/api/v1/complaints/%s/satisfaction" % c2, {"score": 1}, token="wrong").status,
       401, "token")
    eq(b.get("/api/v1/complaints/%s/satisfaction" % c2).status, 405, "GET")
    eq(b.get("/api/v1/complaints/" + c2).json["state"], "closed", "c2 untouched")


def test_batch_warning_once(t):
    p, b = setup(t, extra_chat="",
                 sla='batch_warning = { window = "1h"; dealer_count = 3; network_count = 5; };'
                     ' sla = { default = { ack = "12h"; solution = "5d"; close = "15d"; }; };')
    liu = person(p, "liu", "brand-service")
    staff = p.room("brand-service")
    ids = [file_complaint(b, "bw-%d" % i, summary="刹车异响") for i in range(4)]
    for i in range(2):
        file_complaint(b, "bw-bj-%d" % i, dealer="BJ002")
    # other categories do not count
    r = b.post("/api/v1/complaints", {"external_id": "bw-other", "dealer": "SH001",
                                      "category": "sales", "priority": "normal",
                                      "customer": {"name": "李四", "phone": "1"},
                                      "summary": "x"})
    eq(r.status, 201, "other category")
    warnings = []
    scope_dealer = prefix("batch_warning", category="after-sales", count=3, scope="SH001")
    scope_net = prefix("batch_warning", category="after-sales", count=5,
                       scope=ZH["scope_network"])
    while True:
        try:
            m = liu.wait_for_message(lambda m: from_bot_in(staff)(m) and "📈" in m.body, 3)
        except Exception:
            break
        warnings.append(m.body)
    dealer_w = [w for w in warnings if w.startswith(scope_dealer)]
    net_w = [w for w in warnings if w.startswith(scope_net)]
    eq(len(dealer_w), 1, "one warning for SH001 (3 in the window), not one per complaint: %r"
       % warnings)
    eq(len(net_w), 1, "one network warning at 5: %r" % warnings)
    eq(len(warnings), 2, "nothing else: %r" % warnings)
    check(ids[2] in dealer_w[0], "the warning lists the complaints: %s" % dealer_w[0])
    check(render("batch_warning", category="x", count=1, window="1", scope="s", list="l")
          .startswith("📈"), "the template starts as checked here")


def test_broadcast_with_read_confirmation(t):
    p, b = setup(t, sla='broadcasts = { remind_after = "3s"; };'
                        ' sla = { default = { ack = "12h"; solution = "5d"; close = "15d"; }; };')
    wang = person(p, "wang", ROOM)
    li = person(p, "li")
    zhao = person(p, "zhao", "dealer-bj002")
    liu = person(p, "liu", "brand-service")
    # dealers may not broadcast
    wang.send_groupchat(p.room(ROOM), "/broadcast all notice 测试")
    wang.wait_for_message(lambda m: from_bot_in(p.room(ROOM))(m) and m.body.startswith(
        render("err_not_allowed", command="/broadcast")), 5)
    liu.send_chat(BOT, "/广播 all standard ack 所有投诉须在12小时内受理，并在群内发送“/受理”。")
    sent = liu.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith(
        prefix("broadcast_sent", id="B-1")), 5).body
    eq(sent, render("broadcast_sent", id="B-1", rooms=2, people=3), "2 rooms, 3 people")
    for client, room in ((wang, ROOM), (zhao, "dealer-bj002")):
        body = client.wait_for_message(lambda m: from_bot_in(p.room(room))(m) and
                                       "B-1" in m.body and "12小时" in m.body, 5).body
        check("/已读 B-1" in body, "asks for the confirmation: %s" % body)
    wang.send_groupchat(p.room(ROOM), "/read B-1")
    wang.wait_for_message(lambda m: from_bot_in(p.room(ROOM))(m) and m.body == render(
        "read_ok", id="B-1"), 5)
    wang.send_groupchat(p.room(ROOM), "/已读 b-1")
    wang.wait_for_message(lambda m: from_bot_in(p.room(ROOM))(m) and m.body == render(
        "read_already", id="B-1"), 5)
    liu.send_chat(BOT, "/read B-1")          # staff were not sent it
    liu.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "err_broadcast_not_yours", id="B-1"), 5)
    liu.send_chat(BOT, "/read B-9")
    liu.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "err_unknown_broadcast", id="B-9"), 5)
    # the ones who did not confirm are reminded, once; zhao confirms, li does not
    li.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith(
        prefix("broadcast_remind", id="B-1")), 8)
    zhao.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith(
        prefix("broadcast_remind", id="B-1")), 3)
    wang.no_message(lambda m: from_bot_direct(m) and "B-1" in m.body, within=0.3)
    zhao.send_chat(BOT, "/read B-1")
    report = liu.wait_for_message(lambda m: from_bot_in(p.room("brand-service"))(m) and
                                  m.body.startswith(prefix("broadcast_stragglers", id="B-1")),
                                  8).body
    check("li@localhost" in report and "zhao@" not in report and "wang@" not in report, report)
    r = b.get("/api/v1/broadcasts/B-1")
    eq(r.status, 200, "GET broadcast")
    eq(r.json["counts"], {"recipients": 3, "delivered": 3, "read": 2}, "counts")
    people = {x["jid"]: x for x in r.json["recipients"]}
    check(people["li@localhost"]["read_at"] is None and people["wang@localhost"]["read_at"],
          people)
    # over the API: scheduled, and validated
    r = b.post("/api/v1/broadcasts", {"audience": "dealer:bj002", "kind": "risk",
                                      "text": "近期发生一起…", "require_read": False})
    eq(r.status, 201, "API broadcast: %r" % r)
    eq((r.json["id"], r.json["rooms"], r.json["recipients"]), ("B-2", 1, 1), "to BJ002 only")
    zhao.wait_for_message(lambda m: from_bot_in(p.room("dealer-bj002"))(m) and "B-2" in m.body,
                          5)
    for body in ({"audience": "everyone", "kind": "risk", "text": "x"},
                 {"audience": "all", "kind": "gossip", "text": "x"},
                 {"audience": "all", "kind": "risk", "text": ""},
                 {"audience": "dealer:NOPE", "kind": "risk", "text": "x"},
                 {"audience": "all", "kind": "risk", "text": "x", "at": "tomorrow"}):
        eq(b.post("/api/v1/broadcasts", body).status, 422, "refused: %r" % body)
    eq(b.get("/api/v1/broadcasts/B-99").status, 404, "unknown broadcast")


def test_underperformers_group(t):
    p, b = setup(t, sla='underperformers = { window = "90d"; min_complaints = 2;'
                        ' rate_factor = 1.5; close_sla_min = 0.0; penalty_points_max = 100;'
                        ' exit_after = "0s"; };'
                        ' sla = { default = { ack = "12h"; solution = "5d"; close = "15d"; }; };')
    liu = person(p, "liu", "brand-service")
    boss = person(p, "boss")
    wang = person(p, "wang", ROOM)
    zhao = person(p, "zhao")
    for i in range(4):                       # SH001: 4 complaints, BJ002: none
        file_complaint(b, "up-%d" % i)
    r = b.post("/api/v1/underperformers/evaluate", {})
    eq(r.status, 200, "evaluate: %r" % r)
    eq(r.json, {"entered": 1, "left": 0, "listed": 1}, "SH001 joins, BJ002 has too few")
    r = b.get("/api/v1/underperformers")
    eq([d["dealer"] for d in r.json["dealers"]], ["SH001"], "the list")
    check(r.json["dealers"][0]["reasons"], "with its reasons")
    body = wang.wait_for_message(lambda m: from_bot_in(p.room(ROOM))(m) and m.body.startswith(
        prefix("under_enter_dealer", dealer_name="上海浦东汽车")), 10).body
    check("underperformers" in body, body)
    # the listed dealer's people are members now; the other dealer's are not
    deadline = time.monotonic() + 10
    while wang.try_join(p.room("underperformers"), "wang") is not None:
        check(time.monotonic() < deadline, "wang never became a member")
        time.sleep(0.2)
    eq(zhao.try_join(p.room("underperformers"), "zhao"), "registration-required", "BJ002 out")
    # staff list it; dealers may not
    liu.send_chat(BOT, "/待改进")
    body = liu.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith(
        render("under_list_head", count=1)), 5).body
    check("SH001" in body, body)
    wang.send_chat(BOT, "/underperformers")
    wang.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "err_not_allowed", command="/underperformers"), 5)
    # an admin pins it out: it leaves at once; unpinned, the figures bring it back
    liu.send_chat(BOT, "/underperformers pin SH001 out")
    liu.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "err_not_allowed", command="/underperformers"), 5)
    boss.send_chat(BOT, "/underperformers pin SH001 out")
    boss.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith(
        prefix("under_pin_ok", dealer_code="SH001")), 5)
    eq(b.get("/api/v1/underperformers").json["dealers"], [], "pinned out")
    boss.send_chat(BOT, "/underperformers unpin SH001")
    boss.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith(
        prefix("under_pin_ok", dealer_code="SH001")), 5)
    eq([d["dealer"] for d in b.get("/api/v1/underperformers").json["dealers"]], ["SH001"],
       "back by its figures")


if __name__ == "__main__":
    dbot.main(globals())
