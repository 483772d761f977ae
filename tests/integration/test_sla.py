"""test_sla.py — no deadline passes silently (issue 5), on a real Prosody with real clients.

SLA durations are seconds here, so a reminder, a breach and a whole escalation ladder happen
within a few seconds of filing a complaint. Arrival times are checked against the deadlines
the API reports (±1 s); "exactly once" is checked by counting distinct message ids (a resend
after a crash keeps its id, a second firing would not).
"""

import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
import xmpp  # noqa: E402
from dbot import check, eq  # noqa: E402
from test_lifecycle import (ACCOUNTS, BOT, DEALERS, PEOPLE, ZH, file_complaint,  # noqa: E402
                            from_bot_direct, from_bot_in, person, prefix, render, wait_state)

ROOM = "dealer-sh001"


def sla_conf(ack="6s", solution="30s", close="60s", remind="[]", ladder=None, extra=""):
    ladder = ladder or '( { after = "0s"; notify = "dealer_managers"; } )'
    return ('sla = { default = { ack = "%s"; solution = "%s"; close = "%s"; remind_before = %s;'
            ' }; escalation = %s; %s };' % (ack, solution, close, remind, ladder, extra))


def setup(t, sla, penalties=""):
    p = xmpp.server(t)
    p.register_many(ACCOUNTS)
    chat = ('platform = "xmpp"; xmpp = { url = "%s"; jid = "%s"; password = "%s";'
            ' muc_service = "%s"; }; rate_global = 5000; rate_room = 5000;'
            % (p.ws_url, BOT, ACCOUNTS["dealerbot"], p.muc))
    b = t.bot(start=False, dealers_csv=DEALERS, people_csv=PEOPLE, chat=chat,
              extra=sla + penalties)
    b.start()
    b.wait_log("session ready")
    b.wait_log("member(s) added", count=4)
    return p, b


def deadline(b, cid, which):
    from datetime import datetime
    d = b.get("/api/v1/complaints/" + cid).json["deadlines"][which]
    return datetime.fromisoformat(d.replace("Z", "+00:00")).timestamp()


def arrivals(client, pred, start, timeout):
    """Every matching message until `timeout` seconds pass: [(wall time, message)]."""
    out = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            m = client.wait_for_message(pred, max(0.05, deadline - time.monotonic()))
        except xmpp.Timeout:
            break
        out.append((time.time(), m))
    return out


def starts(key, **v):
    """The bot's text for `key`: its start (up to the first placeholder without a value), and
    the complaint id when one is given (as a whole word: C-1 is not C-12)."""
    p = prefix(key, **v)
    word = re.compile(r"(?<![\w-])%s(?!\d)" % re.escape(v["id"])) if "id" in v else None
    return lambda m: m.body.startswith(p) and (word is None or word.search(m.body) is not None)


def both(a, b):
    return lambda m: a(m) and b(m)


def wall(m):
    """The wall-clock time a message was read off the socket (exact while its client is the
    one being waited on)."""
    return time.time() - (time.monotonic() - m.time)


def test_reminder_on_time_in_room_and_to_managers(t):
    p, b = setup(t, sla_conf(ack="6s", remind='["3s"]'))
    wang = person(p, "wang", ROOM)          # manager: before /ack the direct reminder is his
    li = person(p, "li")                    # agent of the same dealer: not before /ack
    cid = file_complaint(b, "rem-1")
    due = deadline(b, cid, "ack")
    m = wang.wait_for_message(both(from_bot_in(p.room(ROOM)),
                                   starts("remind_room", id=cid)), 10)
    got = time.time()
    check(abs(got - (due - 3)) <= 1.0, "room reminder %.2f s off its time" % (got - (due - 3)))
    check(ZH["milestone_ack"] in m.body, m.body)
    d = wang.wait_for_message(both(from_bot_direct, starts("remind_dm", id=cid)), 5)
    check(abs(wall(d) - (due - 3)) <= 1.0,
          "direct reminder %.2f s off its time" % (wall(d) - (due - 3)))
    check(ZH["milestone_ack"] in d.body, d.body)
    li.no_message(both(from_bot_direct, starts("remind_dm", id=cid)), within=1.0)


