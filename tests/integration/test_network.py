"""test_network.py — the dealer network programme on a real Prosody, with real XMPP clients:

- the return visit: a satisfied score is recorded, a dissatisfied one reopens the complaint
  and the dealer room hears of it; a score on a complaint that is not closed is refused (409)
  and changes nothing; bad input changes nothing;
- batch warnings: many complaints of one category give the staff room ONE warning;
- broadcasts: `/broadcast` with a read confirmation (`/read`, the reminder, the stragglers'
  report, GET /api/v1/broadcasts/{id}); the audiences `all` and `region:<r>` reaching exactly
  their dealers' rooms; a multi-line text arriving intact; a scheduled one (`at`) arriving at
  its time and not before; validation;
- the underperformers group: evaluation by the figures (members added, the reasons, the list
  in chat and over the API), the `underperformers` audience reaching that room only,
  `/underperformers refresh` by staff (refused for a dealer), `/scorecard SH001` by staff (and
  the one-line refusal without a dealer), an admin's pin out (the leave message, the people no
  longer members), pin in (the enter message with the admin as the reason, members invited),
  unpin, hysteresis with a non-zero exit_after, the change history over the API; and the daily
  evaluate_at evaluation: run once at start when due (also when the bot was down at that
  time), not again on a restart the same day.

One bot and one Prosody per test function; templates come from config/messages/*.msg.
"""

