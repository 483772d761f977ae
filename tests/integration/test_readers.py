"""test_readers.py — reports never stop the bot (issue 18): the network scorecards are read on
a reader thread while the event loop goes on serving. The real daemon on a real SQLite file
with a large generated network (the benchmark's generator, bench/bench_scorecards.py), real
HTTP over loopback and, for the chat command, a private Prosody with a real XMPP client.

  - intake and a chat command sent while reports are being read are answered before the
    reports: an ordering check, not a timing one (the reports are seen running through
    /metrics, itself served meanwhile, before the intake and the command are sent); the chat
    /scorecard is itself read on a reader and answered when it is back;
  - beyond the readers' queue a report (or a list of complaints) is refused at once with 503
    and Retry-After, and the queue drains (the 200s come, and a later report is served);
  - a client that leaves while its report is parked costs nothing but the read: the bot stays
    healthy and stops cleanly (the orphaned job is dropped on the loop thread).
Also run under ThreadSanitizer by the `tsan` test preset (scripts/test.sh).
"""

import http.client
import json
import os
import random
import shutil
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import dbot  # noqa: E402
import xmpp  # noqa: E402
from dbot import check, complaint, eq  # noqa: E402
import bench_scorecards as gen  # noqa: E402

DEALERS = 300
COMPLAINTS = int(os.environ.get("DBOT_READERS_COMPLAINTS", "200000"))
ACCOUNTS = {"dealerbot": "bot-secret-pw", "wang": "wang-pw"}
PEOPLE = ("jid,dealer,role,name,language\n"
          "wang@localhost,%s,manager,王经理,en\n" % gen.dealer_code(1))


_generated = {}   # the first generated database, copied for the next tests


def network_bot(t, readers, chat='platform = "none";', people_csv=None, dealers=DEALERS):
    """A bot (not started) whose database holds the generated network. Nobody qualifies for
    the underperformers group (its evaluation at start would announce hundreds of entries)."""
    rnd = random.Random(7)
    b = t.bot(start=False, dealers_csv=gen.dealers_csv(dealers, rnd), chat=chat,
              people_csv=people_csv,
              extra="readers = { %s }; underperformers = { min_complaints = 1000000; };"
              % readers)
    db = os.path.join(b.dir, "dealerbot.db")
    b.settled = lambda: settle(b)
    if people_csv is None and "path" in _generated:
        shutil.copyfile(_generated["path"], db)
        return b
    gen.generate(b, COMPLAINTS, dealers, 90, 7)
    if people_csv is None:
        _generated["path"] = os.path.join(_generated.setdefault("dir", dbot.tempfile.mkdtemp(
            prefix="dbot-readers-")), "network.db")
        shutil.copyfile(db, _generated["path"])
    return b


def settle(b):
    """Waits for the underperformers evaluation the bot runs at start (its scorecards are read
    on a reader too); returns the reader jobs run so far."""
    b.wait_log("underperformers evaluated", timeout=120)
    wait_metric(b, "dealerbot_reader_running", lambda v: v == 0)
    return b.metrics()["dealerbot_reader_jobs_total"]


class Report(threading.Thread):
    """GET /api/v1/scorecards on its own connection; keeps status, headers, body and the
    monotonic time the answer was complete."""

    def __init__(self, bot, query=""):
        super().__init__(daemon=True)
        self.bot, self.query = bot, query
        self.status = self.done_at = self.body = None
        self.headers = {}
        self.error = None

    def run(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.bot.port, timeout=120)
            c.request("GET", "/api/v1/scorecards" + self.query, headers=self.bot.auth_headers())
            r = c.getresponse()
            self.body = r.read()
            self.done_at = time.monotonic()
            self.status = r.status
            self.headers = {k.lower(): v for k, v in r.getheaders()}
            c.close()
        except Exception as e:  # reported by the test
            self.error = e


def wait_metric(bot, name, pred, timeout=30.0):
    """Polls /metrics until pred(value of `name`) holds; returns the value."""
    deadline = time.monotonic() + timeout
    while True:
        v = bot.metrics().get(name, 0.0)
        if pred(v):
            return v
        check(time.monotonic() < deadline, "%s stayed at %r" % (name, v))
        time.sleep(0.01)