def test_escalation_ladder_and_penalty_points(t):
    ladder = ('( { after = "0s"; notify = "dealer_managers"; },'
              ' { after = "2s"; notify = "supervisors"; },'
              ' { after = "4s"; notify = "admins"; } )')
    p, b = setup(t, sla_conf(ack="3s", ladder=ladder), 'penalties = { ack_points = 2; };')
    wang = person(p, "wang", ROOM)
    liu = person(p, "liu", "brand-service")
    boss = person(p, "boss")
    cid = file_complaint(b, "esc-1")
    due = deadline(b, cid, "ack")
    breach = wang.wait_for_message(both(from_bot_in(p.room(ROOM)),
                                        starts("breach_room", id=cid)), 10)
    check("2" in breach.body, breach.body)
    for client, level, at in ((wang, 1, due), (liu, 2, due + 2), (boss, 3, due + 4)):
        m = client.wait_for_message(both(from_bot_direct,
                                         starts("escalate_dm", level=level)), 10)
        got = time.time()
        check(cid in m.body, m.body)
        check(abs(got - at) <= 1.5, "level %d %.2f s off its time" % (level, got - at))
    staff = [liu.wait_for_message(both(from_bot_in(p.room("brand-service")),
                                       starts("escalate_staff", level=n)), 5)
             for n in (1, 2, 3)]
    eq(len(staff), 3, "every level also in the staff room")
    # the ledger has the breach's points
    liu.send_chat(BOT, "/penalties SH001")
    body = liu.wait_for_message(both(from_bot_direct, starts("penalties_head",
                                                             dealer_code="SH001")), 5).body
    check("SLA-ACK" in body and "2" in body, body)
    # acknowledging now stops nothing already sent, and nothing more comes
    wang.send_groupchat(p.room(ROOM), "/ack " + cid)
    wait_state(b, cid, "acknowledged")
    timeline = b.get("/api/v1/complaints/" + cid).json["timeline"]
    eq([e["kind"] for e in timeline].count("escalate"), 3, "three escalations in the timeline")
    eq([e["kind"] for e in timeline].count("breach"), 1, "one breach")


def test_ack_stops_ack_reminders_not_solution_ones(t):
    p, b = setup(t, sla_conf(ack="5s", solution="9s", remind='["3s"]'))
    wang = person(p, "wang", ROOM)          # manager
    li = person(p, "li", ROOM)              # agent: acknowledges, so the owner
    cid = file_complaint(b, "stop-1")
    li.send_chat(BOT, "/ack " + cid)
    wait_state(b, cid, "acknowledged")
    eq(b.get("/api/v1/complaints/" + cid).json["owner"], "li@localhost", "the owner")
    sol_due = deadline(b, cid, "solution")
    room = from_bot_in(p.room(ROOM))

    def sla_message(m):
        if cid not in m.body:
            return False
        if room(m):
            return m.body.startswith((prefix("remind_room"), prefix("breach_room")))
        return from_bot_direct(m) and m.body.startswith(prefix("remind_dm"))

    got = arrivals(li, sla_message, time.time(), sol_due - time.time() - 1)
    in_room = [(w, m) for w, m in got if room(m)]
    eq(len(in_room), 1, "only the solution reminder: %r" % [m.body for _, m in in_room])
    check(ZH["milestone_solution"] in in_room[0][1].body, in_room[0][1].body)
    check(abs(in_room[0][0] - (sol_due - 3)) <= 1.0, "solution reminder on time")
    # the owner, not the managers, gets the direct reminder now, at its offset too
    dms = [(w, m) for w, m in got if from_bot_direct(m)]
    eq(len(dms), 1, "one direct reminder to the owner: %r" % [m.body for _, m in dms])
    check(ZH["milestone_solution"] in dms[0][1].body, dms[0][1].body)
    check(abs(dms[0][0] - (sol_due - 3)) <= 1.0,
          "direct reminder %.2f s off its time" % (dms[0][0] - (sol_due - 3)))
    wang.no_message(both(from_bot_direct, starts("remind_dm", id=cid)), within=0.5)