import datetime
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
import xmpp  # noqa: E402
from dbot import check, eq  # noqa: E402
from test_lifecycle import (ACCOUNTS, BOT, DEALERS, PEOPLE, ZH,  # noqa: E402
                            file_complaint, from_bot_direct, from_bot_in, person, prefix,
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

    # a dissatisfied one reopens, with the comment as the reason, and the room hears of it;
    # the timeline keeps the whole comment (a long one was once cut inside a character)
    comment = "异响仍在" + "，" + "x" + "刹车异响" * 40
    r = b.post("/api/v1/complaints/%s/satisfaction" % c1, {"score": 1, "comment": comment})
    eq(r.status, 200, "dissatisfied: %r" % r)
    eq(r.json["reopened"], 1, "reopened once")
    eq(r.json["state"], "acknowledged", "back with the dealer")
    eq(r.json["satisfaction"]["comment"], comment, "comment")
    body = wang.wait_for_message(
        lambda m: from_bot_in(p.room(ROOM))(m) and m.body.startswith(
            prefix("satisfaction_reopened", id=c1, score=1)), 10).body
    check("异响仍在" in body, body)
    c = b.get("/api/v1/complaints/" + c1).json
    kinds = [e["kind"] for e in c["timeline"]]
    check("satisfaction" in kinds and kinds.count("reopen") == 1, kinds)
    sat = [e for e in c["timeline"] if e["kind"] == "satisfaction"]
    eq(sat[0].get("detail"), "score 1: " + comment, "the whole comment in the timeline")
    eq(c["reopened"], 1, "the reopen is counted")

    # the return visit comes after closing: on an open complaint (a new one, or one the
    # dissatisfied customer just reopened) it is refused and changes nothing
    c3 = file_complaint(b, "rv-3")
    wait_state(b, c3, "notified")
    for cid, st in ((c3, "notified"), (c1, "acknowledged")):
        before = b.get("/api/v1/complaints/" + cid).json
        r = b.post("/api/v1/complaints/%s/satisfaction" % cid, {"score": 1, "comment": "再回访"})
        eq(r.status, 409, "not closed: %r" % r)
        eq(r.json, {"error": "%s is not closed (state %s)" % (cid, st)}, "409 body")
        after = b.get("/api/v1/complaints/" + cid).json
        for k in ("state", "satisfaction", "reopened", "timeline"):
            eq(after[k], before[k], "%s of %s after a refused return visit" % (k, cid))

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


# A third dealer, in SH001's region, for the region audience.
DEALERS3 = DEALERS + "HZ003,杭州西湖汽车,华东,1000\n"
PEOPLE3 = PEOPLE + "qian@localhost,HZ003,manager,钱经理,zh-CN\n"
ACCOUNTS3 = dict(ACCOUNTS, qian="qian-pw")


def setup3(t, sla):
    """setup() with HZ003 (华东, one person: qian) beside SH001 (华东) and BJ002 (华北)."""
    p = xmpp.prosody(t)
    p.register_many(ACCOUNTS3)
    chat = ('platform = "xmpp"; xmpp = { url = "%s"; jid = "%s"; password = "%s";'
            ' muc_service = "%s"; }; rate_global = 5000; rate_room = 5000;'
            % (p.ws_url, BOT, ACCOUNTS3["dealerbot"], p.muc))
    b = t.bot(start=False, dealers_csv=DEALERS3, people_csv=PEOPLE3, chat=chat, extra=sla)
    b.start()
    b.wait_log("session ready")
    b.wait_log("member(s) added", count=5)
    return p, b


def broadcast_in(room, bid):
    return lambda m: from_bot_in(room)(m) and m.body.startswith("📢") and bid in m.body


def test_broadcast_with_read_confirmation(t):
    p, b = setup3(t, sla='broadcasts = { remind_after = "3s"; };'
                         ' sla = { default = { ack = "12h"; solution = "5d"; close = "15d"; }; };')
    wang = person(p, "wang", ROOM)
    li = person(p, "li")
    zhao = person(p, "zhao", "dealer-bj002")
    qian = p.client("qian", ACCOUNTS3["qian"])
    qian.join(p.room("dealer-hz003"), "qian")
    liu = person(p, "liu", "brand-service")
    # dealers may not broadcast
    wang.send_groupchat(p.room(ROOM), "/broadcast all notice 测试")
    wang.wait_for_message(lambda m: from_bot_in(p.room(ROOM))(m) and m.body.startswith(
        render("err_not_allowed", command="/broadcast")), 5)
    liu.send_chat(BOT, "/广播 all standard ack 所有投诉须在12小时内受理，并在群内发送“/受理”。")
    sent = liu.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith(
        prefix("broadcast_sent", id="B-1")), 5).body
    eq(sent, render("broadcast_sent", id="B-1", rooms=3, people=4), "3 rooms, 4 people")
    for client, room in ((wang, ROOM), (zhao, "dealer-bj002"), (qian, "dealer-hz003")):
        body = client.wait_for_message(lambda m: from_bot_in(p.room(room))(m) and
                                       "B-1" in m.body and "12小时" in m.body, 5).body
        check("“已读 B-1”" in body and "/已读" not in body, "asks for the confirmation: %s" % body)
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
    qian.send_groupchat(p.room("dealer-hz003"), "已读 B-1")  # as the text says it: no slash
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
    check("li@localhost" in report and "zhao@" not in report and "wang@" not in report and
          "qian@" not in report, report)
    r = b.get("/api/v1/broadcasts/B-1")
    eq(r.status, 200, "GET broadcast")
    eq(r.json["counts"], {"recipients": 4, "delivered": 4, "read": 3}, "counts")
    people = {x["jid"]: x for x in r.json["recipients"]}
    check(people["li@localhost"]["read_at"] is None and people["wang@localhost"]["read_at"],
          people)

    # a region reaches exactly its dealers' rooms: SH001 and HZ003 (华东), not BJ002 (华北)
    liu.send_chat(BOT, "/broadcast region:华东 notice 华东区域：本周六系统维护")
    eq(liu.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith(
        prefix("broadcast_sent", id="B-2")), 5).body,
       render("broadcast_sent", id="B-2", rooms=2, people=3), "region: 2 rooms, 3 people")
    wang.wait_for_message(broadcast_in(p.room(ROOM), "B-2"), 5)
    qian.wait_for_message(broadcast_in(p.room("dealer-hz003"), "B-2"), 5)
    eq(sorted({x["dealer"] for x in b.get("/api/v1/broadcasts/B-2").json["recipients"]}),
       ["HZ003", "SH001"], "B-2's recipients")
    zhao.no_message(lambda m: "B-2" in (m.body or ""), within=0.3)

    # a multi-line text arrives as written: line breaks, a blank line, indentation
    text = "服务标准更新：\n1. 12小时内受理\n2. 5天内达成方案\n\n   附：详见《投诉处理规范》第3章"
    liu.send_chat(BOT, "/broadcast dealer:BJ002 standard " + text)
    body = zhao.wait_for_message(broadcast_in(p.room("dealer-bj002"), "B-3"), 5).body
    eq(body.rstrip("\n"), render("broadcast_room", id="B-3", kind=ZH["bkind_standard"],
                                  text=text, ack="").rstrip("\n"), "the multi-line broadcast")

    # over the API: sent now, to one dealer
    r = b.post("/api/v1/broadcasts", {"audience": "dealer:bj002", "kind": "risk",
                                      "text": "近期发生一起…", "require_read": False})
    eq(r.status, 201, "API broadcast: %r" % r)
    eq((r.json["id"], r.json["state"], r.json["rooms"], r.json["recipients"]),
       ("B-4", "sent", 1, 1), "to BJ002 only")
    zhao.wait_for_message(broadcast_in(p.room("dealer-bj002"), "B-4"), 5)

    # scheduled: nothing before its time, the message at it
    at = int(time.time()) + 3
    when = datetime.datetime.fromtimestamp(at, datetime.timezone.utc).isoformat()
    r = b.post("/api/v1/broadcasts", {"audience": "dealer:BJ002", "kind": "training",
                                      "text": "定时培训通知", "at": when})
    eq(r.status, 201, "scheduled: %r" % r)
    eq((r.json["id"], r.json["state"], r.json["rooms"], r.json["recipients"]),
       ("B-5", "scheduled", 0, 0), "scheduled, not sent")
    eq(b.get("/api/v1/broadcasts/B-5").json["state"], "scheduled", "GET before")
    zhao.no_message(broadcast_in(p.room("dealer-bj002"), "B-5"), within=at - time.time() - 0.3)
    m = zhao.wait_for_message(broadcast_in(p.room("dealer-bj002"), "B-5"),
                              max(at + 2 - time.time(), 0.1))
    check("定时培训通知" in m.body, m.body)
    check(time.time() >= at - 0.3, "arrived before its time")
    g = b.get("/api/v1/broadcasts/B-5").json
    eq((g["state"], g["counts"]["recipients"]), ("sent", 1), "GET after")

    for body in ({"audience": "everyone", "kind": "risk", "text": "x"},
                 {"audience": "all", "kind": "gossip", "text": "x"},
                 {"audience": "all", "kind": "risk", "text": ""},
                 {"audience": "dealer:NOPE", "kind": "risk", "text": "x"},
                 {"audience": "region:火星", "kind": "risk", "text": "x"},
                 {"audience": "all", "kind": "risk", "text": "x", "at": "tomorrow"}):
        eq(b.post("/api/v1/broadcasts", body).status, 422, "refused: %r" % body)
    eq(b.get("/api/v1/broadcasts/B-99").status, 404, "unknown broadcast")


