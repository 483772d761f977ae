"""Integration tests of the intake API (issue 2): the real `dealerbot run` on a free loopback
port, driven over real HTTP. Run by CTest with DEALERBOT_BIN set; or by hand:
    DEALERBOT_BIN=build/src/dealerbot /usr/bin/python3 tests/integration/test_intake_api.py [test_name...]
"""

import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
from dbot import check, complaint, eq  # noqa: E402

RFC3339_LOCAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")


def error_of(r):
    check(isinstance(r.json, dict) and isinstance(r.json.get("error"), str),
          "not a JSON error body: %r" % (r,))
    check("\n" not in r.json["error"], "error is not one line: %r" % r.json["error"])
    return r.json["error"]


def test_healthz(t):
    b = t.bot()
    r = b.get("/healthz", token=None)
    eq(r.status, 200, "GET /healthz")
    eq(r.json, {"status": "ok"}, "healthz body")
    check(r.header("content-type").startswith("application/json"), "content type")
    r = b.post("/healthz", {}, token=None)
    eq(r.status, 405, "POST /healthz")
    eq(r.header("allow"), "GET", "Allow header")


def parse_metrics(text):
    """Prometheus text format -> {name{labels}: value}; checks every sample has HELP and TYPE."""
    out, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
        elif line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            base = key.split("{")[0]
            check(base in typed or base.rsplit("_", 1)[0] in typed, "no TYPE for " + key)
            out[key] = float(value)
    return out


def test_metrics(t):
    b = t.bot()
    eq(b.post("/api/v1/complaints", complaint("M-1")).status, 201, "POST")
    eq(b.post("/api/v1/complaints", complaint("M-1")).status, 200, "POST again")
    eq(b.get("/api/v1/complaints/C-999").status, 404, "GET unknown")
    r = b.get("/metrics", token=None)
    eq(r.status, 200, "GET /metrics needs no token")
    check(r.header("content-type").startswith("text/plain; version=0.0.4"),
          r.header("content-type"))
    m = parse_metrics(r.body.decode("utf-8"))
    eq(m["dealerbot_intake_complaints_total"], 2, "complaints through the API")
    # the two POSTs and the harness's readiness probe(s) on /healthz; not this answer yet
    check(m['dealerbot_http_responses_total{code="2xx"}'] >= 3, "2xx answers")
    eq(m['dealerbot_http_responses_total{code="4xx"}'], 1, "4xx answers")
    eq(m["dealerbot_intake_commit_seconds_count"], m["dealerbot_intake_commits_total"],
       "one commit duration per commit")
    check(0 < m['dealerbot_intake_commit_seconds{quantile="0.5"}'] < 1, "commit p50")
    check(m["process_resident_memory_bytes"] > 1e6, "RSS")
    eq(b.post("/metrics", {}, token=None).status, 405, "POST /metrics")


def test_create_and_idempotent(t):
    b = t.bot()
    body = complaint("CRM-1001", received_at="2026-01-05T09:00:00+08:00")
    r = b.post("/api/v1/complaints", body)
    eq(r.status, 201, "first POST")
    c = r.json
    check(re.match(r"^C-\d+$", c["id"]), "id shape %r" % c["id"])
    eq(c["state"], "new", "state")
    eq(c["external_id"], "CRM-1001", "external_id")
    eq(c["dealer"], "D001", "dealer")
    eq(c["category"], "paint", "category")
    eq(c["priority"], "normal", "priority")
    eq(c["customer"], {"name": "张三", "phone": "+86 138 0000 0000"}, "customer")
    eq(c["summary"], body["summary"], "summary")
    eq(c["received_at"], "2026-01-05T09:00:00+08:00", "received_at")
    # default SLA: acknowledge 12 h, solution 5 d, close 15 d after receipt
    eq(c["deadlines"], {"ack": "2026-01-05T21:00:00+08:00",
                        "solution": "2026-01-10T09:00:00+08:00",
                        "close": "2026-01-20T09:00:00+08:00"}, "deadlines")
    check(RFC3339_LOCAL.match(c["created_at"]), "created_at %r" % c["created_at"])
    eq(r.header("location"), "/api/v1/complaints/" + c["id"], "Location")

    # the same external_id again: 200 with the same ticket, even with other content
    r2 = b.post("/api/v1/complaints", complaint("CRM-1001", dealer="D002", summary="other"))
    eq(r2.status, 200, "repeated POST")
    eq(r2.json["id"], c["id"], "same ticket")
    eq(r2.json["dealer"], "D001", "the original content")

    # a different external_id is a new ticket; charset parameter is fine
    r3 = b.post("/api/v1/complaints", complaint("CRM-1002", priority="vip"),
                content_type="application/json; charset=UTF-8")
    eq(r3.status, 201, "second complaint")
    check(r3.json["id"] != c["id"], "a new id")
    eq(r3.json["priority"], "vip", "priority")


