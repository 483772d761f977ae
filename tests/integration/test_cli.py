"""test_cli.py — the command line contract (DESIGN.md, Command line) against the real binary
and a real SQLite file: exit codes 0/1/2, one-line errors, check-config masking secrets,
all-or-nothing CSV imports with row numbers, complaint add with idempotency, db migrate and
db backup, and --help on every command."""

import os
import sqlite3

import dbot
from dbot import check, eq


def write(bot, name, text, encoding="utf-8"):
    path = os.path.join(bot.dir, name)
    with open(path, "w", encoding=encoding, newline="") as f:
        f.write(text)
    return path


def one_line(err):
    lines = [l for l in err.splitlines() if l.strip()]
    eq(len(lines), 1, "stderr lines (%r)" % err)
    return lines[0]


def test_help_and_usage(t):
    b = t.bot(start=False)
    for args in (["--help"], ["run", "--help"], ["check-config", "--help"],
                 ["dealers", "--help"], ["people", "--help"], ["complaint", "--help"],
                 ["complaint", "add", "--help"], ["db", "--help"]):
        rc, out, _ = b.cli(*args)
        check("usage: dealerbot" in out, "no usage text for %s" % args)
    b.cli("frobnicate", expect=2)
    b.cli("dealers", "import", expect=2)
    b.cli("db", "shrink", expect=2)
    b.cli(expect=2)
    rc, out, _ = b.cli("--version")
    check(out.startswith("dealerbot "), out)


def test_check_config_masks_secrets(t):
    b = t.bot(start=False)
    rc, out, err = b.cli("check-config")
    check(dbot.TOKEN not in out and dbot.TOKEN not in err, "token printed by check-config")
    check("listen" in out and "sla" in out, "effective configuration not printed")
    # An inline secret is shown masked.
    secret = "inline-secret-0123456789"
    path = write(b, "inline.conf",
                 'database = "%s/x.db";\nhttp = { listen = "127.0.0.1:1"; token = "%s"; };\n'
                 % (b.dir, secret))
    r = dbot.subprocess.run([dbot.BIN, "-c", path, "check-config"], capture_output=True)
    eq(r.returncode, 0, "check-config exit (%r)" % r.stderr)
    out = r.stdout.decode()
    check(secret not in out and "********" in out, "inline token not masked: " + out)


def test_check_config_lists_missing_texts(t):
    # With a chat platform, check-config loads the chat texts and names what a language lacks.
    b = t.bot(start=False)
    texts = os.path.join(b.dir, "messages")
    os.mkdir(texts)
    for name in ("zh-CN.msg", "en.msg"):
        with open(os.path.join(dbot.MESSAGES_DIR, name), encoding="utf-8") as f:
            lines = f.read().splitlines(keepends=True)
        if name == "en.msg":
            lines = [l for l in lines if not l.startswith("help_cancel_ticket =")]
        with open(os.path.join(texts, name), "w", encoding="utf-8") as f:
            f.write("".join(lines))
    path = write(b, "texts.conf",
                 'database = "%s/x.db";\nmessages_dir = "%s";\n'
                 'http = { listen = "127.0.0.1:1"; token = "secret-secret-secret"; };\n'
                 'chat = { platform = "xmpp"; xmpp = { url = "ws://127.0.0.1:1/ws";'
                 ' jid = "bot@localhost"; password = "pw"; muc_service = "conference.localhost";'
                 ' }; };\n' % (b.dir, texts))
    r = dbot.subprocess.run([dbot.BIN, "-c", path, "check-config"], capture_output=True)
    eq(r.returncode, 0, "check-config exit (%r)" % r.stderr)
    out = r.stdout.decode()
    check('# messages: en has no "help_cancel_ticket"' in out, out[:400])
    check(out.count("# messages:") == 1, "only the removed key is missing: " + out[:400])
    # A broken text file stops it with its file and line.
    with open(os.path.join(texts, "en.msg"), "a", encoding="utf-8") as f:
        f.write("status = {nosuchplaceholder}\n")
    r = dbot.subprocess.run([dbot.BIN, "-c", path, "check-config"], capture_output=True)
    eq(r.returncode, 1, "check-config exit for a broken text")
    check("en.msg:" in one_line(r.stderr.decode()), r.stderr)


