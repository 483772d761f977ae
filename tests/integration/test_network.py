"""test_network.py — the network programme on a real Prosody (issue 6, the parts built so far):
the return visit (a dissatisfied customer reopens the complaint and the dealer room hears of
it) and batch warnings (many complaints of one category give the staff room ONE warning).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
from dbot import check, eq  # noqa: E402
from test_lifecycle import (BOT, ZH, file_complaint, from_bot_in, person, prefix,  # noqa: E402
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


if __name__ == "__main__":
    dbot.main(globals())