def test_get_with_timeline(t):
    b = t.bot()
    r = b.post("/api/v1/complaints", complaint("CRM-2001"))
    eq(r.status, 201, "POST")
    cid = r.json["id"]
    g = b.get("/api/v1/complaints/" + cid)
    eq(g.status, 200, "GET by id")
    for key in ("id", "state", "dealer", "deadlines", "customer", "summary", "received_at"):
        eq(g.json[key], r.json[key], key)
    tl = g.json["timeline"]
    check(isinstance(tl, list) and len(tl) >= 1, "timeline has the intake event: %r" % tl)
    eq(tl[0]["kind"], "intake", "first event kind")
    check(RFC3339_LOCAL.match(tl[0]["at"]), "event time %r" % tl[0]["at"])
    check(tl[0]["actor"], "event actor")
    # lower-case id works too
    eq(b.get("/api/v1/complaints/" + cid.lower()).status, 200, "GET c-N")


def test_errors_400(t):
    b = t.bot()
    bad = '{\n  "external_id": "CRM-3001",\n  "dealer": ,\n  "category": "paint"\n}'
    r = b.post("/api/v1/complaints", bad)
    eq(r.status, 400, "malformed JSON")
    msg = error_of(r)
    check(re.search(r"line 3, column \d+", msg), "names line and column: %r" % msg)

    r = b.post("/api/v1/complaints", b'{"external_id": "CRM-3002", "dealer": "D\xff01"}')
    eq(r.status, 400, "invalid UTF-8")
    check("UTF-8" in error_of(r), "says UTF-8: %r" % r.json)

    r = b.post("/api/v1/complaints", b"")
    eq(r.status, 400, "empty body")
    error_of(r)

    r = b.get("/api/v1/complaints?state=bogus")
    eq(r.status, 400, "bad state filter")
    r = b.get("/api/v1/complaints?colour=red")
    eq(r.status, 400, "unknown query parameter")


def test_errors_401(t):
    b = t.bot()
    for path in ("/api/v1/complaints", "/api/v1/dealers", "/api/v1/nothing"):
        r = b.get(path, token=None)
        eq(r.status, 401, "no token on " + path)
        error_of(r)
        eq(r.header("www-authenticate"), "Bearer", "WWW-Authenticate")
    r = b.post("/api/v1/complaints", complaint("CRM-4001"), token="wrong-token")
    eq(r.status, 401, "bad token")
    r = b.post("/api/v1/complaints", complaint("CRM-4001"), token=b.token + "x")
    eq(r.status, 401, "token with a suffix")
    r = b.post("/api/v1/complaints", complaint("CRM-4001"), token=b.token[:-1])
    eq(r.status, 401, "token prefix")
    r = b.get("/api/v1/dealers", token=None, headers={"Authorization": "Basic " + b.token})
    eq(r.status, 401, "Basic scheme")
    # nothing was created by the refused POSTs
    r = b.get("/api/v1/complaints")
    eq(r.status, 200, "list with the token")
    eq(r.json["count"], 0, "no complaints")
    # the scheme is case-insensitive
    r = b.get("/api/v1/dealers", token=None, headers={"Authorization": "bearer " + b.token})
    eq(r.status, 200, "lower-case scheme")


