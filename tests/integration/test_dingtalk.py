"""test_dingtalk.py — the bot on DingTalk (chat.platform = "dingtalk"), against the repo's
simulator of DingTalk's gateway and OpenAPI (tests/dingtalk_sim/, its fidelity checked by the
official SDK in test_dingtalk_sdk.py): the complaint lifecycle in chat, rooms mapped by import
and by `bind`, a room without a group holding its messages, the stream and the sends surviving
a dropped socket, a disconnect, a throttling storm, a kill -9 between a send and its answer,
an expired token, and bad input from the gateway and the OpenAPI (those in
test_dingtalk_faults.py, which shares this file's set-up).

Commands are typed with a leading slash, which works with the grammar before and after the
command-grammar change; every DingTalk message is addressed to the bot (group messages reach
it only when they @mention it).
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
import dingtalk  # noqa: E402
from dbot import check, eq  # noqa: E402

DEALERS = ("code,name,region,sales_volume\n"
           "SH001,上海浦东汽车,华东,2400\n"
           "BJ002,北京朝阳汽车,华北,1800\n")
PEOPLE = ("chat_id,dealer,role,name,language\n"
          "wang01,SH001,manager,王经理,zh-CN\n"
          "zhao02,BJ002,manager,赵经理,zh-CN\n"
          "liu03,brand,supervisor,刘主管,zh-CN\n"
          "boss04,brand,admin,总监,zh-CN\n")
ROOMS = ["brand-service", "underperformers", "dealer-sh001"]  # dealer-bj002 left unmapped


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


def prefix(key, **v):
    text = re.sub(r"\{(\w+)\}", lambda m: str(v.get(m.group(1), "{%s}" % m.group(1))),
                  ZH[key]).replace("{{", "{").replace("}}", "}")
    cut = text.find("{")
    text = text if cut < 0 else text[:cut]
    return text.split("\n")[0]


def setup(t, sim_kw=None, map_rooms=True, start=True, extra_chat="", extra=""):
    sim_dir = dbot.tempfile.mkdtemp(prefix="dbot-dtsim-")
    sim = dingtalk.Sim(dir=sim_dir, **(sim_kw or {})).start()
    t.cleanups = getattr(t, "cleanups", [])
    t.cleanups.append(sim.stop)
    b = t.bot(start=False, dealers_csv=DEALERS, people_csv=PEOPLE,
              chat=dingtalk.chat_config(sim, extra_chat), extra=extra)
    if map_rooms:
        dingtalk.map_rooms(b, ROOMS)
    if start:
        b.start()
        b.wait_log("session ready")
        sim.wait_stream()
    return sim, b


def file_complaint(b, ext, dealer="SH001"):
    body = {"external_id": ext, "dealer": dealer, "category": "after-sales",
            "priority": "normal", "customer": {"name": "张三", "phone": "13800000000"},
            "summary": "车辆异响"}
    r = b.post("/api/v1/complaints", body)
    eq(r.status, 201, "intake %s" % ext)
    return r.json["id"]


def state(b, cid):
    r = b.get("/api/v1/complaints/" + cid)
    eq(r.status, 200, "GET " + cid)
    return r.json


def wait_state(b, cid, want, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        got = state(b, cid)["state"]
        if got == want:
            return
        if time.monotonic() > deadline:
            raise dbot.TestFailure("%s: state %s, want %s" % (cid, got, want))
        time.sleep(0.05)


def in_group(room, start):
    cid = dingtalk.room_cid(room)
    return lambda m: m["group"] and m["to"] == cid and m["text"].startswith(start)


def to_person(pid, start):
    return lambda m: not m["group"] and pid in m["to"] and m["text"].startswith(start)


# ---- the lifecycle ----

def test_lifecycle_in_dingtalk_groups(t):
    sim, b = setup(t)
    group = dingtalk.room_cid("dealer-sh001")
    cid = file_complaint(b, "dt-1")
    card = sim.wait_sent(in_group("dealer-sh001", prefix("card", id=cid)), "the card")
    check("张三" in card["text"] and card["msgKey"] == "sampleMarkdown", card)
    check(card["title"] and card["title"] in card["text"].split("\n")[0], card)
    wait_state(b, cid, "notified")

    mid = sim.callback("/ack %s 今天联系客户" % cid, "wang01", cid=group)
    eq(sim.wait_ack(mid), 200, "the callback's answer")
    sim.wait_sent(in_group("dealer-sh001", prefix("ack_ok", id=cid, owner="王经理")), "ack_ok")
    c = state(b, cid)
    eq(c["state"], "acknowledged", "after /ack")
    eq(c.get("owner"), "wang01", "owner is the DingTalk user id")

    sim.callback("/plan %s 更换后减震器" % cid, "wang01", cid=group)
    wait_state(b, cid, "solution_agreed")
    sim.callback("/close %s\n原因：减震器批次质量问题\n措施：已免费更换\n预防：同批次主动检查"
                 % cid, "wang01", cid=group)
    sim.wait_sent(in_group("brand-service", prefix("review", id=cid)), "the review")
    wait_state(b, cid, "report_submitted")
    sim.callback("/approve " + cid, "liu03", cid=dingtalk.room_cid("brand-service"))
    wait_state(b, cid, "closed")
    kinds = [e["kind"] for e in state(b, cid)["timeline"]]
    for k in ("intake", "notify", "ack", "plan", "report", "approve"):
        check(k in kinds, "timeline has %s: %r" % (k, kinds))


def test_direct_message_and_same_msgid_acted_on_once(t):
    sim, b = setup(t)
    sim.callback("/help", "wang01", group=False, msg_id="m-help-1")
    sim.wait_sent(to_person("wang01", ""), "a direct answer to /help")
    n = len(sim.sent_to("wang01"))
    # DingTalk pushes an unanswered message again: the same msgId is acted on once
    mid = sim.callback("/help", "wang01", group=False, msg_id="m-help-1")
    eq(sim.wait_ack(mid), 200, "the repeat is answered")
    time.sleep(1.0)
    eq(len(sim.sent_to("wang01")), n, "answers to a repeated msgId")


def test_guided_close_dialogue_in_the_1to1_chat(t):
    sim, b = setup(t)
    group = dingtalk.room_cid("dealer-sh001")
    cid = file_complaint(b, "dt-dlg")
    wait_state(b, cid, "notified")
    sim.callback("/ack " + cid, "wang01", cid=group)
    sim.callback("/plan %s 更换轮胎" % cid, "wang01", cid=group)
    wait_state(b, cid, "solution_agreed")
    sim.callback("/close %s cause: 轮胎扎钉未及时发现" % cid, "wang01", cid=group)
    sim.wait_sent(to_person("wang01", prefix("ask_fix", id=cid)), "ask_fix by DM")
    sim.callback("已免费更换新轮胎", "wang01", group=False)
    sim.wait_sent(to_person("wang01", prefix("ask_prevent", id=cid)), "ask_prevent by DM")
    b.stop()          # the dialogue lives in the store
    b.start()
    b.wait_log("session ready")
    sim.callback("交车前增加轮胎检查项", "wang01", group=False)
    sim.wait_sent(in_group("dealer-sh001", prefix("close_submitted", id=cid)), "submitted")
    wait_state(b, cid, "report_submitted")
    eq(state(b, cid).get("report"), {"cause": "轮胎扎钉未及时发现", "fix": "已免费更换新轮胎",
                                     "prevent": "交车前增加轮胎检查项"}, "the report")


def test_long_text_is_split_not_cut(t):
    sim, b = setup(t)
    summary = "".join("第%03d段 客户反映车辆在高速行驶时有明显异响，要求彻底检查。" % i
                      for i in range(150))
    body = {"external_id": "dt-long", "dealer": "SH001", "category": "after-sales",
            "priority": "normal", "customer": {"name": "张三", "phone": "13800000000"},
            "summary": "长投诉", "details": summary}
    r = b.post("/api/v1/complaints", body)
    eq(r.status, 201, "intake of a long complaint")
    cid = r.json["id"]
    wait_state(b, cid, "notified")
    parts = [m for m in sim.sent_to(dingtalk.room_cid("dealer-sh001"))
             if re.search(r"\(\d+/\d+\)$", m["title"] or "")]
    check(len(parts) >= 2, "a card over the limit goes in parts: %r" %
          [m["title"] for m in sim.sent()])
    whole = "".join(m["text"] for m in parts).replace("  \n", "\n")
    for i in range(150):
        check("第%03d段" % i in whole, "part %d of the details is in the parts" % i)


# ---- SLA reminders and escalations ----

def test_sla_reminder_breach_and_escalation(t):
    sla = ('sla = { default = { ack = "5s"; solution = "60s"; close = "120s";'
           ' remind_before = ["3s"]; }; escalation = ( { after = "0s"; notify ='
           ' "dealer_managers"; }, { after = "1s"; notify = "supervisors"; } ); };')
    sim, b = setup(t, extra=sla)
    cid = file_complaint(b, "dt-sla")
    sim.wait_sent(in_group("dealer-sh001", prefix("remind_room", id=cid)), "the reminder",
                  timeout=10)
    sim.wait_sent(to_person("wang01", prefix("remind_dm", id=cid)), "the reminder by DM")
    sim.wait_sent(in_group("dealer-sh001", prefix("breach_room", id=cid)), "the breach",
                  timeout=15)
    sim.wait_sent(to_person("wang01", prefix("escalate_dm", level=1)), "level 1", timeout=15)
    sim.wait_sent(to_person("liu03", prefix("escalate_dm", level=2)), "level 2", timeout=15)
    sim.wait_sent(in_group("brand-service", prefix("escalate_staff", id=cid)),
                  "escalation in the staff room", timeout=15)


# ---- the network programme ----

def test_broadcast_read_and_underperformers_members(t):
    conf = ('underperformers = { window = "90d"; min_complaints = 2; rate_factor = 1.5;'
            ' close_sla_min = 0.0; penalty_points_max = 100; exit_after = "3s"; };'
            ' broadcasts = { remind_after = "3s"; };')
    sim, b = setup(t, extra=conf)
    dingtalk.map_rooms(b, ROOMS + ["dealer-bj002"])
    for i in range(4):
        file_complaint(b, "dt-up-%d" % i)
    r = b.post("/api/v1/underperformers/evaluate", {})
    eq(r.status, 200, "evaluate")
    eq(r.json["entered"], 1, "SH001 joins")
    # the bot cannot change a DingTalk group's members: the staff room is told whom to add
    add = sim.wait_sent(in_group("brand-service", prefix("members_add", dealer_name="上海浦东汽车",
                                                         dealer_code="SH001",
                                                         room="underperformers")),
                        "whom to add")
    check("wang01" in add["text"] and "王经理" in add["text"], add)
    sim.wait_sent(in_group("underperformers", prefix("under_enter_room", dealer_name="上海浦东汽车",
                                                     dealer_code="SH001")),
                  "the notice in the underperformers group")
    # a broadcast with read confirmation to every dealer group, confirmed in the group
    sim.callback("/broadcast all standard ack 所有投诉须在12小时内受理", "liu03", group=False)
    sim.wait_sent(to_person("liu03", prefix("broadcast_sent", id="B-1")), "broadcast_sent")
    for room in ("dealer-sh001", "dealer-bj002"):
        sim.wait_sent(lambda m, room=room: m["group"] and m["to"] == dingtalk.room_cid(room)
                      and "B-1" in m["text"] and "12小时" in m["text"], "B-1 in " + room)
    sim.callback("/read B-1", "wang01", cid=dingtalk.room_cid("dealer-sh001"))
    sim.wait_sent(in_group("dealer-sh001", prefix("read_ok", id="B-1")), "read_ok")


# ---- rooms ----

def test_unmapped_room_holds_until_bound(t):
    sim, b = setup(t)
    cid = file_complaint(b, "dt-hold", dealer="BJ002")
    time.sleep(1.5)
    check(not sim.sent_to(dingtalk.room_cid("dealer-bj002")), "nothing sent to an unmapped room")
    wait_state(b, cid, "new")
    rc, out, err = b.cli("rooms", "list")
    check(re.search(r"^dealer-bj002\t-\t", out, re.M), out)
    check("1 room(s) have no chat group" in err, err)
    rc, out, err = b.cli("check-config")
    check("# rooms: dealer-bj002 (北京朝阳汽车) has no chat group" in out, out)
    check("client_secret = \"********\";" in out, out)
    check("dealer-sh001 (" not in out and dingtalk.CLIENT_SECRET not in out, out)
    # a dealer manager may not bind; the admin may
    mid = sim.callback("/bind BJ002", "zhao02", cid="cid-new-group")
    eq(sim.wait_ack(mid), 200, "answer to a refused bind")
    sim.wait_sent(to_person("zhao02", ZH["bind_denied"]), "bind refused for a non-admin")
    sim.callback("bind BJ002", "boss04", cid="cid-new-group")
    sim.wait_sent(lambda m: m["group"] and m["to"] == "cid-new-group"
                  and m["text"].startswith(prefix("card", id=cid)), "the held card", timeout=20)
    sim.wait_sent(lambda m: m["group"] and m["to"] == "cid-new-group"
                  and m["text"].startswith(prefix("bind_done")), "bind_done")
    wait_state(b, cid, "notified")
    rc, out, err = b.cli("rooms", "list")
    check(re.search(r"^dealer-bj002\tcid-new-group\t", out, re.M), out)


def test_unbound_group_gets_a_hint_and_nothing_else(t):
    sim, b = setup(t)
    mid = sim.callback("/help", "wang01", cid="cid-unknown")
    eq(sim.wait_ack(mid), 200, "answered")
    sim.wait_sent(to_person("wang01", ZH["bind_usage"][:10]), "the bind hint")
    check(not [m for m in sim.sent() if m["group"] and m["to"] == "cid-unknown"],
          "nothing written into an unbound group")


def test_rooms_import_is_all_or_nothing(t):
    sim, b = setup(t, start=False, map_rooms=False)
    path = os.path.join(b.dir, "bad-rooms.csv")
    with open(path, "w") as f:
        f.write("room,address\nstaff,cid-a\nNOPE9,cid-b\n")
    rc, out, err = b.cli("rooms", "import", path, expect=1)
    check("bad-rooms.csv: row 3" in err and "NOPE9" in err, err)
    rc, out, err = b.cli("rooms", "list")
    check(not re.search(r"cid-a", out), "nothing imported from a bad file: " + out)
    with open(path, "w") as f:
        f.write("\ufeffroom,address\r\nstaff,cid-a\r\nunderperformers,cid-u\r\nSH001,cid-s\r\n")
    rc, out, err = b.cli("rooms", "import", path)
    check("imported 3 rooms" in out, out)
    rc, out, err = b.cli("rooms", "list")
    check(re.search(r"^brand-service\tcid-a\t", out, re.M) and
          re.search(r"^dealer-sh001\tcid-s\t", out, re.M), out)


def test_refused_group_holds_and_recovers(t):
    sim, b = setup(t)
    group = dingtalk.room_cid("dealer-sh001")
    sim.ctl("group", {"openConversationId": group, "member": False})
    cid = file_complaint(b, "dt-refused")
    b.wait_log("DingTalk refuses the robot there")
    sim.wait_sent(in_group("brand-service", prefix("room_refused", room="dealer-sh001")),
                  "the staff room told")
    wait_state(b, cid, "new")
    sim.ctl("group", {"openConversationId": group, "member": True})
    # the bot tries the group again after its backoff (1 min): a directory change re-syncs
    # the room at once
    path = os.path.join(b.dir, "rooms2.csv")
    with open(path, "w") as f:
        f.write("room,address\nSH001,cid-sh001-new\n")
    b.cli("rooms", "import", path)
    sim.wait_sent(lambda m: m["group"] and m["to"] == "cid-sh001-new"
                  and m["text"].startswith(prefix("card", id=cid)), "the card after remapping",
                  timeout=20)
    wait_state(b, cid, "notified")


def run_with_cleanups(namespace):
    """dbot.main, with the simulators stopped after each test."""
    for name, fn in list(namespace.items()):
        if name.startswith("test_") and callable(fn):
            def wrap(t, fn=fn):
                try:
                    fn(t)
                finally:
                    for c in getattr(t, "cleanups", []):
                        c()
            wrap.__name__ = name
            namespace[name] = wrap
    dbot.main(namespace)


dbot.FILE_TIMEOUT = 280  # the file's many restarts and waits (CTest allows 300 s)
if __name__ == "__main__":
    run_with_cleanups(globals())