def test_bad_config_is_one_line(t):
    b = t.bot(start=False)
    with open(b.conf, "a") as f:
        f.write('\nsla = { default = { ack = "12x"; solution = "5d"; close = "15d"; }; };\n')
    rc, out, err = b.cli("check-config", expect=1)
    line = one_line(err)
    check("dealerbot.conf" in line and "12x" in line, line)
    rc, out, err = b.cli("run", expect=1)
    one_line(err)
    # A missing file is also one line, naming the file.
    p = os.path.join(b.dir, "nope.conf")
    r = dbot.subprocess.run([dbot.BIN, "-c", p, "check-config"], capture_output=True)
    eq(r.returncode, 1, "exit for a missing config")
    check("nope.conf" in one_line(r.stderr.decode()), r.stderr)


def dealer_codes(b):
    rc, out, _ = b.cli("dealers", "list")
    return [l.split("\t")[0] for l in out.splitlines() if l]


def test_dealers_import_excel_and_upsert(t):
    b = t.bot(start=False, dealers_csv=None)
    # What Excel writes: a BOM, CRLF, quotes around a comma and around doubled quotes.
    path = write(b, "d.csv",
                 "\ufeffcode,name,region,sales_volume,timezone\r\n"
                 "SH001,\"上海浦东汽车, 有限公司\",华东,2400,Asia/Shanghai\r\n"
                 "BJ002,\"The \"\"Best\"\" Motors\",华北,,\r\n")
    rc, out, _ = b.cli("dealers", "import", path)
    check("imported 2 dealers" in out, out)
    rc, out, _ = b.cli("dealers", "list")
    check("上海浦东汽车, 有限公司" in out and 'The "Best" Motors' in out, out)
    # Import again with a changed name: an update, not a duplicate.
    path = write(b, "d2.csv", "code,name,region,sales_volume\nSH001,Renamed,East,10\n")
    b.cli("dealers", "import", path)
    eq(dealer_codes(b), ["BJ002", "SH001"], "codes after upsert")
    rc, out, _ = b.cli("dealers", "list")
    check("Renamed" in out, out)


def test_dealers_import_calendar(t):
    b = t.bot(start=False, dealers_csv=None,
              extra='calendars = { cn = { holidays = [ "2026-10-01" ]; }; };')
    path = write(b, "d.csv",
                 "code,name,region,sales_volume,timezone,calendar\r\n"
                 "SH001,上海浦东,华东,2400,Asia/Shanghai,cn\r\n"
                 "BJ002,北京朝阳,华北,,,\r\n")
    rc, out, _ = b.cli("dealers", "import", path)
    check("imported 2 dealers" in out, out)
    rc, out, _ = b.cli("dealers", "list")
    eq(out.splitlines(), ["BJ002\t北京朝阳\t华北\t\t\t",
                          "SH001\t上海浦东\t华东\t2400\tAsia/Shanghai\tcn"], "dealers list")
    # An unknown calendar: one line naming the row, nothing imported.
    path = write(b, "bad.csv",
                 "code,name,region,sales_volume,timezone,calendar\n"
                 "SH001,Renamed,,,,\n"
                 "GZ003,广州天河,华南,,,us\n")
    rc, out, err = b.cli("dealers", "import", path, expect=1)
    eq(one_line(err), 'dealerbot: bad.csv: row 3: calendar: unknown calendar "us"', "message")
    eq(dealer_codes(b), ["BJ002", "SH001"], "dealers after a failed import")
    rc, out, _ = b.cli("dealers", "list")
    check("上海浦东" in out and "\tcn\n" in out, out)
    rc, out, _ = b.cli("dealers", "--help")
    check("calendar" in out, out)


