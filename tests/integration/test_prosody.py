"""Tests of the chat-server harness itself (scripts/prosody.sh + tests/integration/xmpp.py)
against a real Prosody on loopback: start/stop by PID with nothing left behind, accounts,
groupchat with real JIDs, direct messages, members-only rooms, restarts, parallel instances,
the client over WebSocket (RFC 7395).
Run by CTest (label integration); or by hand:
    /usr/bin/python3 tests/integration/test_prosody.py [test_name...]
"""

import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
import xmpp  # noqa: E402
from dbot import check, eq  # noqa: E402

USERS = {"alice": "alice-pw", "bob": "bob-pw", "eve": "eve-pw"}


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def zombie_children():
    """Our own children that exited and were not reaped."""
    me, out = os.getpid(), []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if fields[0] == "Z" and int(fields[1]) == me:
                    out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def websocket_handshake(port, protocol="xmpp"):
    """The status line and headers of an RFC 6455 upgrade to /xmpp-websocket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(("GET /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n%s\r\n"
                   % ("Sec-WebSocket-Protocol: %s\r\n" % protocol if protocol else "")).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode("latin-1").split("\r\n\r\n", 1)[0].lower()
    finally:
        s.close()


def members_only_room(p, owner, name):
    room = p.room(name)
    pres = owner.join(room, owner.user.capitalize(), instant=False)
    check(201 in pres.codes, "the first occupant creates the room (201): %r" % pres)
    owner.configure_room(room, persistent=True, members_only=True, non_anonymous=True)
    return room


def test_new_room_locked_until_configured(t):
    """Prosody's default (muc_room_locking): a room is locked from its creation until the
    owner submits the configuration form; nobody else gets in meanwhile (item-not-found).
    The bot creates its rooms through this path."""
    p = xmpp.prosody(t)
    p.register_many(USERS)
    a, b = p.client("alice", USERS["alice"]), p.client("bob", USERS["bob"])
    room = p.room("fresh")
    check(201 in a.join(room, "Alice", instant=False).codes, "created")
    eq(b.try_join(room, "Bob"), "item-not-found", "join of a locked room")
    a.configure_room(room, non_anonymous=True)
    eq(b.try_join(room, "Bob"), None, "join once configured")
    # the harness's default: an instant room, open at once
    check(201 in a.join(p.room("instant"), "Alice").codes, "created")
    eq(b.try_join(p.room("instant"), "Bob"), None, "join of an instant room")


def test_start_status_stop_leaves_nothing(t):
    p = xmpp.prosody(t)
    check(p.start_seconds < 10, "start took %.2f s" % p.start_seconds)
    check(p.http_port != p.c2s_port, "two distinct ports")
    eq(p.ws_url, "ws://127.0.0.1:%d/xmpp-websocket" % p.http_port, "ws_url")
    check(p.status(), "status says running")
    eq(open(os.path.join(p.dir, "prosody.pid")).read().strip(), str(p.pid), "pidfile")
    # the Prosody process runs as the prosody user when we are root, never as root
    uid = os.stat("/proc/%d" % p.pid).st_uid
    if os.getuid() == 0:
        check(uid != 0, "prosody runs unprivileged (uid %d)" % uid)
    # WebSocket endpoint: 101 with subprotocol xmpp; 501 without it
    head = websocket_handshake(p.http_port)
    check(head.startswith("http/1.1 101"), "websocket upgrade: %r" % head)
    check("sec-websocket-protocol: xmpp" in head, "subprotocol echoed: %r" % head)
    check(websocket_handshake(p.http_port, None).startswith("http/1.1 501"), "no subprotocol -> 501")
    # starting again is a no-op that reports the same server
    rc, out, err = p._script("start", p.dir)
    eq(rc, 0, "second start exit status")
    check(("pid=%d" % p.pid) in out and ("http_port=%d" % p.http_port) in out, "same server: " + out)
    pid, http_port, c2s_port = p.pid, p.http_port, p.c2s_port
    p.stop()
    check(not xmpp._proc_alive(pid), "pid %d gone" % pid)
    eq(p.processes(), [], "processes left")
    eq(zombie_children(), [], "unreaped children")
    check(not os.path.exists(os.path.join(p.dir, "prosody.pid")), "pidfile removed")
    check(not port_open(http_port) and not port_open(c2s_port), "ports closed")
    check(not p.status(), "status says stopped")
    # stopping what is stopped is fine
    eq(p._script("stop", p.dir)[0], 0, "stop when stopped")


def test_accounts_and_auth(t):
    p = xmpp.prosody(t)
    t0 = time.monotonic()
    p.register_many(USERS)
    check(time.monotonic() - t0 < 5, "register_many of 3 took %.2f s" % (time.monotonic() - t0))
    a = p.client("alice", USERS["alice"])                      # SCRAM-SHA-1, signature verified
    eq(a.jid, "alice@localhost/test", "bound JID")
    check({"SCRAM-SHA-1", "PLAIN"} <= set(a.mechanisms), "mechanisms %r" % a.mechanisms)
    check("urn:xmpp:sm:3" in a.stream_features, "stream management offered: %r" % a.stream_features)
    b = p.client("bob", USERS["bob"], mechanism="PLAIN")
    eq(b.jid, "bob@localhost/test", "PLAIN login")
    check(a.ping() < 5, "ping the server")
    try:
        p.client("eve", "wrong")
        raise dbot.TestFailure("a wrong password logged in")
    except xmpp.XmppError as e:
        eq(e.condition, "not-authorized", "wrong password")
    # register again = new password; a password with quotes and a backslash survives the shell
    p.register("eve", 'n"ew\\pw')
    p.client("eve", 'n"ew\\pw').disconnect()
    a.disconnect()
    b.disconnect()


def test_groupchat_with_real_jids(t):
    p = xmpp.prosody(t)
    p.register_many(USERS)
    a, b = p.client("alice", USERS["alice"]), p.client("bob", USERS["bob"])
    room = p.room("lobby")
    a.join(room, "Alice")
    a.configure_room(room, non_anonymous=True)
    pres = b.join(room, "Bob")
    check(100 in pres.codes, "the room tells Bob it is non-anonymous (100): %r" % pres)
    eq(b.occupants(room)["Alice"].jid, "alice@localhost", "Bob sees Alice's real JID")
    eq(a.wait_for_occupant(room, lambda o: o.nick == "Bob").jid, "bob@localhost", "Alice sees Bob")
    mid = a.send_groupchat(room, "hello <dealers> & 你好")
    m = b.wait_for_message(lambda m: m.type == "groupchat", timeout=5)
    eq(m.body, "hello <dealers> & 你好", "body")
    eq((m.room, m.nick, m.real_jid, m.id), (room, "Alice", "alice@localhost", mid), "sender")
    eq(m["from"], room + "/Alice", "from")
    check(not m.delayed, "live message")
    echo = a.wait_for_message(lambda m: m.id == mid, timeout=5)   # the room's reflection
    eq(echo.real_jid, "alice@localhost", "echo attributed to Alice")
    # a late joiner with history sees it as delayed; with history=0 it sees nothing
    c = p.client("eve", USERS["eve"])
    c.join(room, "Eve", history=5)
    h = c.wait_for_message(lambda m: m.body.startswith("hello"), timeout=5)
    check(h.delayed, "history message carries <delay/>")
    a.leave(room)
    gone = b.wait_for_presence(lambda pr: pr.room == room and pr.nick == "Alice"
                               and pr.type == "unavailable", timeout=5)
    check(gone is not None and "Alice" not in b.occupants(room), "Alice left")
    for c_ in (a, b, c):
        c_.disconnect()


def test_direct_message(t):
    p = xmpp.prosody(t)
    p.register_many(USERS)
    a, b = p.client("alice", USERS["alice"]), p.client("bob", USERS["bob"])
    mid = a.send_chat(p.jid("bob"), "direct <1>")
    m = b.wait_for_message(lambda m: m.type == "chat", timeout=5)
    eq((m.body, m.id, m.real_jid, m.room), ("direct <1>", mid, "alice@localhost", None), "chat")
    eq(m["from"], "alice@localhost/test", "full from")
    b.no_message(within=0.2)
    a.disconnect()
    b.disconnect()


def test_members_only_room(t):
    p = xmpp.prosody(t)
    p.register_many(USERS)
    owner, bob = p.client("alice", USERS["alice"]), p.client("bob", USERS["bob"])
    room = members_only_room(p, owner, "dealer-sh001")
    info = bob.room_info(room)
    check(info.persistent and info.members_only and info.non_anonymous,
          "room flags from disco: %r" % info)
    cfg = owner.room_config(room)
    check(cfg["muc#roomconfig_persistentroom"] and cfg["muc#roomconfig_membersonly"], "config %r" % cfg)
    eq(cfg["muc#roomconfig_whois"], "anyone", "whois")
    # an outsider is refused, and is let in once it is a member
    eq(bob.try_join(room, "Bob"), "registration-required", "outsider's join")
    check(room not in bob.joined, "not joined")
    try:
        bob.affiliations(room, "member")
        raise dbot.TestFailure("an outsider read the member list")
    except xmpp.XmppError as e:
        eq(e.condition, "forbidden", "member list as outsider")
    owner.set_affiliation(room, p.jid("bob"), "member")
    eq(owner.room_members(room), {"alice@localhost": "owner", "bob@localhost": "member"}, "members")
    eq(owner.affiliations(room, "member"), ["bob@localhost"], "member list")
    bob.join(room, "Bob")
    owner.send_groupchat(room, "welcome")
    eq(bob.wait_for_message(lambda m: m.room == room, timeout=5).real_jid, "alice@localhost", "sender")
    # Prosody lets members of a members-only non-anonymous room read its member list
    eq(bob.affiliations(room, "member"), ["bob@localhost"], "member list as member")
    # removing the membership ejects him from a members-only room
    owner.set_affiliation(room, p.jid("bob"), "none")
    bob.wait_for_presence(lambda pr: pr.room == room and pr.type == "unavailable"
                          and 110 in pr.codes, timeout=5)
    check(room not in bob.joined, "ejected")
    eq(bob.try_join(room, "Bob"), "registration-required", "ex-member's join")
    # an invitation from the owner makes the invitee a member
    owner.invite(room, p.jid("bob"), "complaint C-42")
    inv = bob.wait_for_message(lambda m: m.invite_from is not None, timeout=5, with_body=False)
    eq((inv.from_, inv.invite_from, inv.invite_reason), (room, "alice@localhost/test", "complaint C-42"),
       "invitation")
    eq(bob.try_join(room, "Bob"), None, "invitee joins")
    owner.disconnect()
    bob.disconnect()


def test_restart_keeps_ports_accounts_and_rooms(t):
    p = xmpp.prosody(t)
    p.register_many(USERS)
    a = p.client("alice", USERS["alice"])
    room = members_only_room(p, a, "staff")
    a.set_affiliation(room, p.jid("bob"), "member")
    ws_url, pid = p.ws_url, p.pid
    p.stop()                                        # SIGTERM: rooms are saved on shutdown
    p.start()
    eq(p.ws_url, ws_url, "same URL after a restart")
    check(p.pid != pid, "a new process")
    check(a.sock is None, "stop() closed the clients")
    a.connect()                                     # the same client reconnects
    check(room not in a.joined, "a new session has joined nothing")
    info = a.room_info(room)
    check(info.persistent and info.members_only and info.non_anonymous, "room survived: %r" % info)
    eq(a.room_members(room), {"alice@localhost": "owner", "bob@localhost": "member"}, "members kept")
    # a crash (SIGKILL) leaves a stale pidfile; the next start copes
    pid = p.pid
    p.kill()
    check(not xmpp._proc_alive(pid), "killed")
    check(not a.pump(5), "the client sees the connection drop")
    p.start()
    eq(p.ws_url, ws_url, "same URL after a crash")
    p.client("bob", USERS["bob"]).join(room, "Bob")


def test_parallel_instances(t):
    ps = [xmpp.Prosody(name="prosody%d" % i) for i in range(3)]
    t.bots.extend(ps)
    procs = [subprocess.Popen(["bash", xmpp.SCRIPT, "start", p.dir], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for p in ps]
    lines = []
    for pr in procs:
        out, err = pr.communicate(timeout=30)
        eq(pr.returncode, 0, "parallel start: %s" % err.decode())
        lines.append(out.decode())
    for p in ps:
        p.start()                                   # already running: adopts it
    eq(len({p.pid for p in ps}), 3, "three servers")
    eq(len({p.http_port for p in ps} | {p.c2s_port for p in ps}), 6, "six ports")
    for p, line in zip(ps, lines):
        check(("pid=%d" % p.pid) in line, "start output %r" % line)
        p.register("alice", "pw")
        p.client("alice", "pw").ping()
    for p in ps:
        p.stop()
    eq(zombie_children(), [], "unreaped children")


def test_relay_rate(t):
    p = xmpp.prosody(t)
    p.register_many(USERS)
    a, b = p.client("alice", USERS["alice"]), p.client("bob", USERS["bob"])
    room = p.room("bench")
    a.join(room, "A")
    b.join(room, "B")
    r = xmpp.relay_rate(a, b, room, n=int(os.environ.get("RELAY_N", "2000")))
    print("     relay: %(n)d msgs in %(seconds).3f s = %(rate).0f msg/s at the receiver, "
          "%(echo_rate).0f msg/s echoed, lost %(lost)d" % r)
    eq(r["lost"], 0, "lost messages")


def ws_read_frame(sock):
    """(fin, opcode, unmasked payload) of one client frame; fails unless it is masked."""
    def exactly(n):
        b = b""
        while len(b) < n:
            chunk = sock.recv(n - len(b))
            check(chunk, "the client closed the connection")
            b += chunk
        return b
    b0, b1 = exactly(2)
    check(b1 & 0x80, "client frames are masked")
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(exactly(2), "big")
    elif n == 127:
        n = int.from_bytes(exactly(8), "big")
    key = exactly(4)
    return bool(b0 & 0x80), b0 & 0x0F, xmpp.ws_mask(exactly(n), key)


def test_websocket_framing(t):
    """The client's RFC 6455/7395 framing against a scripted server on a socketpair: <open/>,
    one frame per element with its namespace, fragmented messages (with a ping between the
    fragments) reassembled, ping answered with pong, close frame answered."""
    eq(xmpp.ws_mask(xmpp.ws_mask(b"abcdefg", b"\x01\x02\x03\x04"), b"\x01\x02\x03\x04"),
       b"abcdefg", "masking twice")
    eq(xmpp.ws_mask(b"\x00" * 6, b"\x01\x02\x03\x04"), b"\x01\x02\x03\x04\x01\x02", "key repeats")
    cli, srv = socket.socketpair()
    try:
        srv.settimeout(5)
        c = xmpp.Client("alice", "pw", transport="ws", ws_url="ws://127.0.0.1:1/xmpp-websocket")
        c.sock, c._closed = cli, False
        frame = xmpp.ws_frame
        srv.sendall(frame(xmpp.WS_TEXT, b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' "
                          b"from='localhost' version='1.0'/>", mask=False)
                    + frame(xmpp.WS_TEXT, b"<stream:features xmlns='jabber:client' xmlns:stream="
                            b"'http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params"
                            b":xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>"
                            b"</stream:features>", mask=False))
        feats = c._open_stream(5)
        eq([m.text for m in feats.iter(xmpp.tag(xmpp.NS_SASL, "mechanism"))], ["PLAIN"], "features")
        fin, op, data = ws_read_frame(srv)
        eq((fin, op), (True, xmpp.WS_TEXT), "one text frame")
        eq(data, b'<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version=\'1.0\'/>',
           "open")
        c.send_raw("<presence/><message to='bob@localhost'><body>a</body></message>")
        eq(ws_read_frame(srv)[2], b'<presence xmlns="jabber:client"/>', "first element")
        eq(ws_read_frame(srv)[2], b'<message xmlns="jabber:client" to=\'bob@localhost\'>'
           b"<body>a</body></message>", "second element, namespaced")
        msg = ("<message xmlns='jabber:client' from='bob@localhost/x' type='chat' id='m1'>"
               "<body>%s</body></message>" % ("z" * 300)).encode()
        srv.sendall(frame(xmpp.WS_TEXT, msg[:100], mask=False, fin=False)
                    + frame(xmpp.WS_PING, b"are you there", mask=False)
                    + frame(xmpp.WS_CONT, msg[100:200], mask=False, fin=False))
        c.pump(5)
        eq(ws_read_frame(srv), (True, xmpp.WS_PONG, b"are you there"), "pong between fragments")
        check(not c.inbox, "no message before its last fragment")
        srv.sendall(frame(xmpp.WS_CONT, msg[200:], mask=False))
        m = c.wait_for_message(timeout=5)
        eq((m.id, m.body), ("m1", "z" * 300), "reassembled")
        srv.sendall(frame(xmpp.WS_CLOSE, (1001).to_bytes(2, "big"), mask=False))
        check(not c.pump(5), "a close frame ends the stream")
        eq(c.ws_close_code, 1001, "close code")
        eq(ws_read_frame(srv), (True, xmpp.WS_CLOSE, (1001).to_bytes(2, "big")), "close answered")
        c.disconnect()
        check(c.sock is None, "closed")
    finally:
        cli.close()
        srv.close()


def test_websocket_client(t):
    """The harness client over WebSocket (RFC 7395, the bot's transport) beside one over TCP:
    the same room, groupchat and direct messages both ways, and relay_rate with a ws sender."""
    p = xmpp.prosody(t)
    p.register_many(USERS)
    w = p.client("alice", USERS["alice"], transport="ws")          # SCRAM-SHA-1 over ws
    eq((w.transport, w.ws_url), ("ws", p.ws_url), "ws transport on the server's URL")
    eq(w.jid, "alice@localhost/test", "bound over ws")
    check("urn:xmpp:sm:3" in w.stream_features, "features after the second <open/>: %r"
          % w.stream_features)
    eq(p.client("eve", USERS["eve"], transport="ws", mechanism="PLAIN").jid, "eve@localhost/test",
       "PLAIN over ws")
    b = p.client("bob", USERS["bob"])                               # tcp
    eq(b.transport, "tcp", "default transport")
    check(w.ping() < 5, "ping over ws")
    room = p.room("mixed")
    w.join(room, "Alice")
    w.configure_room(room, non_anonymous=True)
    b.join(room, "Bob")
    eq(w.wait_for_occupant(room, lambda o: o.nick == "Bob").jid, "bob@localhost", "ws sees tcp")
    eq(b.occupants(room)["Alice"].jid, "alice@localhost", "tcp sees ws")
    # groupchat both ways; a body with markup, quotes and non-ASCII; several stanzas in one
    # send_raw go out as one frame each
    mid = w.send_groupchat(room, "from ws <b> & 'q' \"dq\" 你好")
    m = b.wait_for_message(lambda m: m.id == mid, timeout=5)
    eq((m.body, m.room, m.nick, m.real_jid, m.type),
       ("from ws <b> & 'q' \"dq\" 你好", room, "Alice", "alice@localhost", "groupchat"), "ws -> tcp")
    w.wait_for_message(lambda m: m.id == mid, timeout=5)           # the room's echo, over ws
    mid = b.send_groupchat(room, "from tcp")
    m = w.wait_for_message(lambda m: m.id == mid, timeout=5)
    eq((m.body, m.nick, m.real_jid), ("from tcp", "Bob", "bob@localhost"), "tcp -> ws")
    w.send_raw("".join("<message to=%s type='groupchat' id='batch%d'><body>batch %d</body></message>"
                       % (xmpp.q(room), i, i) for i in range(3)))
    eq([m.body for m in b.wait_for_messages(3, lambda m: m.id.startswith("batch"), timeout=5)],
       ["batch 0", "batch 1", "batch 2"], "three stanzas of one send_raw")
    # a large stanza: 16-bit and 64-bit frame lengths both ways
    big = "x" * 70000
    mid = w.send_groupchat(room, big)
    eq(b.wait_for_message(lambda m: m.id == mid, timeout=5).body, big, "70 kB ws -> tcp")
    eq(w.wait_for_message(lambda m: m.id == mid, timeout=5).body, big, "70 kB echo to ws")
    # direct messages both ways
    mid = w.send_chat(p.jid("bob"), "direct from ws")
    m = b.wait_for_message(lambda m: m.type == "chat", timeout=5)
    eq((m.body, m.id, m.from_, m.real_jid), ("direct from ws", mid, "alice@localhost/test",
                                             "alice@localhost"), "ws -> tcp chat")
    mid = b.send_chat(w.jid, "direct from tcp")
    m = w.wait_for_message(lambda m: m.type == "chat", timeout=5)
    eq((m.body, m.id, m.from_), ("direct from tcp", mid, "bob@localhost/test"), "tcp -> ws chat")
    w.drain()
    b.drain()
    # relay_rate with a ws sender (select on .sock, pump, message_hook)
    r = xmpp.relay_rate(w, b, room, n=int(os.environ.get("RELAY_N", "2000")))
    print("     relay ws -> tcp: %(n)d msgs in %(seconds).3f s = %(rate).0f msg/s at the receiver, "
          "%(echo_rate).0f msg/s echoed, lost %(lost)d" % r)
    eq(r["lost"], 0, "lost messages")
    check(not w.inbox and not b.inbox, "relay messages consumed by the hooks")
    # leaving and a clean close: <close/> answered, then the WebSocket close frame
    w.leave(room)
    b.wait_for_presence(lambda pr: pr.nick == "Alice" and pr.type == "unavailable", timeout=5)
    w.disconnect()
    check(w.sock is None and w._closed, "ws client closed")
    b.disconnect()
    # the same ws client connects again
    w.connect()
    check(w.ping() < 5, "ws reconnect")
    w.disconnect()


if __name__ == "__main__":
    dbot.main(globals())