UNDER = "underperformers"


def wait_member(client, room, nick, timeout=10.0):
    """Waits until `client` may join members-only `room` (its member list was synced)."""
    deadline = time.monotonic() + timeout
    while client.try_join(room, nick) is not None:
        check(time.monotonic() < deadline, "%s never became a member of %s" % (client.bare, room))
        time.sleep(0.2)


def wait_removed(client, room, nick, timeout=10.0):
    """Waits until `client`, in `room`, is put out (no longer a member), then checks that it
    cannot come back."""
    client.wait_for_presence(lambda pr: pr.room == room and pr.type == "unavailable" and
                             110 in pr.codes, timeout)
    eq(client.try_join(room, nick), "registration-required", "%s joins %s" % (client.bare, room))


def listed(b):
    return [d["dealer"] for d in b.get("/api/v1/underperformers").json["dealers"]]


def evaluate(b):
    r = b.post("/api/v1/underperformers/evaluate", {})
    eq(r.status, 200, "evaluate: %r" % r)
    return r.json


def scheduled_evaluations(b):
    con = sqlite3.connect(os.path.join(b.dir, "dealerbot.db"), timeout=10)
    try:
        return con.execute("SELECT slot, at FROM underperformer_evaluations"
                           " WHERE slot IS NOT NULL ORDER BY id").fetchall()
    finally:
        con.close()


