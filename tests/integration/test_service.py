"""test_service.py — the daemon under a service manager, as systemd runs it (DESIGN.md,
Deployment): Type=notify readiness over a real AF_UNIX datagram socket ($NOTIFY_SOCKET, the
sd_notify protocol), STOPPING=1 on SIGTERM, and log lines in the journal's form when stderr
is the stream $JOURNAL_STREAM names."""

import os
import socket

import dbot
from dbot import check, eq


def recv_state(sock, timeout):
    """One datagram as a dict of KEY=value lines, or None after `timeout` seconds."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except socket.timeout:
        return None
    return dict(l.split("=", 1) for l in data.decode().splitlines() if "=" in l)


def notify_socket(b, abstract=False):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = "dbot-notify-%d-%s" % (os.getpid(), os.path.basename(b.dir))
        s.bind("\0" + name)
        return s, "@" + name
    path = os.path.join(b.dir, "notify.sock")
    s.bind(path)
    return s, path


def test_ready_only_when_listening_and_stopping_on_sigterm(t):
    b = t.bot(start=False)
    sock, addr = notify_socket(b)
    with sock:
        b.start(env={"NOTIFY_SOCKET": addr})
        st = recv_state(sock, dbot.START_TIMEOUT)
        check(st is not None, "no READY=1 from the daemon")
        eq(st.get("READY"), "1", "READY in %r" % st)
        eq(st.get("MAINPID"), str(b.proc.pid), "MAINPID")
        check(("127.0.0.1:%d" % b.port) in st.get("STATUS", ""), "STATUS %r" % st)
        # ready means the API answers, and the store is there: a complaint is taken
        r = b.post("/api/v1/complaints", dbot.complaint("svc-1"))
        eq(r.status, 201, "intake right after READY=1")
        check(recv_state(sock, 0.2) is None, "one READY=1, nothing more while running")
        b.stop()
        st = recv_state(sock, 5)
        check(st is not None and st.get("STOPPING") == "1", "STOPPING=1 after SIGTERM: %r" % st)


def test_abstract_notify_socket(t):
    b = t.bot(start=False)
    sock, addr = notify_socket(b, abstract=True)
    with sock:
        b.start(env={"NOTIFY_SOCKET": addr})
        st = recv_state(sock, dbot.START_TIMEOUT)
        check(st is not None and st.get("READY") == "1", "READY=1 on @abstract: %r" % st)
        b.stop()


def test_bad_notify_socket_does_not_stop_the_daemon(t):
    b = t.bot(start=False)
    b.start(env={"NOTIFY_SOCKET": os.path.join(b.dir, "nobody-listens.sock")})
    eq(b.get("/healthz").status, 200, "healthz")
    b.stop()
    check("service manager" in b.log_text(), "the failed notification is logged")


def test_journal_stream_lines_carry_priority(t):
    b = t.bot(start=False)
    # The daemon's stderr is the log file (dbot.py): announce that file as the journal stream.
    open(b.log_path, "ab").close()
    st = os.stat(b.log_path)
    b.start(env={"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)})
    b.stop()
    lines = [l for l in b.log_text().splitlines() if "run:" in l]
    check(lines, "no lines of the run module: " + b.log_text()[-400:])
    for l in lines:
        check(l.startswith("<6>INFO run: "), "journal line %r" % l)
    # another stream (the usual case outside systemd): timestamps, no priority prefix
    b2 = t.bot(name="plain", start=False)
    b2.start(env={"JOURNAL_STREAM": "1:1"})
    b2.stop()
    lines = [l for l in b2.log_text().splitlines() if "run:" in l]
    check(lines and all(l[:4].isdigit() and "INFO  run:" in l for l in lines),
          "plain lines: %r" % lines[:3])


dbot.main(globals())