def test_import_bad_row_changes_nothing(t):
    b = t.bot(start=False)
    before = dealer_codes(b)
    path = write(b, "bad.csv",
                 "code,name,region,sales_volume\n"
                 "N001,New One,East,5\n"
                 "N002,New Two,East,many\n")
    rc, out, err = b.cli("dealers", "import", path, expect=1)
    line = one_line(err)
    check("row 3" in line and "sales_volume" in line, line)
    eq(dealer_codes(b), before, "dealers after a failed import")

    people = write(b, "p.csv",
                   "jid,dealer,role,name,language\n"
                   "a@example.com,D001,manager,A,zh-CN\n"
                   "b@example.com,D999,agent,B,en\n")
    rc, out, err = b.cli("people", "import", people, expect=1)
    line = one_line(err)
    check("row 3" in line and "D999" in line, line)
    rc, out, _ = b.cli("people", "list")
    eq(out.strip(), "", "people after a failed import")


def test_people_import_and_list(t):
    b = t.bot(start=False)
    people = write(b, "p.csv",
                   "jid,dealer,role,name,language\r\n"
                   "Wang@Example.com,D001,manager,王经理,zh-CN\r\n"
                   "boss@example.com,brand,supervisor,Boss,en\r\n")
    rc, out, _ = b.cli("people", "import", people)
    check("imported 2 people" in out, out)
    rc, out, _ = b.cli("people", "list")
    check("boss@example.com\tbrand\tsupervisor" in out, out)
    check("wang@example.com\tD001\tmanager\t王经理" in out, out)


def test_complaint_add(t):
    b = t.bot(start=False)
    args = ["complaint", "add", "--dealer", "D001", "--category", "after-sales",
            "--summary", "车辆异响", "--customer-name", "张三",
            "--customer-phone", "13800000000", "--priority", "vip", "--external-id", "cli-1",
            "--received-at", "2026-11-23T10:00:00+08:00"]
    rc, out, _ = b.cli(*args)
    check(out.startswith("C-1 created"), out)
    # vip in dealerbot.conf's absence of a vip policy: the default one, 12 h after receipt.
    check("ack by 2026-11-23T22:00:00+08:00" in out, out)
    rc, out, _ = b.cli(*args)
    check(out.startswith("C-1 already exists"), out)
    rc, out, err = b.cli("complaint", "add", "--dealer", "D404", "--category", "c",
                         "--summary", "s", "--customer-name", "n", "--customer-phone", "1",
                         expect=1)
    check("unknown dealer: D404" in one_line(err), err)
    b.cli("complaint", "add", "--dealer", "D001", expect=2)
    rc, out, err = b.cli("complaint", "add", "--dealer", "D001", "--category", "c",
                         "--summary", "s", "--customer-name", "n", "--customer-phone", "1",
                         "--priority", "high", expect=1)
    check("--priority" in one_line(err), err)
    # The options are held to the limits of the JSON intake: length, control characters.
    base = ["complaint", "add", "--dealer", "D001", "--category", "c", "--customer-name", "n",
            "--customer-phone", "1"]
    rc, out, err = b.cli(*base, "--summary", "长" * 501, expect=1)
    check("--summary" in one_line(err) and "longer than 500" in err, err)
    rc, out, err = b.cli(*(base[:-1] + ["1\x07", "--summary", "s"]), expect=1)
    check("customer.phone" in one_line(err) and "control" in err, err)
    rc, out, err = b.cli(*base, "--summary", "   ", expect=1)
    check("missing field: summary" in one_line(err), err)
    # The complaint is in the same database the daemon serves.
    b.start()
    r = b.get("/api/v1/complaints/C-1")
    eq(r.status, 200, "GET C-1 status")
    eq(r.json["external_id"], "cli-1", "external_id")


def test_db_migrate_and_backup(t):
    b = t.bot(start=False)
    rc, out, _ = b.cli("db", "migrate")
    check("schema" in out, out)
    dest = os.path.join(b.dir, "backup.db")
    rc, out, _ = b.cli("db", "backup", dest)
    con = sqlite3.connect(dest)
    try:
        n = con.execute("select count(*) from dealers").fetchone()[0]
    finally:
        con.close()
    eq(n, 3, "dealers in the backup")
    b.cli("db", "backup", os.path.join(b.dir, "no", "such", "dir.db"), expect=1)


if __name__ == "__main__":
    dbot.main(globals())
