"""test_lifecycle.py — a complaint run from arrival to closure entirely in chat, on a real
Prosody, with real XMPP clients playing two dealers' staff and the brand's staff (issue 4).

Replies are checked against the shipped templates (config/messages/*.msg, rendered here the
way the bot renders them), so rewording a template does not break a test, but a wrong key, a
wrong value or a missing reply does. State is checked through the intake API.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
import xmpp  # noqa: E402
from dbot import check, eq  # noqa: E402

DEALERS = ("code,name,region,sales_volume\n"
           "SH001,上海浦东汽车,华东,2400\n"
           "BJ002,北京朝阳汽车,华北,1800\n")
PEOPLE = ("jid,dealer,role,name,language\n"
          "wang@localhost,SH001,manager,王经理,zh-CN\n"
          "li@localhost,SH001,agent,李顾问,zh-CN\n"
          "zhao@localhost,BJ002,manager,赵经理,zh-CN\n"
          "liu@localhost,brand,supervisor,刘主管,zh-CN\n"
          "sun@localhost,brand,agent,孙专员,en\n"
          "boss@localhost,brand,admin,总监,zh-CN\n")
ACCOUNTS = {"dealerbot": "bot-secret-pw", "wang": "wang-pw", "li": "li-pw", "zhao": "zhao-pw",
            "liu": "liu-pw", "sun": "sun-pw", "boss": "boss-pw", "eve": "eve-pw"}
BOT = "dealerbot@localhost"
SLA = ('sla = { default = { ack = "12h"; solution = "5d"; close = "15d"; remind_before = ["2h"]; };'
       ' vip = { ack = "2h"; solution = "2d"; close = "7d"; remind_before = ["30m"]; }; };')


# ---- templates, rendered like the bot does ----

def load_templates(lang):
    out = {}
    with open(os.path.join(dbot.MESSAGES_DIR, lang + ".msg"), encoding="utf-8-sig") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip().replace("\\n", "\n").replace("\\\\", "\\")
    return out


ZH = load_templates("zh-CN")
EN = load_templates("en")


def render(key, lang="zh-CN", **v):
    t = (EN if lang == "en" else ZH)[key]
    return re.sub(r"\{(\w+)\}", lambda m: str(v.get(m.group(1), "{%s}" % m.group(1))),
                  t).replace("{{", "{").replace("}}", "}")


def prefix(key, lang="zh-CN", **v):
    """The rendered template up to its first placeholder without a value."""
    text = render(key, lang, **v)
    cut = text.find("{")
    return text if cut < 0 else text[:cut]


# ---- set-up ----

def setup(t, extra_chat="", sla=SLA, people=PEOPLE, accounts=ACCOUNTS):
    p = xmpp.server(t)
    p.register_many(accounts)
    chat = ('platform = "xmpp"; xmpp = { url = "%s"; jid = "%s"; password = "%s";'
            ' muc_service = "%s"; }; rate_global = 5000; rate_room = 5000; %s'
            % (p.ws_url, BOT, accounts["dealerbot"], p.muc, extra_chat))
    b = t.bot(start=False, dealers_csv=DEALERS, people_csv=people, chat=chat, extra=sla)
    b.start()
    b.wait_log("session ready")
    b.wait_log("member(s) added", count=4)
    return p, b




def person(p, user, room=None, nick=None):
    c = p.client(user, ACCOUNTS[user])
    if room:
        # The bot logs "member(s) added" when it sends the affiliation changes; ejabberd may
        # apply the last of them a few milliseconds after a client already knocks. A refusal
        # for want of membership is asked again for at most 5 s (any other refusal at once).
        deadline = time.monotonic() + 5.0
        while True:
            try:
                c.join(p.room(room), nick or user)
                break
            except xmpp.JoinRefused as e:
                if e.condition != "registration-required" or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    return c


def file_complaint(b, ext, dealer="SH001", priority="normal", summary="车辆异响",
                   received_at=None):
    body = {"external_id": ext, "dealer": dealer, "category": "after-sales",
            "priority": priority, "customer": {"name": "张三", "phone": "13800000000"},
            "summary": summary}
    if received_at is not None:
        body["received_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(received_at))
    r = b.post("/api/v1/complaints", body)
    eq(r.status, 201, "intake %s" % ext)
    return r.json["id"]


def state(b, cid):
    r = b.get("/api/v1/complaints/" + cid)
    eq(r.status, 200, "GET " + cid)
    return r.json


def wait_state(b, cid, want, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        got = state(b, cid)["state"]
        if got == want:
            return
        if time.monotonic() > deadline:
            raise dbot.TestFailure("%s: state %s, want %s" % (cid, got, want))
        time.sleep(0.05)


def instant(rfc3339):
    """An RFC 3339 time from the API as a Unix time."""
    from datetime import datetime
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def from_bot_in(room):
    return lambda m: m.type == "groupchat" and m.room == room and m.nick == "dealerbot"


def from_bot_direct(m):
    return m.type == "chat" and xmpp.bare(m.from_) == BOT


def said(client, pred, text_start, timeout=10.0):
    """Waits for a bot message matching pred whose body starts with text_start."""
    m = client.wait_for_message(lambda m: pred(m) and m.body.startswith(text_start), timeout)
    return m.body


# ---- the whole path ----

def test_full_path_in_chat(t):
    p, b = setup(t)
    wang = person(p, "wang", "dealer-sh001", "王经理")
    liu = person(p, "liu", "brand-service", "刘主管")
    room = p.room("dealer-sh001")
    staff = p.room("brand-service")

    cid = file_complaint(b, "full-1")
    card = said(wang, from_bot_in(room), prefix("card", id=cid))
    check("“受理 %s”" % cid in card and "/受理" not in card and "张三" in card and "13800000000" in card, card)
    wait_state(b, cid, "notified")

    wang.send_groupchat(room, "/ack %s eta=2026-12-01 今天联系客户" % cid)
    said(wang, from_bot_in(room), render("ack_ok", id=cid, owner="王经理", eta="2026-12-01"))
    c = state(b, cid)
    eq(c["state"], "acknowledged", "after /ack")
    eq(c.get("owner"), "wang@localhost", "owner")

    wang.send_groupchat(room, "/plan %s 更换后减震器，周六到店" % cid)
    said(wang, from_bot_in(room),
         render("plan_ok", id=cid, who="王经理", solution="更换后减震器，周六到店"))
    wait_state(b, cid, "solution_agreed")

    wang.send_groupchat(room, "/close %s\n原因：减震器批次质量问题\n措施：已免费更换并回访\n"
                              "预防：同批次车辆主动召回检查" % cid)
    said(wang, from_bot_in(room), render("close_submitted", id=cid, who="王经理"))
    review = said(liu, from_bot_in(staff), prefix("review", id=cid))
    check("减震器批次质量问题" in review and "同批次车辆主动召回检查" in review, review)
    wait_state(b, cid, "report_submitted")

    liu.send_groupchat(staff, "/approve " + cid)
    said(wang, from_bot_in(room), render("approved", id=cid, who="刘主管"))
    said(liu, from_bot_in(staff), render("approved", id=cid, who="刘主管"))
    c = state(b, cid)
    eq(c["state"], "closed", "after /approve")
    kinds = [e["kind"] for e in c["timeline"]]
    for k in ("intake", "notify", "ack", "plan", "report", "approve"):
        check(k in kinds, "timeline has %s: %r" % (k, kinds))
    acts = [e for e in c["timeline"] if e["kind"] == "ack"]
    eq(acts[0]["actor"], "wang@localhost", "the timeline names the real JID")
    eq(acts[0].get("detail"), "eta 2026-12-01; 今天联系客户", "the /ack note")


def test_urgent_card_also_in_staff_room(t):
    p, b = setup(t)
    liu = person(p, "liu", "brand-service")
    cid = file_complaint(b, "vip-1", priority="vip")
    body = said(liu, from_bot_in(p.room("brand-service")), prefix("card_staff", id=cid))
    check(ZH["prio_vip"] in body, body)


def test_chinese_aliases_and_direct_messages(t):
    p, b = setup(t)
    li = person(p, "li")
    liu = person(p, "liu")
    cid = file_complaint(b, "alias-1", received_at=time.time() - 3600)   # an hour ago
    wait_state(b, cid, "notified")
    li.send_chat(BOT, "／受理 %s" % cid.lower())          # full-width slash, lower-case id
    said(li, from_bot_direct, render("ack_ok", id=cid, owner="李顾问", eta=ZH["value_none"]))
    li.send_chat(BOT, "/方案%s 退款处理" % cid)             # glued alias
    wait_state(b, cid, "solution_agreed")
    li.send_chat(BOT, "/结案 %s 原因：配件缺货 措施：调货更换 预防：提高安全库存" % cid)
    wait_state(b, cid, "report_submitted")
    liu.send_chat(BOT, "/驳回 %s 预防措施不具体" % cid)
    said(liu, from_bot_direct, render("rejected", id=cid, who="刘主管", reason="预防措施不具体"))
    wait_state(b, cid, "solution_agreed")
    li.send_chat(BOT, "/结案 %s\n原因：配件缺货\n措施：调货更换\n预防：每周盘点安全库存" % cid)
    wait_state(b, cid, "report_submitted")
    liu.send_chat(BOT, "/通过 " + cid)
    wait_state(b, cid, "closed")
    old_close = instant(state(b, cid)["deadlines"]["close"])
    liu.send_chat(BOT, "/重开 %s 客户回访不满意" % cid)
    reopened_at = time.time()
    body = said(liu, from_bot_direct, prefix("reopened", id=cid, who="刘主管",
                                             reason="客户回访不满意"))
    c = state(b, cid)
    eq(c["state"], "acknowledged", "reopened")
    # the close clock restarts at the reopen: 15 days from then (not from receipt), said in
    # the reply (UTC+8)
    new_close = instant(c["deadlines"]["close"])
    check(abs(new_close - (reopened_at + 15 * 86400)) <= 2.0,
          "new close deadline %.1f s off" % (new_close - (reopened_at + 15 * 86400)))
    check(new_close - old_close >= 3600 - 2, "an hour later than before (received an hour ago)")
    eq(c["sla"]["close"]["met_at"], None, "the close milestone is open again")
    local = time.strftime("%Y-%m-%d %H:%M", time.gmtime(new_close + 8 * 3600))
    eq(body, render("reopened", id=cid, who="刘主管", reason="客户回访不满意", close_due=local),
       "the reply names the new deadline")


def test_guided_close_dialogue_survives_restart(t):
    p, b = setup(t)
    wang = person(p, "wang", "dealer-sh001")
    room = p.room("dealer-sh001")
    cid = file_complaint(b, "dlg-1")
    wait_state(b, cid, "notified")
    wang.send_groupchat(room, "/ack " + cid)
    wang.send_groupchat(room, "/plan %s 更换轮胎" % cid)
    wait_state(b, cid, "solution_agreed")

    wang.send_groupchat(room, "/close %s cause: 轮胎扎钉未及时发现" % cid)
    said(wang, from_bot_direct, render("ask_fix", id=cid))
    wang.send_chat(BOT, "。。。")
    said(wang, from_bot_direct, render("dialogue_invalid", field=ZH["field_fix"],
                                       reason=ZH["reason_too_short"]))
    wang.send_chat(BOT, "已免费更换新轮胎")
    said(wang, from_bot_direct, render("ask_prevent", id=cid))

    b.stop()          # the dialogue lives in the store, not in memory
    b.start()
    b.wait_log("session ready", count=2)
    eq(state(b, cid)["state"], "solution_agreed", "nothing submitted yet")

    wang.send_chat(BOT, "交车前增加轮胎检查项")
    said(wang, from_bot_in(room), render("close_submitted", id=cid, who="王经理"))
    wait_state(b, cid, "report_submitted")
    c = state(b, cid)
    eq(c.get("report"), {"cause": "轮胎扎钉未及时发现", "fix": "已免费更换新轮胎",
                         "prevent": "交车前增加轮胎检查项"}, "the report")

    # /cancel stops a dialogue; nothing is submitted
    cid2 = file_complaint(b, "dlg-2")
    wait_state(b, cid2, "notified")
    wang.send_chat(BOT, "/ack " + cid2)
    wang.send_chat(BOT, "/plan %s 退款" % cid2)
    wait_state(b, cid2, "solution_agreed")
    wang.send_chat(BOT, "/close " + cid2)
    said(wang, from_bot_direct, render("ask_cause", id=cid2))
    wang.send_chat(BOT, "/取消")
    said(wang, from_bot_direct, render("dialogue_cancelled", id=cid2))
    wang.drain(0.3)
    wang.send_chat(BOT, "随便说点什么")      # no dialogue: chatter is ignored
    wang.no_message(from_bot_direct, within=0.7)
    eq(state(b, cid2)["state"], "solution_agreed", "cancelled dialogue submits nothing")


def test_every_refusal(t):
    p, b = setup(t)
    room = p.room("dealer-sh001")
    wang = person(p, "wang", "dealer-sh001")
    li = person(p, "li", "dealer-sh001")
    zhao = person(p, "zhao", "dealer-bj002", "王经理")   # a nickname that imitates wang
    sun = person(p, "sun")
    eve = person(p, "eve")
    cid = file_complaint(b, "ref-1")
    wait_state(b, cid, "notified")
    bj = p.room("dealer-bj002")

    def refused(client, pred, key, lang="zh-CN", **v):
        said(client, pred, render(key, lang, **v) if "{" not in render(key, lang, **v)
             else prefix(key, lang, **v))

    # another dealer, whatever the nickname
    zhao.send_groupchat(bj, "/ack " + cid)
    refused(zhao, from_bot_in(bj), "err_other_dealer", id=cid)
    # not in the directory: one polite refusal, nothing else
    eve.send_chat(BOT, "/ack " + cid)
    refused(eve, from_bot_direct, "err_unknown_person")
    eve.no_message(from_bot_direct, within=0.5)
    # wrong state: a plan before the acknowledgement
    wang.send_groupchat(room, "/plan %s 换件" % cid)
    refused(wang, from_bot_in(room), "err_state_need_ack", id=cid, state=ZH["state_notified"])
    # a dealer agent may not approve; a brand agent neither (English reply: his language)
    li.send_groupchat(room, "/approve " + cid)
    refused(li, from_bot_in(room), "err_not_allowed", command="/approve")
    sun.send_chat(BOT, "/approve " + cid)
    refused(sun, from_bot_direct, "err_not_allowed", "en", command="/approve")
    # brand staff cannot acknowledge for the dealer
    sun.send_chat(BOT, "/ack " + cid)
    refused(sun, from_bot_direct, "err_not_allowed", "en", command="/ack")
    # unknown id, malformed commands, unknown command, commands of later versions
    wang.send_groupchat(room, "/ack C-999")
    refused(wang, from_bot_in(room), "err_unknown_ticket", id="C-999")
    wang.send_groupchat(room, "/ack")
    refused(wang, from_bot_in(room), "err_missing_ticket", command="/ack")
    wang.send_groupchat(room, "/ack X-1")
    refused(wang, from_bot_in(room), "err_bad_ticket", word="X-1")
    wang.send_groupchat(room, "/plan " + cid)
    refused(wang, from_bot_in(room), "err_missing_text", command="/plan")
    wang.send_groupchat(room, "/ack %s eta=2026-02-30" % cid)
    refused(wang, from_bot_in(room), "err_bad_eta")
    wang.send_groupchat(room, "dealerbot: frobnicate")
    refused(wang, from_bot_in(room), "err_unknown_command", word="frobnicate")
    zhao.send_groupchat(bj, "/scorecard SH001")            # another dealer's scorecard
    refused(zhao, from_bot_in(bj), "err_not_allowed", command="/scorecard")
    wang.send_groupchat(room, "/scorecard")                # its own: answered
    said(wang, from_bot_in(room), prefix("scorecard_head", dealer_code="SH001",
                                         dealer_name="上海浦东汽车"))
    # none of it changed anything
    c = state(b, cid)
    eq(c["state"], "notified", "state after refusals")
    eq(c.get("owner"), None, "no owner after refusals")
    refusals = [e for e in c["timeline"] if e["kind"] == "refused"]
    check(len(refusals) >= 5, "refusals on the ticket are in its timeline: %r" % refusals)
    check(all(e["actor"] in ("zhao@localhost", "wang@localhost", "li@localhost",
                             "sun@localhost") for e in refusals), refusals)
    # /status shows the last refusal by its label and command, in the reader's language
    wang.send_groupchat(room, "/status " + cid)
    body = said(wang, from_bot_in(room), prefix("status", id=cid))
    check(ZH["event_refused"] + " ack" in body and "refused:" not in body, body)

    # closed tickets say so
    wang.send_groupchat(room, "/ack " + cid)
    wait_state(b, cid, "acknowledged")
    wang.send_groupchat(room, "/ack " + cid)
    refused(wang, from_bot_in(room), "err_state_already_acked", id=cid,
            state=ZH["state_acknowledged"])


def test_help_status_list(t):
    p, b = setup(t)
    room = p.room("dealer-sh001")
    wang = person(p, "wang", "dealer-sh001")
    zhao = person(p, "zhao")
    liu = person(p, "liu")
    c1 = file_complaint(b, "hl-1", summary="空调不制冷")
    c2 = file_complaint(b, "hl-2", priority="vip", summary="发动机故障灯亮")
    c3 = file_complaint(b, "hl-3", dealer="BJ002", summary="销售承诺未兑现")
    wait_state(b, c2, "notified")

    wang.send_groupchat(room, "/help")
    h = said(wang, from_bot_in(room), render("help_head", name="王经理"))
    check(ZH["help_ack"] in h and ZH["help_approve"] not in h, "dealer help: %s" % h)
    liu.send_chat(BOT, "/帮助")
    h = said(liu, from_bot_direct, render("help_head", name="刘主管"))
    check(ZH["help_approve"] in h and ZH["help_ack"] not in h, "supervisor help: %s" % h)
    check(ZH["help_cancel_ticket"] not in h, "cancelling is for admins: %s" % h)

    wang.send_groupchat(room, "/list")
    body = said(wang, from_bot_in(room), render("list_head", count=2))
    check(c1 in body and c2 in body and c3 not in body, body)
    check(body.index(c2) < body.index(c1), "VIP (earlier deadline) first: %s" % body)
    liu.send_chat(BOT, "/列表 dealer=bj002")
    body = said(liu, from_bot_direct, render("list_head", count=1))
    check(c3 in body and c1 not in body, body)
    zhao.send_chat(BOT, "/list dealer=SH001")
    said(zhao, from_bot_direct, render("err_not_allowed", command="/list"))
    wang.send_groupchat(room, "/list overdue")
    said(wang, from_bot_in(room), render("list_empty"))

    wang.send_groupchat(room, "/status " + c1)
    body = said(wang, from_bot_in(room), prefix("status", id=c1))
    check(ZH["state_notified"] in body and "空调不制冷" in body, body)
    # the events are labelled from the texts, not by their internal kinds
    check(ZH["event_intake"] in body and ZH["event_notify"] in body, body)
    check("intake" not in body and "card delivered" not in body, body)
    zhao.send_chat(BOT, "/状态 " + c1)
    said(zhao, from_bot_direct, render("err_other_dealer", id=c1))


def test_admin_cancels(t):
    p, b = setup(t)
    boss = person(p, "boss")
    wang = person(p, "wang", "dealer-sh001")
    boss.send_chat(BOT, "/help")
    h = said(boss, from_bot_direct, render("help_head", name="总监"))
    check(ZH["help_cancel_ticket"] in h, "admin help lists /cancel C-n: %s" % h)
    cid = file_complaint(b, "cx-1")
    boss.send_chat(BOT, "/cancel %s 重复投诉" % cid)
    said(wang, from_bot_in(p.room("dealer-sh001")),
         render("cancelled", id=cid, who="总监", reason="重复投诉"))
    wait_state(b, cid, "cancelled")
    wang.send_groupchat(p.room("dealer-sh001"), "/ack " + cid)
    said(wang, from_bot_in(p.room("dealer-sh001")), prefix("err_state_cancelled", id=cid))


if __name__ == "__main__":
    dbot.main(globals())