def test_intake_and_command_answered_before_the_report(t):
    p = xmpp.prosody(t)
    p.register_many(ACCOUNTS)
    chat = ('platform = "xmpp"; xmpp = { url = "%s"; jid = "dealerbot@localhost";'
            ' password = "%s"; muc_service = "%s"; }; rate_global = 5000; rate_room = 5000;'
            % (p.ws_url, ACCOUNTS["dealerbot"], p.muc))
    # few dealers (few rooms to set up), as many complaints
    b = network_bot(t, "threads = 1; queue = 8;", chat=chat, people_csv=PEOPLE, dealers=20)
    b.start()
    b.wait_log("session ready")
    base = b.settled()
    wang = p.client("wang", ACCOUNTS["wang"])

    def from_bot(m):
        return m.type == "chat" and xmpp.bare(m.from_) == "dealerbot@localhost"

    # the chat side has settled (rooms set up, the outbox flowing) before the test proper
    wang.send_chat("dealerbot@localhost", "/help")
    wang.wait_for_message(from_bot, 60)

    reports = [Report(b) for _ in range(3)]
    for r in reports:
        r.start()
    # a report is being read: /metrics answers meanwhile and says so
    wait_metric(b, "dealerbot_reader_running", lambda v: v >= 1)
    t_running = time.monotonic()

    r = b.post("/api/v1/complaints", complaint("RD-1", dealer=gen.dealer_code(1)))
    eq(r.status, 201, "intake while reports are read")
    t_intake = time.monotonic()
    wang.send_chat("dealerbot@localhost", "/help")
    m = wang.wait_for_message(from_bot, 60)
    t_command = time.monotonic()
    check("ack" in m.body, "the help text: %r" % m.body[:200])

    for rep in reports:
        rep.join(180)
        check(rep.error is None, "report: %r" % rep.error)
        eq(rep.status, 200, "report status")
    last = max(rep.done_at for rep in reports)
    times = "intake %.3f s, command %.3f s, reports %s after the first report was seen running" % (
        t_intake - t_running, t_command - t_running,
        ", ".join("%.3f s" % (r.done_at - t_running) for r in reports))
    print(times)
    check(t_intake < last, "the intake was answered after the reports: " + times)
    check(t_command < last, "the chat command was answered after the reports: " + times)
    doc = json.loads(reports[0].body)
    eq(len(doc["dealers"]), 20, "dealers in the report")
    eq(sum(d["complaints"] for d in doc["dealers"]) >= COMPLAINTS * 0.98, True,
       "complaints in the report")
    eq(wait_metric(b, "dealerbot_reader_jobs_total", lambda v: v >= base + 3), base + 3,
       "jobs run")

    # the chat's own report, /scorecard, is read on a reader too and answered when it is back
    wang.send_chat("dealerbot@localhost", "/scorecard")
    m = wang.wait_for_message(from_bot, 120)
    check(gen.dealer_code(1) in m.body and "\n" in m.body, "the scorecard: %r" % m.body[:300])
    eq(wait_metric(b, "dealerbot_reader_jobs_total", lambda v: v >= base + 4), base + 4,
       "jobs run")


def test_beyond_the_queue_503(t):
    b = network_bot(t, "threads = 1; queue = 1;")
    b.start()
    b.settled()
    first = Report(b)
    first.start()
    wait_metric(b, "dealerbot_reader_running", lambda v: v >= 1)
    # the only reader is taken: one more waits, the rest are refused at once
    more = [Report(b) for _ in range(3)]
    for r in more:
        r.start()
    # one waits, two were refused: a list of complaints is a read too, and is refused as well
    wait_metric(b, "dealerbot_reader_refused_total", lambda v: v >= 2)
    lst = b.get("/api/v1/complaints?limit=5")
    eq(lst.status, 503, "a list while the readers' queue is full")
    eq(lst.header("Retry-After"), "1", "Retry-After of the list")
    for r in [first] + more:
        r.join(180)
        check(r.error is None, "report: %r" % r.error)
    statuses = sorted(r.status for r in [first] + more)
    eq(statuses, [200, 200, 503, 503], "answers")
    for r in more:
        if r.status == 503:
            eq(r.headers.get("retry-after"), "1", "Retry-After")
            check("busy" in json.loads(r.body)["error"], r.body)
    eq(b.metrics()["dealerbot_reader_refused_total"], 3, "refusals counted")
    lst = b.get("/api/v1/complaints?limit=5&dealer=" + gen.dealer_code(3))
    eq(lst.status, 200, "the list once the queue drained")
    eq(lst.json["count"], 5, "listed")
    eq({x["dealer"] for x in lst.json["complaints"]}, {gen.dealer_code(3)}, "the dealer's")
    # drained: served again
    again = Report(b, "?dealer=" + gen.dealer_code(3))
    again.start()
    again.join(180)
    eq(again.status, 200, "a report after the queue drained")
    eq([d["code"] for d in json.loads(again.body)["dealers"]], [gen.dealer_code(3)], "one dealer")
    missing = Report(b, "?dealer=NOPE")
    missing.start()
    missing.join(180)
    eq(missing.status, 404, "unknown dealer, found out on the reader")


def test_clients_leave_and_stop_while_parked(t):
    """Clients that leave while their reports are parked, then a stop while more are parked:
    the bot stays healthy, answers what it can, and exits cleanly (no sanitizer report: the
    parked requests' jobs are cancelled or dropped on the loop thread, never touching a
    closed connection). lws 4.1 notices a client's close only when the answer is written, so
    a read whose client left still runs; its answer is dropped."""
    b = network_bot(t, "threads = 1; queue = 8;")
    b.start()
    base = b.settled()

    def raw_get():
        s = socket.create_connection(("127.0.0.1", b.port), timeout=10)
        s.sendall(("GET /api/v1/scorecards HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s"
                   "\r\n\r\n" % b.token).encode())
        return s

    socks = [raw_get() for _ in range(2)]
    wait_metric(b, "dealerbot_reader_running", lambda v: v >= 1)
    for s in socks:
        s.close()
    r = b.post("/api/v1/complaints", complaint("RD-2", dealer=gen.dealer_code(2)))
    eq(r.status, 201, "intake after the clients left")
    wait_metric(b, "dealerbot_reader_jobs_total", lambda v: v >= base + 2)
    rep = Report(b, "?window=30d")
    rep.start()
    rep.join(180)
    eq(rep.status, 200, "a report afterwards")

    # stop with three reads parked (one running, two waiting) and their clients still there
    socks = [raw_get() for _ in range(3)]
    wait_metric(b, "dealerbot_reader_running", lambda v: v >= 1)
    b.stop()   # exit status 0 and a clean log, checked by stop()
    for s in socks:
        s.close()


if __name__ == "__main__":
    dbot.FILE_TIMEOUT = 280   # three large networks on a shared machine; CTest allows 300
    try:
        dbot.main(globals())
    finally:
        if "dir" in _generated:
            shutil.rmtree(_generated["dir"], ignore_errors=True)