def test_underperformers_group(t):
    # exit_after 3 s: a dealer back under every threshold stays listed that long
    p, b = setup(t, sla='underperformers = { window = "90d"; min_complaints = 2;'
                        ' rate_factor = 1.5; close_sla_min = 0.0; penalty_points_max = 100;'
                        ' exit_after = "3s"; };'
                        ' sla = { default = { ack = "12h"; solution = "5d"; close = "15d"; }; };')
    under = p.room(UNDER)
    # the daily evaluation was due at start (never run on this database): it ran, found nothing
    b.wait_log("the underperformers have never been evaluated on schedule: evaluating now")
    b.wait_log("underperformers evaluated (the ")
    eq(len(scheduled_evaluations(b)), 1, "one scheduled evaluation at start")
    doc = b.get("/api/v1/underperformers").json
    eq((doc["dealers"], doc["changes"], doc["evaluated"]["by"]), ([], [], "schedule"),
       "nothing listed, nothing changed")

    liu = person(p, "liu", "brand-service")
    liu.join(under, "liu")
    boss = person(p, "boss")
    wang = person(p, "wang", ROOM)
    zhao = person(p, "zhao", "dealer-bj002")
    for i in range(4):                       # SH001: 4 complaints, BJ002: none
        file_complaint(b, "up-%d" % i)
    eq(evaluate(b), {"entered": 1, "left": 0, "listed": 1}, "SH001 joins, BJ002 has too few")
    r = b.get("/api/v1/underperformers")
    eq([d["dealer"] for d in r.json["dealers"]], ["SH001"], "the list")
    reasons = r.json["dealers"][0]["reasons"]
    check(reasons.startswith(prefix("under_reason_rate")), "with its reasons: %r" % reasons)
    eq(r.json["evaluated"]["by"], "api", "the last evaluation")
    eq([(c["dealer"], c["change"], c["actor"], c["reasons"]) for c in r.json["changes"]],
       [("SH001", "enter", "api", reasons)], "the history")
    body = wang.wait_for_message(lambda m: from_bot_in(p.room(ROOM))(m) and m.body.startswith(
        prefix("under_enter_dealer", dealer_name="上海浦东汽车")), 10).body
    check(UNDER in body, body)
    liu.wait_for_message(lambda m: from_bot_in(under)(m) and m.body == render(
        "under_enter_room", dealer_code="SH001", dealer_name="上海浦东汽车", reasons=reasons), 5)
    # the listed dealer's people are members now; the other dealer's are not
    wait_member(wang, under, "wang")
    eq(zhao.try_join(under, "zhao"), "registration-required", "BJ002 out")

    # staff list it, refresh it, and read a scorecard; dealers may not
    liu.send_chat(BOT, "/待改进")
    body = liu.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith(
        render("under_list_head", count=1)), 5).body
    check("SH001" in body, body)
    wang.send_chat(BOT, "/underperformers")
    wang.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "err_not_allowed", command="/underperformers"), 5)
    liu.send_chat(BOT, "/underperformers refresh")
    liu.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "under_refreshed", entered=0, left=0, listed=1), 5)
    wang.send_groupchat(p.room(ROOM), "/待改进 刷新")
    wang.wait_for_message(lambda m: from_bot_in(p.room(ROOM))(m) and m.body == render(
        "err_not_allowed", command="/待改进"), 5)
    liu.send_chat(BOT, "/scorecard SH001")
    card = liu.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith(
        prefix("scorecard_head", dealer_name="上海浦东汽车", dealer_code="SH001")), 5).body
    check(ZH["scm_complaints"] in card and "4" in card, card)
    liu.send_chat(BOT, "/scorecard")
    liu.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "err_scorecard_dealer", command="/scorecard"), 5)

    # the underperformers audience: that one room, not the dealer rooms
    liu.send_chat(BOT, "/broadcast underperformers training 本周培训：投诉受理规范")
    eq(liu.wait_for_message(lambda m: from_bot_direct(m) and m.body.startswith(
        prefix("broadcast_sent", id="B-1")), 5).body,
       render("broadcast_sent", id="B-1", rooms=1, people=2), "1 room, SH001's 2 people")
    wang.wait_for_message(broadcast_in(under, "B-1"), 5)
    wang.no_message(broadcast_in(p.room(ROOM), "B-1"), within=0.3)
    zhao.no_message(lambda m: "B-1" in (m.body or ""), within=0.1)

    # an admin pins it out: it leaves at once, its people are no longer members
    liu.send_chat(BOT, "/underperformers pin SH001 out")
    liu.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "err_not_allowed", command="/underperformers"), 5)
    boss.send_chat(BOT, "/underperformers pin SH001 out")
    boss.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "under_pin_ok", dealer_code="SH001", how=ZH["under_how_out"]), 5)
    out_reason = render("under_reason_pin_out", who="总监")
    liu.wait_for_message(lambda m: from_bot_in(under)(m) and m.body == render(
        "under_leave_room", dealer_code="SH001", dealer_name="上海浦东汽车",
        reasons=out_reason), 5)
    wang.wait_for_message(lambda m: from_bot_in(p.room(ROOM))(m) and m.body == render(
        "under_leave_dealer", dealer_name="上海浦东汽车", reasons=out_reason, room=UNDER), 5)
    wait_removed(wang, under, "wang")
    eq(listed(b), [], "pinned out")
    # its figures do not bring it back while pinned
    eq(evaluate(b), {"entered": 0, "left": 0, "listed": 0}, "pinned out stays out")

    # pinned in: BJ002 (too few complaints) enters, with the admin as the reason, invited
    boss.send_chat(BOT, "/underperformers pin bj002 in")
    boss.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "under_pin_ok", dealer_code="BJ002", how=ZH["under_how_in"]), 5)
    in_reason = render("under_reason_pin_in", who="总监")
    liu.wait_for_message(lambda m: from_bot_in(under)(m) and m.body == render(
        "under_enter_room", dealer_code="BJ002", dealer_name="北京朝阳汽车",
        reasons=in_reason), 5)
    zhao.wait_for_message(lambda m: from_bot_in(p.room("dealer-bj002"))(m) and m.body == render(
        "under_enter_dealer", dealer_name="北京朝阳汽车", reasons=in_reason, room=UNDER), 5)
    zhao.wait_for_message(lambda m: xmpp.bare(m.from_) == under and m.invite_from is not None,
                          5, with_body=False)
    wait_member(zhao, under, "zhao")
    r = b.get("/api/v1/underperformers").json
    eq([(d["dealer"], d["pinned"], d["reasons"]) for d in r["dealers"]],
       [("BJ002", True, in_reason)], "BJ002 pinned in")

    # unpinned, SH001's figures bring it back
    boss.send_chat(BOT, "/underperformers unpin SH001")
    boss.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "under_pin_ok", dealer_code="SH001", how=ZH["under_how_unpin"]), 5)
    liu.wait_for_message(lambda m: from_bot_in(under)(m) and m.body == render(
        "under_enter_room", dealer_code="SH001", dealer_name="上海浦东汽车", reasons=reasons), 5)
    wait_member(wang, under, "wang")
    eq(listed(b), ["BJ002", "SH001"], "both")

    # hysteresis: BJ002's complaints bring SH001 back under the rate threshold; it stays
    # listed for exit_after (3 s) of that, then leaves saying since when
    for i in range(4):
        file_complaint(b, "up-bj-%d" % i, dealer="BJ002")
    t_under = time.time()
    eq(evaluate(b), {"entered": 0, "left": 0, "listed": 2}, "under the threshold: still listed")
    time.sleep(1)
    eq(evaluate(b), {"entered": 0, "left": 0, "listed": 2}, "1 s later: still listed")
    eq(b.get("/api/v1/underperformers").json["dealers"][1]["reasons"], reasons,
       "it keeps the reasons it entered with while it counts down")
    time.sleep(max(0.0, t_under + 3.2 - time.time()))
    eq(evaluate(b), {"entered": 0, "left": 1, "listed": 1}, "after exit_after: SH001 leaves")
    eq(listed(b), ["BJ002"], "BJ002 stays pinned in")
    leave = liu.wait_for_message(lambda m: from_bot_in(under)(m) and m.body.startswith(
        prefix("under_leave_room", dealer_code="SH001", dealer_name="上海浦东汽车")), 5).body
    check(prefix("under_reason_left") in leave, leave)
    wait_removed(wang, under, "wang")

    # the history, most recent first, with who and why
    ch = b.get("/api/v1/underperformers").json["changes"]
    eq([(c["dealer"], c["change"], c["actor"]) for c in ch],
       [("SH001", "leave", "api"), ("SH001", "enter", "boss@localhost"),
        ("SH001", "unpin", "boss@localhost"), ("BJ002", "enter", "boss@localhost"),
        ("BJ002", "pin_in", "boss@localhost"), ("SH001", "leave", "boss@localhost"),
        ("SH001", "pin_out", "boss@localhost"), ("SH001", "enter", "api")], "the changes")
    eq(ch[0]["reasons"], leave[len(prefix("under_leave_room", dealer_code="SH001",
                                          dealer_name="上海浦东汽车")):], "the leave reason")
    eq((ch[4]["reasons"], ch[5]["reasons"], ch[6]["reasons"]), (in_reason, out_reason, out_reason),
       "the pins' reasons")
    check(all(c["at"] for c in ch), ch)

    # the daily evaluation across restarts: the bot was down at today's evaluate_at (the last
    # scheduled evaluation is made yesterday's): it evaluates once at start, late ...
    b.stop()
    con = sqlite3.connect(os.path.join(b.dir, "dealerbot.db"), timeout=10)
    with con:
        con.execute("UPDATE underperformer_evaluations SET slot = slot - 86400"
                    " WHERE slot IS NOT NULL")
    con.close()
    b.start()
    b.wait_log("did not run (the bot was down): evaluating now, late")
    b.wait_log("underperformers evaluated (the ", count=2)
    runs = scheduled_evaluations(b)
    eq(len(runs), 2, "one more scheduled evaluation: %r" % runs)
    eq(runs[1][0], runs[0][0] + 86400, "for today's slot")
    # ... and not again on a restart the same day
    b.restart()
    n = b.log_text().count("session ready")
    b.wait_log("session ready", count=n + 1)
    eq(scheduled_evaluations(b), runs, "no second evaluation today")
    eq(b.log_text().count("underperformers evaluated (the "), 2, "evaluations in the log")


if __name__ == "__main__":
    dbot.main(globals())
