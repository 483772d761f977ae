"""test_commands.py — commands typed the way people's chat clients let them (issue 10), on a
real Prosody with real XMPP clients: every form in a room and by direct message (bare, '/',
'!', "@dealerbot", "dealerbot:" with ASCII and full-width punctuation), the room rule for
unprefixed words, conversation that must stay silent and change nothing, the addressed
refusals, and the nickname taken from the config.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
import xmpp  # noqa: E402
from dbot import check, eq  # noqa: E402
from test_lifecycle import (BOT, ZH, file_complaint, from_bot_direct, from_bot_in,  # noqa: E402
                            person, prefix, render, said, setup, state, wait_state)

ROOM = "dealer-sh001"


def acked_by(b, cid, who="wang@localhost"):
    wait_state(b, cid, "acknowledged", timeout=10)
    eq(state(b, cid).get("owner"), who, "%s owner" % cid)


def test_every_form_in_a_room(t):
    p, b = setup(t)
    room = p.room(ROOM)
    wang = person(p, "wang", ROOM, "王经理")
    forms = ["ack {id}", "受理 {id}", "/ack {id}", "!ack {id}", "！受理 {id}",
             "@dealerbot 受理 {id}", "@dealerbot: ack {id}", "dealerbot: ack {id}",
             "dealerbot, ack {id}", "dealerbot：受理 {id}", "dealerbot，受理 {id}",
             "Dealerbot: ACK {id}", "受理{id}", "  受理　{id}  "]
    for i, form in enumerate(forms):
        cid = file_complaint(b, "room-form-%d" % i)
        said(wang, from_bot_in(room), prefix("card", id=cid))
        wait_state(b, cid, "notified")
        wang.send_groupchat(room, form.format(id=cid))
        said(wang, from_bot_in(room), prefix("ack_ok", id=cid))
        acked_by(b, cid)
    # the contract's own example of a plan, with the full-width colon a Chinese IME types
    wang.send_groupchat(room, "dealerbot：方案 %s 更换油封" % cid)
    said(wang, from_bot_in(room), render("plan_ok", id=cid, who="王经理", solution="更换油封"))
    wait_state(b, cid, "solution_agreed")
    # the other ticket words, bare
    wang.send_groupchat(room, "状态 " + cid)
    said(wang, from_bot_in(room), prefix("status", id=cid))
    wang.send_groupchat(room, "close %s\ncause: 油封老化\nfix: 更换油封\nprevent: 定期检查" % cid)
    said(wang, from_bot_in(room), prefix("close_submitted", id=cid))
    wait_state(b, cid, "report_submitted")
    # words that are not ticket commands work in a room with '!' or an address
    wang.send_groupchat(room, "!帮助")
    said(wang, from_bot_in(room), render("help_head", name="王经理"))
    wang.send_groupchat(room, "@dealerbot list")
    said(wang, from_bot_in(room), prefix("list_head"))


def test_every_form_by_direct_message(t):
    p, b = setup(t)
    wang = person(p, "wang", ROOM, "王经理")
    forms = ["ack {id}", "受理 {id}", "/ack {id}", "!ack {id}", "@dealerbot ack {id}",
             "dealerbot：受理 {id}", "受理{id}"]
    for i, form in enumerate(forms):
        cid = file_complaint(b, "dm-form-%d" % i)
        wait_state(b, cid, "notified")
        wang.send_chat(BOT, form.format(id=cid))
        said(wang, from_bot_direct, prefix("ack_ok", id=cid))
        acked_by(b, cid)
    for form in ("help", "帮助", "/help", "!help", "dealerbot: help"):
        wang.send_chat(BOT, form)
        said(wang, from_bot_direct, render("help_head", name="王经理"))
    wang.send_chat(BOT, "列表")
    said(wang, from_bot_direct, render("list_head", count=len(forms)))
    # the help shows the forms that work everywhere
    wang.send_chat(BOT, "help")
    h = said(wang, from_bot_direct, render("help_head", name="王经理"))
    check(ZH["help_ack"] in h and "/受理" not in h and "/ack" not in h, h)


CHATTER = ["我们已经受理了，明天联系客户", "ack, will do", "the customer wants a status update",
           "受理", "ack", "状态", "受理了", "结案了吗？", "help", "帮助一下客户", "list",
           "/frobnicate", "!foo", "@li 受理 {id}", "li: ack {id}", "dealerbot ack {id}",
           "{id} 受理了", "close the window, please", "已读", "取消"]


def test_conversation_stays_silent(t):
    # 21 lines in one burst from one person: above chat.inbound_burst's default (a flood),
    # which this test is not about
    p, b = setup(t, extra_chat="inbound_burst = 100;")
    room = p.room(ROOM)
    wang = person(p, "wang", ROOM, "王经理")
    li = person(p, "li", ROOM, "李顾问")
    cid = file_complaint(b, "chatter-1")
    said(li, from_bot_in(room), prefix("card", id=cid))
    wait_state(b, cid, "notified")
    before = state(b, cid)
    li.drain(0.3)
    for text in CHATTER:
        wang.send_groupchat(room, text.format(id=cid))
    # a marker the bot does answer: every chatter line before it was handled by then
    wang.send_groupchat(room, "状态 " + cid)
    said(wang, from_bot_in(room), prefix("status", id=cid))
    # li sees the status line too, and no other line of the bot (earlier ones would still be
    # in li's inbox: the room delivers in order)
    li.wait_for_message(lambda m: from_bot_in(room)(m) and
                        m.body.startswith(prefix("status", id=cid)), 10)
    others = [m.body for m in li.drain(0.5) if from_bot_in(room)(m)]
    eq(others, [], "the bot said nothing else in the room")
    after = state(b, cid)
    eq(after["state"], "notified", "state after chatter")
    eq(after.get("owner"), None, "owner after chatter")
    eq(after["timeline"], before["timeline"], "the timeline after chatter")
    # chatter by direct message is silent too (no dialogue is running)
    wang.drain(0.2)
    for text in ("你好", "thanks", "the customer wants a status update"):
        wang.send_chat(BOT, text)
    wang.no_message(from_bot_direct, within=1.0)


def test_addressed_refusals(t):
    p, b = setup(t)
    room = p.room(ROOM)
    wang = person(p, "wang", ROOM, "王经理")
    cid = file_complaint(b, "addr-1")
    said(wang, from_bot_in(room), prefix("card", id=cid))
    wait_state(b, cid, "notified")
    before = state(b, cid)
    # an unknown word addressed to the bot: one line pointing to help
    wang.send_groupchat(room, "@dealerbot frobnicate")
    said(wang, from_bot_in(room), render("err_unknown_command", word="frobnicate"))
    wang.send_groupchat(room, "dealerbot：你好")
    said(wang, from_bot_in(room), render("err_unknown_command", word="你好"))
    # the address and nothing else: the help line
    for text in ("dealerbot:", "dealerbot：　 ", "@dealerbot"):
        wang.send_groupchat(room, text)
        said(wang, from_bot_in(room), render("err_help_hint"))
    # an attempt at a ticket command without its id, with a prefix, is answered
    wang.send_groupchat(room, "!ack")
    said(wang, from_bot_in(room), render("err_missing_ticket", command="!ack"))
    wang.no_message(from_bot_in(room), within=0.5)  # one line each, nothing more
    after = state(b, cid)
    eq(after["state"], "notified", "nothing changed")
    eq(after["timeline"], before["timeline"], "nothing in the timeline")


def test_nickname_from_config(t):
    # The nick lives in chat.xmpp; setup() writes that group itself, so build it here.
    import xmpp
    from test_lifecycle import ACCOUNTS, DEALERS, PEOPLE, SLA
    p = xmpp.prosody(t)
    p.register_many(ACCOUNTS)
    chat = ('platform = "xmpp"; xmpp = { url = "%s"; jid = "%s"; password = "%s";'
            ' muc_service = "%s"; nick = "客服助手"; }; rate_global = 5000; rate_room = 5000;'
            % (p.ws_url, BOT, ACCOUNTS["dealerbot"], p.muc))
    b = t.bot(start=False, dealers_csv=DEALERS, people_csv=PEOPLE, chat=chat, extra=SLA)
    b.start()
    b.wait_log("session ready")
    b.wait_log("member(s) added", count=4)
    room = p.room(ROOM)
    wang = person(p, "wang", ROOM, "王经理")

    def from_assistant(m):
        return m.type == "groupchat" and m.room == room and m.nick == "客服助手"

    cid = file_complaint(b, "nick-1")
    said(wang, from_assistant, prefix("card", id=cid))
    wait_state(b, cid, "notified")
    wang.send_groupchat(room, "dealerbot: 受理 " + cid)   # not its name here: chatter
    wang.send_groupchat(room, "dealerbot: help")
    wang.no_message(from_assistant, within=0.8)
    eq(state(b, cid)["state"], "notified", "the old name does not address the bot")
    wang.send_groupchat(room, "客服助手：受理 " + cid)
    said(wang, from_assistant, prefix("ack_ok", id=cid))
    acked_by(b, cid)
    wang.send_groupchat(room, "@客服助手 帮助")
    said(wang, from_assistant, render("help_head", name="王经理"))


def test_presence_subscription(t):
    p, b = setup(t)
    wang = person(p, "wang")
    eve = person(p, "eve")                       # has an account, not in the directory
    for c in (wang, eve):                        # a roster makes the session "interested"
        c.iq("get", None, "<query xmlns='jabber:iq:roster'/>")

    def from_bot(typ):
        return lambda pr: pr.from_.split("/")[0] == BOT and pr.type == typ

    wang.send_raw("<presence to='%s' type='subscribe'/>" % BOT)
    wang.wait_for_presence(from_bot("subscribed"), timeout=10)
    online = wang.wait_for_presence(from_bot(None), timeout=10)
    check("/" in online.from_, "the bot's presence comes from its resource: %s" % online.from_)
    # the approval is in the server's roster: a new session of wang sees the bot online by
    # itself (the server probes the bot on wang's initial presence)
    wang.disconnect()
    wang2 = p.client("wang", "wang-pw", connect=False)
    wang2.connect()
    wang2.wait_for_presence(from_bot(None), timeout=10)

    eve.send_raw("<presence to='%s' type='subscribe'/>" % BOT)
    eve.wait_for_presence(from_bot("unsubscribed"), timeout=10)
    eve.no_message(lambda m: True, within=0.3, with_body=False)
    check(not any(pr.from_.split("/")[0] == BOT and pr.type is None for pr in eve.presences),
          "a stranger never sees the bot's presence")
    b.wait_log("presence subscription from eve@localhost, who is not in the directory")


def test_dialogue_answer_that_starts_with_a_keyword(t):
    p, b = setup(t)
    room = p.room(ROOM)
    wang = person(p, "wang", ROOM, "王经理")
    cid = file_complaint(b, "dlg-kw")
    said(wang, from_bot_in(room), prefix("card", id=cid))
    wait_state(b, cid, "notified")
    wang.send_groupchat(room, "受理 " + cid)
    wang.send_groupchat(room, "方案 %s 检查灯光线路" % cid)
    wait_state(b, cid, "solution_agreed")
    wang.send_groupchat(room, "结案 " + cid)            # the fields are asked by direct message
    said(wang, from_bot_direct, render("ask_cause", id=cid))
    # answers that start with a command word are answers, not commands
    wang.send_chat(BOT, "status light wiring was loose")
    said(wang, from_bot_direct, render("ask_fix", id=cid))
    wang.send_chat(BOT, "close the connector and re-test")
    said(wang, from_bot_direct, render("ask_prevent", id=cid))
    wang.send_chat(BOT, "受理时检查线束")
    said(wang, from_bot_in(room), prefix("close_submitted", id=cid))
    wait_state(b, cid, "report_submitted")
    eq(state(b, cid)["report"], {"cause": "status light wiring was loose",
                                 "fix": "close the connector and re-test",
                                 "prevent": "受理时检查线束"}, "the report")


CMDS = "http://jabber.org/protocol/commands"
DATA = "jabber:x:data"


def bot_full_jid(c):
    """The bot's full JID, from its presence after a subscription (ad-hoc commands are
    addressed to a resource)."""
    c.iq("get", None, "<query xmlns='jabber:iq:roster'/>")
    c.send_raw("<presence to='%s' type='subscribe'/>" % BOT)
    pr = c.wait_for_presence(lambda pr: pr.from_.startswith(BOT + "/") and pr.type is None,
                             timeout=10)
    return pr.from_


def run_command(c, to, node, fields=None, action=None):
    form = ""
    if fields is not None:
        form = "<x xmlns='%s' type='submit'>%s</x>" % (DATA, "".join(
            "<field var=%s>%s</field>" % (xmpp.q(k), "".join(
                "<value>%s</value>" % xmpp.text(line) for line in v.split("\n")))
            for k, v in fields.items()))
    res = c.iq("set", to, "<command xmlns='%s' node=%s%s>%s</command>" % (
        CMDS, xmpp.q(node), " action=%s" % xmpp.q(action) if action else "", form))
    cmd = res.find("{%s}command" % CMDS)
    check(cmd is not None, "a <command/> in the result")
    return cmd


def note_of(cmd):
    n = cmd.find("{%s}note" % CMDS)
    return (n.get("type"), n.text or "") if n is not None else (None, None)


def form_fields(cmd):
    x = cmd.find("{%s}x" % DATA)
    check(x is not None, "a form in the command")
    out = {}
    for f in x.findall("{%s}field" % DATA):
        out[f.get("var")] = {"required": f.find("{%s}required" % DATA) is not None,
                             "type": f.get("type"), "label": f.get("label"),
                             "values": [v.text or "" for v in f.findall("{%s}value" % DATA)]}
    return out


def test_adhoc_commands(t):
    p, b = setup(t)
    room = p.room(ROOM)
    wang = person(p, "wang", ROOM, "王经理")
    bot = bot_full_jid(wang)
    # service discovery: the feature, then the list of commands
    info = wang.iq("get", bot, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    feats = {f.get("var") for f in info.iter("{http://jabber.org/protocol/disco#info}feature")}
    check(CMDS in feats and DATA in feats, "disco#info features: %r" % feats)
    items = wang.iq("get", bot, "<query xmlns='http://jabber.org/protocol/disco#items'"
                                " node='%s'/>" % CMDS)
    listed = {i.get("node"): i.get("name")
              for i in items.iter("{http://jabber.org/protocol/disco#items}item")}
    eq(set(listed), {"ack", "plan", "close", "status"}, "the commands listed")
    eq(listed["ack"], ZH["form_ack"], "named in the person's language")

    cid = file_complaint(b, "adhoc-1")
    said(wang, from_bot_in(room), prefix("card", id=cid))
    wait_state(b, cid, "notified")
    # execute: the empty form
    cmd = run_command(wang, bot, "ack")
    eq(cmd.get("status"), "executing", "ack form status")
    f = form_fields(cmd)
    eq(list(f), ["ticket", "eta", "note"], "ack form fields")
    check(f["ticket"]["required"] and not f["eta"]["required"], f)
    # complete it
    cmd = run_command(wang, bot, "ack", {"ticket": cid, "eta": "2026-12-20", "note": "已联系客户"},
                      action="complete")
    eq(cmd.get("status"), "completed", "ack completed")
    typ, text = note_of(cmd)
    eq(text, render("ack_ok", id=cid, owner="王经理", eta="2026-12-20"), "the answer in the note")
    said(wang, from_bot_in(room), render("ack_ok", id=cid, owner="王经理", eta="2026-12-20"))
    acked_by(b, cid)
    ev = [e for e in state(b, cid)["timeline"] if e["kind"] == "ack"]
    eq(ev[0]["actor"], "wang@localhost", "audited like a typed ack")

    cmd = run_command(wang, bot, "plan", {"ticket": cid, "solution": "更换油封"}, "complete")
    eq(cmd.get("status"), "completed", "plan completed")
    wait_state(b, cid, "solution_agreed")

    # the closing report as one form: a missing field comes back marked
    before = state(b, cid)
    cmd = run_command(wang, bot, "close", {"ticket": cid, "cause": "油封老化\n未定期检查",
                                           "fix": "", "prevent": "每次保养检查油封"}, "complete")
    eq(cmd.get("status"), "executing", "the form comes back")
    typ, text = note_of(cmd)
    eq(typ, "error", "a note of type error")
    check(ZH["form_missing"] in text and ZH["field_fix"] in text and ZH["field_cause"] not in text,
          "the note names the missing field: %s" % text)
    f = form_fields(cmd)
    eq(f["cause"]["values"], ["油封老化", "未定期检查"], "what was given is kept")
    check(all(f[k]["required"] for k in ("cause", "fix", "prevent")), f)
    eq(state(b, cid)["timeline"], before["timeline"], "nothing happened")
    cmd = run_command(wang, bot, "close", {"ticket": cid, "cause": "油封老化\n未定期检查",
                                           "fix": "更换油封", "prevent": "每次保养检查油封"},
                      "complete")
    eq(cmd.get("status"), "completed", "close completed")
    wait_state(b, cid, "report_submitted")
    eq(state(b, cid)["report"], {"cause": "油封老化\n未定期检查", "fix": "更换油封",
                                 "prevent": "每次保养检查油封"}, "the report")

    cmd = run_command(wang, bot, "status", {"ticket": cid}, "complete")
    check(note_of(cmd)[1].startswith(prefix("status", id=cid)), note_of(cmd))
    # cancel
    eq(run_command(wang, bot, "status", action="cancel").get("status"), "canceled", "cancel")

    # the same refusals as typed commands: another dealer, a bad id, a stranger
    zhao = person(p, "zhao")
    cid2 = file_complaint(b, "adhoc-2")
    wait_state(b, cid2, "notified")
    cmd = run_command(zhao, bot, "ack", {"ticket": cid2}, "complete")
    eq(note_of(cmd)[1], render("err_other_dealer", id=cid2), "another dealer's ticket")
    refused = [e for e in state(b, cid2)["timeline"] if e["kind"] == "refused"]
    eq([e["actor"] for e in refused], ["zhao@localhost"], "the refusal is in the timeline")
    eq(state(b, cid2)["state"], "notified", "refused: nothing changed")
    cmd = run_command(wang, bot, "ack", {"ticket": "X-1"}, "complete")
    eq(note_of(cmd)[1], render("err_bad_ticket", word="X-1"), "a bad id")
    eve = person(p, "eve")
    cmd = run_command(eve, bot, "status", {"ticket": cid}, "complete")
    eq(note_of(cmd)[1], render("err_unknown_person"), "a stranger")
    # an unknown node
    try:
        run_command(wang, bot, "frobnicate")
        raise dbot.TestFailure("an unknown command node was accepted")
    except xmpp.XmppError as e:
        eq(e.condition, "item-not-found", "unknown node")


if __name__ == "__main__":
    dbot.main(globals())