def distinct(msgs):
    return {m.id for _, m in msgs}


def test_exactly_once_across_sigterm_and_sigkill(t):
    ladder = ('( { after = "0s"; notify = "dealer_managers"; },'
              ' { after = "3s"; notify = "supervisors"; } )')
    p, b = setup(t, sla_conf(ack="7s", remind='["5s"]', ladder=ladder))
    wang = person(p, "wang", ROOM)
    liu = person(p, "liu")
    in_room = from_bot_in(p.room(ROOM))
    c1 = file_complaint(b, "once-1")
    due = deadline(b, c1, "ack")
    first = {c1: wang.wait_for_message(both(in_room, starts("remind_room", id=c1)), 6).id}
    b.stop()                                 # SIGTERM between the reminder and the deadline
    b.start()
    c2 = file_complaint(b, "once-2")
    due2 = deadline(b, c2, "ack")
    first[c2] = wang.wait_for_message(both(in_room, starts("remind_room", id=c2)), 6).id
    b.kill()                                 # SIGKILL between the reminder and the deadline
    while time.time() < due + 6:             # c1's breach and level 1 come due while down,
        time.sleep(0.1)                      # and are more than 5 s late at the restart
    b.start()
    until = max(due, due2) + 5
    room = arrivals(wang, in_room, time.time(), until - time.time())
    dms = arrivals(liu, from_bot_direct, time.time(), 1.5)
    for cid in (c1, c2):
        # A message confirmed too late to be recorded before a stop is sent again after the
        # restart with the SAME id (at least once); a second firing would have a new id.
        again = distinct([(w, m) for w, m in room
                          if starts("remind_room", id=cid)(m)])
        check(again <= {first[cid]}, "%s reminded twice: %r vs %r" % (cid, again, first[cid]))
        eq(len(distinct([(w, m) for w, m in room
                         if starts("breach_room", id=cid)(m)])), 1,
           "one breach of " + cid)
    late = [m for _, m in room if starts("breach_room", id=c1)(m)]
    check(ZH["late_mark"] in late[0].body, "c1's breach says it is late: %s" % late[0].body)
    escalations = [m for _, m in dms if m.body.startswith(prefix("escalate_dm", level=2))]
    eq(len({m.id for m in escalations}), 2, "level 2 once for each complaint")
    for cid in (c1, c2):
        kinds = [e["kind"] for e in b.get("/api/v1/complaints/" + cid).json["timeline"]]
        eq(kinds.count("remind"), 1, cid + " reminded once")
        eq(kinds.count("breach"), 1, cid + " breached once")
        eq(kinds.count("escalate"), 2, cid + " escalated twice")