def test_errors_404_405(t):
    b = t.bot()
    for path in ("/api/v1/nothing", "/nothing", "/api/v1/complaints/C-999999",
                 "/api/v1/complaints/garbage", "/api/v1/dealers/NOPE", "/api/v1/complaints/"):
        r = b.get(path)
        eq(r.status, 404, "GET " + path)
        error_of(r)
    r = b.request("DELETE", "/api/v1/complaints")
    eq(r.status, 405, "DELETE complaints")
    eq(r.header("allow"), "GET, POST", "Allow")
    r = b.put("/api/v1/complaints/C-1", {})
    eq(r.status, 405, "PUT one complaint")
    eq(r.header("allow"), "GET", "Allow")
    r = b.post("/api/v1/dealers", {})
    eq(r.status, 405, "POST dealers")
    eq(r.header("allow"), "GET", "Allow")
    r = b.post("/api/v1/dealers/D001", {})
    eq(r.status, 405, "POST one dealer")
    eq(r.header("allow"), "GET, PUT", "Allow")


def test_errors_413_415(t):
    b = t.bot()
    # over 64 KiB: 413, the connection is closed afterwards
    big = complaint("CRM-5001", details="x" * (64 * 1024))
    r = b.post("/api/v1/complaints", big)
    eq(r.status, 413, "body over 64 KiB")
    error_of(r)
    eq((r.header("connection") or "").lower(), "close", "Connection: close after 413")
    # a much larger body is refused from Content-Length alone: the answer comes before any
    # body byte is sent
    s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    try:
        s.sendall(("POST /api/v1/complaints HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (b.token, 1 << 30)).encode())
        head = s.recv(4096).decode("latin-1")
    finally:
        s.close()
    check(head.startswith("HTTP/1.1 413"), "413 from Content-Length alone: %r" % head[:80])
    # exactly at the limit is read (and then judged on content: details too long -> 422)
    body = complaint("CRM-5002", details="")
    raw = dbot.json.dumps(body).encode()
    pad = 64 * 1024 - len(raw)
    body["details"] = "y" * pad
    raw = dbot.json.dumps(body).encode()
    eq(len(raw), 64 * 1024, "test body size")
    r = b.post("/api/v1/complaints", raw)
    eq(r.status, 422, "64 KiB body is read")
    check("details" in error_of(r), "names details: %r" % r.json)

    r = b.post("/api/v1/complaints", complaint("CRM-5003"), content_type="text/plain")
    eq(r.status, 415, "text/plain")
    error_of(r)
    r = b.post("/api/v1/complaints", complaint("CRM-5003"), content_type=None)
    eq(r.status, 415, "no Content-Type")
    r = b.post("/api/v1/complaints", complaint("CRM-5003"),
               content_type="application/json; charset=latin-1")
    eq(r.status, 415, "another charset")
    r = b.put("/api/v1/dealers/D001", {"name": "x"}, content_type="application/x-www-form-urlencoded")
    eq(r.status, 415, "PUT with a form type")
    # none of them created anything
    eq(b.get("/api/v1/complaints").json["count"], 0, "nothing created")


def test_errors_422(t):
    b = t.bot()
    r = b.post("/api/v1/complaints", complaint("CRM-6001", customer={"name": "李四"}))
    eq(r.status, 422, "missing customer.phone")
    check("customer.phone" in error_of(r), "names the field: %r" % r.json)
    r = b.post("/api/v1/complaints", complaint("CRM-6002", summary=None))
    eq(r.status, 422, "missing summary")
    check("summary" in error_of(r), "names summary: %r" % r.json)
    r = b.post("/api/v1/complaints", complaint("CRM-6003", dealer="NOPE"))
    eq(r.status, 422, "unknown dealer")
    eq(error_of(r), "unknown dealer: NOPE", "unknown dealer message")
    r = b.post("/api/v1/complaints", complaint("CRM-6004", priority="asap"))
    eq(r.status, 422, "bad priority")
    check("priority" in error_of(r), "names priority: %r" % r.json)
    body = complaint("CRM-6005")
    del body["external_id"]
    r = b.post("/api/v1/complaints", body)
    eq(r.status, 422, "missing external_id")
    check("external_id" in error_of(r), "names external_id: %r" % r.json)
    r = b.post("/api/v1/complaints", [1, 2])
    check(r.status in (400, 422), "an array body: %r" % r)
    # a failed one did not use up its external_id
    r = b.post("/api/v1/complaints", complaint("CRM-6003"))
    eq(r.status, 201, "same external_id with a known dealer")


def test_keepalive_after_errors(t):
    """Errors decided from the headers wait for the body, so the connection stays usable."""
    b = t.bot()
    conn = b.connect()
    try:
        r = b.post("/api/v1/complaints", complaint("CRM-7001"), token="bad", conn=conn)
        eq(r.status, 401, "401 on a kept-alive connection")
        r = b.post("/api/v1/nothing", complaint("CRM-7001"), conn=conn)
        eq(r.status, 404, "404 with a body")
        r = b.post("/api/v1/complaints", complaint("CRM-7001"), content_type="text/plain",
                   conn=conn)
        eq(r.status, 415, "415 with a body")
        r = b.post("/api/v1/complaints", complaint("CRM-7001"), conn=conn)
        eq(r.status, 201, "then a good POST on the same connection")
        r = b.get("/api/v1/complaints/" + r.json["id"], conn=conn)
        eq(r.status, 200, "and a GET")
    finally:
        conn.close()


def test_concurrent_identical_posts(t):
    b = t.bot()
    n = 20
    body = complaint("CRM-8001")
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        try:
            barrier.wait(10)
            r = b.post("/api/v1/complaints", body)
            results[i] = (r.status, r.json.get("id") if r.json else None)
        except Exception as e:  # reported below
            results[i] = ("exception", repr(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    statuses = sorted(str(s) for s, _ in results)
    eq(statuses.count("201"), 1, "exactly one 201 in %r" % statuses)
    eq(statuses.count("200"), n - 1, "nineteen 200 in %r" % statuses)
    ids = {i for _, i in results}
    eq(len(ids), 1, "one ticket id")
    eq(b.get("/api/v1/complaints").json["count"], 1, "one complaint stored")


def test_concurrent_distinct_posts(t):
    """Many clients at once: every one gets its own 201 (group commit batches them)."""
    b = t.bot()
    n_threads, per_thread = 16, 15
    statuses = []
    lock = threading.Lock()

    def worker(k):
        conn = b.connect()
        try:
            for i in range(per_thread):
                r = b.post("/api/v1/complaints", complaint("CRM-9-%d-%d" % (k, i),
                                                           dealer="D00%d" % (1 + i % 3)),
                           conn=conn)
                with lock:
                    statuses.append(r.status)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    eq(statuses.count(201), n_threads * per_thread, "all 201")
    eq(b.get("/api/v1/complaints").json["count"], n_threads * per_thread, "all stored")


def test_list_filters(t):
    b = t.bot()
    ids = {}
    specs = [("L-1", "D001", None), ("L-2", "D002", None), ("L-3", "D002", "2020-01-01T08:00:00Z"),
             ("L-4", "D003", "2020-06-01T08:00:00+08:00")]
    for ext, dealer, received in specs:
        body = complaint(ext, dealer=dealer)
        if received:
            body["received_at"] = received
        r = b.post("/api/v1/complaints", body)
        eq(r.status, 201, "POST " + ext)
        ids[ext] = r.json["id"]

    r = b.get("/api/v1/complaints")
    eq(r.status, 200, "list")
    eq(r.json["count"], 4, "count")
    eq(len(r.json["complaints"]), 4, "items")

    r = b.get("/api/v1/complaints?dealer=D002")
    eq(sorted(c["external_id"] for c in r.json["complaints"]), ["L-2", "L-3"], "dealer=D002")
    r = b.get("/api/v1/complaints?dealer=D002&state=new")
    eq(r.json["count"], 2, "dealer=D002&state=new")
    r = b.get("/api/v1/complaints?state=closed")
    eq(r.json["count"], 0, "state=closed")
    r = b.get("/api/v1/complaints?overdue=true")
    eq(sorted(c["external_id"] for c in r.json["complaints"]), ["L-3", "L-4"], "overdue")
    r = b.get("/api/v1/complaints?overdue=false")
    eq(r.json["count"], 4, "overdue=false")
    r = b.get("/api/v1/complaints?dealer=D001&overdue=1")
    eq(r.json["count"], 0, "D001 overdue")
    r = b.get("/api/v1/complaints?limit=2")
    eq(r.json["count"], 2, "limit=2")
    r = b.get("/api/v1/complaints?dealer=NOPE")
    eq(r.json["count"], 0, "unknown dealer filter")


def test_dealers(t):
    b = t.bot()
    r = b.get("/api/v1/dealers")
    eq(r.status, 200, "GET dealers")
    eq([d["code"] for d in r.json["dealers"]], ["D001", "D002", "D003"], "codes")
    d1 = r.json["dealers"][0]
    eq(d1, {"code": "D001", "name": "Shanghai Pudong Motors", "region": "East",
            "sales_volume": 1200, "timezone": "Asia/Shanghai", "calendar": None}, "D001")
    d3 = b.get("/api/v1/dealers/D003")
    eq(d3.status, 200, "GET D003")
    eq(d3.json["name"], "Guangzhou Tianhe Cars, Ltd", "quoted CSV name")
    eq(d3.json["sales_volume"], None, "unknown volume")
    eq(d3.json["timezone"], None, "default zone")
    eq(b.get("/api/v1/dealers/d001").json["code"], "D001", "code matched case-insensitively")

    new = {"name": "成都武侯汽车", "region": "West", "sales_volume": 300, "timezone": "Asia/Chongqing"}
    r = b.put("/api/v1/dealers/D900", new)
    eq(r.status, 201, "PUT new dealer")
    eq(r.json, dict(new, code="D900", calendar=None), "created dealer")
    r = b.put("/api/v1/dealers/D900", dict(new, sales_volume=350, region="South-West"))
    eq(r.status, 200, "PUT existing dealer")
    eq(r.json["sales_volume"], 350, "updated volume")
    g = b.get("/api/v1/dealers/D900")
    eq(g.json["region"], "South-West", "GET after update")
    r = b.put("/api/v1/dealers/D901", {"name": "Minimal"})
    eq(r.status, 201, "PUT with only a name")
    eq(r.json, {"code": "D901", "name": "Minimal", "region": "", "sales_volume": None,
                "timezone": None, "calendar": None}, "defaults")

    r = b.put("/api/v1/dealers/D902", {"name": "X", "timezone": "Mars/Olympus_Mons"})
    eq(r.status, 422, "unknown zone")
    check("timezone" in error_of(r), "names timezone")
    r = b.put("/api/v1/dealers/D902", {"region": "East"})
    eq(r.status, 422, "missing name")
    check("name" in error_of(r), "names name")
    r = b.put("/api/v1/dealers/D902", {"name": "X", "sales_volume": -5})
    eq(r.status, 422, "negative volume")
    r = b.put("/api/v1/dealers/D902", {"name": "X", "sales_volume": "many"})
    eq(r.status, 422, "string volume")
    r = b.put("/api/v1/dealers/bad%20code", {"name": "X"})
    eq(r.status, 422, "bad code")
    r = b.put("/api/v1/dealers/D902", '{"name": "X",}')
    eq(r.status, 400, "malformed JSON")
    check(re.search(r"line 1, column \d+", error_of(r)), "line and column")
    eq(b.get("/api/v1/dealers/D902").status, 404, "nothing stored for D902")

    # a complaint can now name the new dealer
    eq(b.post("/api/v1/complaints", complaint("CRM-D900", dealer="D900")).status, 201,
       "complaint for the new dealer")


CALENDARS = ('calendars = { cn = { holidays = [ "2026-10-01" ]; };\n'
             '              shop-7 = { days = [ 1, 2, 3, 4, 5, 6, 7 ]; }; };')


def test_dealer_calendar(t):
    """A dealer's business calendar: from the CSV, in the JSON, set and cleared by PUT, and only
    one the configuration defines."""
    b = t.bot(extra=CALENDARS, dealers_csv=(
        "code,name,region,sales_volume,timezone,calendar\n"
        "D001,Shanghai Pudong Motors,East,1200,Asia/Shanghai,cn\n"
        "D002,Beijing Chaoyang Auto,North,800,,\n"))
    r = b.get("/api/v1/dealers")
    eq([(d["code"], d["calendar"]) for d in r.json["dealers"]], [("D001", "cn"), ("D002", None)],
       "calendars from the CSV")

    r = b.put("/api/v1/dealers/D002", {"name": "Beijing Chaoyang Auto", "calendar": "shop-7"})
    eq(r.status, 200, "PUT with a calendar")
    eq(r.json["calendar"], "shop-7", "calendar set")
    eq(b.get("/api/v1/dealers/D002").json["calendar"], "shop-7", "GET after PUT")
    r = b.put("/api/v1/dealers/D910", {"name": "New", "calendar": "cn"})
    eq(r.status, 201, "PUT new dealer with a calendar")
    eq(r.json["calendar"], "cn", "new dealer's calendar")

    # null, "" and leaving it out all mean none (a PUT is a whole record)
    r = b.put("/api/v1/dealers/D002", {"name": "Beijing Chaoyang Auto", "calendar": None})
    eq((r.status, r.json["calendar"]), (200, None), "calendar null")
    b.put("/api/v1/dealers/D910", {"name": "New", "calendar": "cn"})
    r = b.put("/api/v1/dealers/D910", {"name": "New", "calendar": ""})
    eq(r.json["calendar"], None, "calendar empty")
    b.put("/api/v1/dealers/D910", {"name": "New", "calendar": "cn"})
    r = b.put("/api/v1/dealers/D910", {"name": "New"})
    eq(r.json["calendar"], None, "calendar left out")

    # 422 naming the field; nothing changes
    r = b.put("/api/v1/dealers/D001", {"name": "X", "calendar": "us"})
    eq(r.status, 422, "unknown calendar")
    eq(error_of(r), "field calendar: unknown calendar: us", "unknown calendar message")
    r = b.put("/api/v1/dealers/D001", {"name": "X", "calendar": "CN"})
    eq(r.status, 422, "badly shaped calendar")
    check(error_of(r).startswith("field calendar: "), error_of(r))
    r = b.put("/api/v1/dealers/D001", {"name": "X", "calendar": 7})
    eq(r.status, 422, "calendar not a string")
    eq(error_of(r), "field calendar: must be a string or null", "non-string message")
    d1 = b.get("/api/v1/dealers/D001").json
    eq((d1["name"], d1["calendar"]), ("Shanghai Pudong Motors", "cn"), "D001 unchanged")
    eq(b.get("/api/v1/dealers/D911").status, 404, "nothing created by a refused PUT")
    b.put("/api/v1/dealers/D911", {"name": "Y", "calendar": "nope"})
    eq(b.get("/api/v1/dealers/D911").status, 404, "nothing created by an unknown calendar")

    # a configuration without calendars knows none
    b2 = t.bot(name="nocal")
    r = b2.put("/api/v1/dealers/D001", {"name": "X", "calendar": "cn"})
    eq(r.status, 422, "no calendars configured")
    eq(error_of(r), "field calendar: unknown calendar: cn", "message without calendars")


def test_pipelined_after_post(t):
    """A request pipelined behind a POST: the POST is answered (then the connection closes,
    the client sends the rest again); the daemon neither hangs nor spins."""
    b = t.bot()
    body = dbot.json.dumps(complaint("CRM-PIPE")).encode()
    post = (("POST /api/v1/complaints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n")
            % (b.token, len(body))).encode() + body
    get = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    try:
        s.sendall(post + get + post)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    check(data.startswith(b"HTTP/1.1 201"), "the POST is answered: %r" % data[:60])
    t0 = time.monotonic()
    for _ in range(20):
        eq(b.get("/healthz", token=None).status, 200, "still serving")
    check(time.monotonic() - t0 < 5, "answers promptly after the pipelined requests")
    r = b.post("/api/v1/complaints", complaint("CRM-PIPE"))
    eq(r.status, 200, "the pipelined POST's complaint exists once")
    eq(b.get("/api/v1/complaints").json["count"], 1, "one complaint")


def test_listens_on_loopback_only(t):
    """http.listen = 127.0.0.1:PORT binds that address, not the wildcard."""
    b = t.bot()
    local = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            addr, port = fields[1].rsplit(":", 1)
            if int(port, 16) == b.port and fields[3] == "0A":  # LISTEN
                local.append(addr)
    eq(local, ["0100007F"], "listening sockets on the port (hex local addresses)")


def test_hostile_clients(t):
    """Two seconds of clients that hang up mid-request, before the answer, pipeline, lie
    about Content-Length or send oversized bodies, against a 20 ms commit window: the daemon
    keeps answering, and stops with status 0 and a log free of sanitizer reports."""
    b = t.bot(http_extra="commit_window_us = 20000;")
    good = dbot.json.dumps(complaint("CRM-H")).encode()

    def raw(method, path, body=None, token=b.token, ctype="application/json", length=None):
        h = "%s %s HTTP/1.1\r\nHost: x\r\n" % (method, path)
        if token:
            h += "Authorization: Bearer %s\r\n" % token
        if body is not None:
            h += "Content-Type: %s\r\nContent-Length: %d\r\n" % (
                ctype, len(body) if length is None else length)
        return h.encode() + b"\r\n" + (body or b"")

    def worker(seed):
        rnd = __import__("random").Random(seed)
        stop = time.monotonic() + 2.0
        while time.monotonic() < stop:
            i = rnd.randrange(200)
            reqs = [raw("POST", "/api/v1/complaints", good.replace(b"CRM-H", b"CRM-H%d" % i)),
                    raw("GET", "/api/v1/complaints/C-%d" % i),
                    raw("GET", "/api/v1/complaints?dealer=D001&limit=3"),
                    raw("POST", "/api/v1/complaints", good, token="nope"),
                    raw("POST", "/api/v1/complaints", b"x" * 70000),
                    raw("POST", "/api/v1/complaints", good, length=len(good) + 50),
                    raw("PUT", "/api/v1/dealers/H%d" % (i % 5), b'{"name": "h"}'),
                    raw("POST", "/api/v1/complaints", b'{"a":', ctype="text/plain"),
                    raw("GET", "/api/v1/dealers")]
            try:
                s = socket.create_connection(("127.0.0.1", b.port), timeout=2)
                for _ in range(rnd.randint(1, 3)):
                    r = rnd.choice(reqs)
                    cut = rnd.random()
                    if cut < 0.2:
                        s.sendall(r[:rnd.randrange(len(r))])
                        break
                    if cut < 0.3:
                        s.sendall(r + rnd.choice(reqs))  # pipelined
                    else:
                        s.sendall(r)
                    if cut < 0.45:
                        break  # gone before the answer
                    if not s.recv(65536):
                        break
                s.close()
            except OSError:
                pass

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(20)
    eq(b.get("/healthz", token=None).status, 200, "still serving")
    r = b.post("/api/v1/complaints", complaint("CRM-AFTER"))
    eq(r.status, 201, "still accepting complaints")
    b.stop()  # exit status 0, no sanitizer report


def test_restart_durability(t):
    b = t.bot()
    r = b.post("/api/v1/complaints", complaint("CRM-R1"))
    eq(r.status, 201, "POST")
    before = b.get("/api/v1/complaints/" + r.json["id"]).json
    b.restart()
    after = b.get("/api/v1/complaints/" + r.json["id"])
    eq(after.status, 200, "GET after restart")
    # the time left on each deadline ("sla" left_s) is counted from now: the rest is the same
    def stored(c):
        c = dict(c)
        c["sla"] = {k: {f: v for f, v in m.items() if f not in ("left_s", "overdue_s")}
                    for k, m in c["sla"].items()}
        return c
    eq(stored(after.json), stored(before), "same complaint after restart")
    check(after.json["sla"]["ack"]["left_s"] <= before["sla"]["ack"]["left_s"], "time left")
    eq(b.post("/api/v1/complaints", complaint("CRM-R1")).status, 200, "still idempotent")


def test_sigkill_after_201(t):
    b = t.bot()
    r = b.post("/api/v1/complaints", complaint("CRM-K1"))
    eq(r.status, 201, "POST")
    b.kill()
    b.start()
    g = b.get("/api/v1/complaints/" + r.json["id"])
    eq(g.status, 200, "GET after SIGKILL and restart")
    eq(g.json["external_id"], "CRM-K1", "the complaint")
    r2 = b.post("/api/v1/complaints", complaint("CRM-K1"))
    eq((r2.status, r2.json["id"]), (200, r.json["id"]), "idempotent after the crash")


def test_client_gone_while_queued(t):
    """A client that hangs up while its complaint waits for the group commit (a 100 ms window
    here, so the hang-up surely comes first) still gets its complaint stored."""
    b = t.bot(http_extra="commit_window_us = 100000;")
    body = dbot.json.dumps(complaint("CRM-GONE")).encode()
    req = (("POST /api/v1/complaints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n")
           % (b.token, len(body))).encode() + body
    for i in range(5):
        s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
        s.sendall(req.replace(b"CRM-GONE", b"CRM-GON%d" % i))
        s.close()
    time.sleep(0.3)
    for i in range(5):
        r = b.post("/api/v1/complaints", complaint("CRM-GON%d" % i))
        eq(r.status, 200, "complaint %d was stored although its client left" % i)
    eq(b.get("/healthz", token=None).status, 200, "still serving")


def test_sigterm_commits_the_queue(t):
    """SIGTERM while a complaint waits for its group commit: it is committed and answered,
    and the daemon exits 0."""
    b = t.bot(http_extra="commit_window_us = 100000;")
    result = {}

    def post():
        try:
            result["r"] = b.post("/api/v1/complaints", complaint("CRM-TERM"))
        except Exception as e:  # reported below
            result["r"] = e

    th = threading.Thread(target=post)
    th.start()
    time.sleep(0.05)  # the POST is queued by now; the window keeps it there 100 ms
    b.stop()
    th.join(10)
    r = result.get("r")
    check(isinstance(r, dbot.Response), "the POST got an answer: %r" % r)
    eq(r.status, 201, "answered after the stop's commit")
    b.start()
    eq(b.get("/api/v1/complaints/" + r.json["id"]).status, 200, "stored")


def test_stop_under_load(t):
    """SIGTERM while clients are posting: every 201 given out survives the restart."""
    b = t.bot()
    created = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker(k):
        i = 0
        while not stop.is_set():
            try:
                r = b.post("/api/v1/complaints", complaint("CRM-S-%d-%d" % (k, i)), timeout=5)
            except OSError:
                return
            if r.status == 201:
                with lock:
                    created.append(r.json["id"])
            i += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for th in threads:
        th.start()
    time.sleep(0.5)
    b.stop()
    stop.set()
    for th in threads:
        th.join(10)
    check(len(created) > 0, "some complaints were created")
    b.start()
    conn = b.connect()
    try:
        missing = [i for i in created
                   if b.get("/api/v1/complaints/" + i, conn=conn).status != 200]
    finally:
        conn.close()
    eq(missing, [], "complaints answered 201 but missing after restart")


if __name__ == "__main__":
    dbot.main(globals())
