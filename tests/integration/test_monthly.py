"""test_monthly.py — the monthly dealer report and the honour roll (红榜) on a real Prosody,
with real XMPP clients, the clock driven through the record of months sent (as the daily
evaluation's test drives its slots):

- a new database records the month just ended without sending it;
- the bot was down when a month's report was due (its month is not recorded): at start every
  dealer room gets its scorecard of that month beside the network, marked late, and every
  dealer room and the staff room the honour roll; the month is recorded once;
- a restart does not send it again;
- staff send the honour roll on demand (`红榜`, POST /api/v1/reports/honour); a dealer may not;
- reports.monthly = false sends nothing and records nothing.
"""

import datetime
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
from dbot import check, eq  # noqa: E402
from test_lifecycle import (BOT, ZH, file_complaint, from_bot_direct, from_bot_in,  # noqa: E402
                            person, prefix, render, setup)
from test_rewards import close_in_chat  # noqa: E402

ROOM, ROOM2, STAFF = "dealer-sh001", "dealer-bj002", "brand-service"
CONF = ('sla = { default = { ack = "12h"; solution = "30d"; close = "60d"; }; };'
        ' underperformers = { min_complaints = 1; };'
        ' reports = { monthly_at = "09:00"; honour_count = 5; };')


def months(b):
    con = sqlite3.connect(os.path.join(b.dir, "dealerbot.db"), timeout=10)
    try:
        return con.execute("SELECT month, sent, late FROM monthly_reports ORDER BY month").fetchall()
    finally:
        con.close()


def month_before(month):
    y, m = (int(x) for x in month.split("-"))
    return "%04d-%02d" % ((y, m - 1) if m > 1 else (y - 1, 12))


def test_monthly_report_once_late_and_on_demand(t):
    p, b = setup(t, sla=CONF)
    b.wait_log("monthly reports start after ")
    rows = months(b)
    eq(len(rows), 1, "a new database records one month: %r" % rows)
    month = rows[0][0]
    eq(rows[0][1:], (0, 0), "not sent")

    wang = person(p, "wang", ROOM)
    zhao = person(p, "zhao", ROOM2)
    liu = person(p, "liu", STAFF)
    # complaints received two days before the end of that month: SH001's closed now (in
    # time: close is 60 days), BJ002's still open
    w = b.get("/api/v1/scorecards?month=" + month).json["window"]
    end = datetime.datetime.fromisoformat(w["to"]).timestamp()
    c1 = file_complaint(b, "m-1", received_at=end - 2 * 86400)
    file_complaint(b, "m-2", dealer="BJ002", received_at=end - 2 * 86400)
    close_in_chat(p, b, wang, liu, c1)

    # the bot was down at the slot: that month is not recorded; at start it goes out, late
    b.stop()
    con = sqlite3.connect(os.path.join(b.dir, "dealerbot.db"), timeout=10)
    with con:
        con.execute("UPDATE monthly_reports SET month = ?", (month_before(month),))
    con.close()
    b.start()
    b.wait_log("the monthly report for %s did not go out at its time" % month)
    b.wait_log("monthly report for %s sent to 2 dealer room(s), late" % month)
    late = ZH["late_mark"]
    report = wang.wait_for_message(lambda m: from_bot_in(p.room(ROOM))(m) and m.body.startswith(
        prefix("monthly_report", late=late, month=month, dealer_name="上海浦东汽车",
               dealer_code="SH001", complaints="1")), 20)
    body = report.body
    check("100" in body, "SH001 closed its complaint in time: %s" % body)
    zhao.wait_for_message(lambda m: from_bot_in(p.room(ROOM2))(m) and m.body.startswith(
        prefix("monthly_report", late=late, month=month, dealer_name="北京朝阳汽车",
               dealer_code="BJ002", complaints="1")), 10)
    head = render("honour_head", late=late, month=month)
    roll = zhao.wait_for_message(lambda m: from_bot_in(p.room(ROOM2))(m) and
                                 m.body.startswith(head), 10).body
    lines = roll.split("\n")
    eq(len(lines), 2, "one dealer ranked (BJ002 has nothing closed or overdue): %r" % roll)
    check(lines[1].startswith(prefix("honour_item", rank=1, dealer_name="上海浦东汽车",
                                     dealer_code="SH001")), roll)
    liu.wait_for_message(lambda m: from_bot_in(p.room(STAFF))(m) and m.body == roll, 10)
    rows = months(b)
    eq(rows, [(month_before(month), 0, 0), (month, 1, 1)], "recorded once, late")

    # a restart does not send it again (delivery may repeat the same message, with the same
    # stable id, when the restart came before the server confirmed it: no new report)
    b.restart()
    n = b.log_text().count("session ready")
    b.wait_log("session ready", count=n + 1)
    eq(months(b), rows, "nothing more recorded")
    eq(b.log_text().count("monthly report for %s sent" % month), 1, "sent once in the log")
    wang.no_message(lambda m: from_bot_in(p.room(ROOM))(m) and "📊" in m.body and
                    m.id != report.id, within=1.0)

    # on demand: staff (chat and API), not dealers
    liu.send_chat(BOT, "/红榜")
    liu.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "honour_sent", month=month), 10)
    wang.wait_for_message(lambda m: from_bot_in(p.room(ROOM))(m) and m.body.startswith(
        render("honour_head", late="", month=month)), 10)
    wang.send_chat(BOT, "/honour")
    wang.wait_for_message(lambda m: from_bot_direct(m) and m.body == render(
        "err_not_allowed", command="/honour"), 5)
    r = b.post("/api/v1/reports/honour", {})
    eq((r.status, r.json), (200, {"month": month}), "POST /api/v1/reports/honour")
    zhao.wait_for_message(lambda m: from_bot_in(p.room(ROOM2))(m) and m.body.startswith(
        render("honour_head", late="", month=month)), 10)
    eq(months(b), rows, "on demand records nothing")


def test_monthly_off(t):
    p, b = setup(t, sla=CONF.replace('reports = {', 'reports = { monthly = false;'))
    b.restart()
    b.wait_log("session ready", count=2)
    eq(months(b), [], "nothing recorded")
    check("monthly report" not in b.log_text(), "nothing sent")


if __name__ == "__main__":
    dbot.main(globals())