def test_quiet_hours_hold_reminders_not_escalations(t):
    # quiet hours around now in the bot's zone (Asia/Shanghai, UTC+8, no DST)
    now = time.time()
    local = time.gmtime(now + 8 * 3600)
    start = "%02d:%02d" % (local.tm_hour, local.tm_min)
    end_min = (local.tm_hour * 60 + local.tm_min + 30) % 1440
    end = "%02d:%02d" % (end_min // 60, end_min % 60)
    p, b = setup(t, sla_conf(ack="20s", remind='["10s"]',
                             extra='quiet_hours = "%s-%s";' % (start, end)))
    cid = file_complaint(b, "quiet-1")
    due = deadline(b, cid, "ack")
    con = sqlite3.connect(os.path.join(b.dir, "dealerbot.db"))
    rows = con.execute("SELECT kind, due_at FROM sla_events WHERE complaint_id = ?"
                       " AND milestone = 'ack' ORDER BY due_at", (int(cid[2:]),)).fetchall()
    con.close()
    kinds = [k for k, _ in rows]
    check("remind" not in kinds, "a reminder that quiet hours push past the deadline is"
                                 " dropped: %r" % rows)
    eq([k for k, d in rows if k in ("breach", "escalate") and d == int(due)],
       ["breach", "escalate"], "breach and escalation keep their time")


def status_line(body, var):
    """The line of a /status reply that shows deadline `var` ("ack_due"), without its label."""
    label = next(line for line in ZH["status"].split("\n") if "{%s}" % var in line)
    label = label[:label.index("{")]
    line = next((x for x in body.split("\n") if x.startswith(label)), None)
    check(line is not None, "no %r line in %r" % (label, body))
    return line[len(label):]


def test_status_and_api_show_time_left_and_overdue(t):
    p, b = setup(t, sla_conf(ack="2s", solution="1h", close="2h"))
    wang = person(p, "wang", ROOM)
    room = p.room(ROOM)
    cid = file_complaint(b, "left-1")
    card = wang.wait_for_message(both(from_bot_in(room), starts("card", id=cid)), 5)
    filed = time.time()
    wang.wait_for_message(both(from_bot_in(room), starts("breach_room", id=cid)), 5)
    ack_due = deadline(b, cid, "ack")
    while time.time() < ack_due + 1.2:       # overdue by a second at least: "1 分钟"
        time.sleep(0.05)

    # /status: the breached deadline overdue, the others with the time left (spans round up
    # to the minute: 3597 s left is "1 小时")
    wang.send_groupchat(room, "/status " + cid)
    body = wang.wait_for_message(both(from_bot_in(room), starts("status", id=cid)), 5).body
    check(status_line(body, "ack_due").endswith(
        "（%s）" % render("due_over", over="1分钟")), body)
    check(status_line(body, "solution_due").endswith(
        "（%s）" % render("due_left", left="1小时")), body)
    check(status_line(body, "close_due").endswith(
        "（%s）" % render("due_left", left="2小时")), body)

    # The API shows the same per milestone; the deadlines keep their old form.
    c = b.get("/api/v1/complaints/" + cid).json
    now = time.time()
    sla = c["sla"]
    eq(sorted(sla), ["ack", "close", "solution"], "milestones in sla")
    for name in ("ack", "solution", "close"):
        eq(sla[name]["due"], c["deadlines"][name], name + " due as in deadlines")
        eq(sla[name]["met_at"], None, name + " not met")
        check("on_time" not in sla[name], sla[name])
    check("left_s" not in sla["ack"] and abs(sla["ack"]["overdue_s"] - (now - ack_due)) <= 1.5,
          "ack overdue: %r" % sla["ack"])
    for name, length in (("solution", 3600), ("close", 7200)):
        check("overdue_s" not in sla[name] and
              abs(sla[name]["left_s"] - (filed + length - now)) <= 2, "%s: %r" % (name, sla[name]))

    # Met (late): the met time and whether it was on time; the timeline names the messages.
    mid = wang.send_groupchat(room, "/ack " + cid)
    wait_state(b, cid, "acknowledged")
    c = b.get("/api/v1/complaints/" + cid).json
    ack = c["sla"]["ack"]
    eq(ack["met_at"], c["milestones"]["ack"], "met_at as in milestones")
    check(ack["met_at"] is not None and ack["on_time"] is False, ack)
    check("left_s" not in ack and "overdue_s" not in ack, ack)
    check("left_s" in c["sla"]["solution"], c["sla"]["solution"])
    events = {e["kind"]: e for e in c["timeline"]}
    eq(events["intake"]["message_id"], None, "intake: no message")
    eq(events["notify"]["message_id"], card.id, "notify: the card as the room got it")
    check(events["ack"]["message_id"] and mid in events["ack"]["message_id"],
          "ack: the command's message (%s): %r" % (mid, events["ack"]))
    # the list shows it too
    rows = b.get("/api/v1/complaints?dealer=SH001").json["complaints"]
    eq([(r["id"], r["sla"]["ack"]["on_time"], "left_s" in r["sla"]["close"]) for r in rows],
       [(cid, False, True)], "the list")


def to_report(p, b, client, cid, report="原因：漆面运输划伤 措施：重新喷漆 预防：运输加装保护膜"):
    """/ack, /plan and /close at once: the report is under review when this returns."""
    room = p.room(ROOM)
    client.send_groupchat(room, "/ack " + cid)
    wait_state(b, cid, "acknowledged")
    client.send_groupchat(room, "/plan %s 重新喷漆" % cid)
    wait_state(b, cid, "solution_agreed")
    client.send_groupchat(room, "/close %s %s" % (cid, report))
    wait_state(b, cid, "report_submitted")


def test_reject_after_close_deadline_fires_it_late_and_reopen_keeps_the_terms(t):
    # The close deadline passes while the report is under review: nothing is said then (the
    # wait is the brand's), but the rejection hands the deadline back to the dealer, and its
    # breach, penalty points and escalations fire at once, marked late (more than 5 s after
    # their time), once each.
    ladder = ('( { after = "0s"; notify = "dealer_managers"; },'
              ' { after = "1s"; notify = "supervisors"; } )')
    terms = sla_conf(ack="8s", solution="8s", close="8s", remind='["3s"]', ladder=ladder)
    p, b = setup(t, terms, 'penalties = { close_points = 3; };')
    wang = person(p, "wang", ROOM)
    liu = person(p, "liu", "brand-service")
    in_room = from_bot_in(p.room(ROOM))
    staff_room = from_bot_in(p.room("brand-service"))
    cid = file_complaint(b, "rej-1")
    due = deadline(b, cid, "close")
    to_report(p, b, wang, cid)
    check(time.time() < due - 3.5, "the report is in before the close reminder is due")

    # Under review past the deadline and past level 2: silence.
    quiet = arrivals(wang, lambda m: cid in m.body and m.body.startswith(
        (prefix("remind_room"), prefix("breach_room"), prefix("remind_dm"),
         prefix("escalate_dm"))), time.time(), due + 7.5 - time.time())
    eq([m.body for _, m in quiet], [], "nothing while the report is under review")
    liu.send_groupchat(p.room("brand-service"), "/驳回 %s 预防措施不具体" % cid)
    wait_state(b, cid, "solution_agreed")
    rejected_at = time.time()

    breach = wang.wait_for_message(both(in_room, starts("breach_room", id=cid)), 5)
    check(time.time() - rejected_at < 2.0, "the breach comes with the rejection")
    check(ZH["late_mark"] in breach.body and "3" in breach.body, breach.body)
    lv1 = wang.wait_for_message(both(from_bot_direct, starts("escalate_dm", level=1)), 5)
    lv2 = liu.wait_for_message(both(from_bot_direct, starts("escalate_dm", level=2)), 5)
    for m in (lv1, lv2):
        check(cid in m.body and ZH["late_mark"] in m.body, m.body)
    for level in (1, 2):
        liu.wait_for_message(both(staff_room, starts("escalate_staff", level=level)), 5)
    liu.send_chat(BOT, "/penalties SH001")
    body = liu.wait_for_message(both(from_bot_direct, starts("penalties_head",
                                                             dealer_code="SH001")), 5).body
    check("SLA-CLOSE" in body and "3" in body, body)
    # once: nothing more comes, and the timeline has each once, late; the close reminder the
    # review held is not sent after its deadline
    wang.no_message(both(in_room, lambda m: cid in m.body and m.body.startswith(
        (prefix("breach_room"), prefix("remind_room")))), within=1.5)
    timeline = b.get("/api/v1/complaints/" + cid).json["timeline"]
    sla = [(e["kind"], e["detail"]) for e in timeline
           if e["kind"] in ("remind", "breach", "escalate")]
    eq(sla, [("breach", "close (late)"), ("escalate", "close level 1 to dealer_managers (late)"),
             ("escalate", "close level 2 to supervisors (late)")], "the close events fired")

    # The terms stay the complaint's: the config is edited (longer close, other reminder,
    # another ladder) and the bot restarted; a reopen plans the close clock from the terms
    # the complaint was filed under.
    to_report_again = "/close %s 原因：漆面运输划伤 措施：重新喷漆 预防：运输前逐车检查" % cid
    wang.send_groupchat(p.room(ROOM), to_report_again)
    wait_state(b, cid, "report_submitted")
    liu.send_groupchat(p.room("brand-service"), "/approve " + cid)
    wait_state(b, cid, "closed")
    b.stop()
    with open(b.conf, encoding="utf-8") as f:
        conf = f.read()
    edited = sla_conf(ack="8s", solution="8s", close="30s", remind='["10s"]',
                      ladder='( { after = "1s"; notify = "admins"; } )')
    check(terms in conf, "the test's SLA settings are in the config file")
    with open(b.conf, "w", encoding="utf-8") as f:
        f.write(conf.replace(terms, edited))
    b.start()
    b.wait_log("session ready", count=2)
    boss = person(p, "boss")
    liu.send_groupchat(p.room("brand-service"), "/reopen %s 客户回访不满意" % cid)
    wait_state(b, cid, "acknowledged")
    reopened_at = time.time()
    close = deadline(b, cid, "close")
    check(abs(close - (reopened_at + 8)) <= 1.5,
          "the new close deadline is 8 s (the terms) after the reopen: %.2f s"
          % (close - reopened_at))
    check(close > due + 5, "later than the old one")
    m = wang.wait_for_message(both(in_room, starts("remind_room", id=cid)), 10)
    got = time.time()
    check(ZH["milestone_close"] in m.body, m.body)
    check(abs(got - (close - 3)) <= 1.0, "close reminder %.2f s off its time" % (got - (close - 3)))
    lv1 = wang.wait_for_message(both(from_bot_direct, starts("escalate_dm", level=1)), 8)
    check(cid in lv1.body and abs(time.time() - close) <= 1.5, "level 1 to the managers on time")
    lv2 = liu.wait_for_message(both(from_bot_direct, starts("escalate_dm", level=2)), 5)
    check(cid in lv2.body and ZH["late_mark"] not in lv2.body, lv2.body)
    boss.no_message(from_bot_direct, within=0.5)


def test_catalogue_penalties_in_chat(t):
    catalogue = os.path.join(dbot.SOURCE_DIR, "config", "demo", "penalties.csv")
    p, b = setup(t, sla_conf(ack="1h", solution="2h", close="3h"),
                 'penalties = { catalogue = "%s"; };' % catalogue)
    b.wait_log("penalty catalogue: 4 rule(s)")
    wang = person(p, "wang", ROOM)
    liu = person(p, "liu")
    li = person(p, "li")
    cid = file_complaint(b, "pen-1")
    liu.send_chat(BOT, "/处罚 sh001 p-102 %s 原因写成客户误解" % cid)
    body = wang.wait_for_message(both(from_bot_in(p.room(ROOM)),
                                      starts("penalty_added", who="刘主管")), 5).body
    check("P-102" in body and "结案报告原因分析不实" in body and cid in body, body)
    li.send_chat(BOT, "/penalty SH001 P-101")
    li.wait_for_message(both(from_bot_direct, starts("err_not_allowed", command="/penalty")), 5)
    liu.send_chat(BOT, "/penalty SH001 X-999")
    liu.wait_for_message(both(from_bot_direct, starts("err_unknown_penalty", code="X-999")), 5)
    liu.send_chat(BOT, "/penalty ZZ9 P-101")
    liu.wait_for_message(both(from_bot_direct, starts("err_unknown_dealer", code="ZZ9")), 5)
    li.send_chat(BOT, "/处罚记录")            # a dealer's people see their own ledger
    body = li.wait_for_message(both(from_bot_direct, starts("penalties_head",
                                                            dealer_code="SH001")), 5).body
    check("P-102" in body and "2" in body, body)
    kinds = [e["kind"] for e in b.get("/api/v1/complaints/" + cid).json["timeline"]]
    check("penalty" in kinds, "the penalty is on the complaint's timeline: %r" % kinds)


if __name__ == "__main__":
    dbot.main(globals())
