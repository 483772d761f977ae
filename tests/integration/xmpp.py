"""xmpp.py — a real chat server and real chat users for dealerbot's integration tests
(Python 3 standard library only; run with /usr/bin/python3).

Prosody: a private, unprivileged Prosody 0.12 in a temp directory, started and stopped by PID
through scripts/prosody.sh (free loopback ports, WebSocket + c2s TCP, MUC "conference.localhost",
no TLS). Client: a small synchronous XMPP client over c2s TCP, or over WebSocket (RFC 7395, as the
bot speaks it) with transport="ws" (SASL SCRAM-SHA-1 or PLAIN, bind, presence, MUC
join/leave/configure/affiliations, groupchat and direct messages, disco, ping).
Everything waits on a condition with a timeout; nothing sleeps for a fixed time.

    p = xmpp.Prosody().start()               # or, inside a dbot test: p = xmpp.prosody(t)
    p.register_many({"alice": "pw-a", "bob": "pw-b"})
    a = p.client("alice", "pw-a")            # connected, bound, available
    b = p.client("bob", "pw-b", transport="ws")   # the same client over p.ws_url
    room = p.room("dealer-sh001")            # "dealer-sh001@conference.localhost"
    a.join(room, "Alice")                    # the creator becomes owner
    a.configure_room(room, persistent=True, members_only=True, non_anonymous=True)
    a.set_affiliation(room, p.jid("bob"), "member")
    b.join(room, "Bob")                      # raises JoinRefused("registration-required") before
    a.send_groupchat(room, "hello")
    m = b.wait_for_message(lambda m: m.body == "hello", timeout=5)
    m.real_jid == "alice@localhost"; m.room == room; m.nick == "Alice"; m.type == "groupchat"
    p.pause(); p.resume()                    # SIGSTOP / SIGCONT: a server that hangs
    p.stop()                                 # SIGTERM by PID; checks that nothing is left

Inside dbot.main tests, `xmpp.prosody(t)` puts the server into the test context, so the runner
stops it after the test and prints its log when the test failed (it quacks like a dbot.Bot).
Environment: DBOT_KEEP=1 keeps the temp directories; XMPP_DEBUG=1 prints every stanza.
"""

import base64
import collections
import ctypes
import hashlib
import hmac
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape as _esc

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("DBOT_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
SCRIPT = os.path.join(SOURCE_DIR, "scripts", "prosody.sh")
EJABBERD_SCRIPT = os.path.join(SOURCE_DIR, "scripts", "ejabberd.sh")
# the server the scenarios run on: "prosody" (default) or "ejabberd" (tests/CMakeLists.txt
# registers each scenario file once per server); see server() below
SERVER = os.environ.get("DBOT_XMPP_SERVER", "prosody")

DOMAIN = "localhost"
MUC = "conference.localhost"
TIMEOUT = 10.0          # default for every wait
DEBUG = bool(os.environ.get("XMPP_DEBUG"))

NS_CLIENT = "jabber:client"
NS_STREAM = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_STREAMS_ERR = "urn:ietf:params:xml:ns:xmpp-streams"
NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin"
NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
NS_DATA = "jabber:x:data"
NS_DELAY = "urn:xmpp:delay"
NS_PING = "urn:xmpp:ping"
NS_SID = "urn:xmpp:sid:0"
NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"   # RFC 7395 <open/> and <close/>
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"      # RFC 6455 accept key

try:
    from dbot import TestFailure  # one failure type for the whole test suite
except ImportError:  # used outside tests/integration
    class TestFailure(AssertionError):
        pass


class XmppError(TestFailure):
    """An error stanza or stream error: .condition ("registration-required", ...), .type, .text."""

    def __init__(self, what, condition=None, etype=None, text=None):
        self.condition, self.type, self.text = condition, etype, text
        super().__init__("%s: %s%s%s" % (what, condition, " (%s)" % etype if etype else "",
                                         ": " + text if text else ""))


class JoinRefused(XmppError):
    pass


class Timeout(TestFailure):
    pass


class ConnectionClosed(TestFailure):
    pass


# ---- small helpers ----------------------------------------------------------------------------

def bare(jid):
    return jid.split("/", 1)[0] if jid else jid


def resource(jid):
    return jid.split("/", 1)[1] if jid and "/" in jid else None


def q(v):
    """An XML attribute value, quoted."""
    return '"%s"' % _esc(str(v), {'"': "&quot;", "'": "&apos;"})


def text(v):
    return _esc(str(v))


def tag(ns, name):
    return "{%s}%s" % (ns, name)


def error_of(el):
    """(condition, type, text) of the <error/> child of a stanza."""
    err = el.find(tag(NS_CLIENT, "error"))
    if err is None:
        return None, None, None
    cond, txt = None, None
    for c in err:
        if c.tag == tag(NS_STANZAS, "text"):
            txt = c.text
        elif c.tag.startswith("{%s}" % NS_STANZAS):
            cond = c.tag.split("}", 1)[1]
    return cond, err.get("type"), txt


def new_id():
    return uuid.uuid4().hex[:16]


def _set_subreaper():
    """Orphaned children (the runuser parent of Prosody, or Prosody itself when not root) are
    reparented to this process instead of PID 1, so they can be reaped here; some container PID 1s
    never reap and would keep them as zombies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _reap(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        if time.monotonic() > deadline:
            return
        time.sleep(0.01)


def _proc_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


# ---- the server -------------------------------------------------------------------------------

class Prosody:
    """A private Prosody through scripts/prosody.sh. Attributes after start(): dir, pid,
    http_port, c2s_port, ws_url, start_seconds (exec until the WebSocket port answered, as
    measured by the script plus the fork). Duck-compatible with dbot.Bot for dbot.main."""

    kind = "prosody"
    script = SCRIPT

    def __init__(self, name=None, dir=None, http_port=None, c2s_port=None,
                 extra_config="", muc_extra_config="", admins=(), stanza_limit=None,
                 unshaped=None):
        """admins: server admins (owners of every room); stanza_limit: the largest stanza the
        server takes from a client (its c2s limit); unshaped: accounts exempt from a rate
        shaper (ejabberd only; Prosody loads none). extra_config/muc_extra_config: raw
        server-specific text (Lua for Prosody, YAML lines for ejabberd's mod_muc)."""
        self.name = name or self.kind
        self.dir = dir or tempfile.mkdtemp(prefix="dbot-%s-" % self.kind)
        self.http_port, self.c2s_port = http_port, c2s_port
        self.extra_config, self.muc_extra_config = extra_config, muc_extra_config
        self.admins, self.stanza_limit, self.unshaped = list(admins), stanza_limit, unshaped
        self.pid = None
        self.proc = None            # non-None while running (dbot.main stops what is running)
        self.ws_url = None
        self.start_seconds = None
        self.clients = []
        self.domain, self.muc = DOMAIN, MUC
        self._launcher = None
        self.paused = False

    # -- lifecycle --

    def _env(self):
        extra = self.extra_config
        if self.admins:
            extra += "\nadmins = { %s }" % ", ".join('"%s"' % self.jid(a) for a in self.admins)
        if self.stanza_limit:
            extra += "\nc2s_stanza_size_limit = %d" % self.stanza_limit
        return {"PROSODY_EXTRA_CONFIG": extra, "PROSODY_MUC_EXTRA_CONFIG": self.muc_extra_config}

    def _script(self, *args, input=None, timeout=60):
        env = dict(os.environ)
        env.update(self._env())
        p = subprocess.run(["bash", self.script] + [str(a) for a in args], input=input, env=env,
                           capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def start(self):
        if self.proc is not None:
            raise TestFailure("%s already running" % self.kind)
        _set_subreaper()
        args = ["start", self.dir]
        if self.http_port:
            args += [self.http_port, self.c2s_port or ""]
        t0 = time.monotonic()
        rc, out, err = self._script(*[a for a in args if a != ""])
        self.start_seconds = time.monotonic() - t0
        if rc != 0:
            raise TestFailure("%s start failed (%d):\n%s%s" % (self.script, rc, out, err))
        fields = dict(kv.split("=", 1) for kv in out.split() if "=" in kv)
        self.http_port, self.c2s_port = int(fields["http_port"]), int(fields["c2s_port"])
        self.ws_url, self.pid = fields["ws_url"], int(fields["pid"])
        self.proc = self.pid
        # the server, or the launcher it runs under (runuser; ejabberdctl, su and sh), became
        # our child through the subreaper: that one is reaped after a stop or kill
        self._launcher = None
        try:
            pid = self.pid
            for _ in range(6):
                with open("/proc/%d/stat" % pid) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if ppid == os.getpid():
                    self._launcher = pid
                    break
                pid = ppid
        except (OSError, ValueError, IndexError):
            pass
        if DEBUG:
            print("%s: %s pid %d up in %.3f s" % (self.kind, self.ws_url, self.pid,
                                                  self.start_seconds))
        return self

    def stop(self):
        """SIGTERM by PID (scripts/prosody.sh stop); fails if any process of it is left."""
        if self.proc is None:
            raise TestFailure("%s not running" % self.kind)
        pid = self.pid
        self.resume()
        for c in list(self.clients):
            c.close()
        rc, out, err = self._script("stop", self.dir)
        self.proc = None
        if self._launcher:
            _reap(self._launcher)
        if rc != 0:
            raise TestFailure("%s stop failed (%d): %s" % (self.script, rc, err))
        if _proc_alive(pid):
            raise TestFailure("%s pid %d still alive after stop" % (self.kind, pid))
        left = self.processes()
        if left:
            raise TestFailure("processes of %s left after stop: %r" % (self.dir, left))

    def kill(self):
        """SIGKILL by PID (a crash); the next start() reuses the ports."""
        if self.proc is None:
            raise TestFailure("%s not running" % self.kind)
        os.kill(self.pid, signal.SIGKILL)
        self.paused = False
        deadline = time.monotonic() + 5
        while _proc_alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        if self._launcher:
            _reap(self._launcher)
        self.proc = None

    def pause(self):
        """SIGSTOP: the server hangs without closing anything (a dead peer, as keepalives
        see it); its sockets keep accepting bytes into the kernel's buffers."""
        if self.proc is None:
            raise TestFailure("%s not running" % self.kind)
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        """SIGCONT after pause()."""
        if self.paused and self.proc is not None:
            os.kill(self.pid, signal.SIGCONT)
        self.paused = False

    def restart(self):
        self.stop()
        return self.start()

    def status(self):
        return self._script("status", self.dir)[0] == 0

    def processes(self):
        """Live (non-zombie) PIDs whose command line names this server's config file."""
        cfg = os.path.join(os.path.realpath(self.dir), "prosody.cfg.lua").encode()
        found = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if cfg in f.read().split(b"\0") and _proc_alive(int(d)):
                        found.append(int(d))
            except OSError:
                pass
        return found

    # -- accounts --

    def register(self, user, password):
        rc, out, err = self._script("register", self.dir, user, password)
        if rc != 0:
            raise TestFailure("register %s failed: %s" % (user, err))

    def register_many(self, accounts):
        """accounts: dict user->password or iterable of (user, password); one round trip."""
        items = accounts.items() if isinstance(accounts, dict) else accounts
        data = "".join("%s %s\n" % (u, p) for u, p in items)
        rc, out, err = self._script("register-many", self.dir, "-", input=data.encode())
        if rc != 0:
            raise TestFailure("register-many failed: %s" % err)

    # -- names and clients --

    def jid(self, user):
        return user if "@" in user else "%s@%s" % (user, self.domain)

    def room(self, name):
        return name if "@" in name else "%s@%s" % (name, self.muc)

    def client(self, user, password, resource="test", connect=True, transport="tcp", **kw):
        """A Client for user@localhost; connected (auth, bind, initial presence) unless
        connect=False. transport="ws": over this server's WebSocket endpoint (ws_url) instead of
        c2s TCP. Closed by stop()/cleanup()."""
        if transport == "ws":
            kw.setdefault("ws_url", self.ws_url)
        c = Client(user, password, port=self.c2s_port, domain=self.domain, resource=resource,
                   muc=self.muc, transport=transport, **kw)
        self.clients.append(c)
        if connect:
            c.connect()
        return c

    # -- logs and cleanup (dbot.Bot interface) --

    def log_text(self):
        out = []
        for name in ("prosody.log", "prosody.out"):
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    t = f.read().decode("utf-8", "replace")
                if t.strip():
                    out.append(t if name == "prosody.log" else "[%s]\n%s" % (name, t))
            except OSError:
                pass
        return "".join(out)

    def print_log(self, out=None):
        out = out or sys.stdout
        print("---- %s log (%s) ----" % (self.kind, self.dir), file=out)
        print(self.log_text().rstrip(), file=out)
        print("---- end of %s log ----" % self.kind, file=out)

    def cleanup(self, keep=False):
        self.resume()
        for c in list(self.clients):
            c.close()
        if self.proc is not None:
            try:
                self._script("stop", self.dir)
            except (OSError, subprocess.SubprocessError):
                pass
            if self._launcher:
                _reap(self._launcher, 1.0)
            self.proc = None
        if keep or os.environ.get("DBOT_KEEP"):
            return
        subprocess.run(["rm", "-rf", self.dir], check=False)

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, etype, e, tb):
        if etype is not None:
            self.print_log()
        self.cleanup(keep=etype is not None)
        return False


class Ejabberd(Prosody):
    """A private ejabberd through scripts/ejabberd.sh: the same interface as Prosody (start,
    stop, kill, pause, restart, register_many, client, log_text, ...). The WebSocket endpoint
    is ws://127.0.0.1:N/ws. The stock c2s shaper (3,000 bytes/s per ordinary user) stays on
    for everyone but `unshaped` (default: the bot's account, as README tells operators)."""

    kind = "ejabberd"
    script = EJABBERD_SCRIPT

    def __init__(self, name=None, unshaped=("dealerbot",), **kw):
        super().__init__(name=name, unshaped=unshaped, **kw)

    def _env(self):
        env = {"EJABBERD_ADMINS": " ".join(self.jid(a) for a in self.admins),
               "EJABBERD_UNSHAPED": " ".join(self.jid(a) for a in (self.unshaped or ())),
               "EJABBERD_MUC_EXTRA_CONFIG": self.muc_extra_config,
               "EJABBERD_MODULES_EXTRA_CONFIG": self.extra_config}
        if self.stanza_limit:
            env["EJABBERD_STANZA_LIMIT"] = str(self.stanza_limit)
        return env

    def processes(self):
        """Live (non-zombie) PIDs of this server's Erlang VM (found by its node name)."""
        node = None
        try:
            with open(os.path.join(self.dir, "etc", "ejabberdctl.cfg")) as f:
                for line in f:
                    if line.startswith("ERLANG_NODE="):
                        node = line.strip().split("=", 1)[1].encode()
        except OSError:
            return []
        found = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    args = f.read().split(b"\0")
                if node in args and b"beam" in args[0] and _proc_alive(int(d)):
                    found.append(int(d))
            except OSError:
                pass
        return found

    def log_text(self):
        out = []
        for name in ("log/ejabberd.log", "log/error.log", "ejabberd.out"):
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    t = f.read().decode("utf-8", "replace")
                if t.strip():
                    out.append("[%s]\n%s" % (name, t))
            except OSError:
                pass
        return "".join(out)


SERVERS = {"prosody": Prosody, "ejabberd": Ejabberd}


def server_class(kind=None):
    kind = kind or SERVER
    if kind not in SERVERS:
        raise TestFailure("DBOT_XMPP_SERVER=%r: use one of %s" % (kind, sorted(SERVERS)))
    return SERVERS[kind]


def server(t, start=True, kind=None, **kw):
    """The XMPP server the scenarios run on (DBOT_XMPP_SERVER: prosody, the default, or
    ejabberd), living in dbot's TestContext `t` like prosody() below. Portable keywords:
    admins, stanza_limit; server-specific ones are ignored by the other server only when
    the test says so (extra_config is raw server text)."""
    p = server_class(kind)(**kw)
    t.bots.append(p)
    if start:
        p.start()
    return p


def prosody(t, start=True, **kw):
    """A Prosody that lives in dbot's TestContext `t` (stopped, log printed on failure,
    cleaned up by dbot.main)."""
    p = Prosody(**kw)
    t.bots.append(p)
    if start:
        p.start()
    return p


# ---- stanzas as seen by a client --------------------------------------------------------------

class Message:
    """An incoming <message/>. from_/to/type/id/body as sent; room and nick for MUC messages;
    real_jid: the sender's real bare JID (from the room's occupant list for groupchat/MUC-PM, when
    the room shows it; the bare from for direct messages); delayed: has <delay/> (history),
    delay_stamp: its stamp (XEP-0082 text) or None;
    error: (condition, type, text) for type='error'; invite_from: inviter of a mediated invite."""

    __slots__ = ("from_", "to", "type", "id", "body", "subject", "room", "nick", "real_jid",
                 "delayed", "delay_stamp", "error", "stanza_id", "invite_from", "invite_reason", "xml", "time")

    def __getitem__(self, k):
        return getattr(self, "from_" if k == "from" else k)

    def __repr__(self):
        return "<Message %s from=%s real=%s id=%s body=%r>" % (self.type, self.from_, self.real_jid,
                                                               self.id, self.body)


class Occupant:
    __slots__ = ("nick", "jid", "affiliation", "role", "codes")

    def __init__(self, nick, jid, affiliation, role, codes):
        self.nick, self.jid, self.affiliation, self.role, self.codes = nick, jid, affiliation, role, codes

    def __repr__(self):
        return "<Occupant %s jid=%s %s/%s %s>" % (self.nick, self.jid, self.affiliation, self.role,
                                                  sorted(self.codes))


class Presence:
    __slots__ = ("from_", "type", "room", "nick", "occupant", "codes", "error", "xml")

    def __repr__(self):
        return "<Presence %s %s codes=%s err=%s>" % (self.type or "available", self.from_,
                                                     sorted(self.codes), self.error)


class RoomInfo:
    """disco#info of a room: features (set), identities, fields (muc#roominfo), and flags."""

    def __init__(self, identities, features, fields):
        self.identities, self.features, self.fields = identities, features, fields
        self.persistent = "muc_persistent" in features
        self.members_only = "muc_membersonly" in features
        self.non_anonymous = "muc_nonanonymous" in features
        self.public = "muc_public" in features
        self.password_protected = "muc_passwordprotected" in features
        self.moderated = "muc_moderated" in features

    def __repr__(self):
        return "<RoomInfo %s>" % sorted(self.features)


# friendly names for configure_room(); any muc#roomconfig_* var can also be passed in `fields`
ROOM_CONFIG = {
    "persistent": "muc#roomconfig_persistentroom",
    "members_only": "muc#roomconfig_membersonly",
    "public": "muc#roomconfig_publicroom",
    "name": "muc#roomconfig_roomname",
    "description": "muc#roomconfig_roomdesc",
    "allow_invites": "muc#roomconfig_allowinvites",
    "moderated": "muc#roomconfig_moderatedroom",
    "history_length": "muc#roomconfig_historylength",
    "password": "muc#roomconfig_roomsecret",
    "whois": "muc#roomconfig_whois",
}


def _field_value(v):
    if isinstance(v, bool):
        return ["1" if v else "0"]
    if isinstance(v, (list, tuple, set)):
        return [str(x) for x in v]
    return [str(v)]


def _parse_form(x):
    """{var: value or [values]} of a jabber:x:data form element."""
    fields = {}
    if x is None:
        return fields
    for f in x.findall(tag(NS_DATA, "field")):
        var = f.get("var")
        if not var:
            continue
        vals = [v.text or "" for v in f.findall(tag(NS_DATA, "value"))]
        ftype = f.get("type", "")
        if ftype.endswith("-multi"):
            fields[var] = vals
        elif ftype == "boolean":
            fields[var] = (vals[0] in ("1", "true")) if vals else False
        else:
            fields[var] = vals[0] if vals else None
    return fields


# ---- WebSocket framing (RFC 6455) --------------------------------------------------------------

WS_CONT, WS_TEXT, WS_BINARY, WS_CLOSE, WS_PING, WS_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def ws_mask(payload, key):
    """payload XOR the 4-byte key repeated (both ways: masking and unmasking), in one big-int
    operation instead of a Python loop over the bytes."""
    n = len(payload)
    if not n:
        return b""
    keys = (key * ((n >> 2) + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(keys, "little")).to_bytes(n, "little")


def ws_frame(opcode, payload, mask=True, fin=True):
    """One frame; client frames are masked (RFC 6455 5.3), server frames not."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([mbit | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    key = random.getrandbits(32).to_bytes(4, "little")
    return head + key + ws_mask(payload, key)


# the top-level elements of a string of XMPP stanzas, for one WebSocket frame each: tags (with
# the quoted attribute values that may hold '>'), and comments, CDATA and declarations to skip
_XML_TOKEN = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<(/?)(?:[^>\"']|\"[^\"]*\"|'[^']*')*?(/?)>",
                        re.S)
_XMLNS_ATTR = re.compile(r"\sxmlns\s*=")
_TAG_NAME_END = re.compile(r"[\s/>]")


def split_elements(data, default_ns=None):
    """(complete top-level elements, rest) of XML text; a stream header or <?xml?> declaration
    between elements is left out, a </stream:stream> becomes the RFC 7395 <close/>. default_ns:
    declared on each element that has no xmlns of its own (RFC 7395 3.3.3: every stanza names
    its namespace, as it is a document of its own)."""
    out, depth, start, pos, head = [], 0, 0, 0, ""
    for m in _XML_TOKEN.finditer(data):
        tok = m.group(0)
        if tok.startswith(("<!--", "<![CDATA[", "<?")):
            continue
        closing, empty = m.group(1), m.group(2)
        if depth == 0:
            if closing:
                if tok.startswith("</stream:stream"):
                    out.append("<close xmlns=%s/>" % q(NS_FRAMING))
                pos = m.end()
                continue
            if tok.startswith("<stream:stream"):
                pos = m.end()
                continue
            start, head = m.end(), tok         # the start tag, and where its content begins
            if default_ns and not _XMLNS_ATTR.search(tok):
                end = _TAG_NAME_END.search(tok, 1).start()
                head = tok[:end] + " xmlns=" + q(default_ns) + tok[end:]
        if closing:
            depth -= 1
        elif not empty:
            depth += 1
        if depth == 0:
            out.append(head + data[start:m.end()])
            pos = m.end()
    return out, data[pos:]


# ---- the client -------------------------------------------------------------------------------

class Client:
    """A synchronous XMPP client over c2s TCP (no TLS: the server is loopback-only), or over
    WebSocket with transport="ws" and ws_url="ws://host:port/path" (RFC 7395: subprotocol
    "xmpp", <open/> and <close/> instead of the stream header and its end, one element per text
    frame; frames to the server masked). Both transports feed the same incremental parser and
    stanza handling, and .sock is the socket to select() on either way.

    Incoming messages queue in an inbox until a wait_for_message() takes them; presences update
    the occupant lists (self.rooms[room_jid][nick] -> Occupant); IQ requests from others get a
    service-unavailable error (pings are answered). Every wait pumps the socket until its
    condition holds or its timeout passes (Timeout)."""

    def __init__(self, user, password, host="127.0.0.1", port=5222, domain=DOMAIN,
                 resource="test", muc=MUC, mechanism=None, timeout=TIMEOUT,
                 initial_presence=True, transport="tcp", ws_url=None):
        if transport not in ("tcp", "ws"):
            raise ValueError("transport must be 'tcp' or 'ws', not %r" % (transport,))
        if transport == "ws" and not ws_url:
            raise ValueError("transport='ws' needs ws_url")
        self.transport, self.ws_url = transport, ws_url
        self.user, self.password = user, password
        self.host, self.port, self.domain, self.muc = host, port, domain, muc
        self.resource, self.mechanism, self.timeout = resource, mechanism, timeout
        self.initial_presence = initial_presence
        self.jid = None                 # full JID after bind
        self.bare = "%s@%s" % (user, domain)
        self.sock = None
        self.inbox = collections.deque()
        self.presences = collections.deque(maxlen=1000)
        self.rooms = {}                 # room -> {nick: Occupant}
        self.nicks = {}                 # room -> own nick (after join)
        self.joined = set()
        self.sent = 0
        self.received = 0
        self.message_hook = None        # fn(Message) -> True to consume (not queued)
        self._iq_results = {}
        self._parser = None
        self._depth = 0
        self._root = None
        self._closed = False
        self._stream_features = None
        self.mechanisms = []
        self.stream_features = set()    # namespaces of the post-auth stream features
        self._ws_buf = bytearray()      # received bytes not yet a complete frame
        self._ws_parts = []             # payloads of a fragmented message so far
        self._ws_close_sent = False
        self.ws_close_code = None       # status code of the server's WebSocket close frame

    # -- connection --

    def connect(self, timeout=None):
        """Connects (again, after close()/disconnect() or a server restart): SASL, bind, and
        initial presence unless initial_presence=False. Returns self."""
        timeout = timeout or self.timeout
        if self.sock is not None:
            self.close()
        # a new session: no rooms joined, no answers pending (the inbox is kept)
        self.rooms, self.nicks, self.joined, self._iq_results = {}, {}, set(), {}
        if self.transport == "ws":
            self._ws_connect(timeout)
        else:
            self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(None)
        self._closed = False
        feats = self._open_stream(timeout)
        self.mechanisms = [m.text for m in feats.iter(tag(NS_SASL, "mechanism"))]
        mech = self.mechanism or ("SCRAM-SHA-1" if "SCRAM-SHA-1" in self.mechanisms else "PLAIN")
        if mech not in self.mechanisms:
            raise XmppError("SASL", "mechanism %s not offered (%s)" % (mech, self.mechanisms))
        if mech == "PLAIN":
            self._auth_plain(timeout)
        elif mech == "SCRAM-SHA-1":
            self._auth_scram(timeout)
        else:
            raise XmppError("SASL", "unsupported mechanism " + mech)
        feats = self._open_stream(timeout)
        self.stream_features = {c.tag.split("}", 1)[0][1:] for c in feats}
        res = self.iq("set", None, "<bind xmlns=%s><resource>%s</resource></bind>"
                      % (q(NS_BIND), text(self.resource)), timeout=timeout)
        self.jid = res.find(".//" + tag(NS_BIND, "jid")).text
        if self.initial_presence:
            self.send_raw("<presence/>")
            # the server handles a stream's stanzas in order: once the ping is answered we are
            # available, and a message to our bare JID cannot race past the presence
            self.ping(timeout=timeout)
        return self

    def _ws_connect(self, timeout):
        """TCP connection to the ws_url's host and the HTTP/1.1 upgrade (RFC 6455 4.1) with
        subprotocol xmpp; checks the 101, the accept key and the subprotocol."""
        u = urllib.parse.urlsplit(self.ws_url)
        if u.scheme != "ws":
            raise TestFailure("%s: only ws:// URLs (no TLS): %s" % (self.bare, self.ws_url))
        host, port = u.hostname, u.port or 80
        path = (u.path or "/") + ("?" + u.query if u.query else "")
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._ws_buf, self._ws_parts = bytearray(), []
        self._ws_close_sent, self.ws_close_code = False, None
        key = base64.b64encode(os.urandom(16)).decode()
        hostport = host if u.port is None else "%s:%d" % (host, port)
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n"
                           % (path, hostport, key)).encode())
        data = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in data:
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                raise Timeout("%s: no answer to the WebSocket upgrade in %.1f s"
                              % (self.bare, timeout))
            if not chunk:
                raise ConnectionClosed("%s: connection closed during the WebSocket upgrade: %r"
                                       % (self.bare, data))
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        status = lines[0].split()
        if len(status) < 2 or status[1] != "101":
            raise TestFailure("%s: WebSocket upgrade refused: %r" % (self.bare, lines[0]))
        want = base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != want:
            raise TestFailure("%s: bad Sec-WebSocket-Accept %r (want %r)"
                              % (self.bare, headers.get("sec-websocket-accept"), want))
        if headers.get("sec-websocket-protocol") != "xmpp":
            raise TestFailure("%s: subprotocol %r, not xmpp"
                              % (self.bare, headers.get("sec-websocket-protocol")))
        if headers.get("upgrade", "").lower() != "websocket":
            raise TestFailure("%s: Upgrade: %r" % (self.bare, headers.get("upgrade")))
        self._ws_buf += rest
        if DEBUG:
            print("%s: websocket %s open" % (self.user, self.ws_url))

    def _open_stream(self, timeout):
        self._parser = ET.XMLPullParser(events=("start", "end"))
        self._depth = 0
        self._root = None
        self._stream_features = None
        if self.transport == "ws":
            # every frame is a complete element: they go to the parser under a synthetic root,
            # so that they come out at depth 2 like the stanzas of a TCP stream
            self._parser.feed(b"<ws xmlns='jabber:client' xmlns:stream='%s'>" % NS_STREAM.encode())
            self.send_raw("<open xmlns=%s to=%s version='1.0'/>" % (q(NS_FRAMING), q(self.domain)))
            if self._ws_buf:                # frames that came with the 101
                self._feed(self._ws_receive(b""))
            self._pump_until(lambda: self._stream_features is not None, timeout, "stream features")
            return self._stream_features
        self.send_raw("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                      "xmlns:stream='http://etherx.jabber.org/streams' to=%s version='1.0'>"
                      % q(self.domain))
        self._pump_until(lambda: self._stream_features is not None, timeout, "stream features")
        return self._stream_features

    def _sasl_wait(self, timeout):
        self._sasl = None
        self._pump_until(lambda: self._sasl is not None, timeout, "SASL answer")
        el, self._sasl = self._sasl, None
        name = el.tag.split("}", 1)[1]
        if name == "failure":
            cond = [c.tag.split("}", 1)[1] for c in el if c.tag != tag(NS_SASL, "text")]
            raise XmppError("SASL auth of %s" % self.bare, cond[0] if cond else "failure")
        data = base64.b64decode(el.text) if el.text and el.text != "=" else b""
        return name, data

    def _auth_plain(self, timeout):
        token = base64.b64encode(("\0%s\0%s" % (self.user, self.password)).encode()).decode()
        self.send_raw("<auth xmlns=%s mechanism='PLAIN'>%s</auth>" % (q(NS_SASL), token))
        name, _ = self._sasl_wait(timeout)
        if name != "success":
            raise XmppError("SASL PLAIN", "unexpected " + name)

    def _auth_scram(self, timeout):
        user = self.user.replace("=", "=3D").replace(",", "=2C")
        cnonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = "n=%s,r=%s" % (user, cnonce)
        self.send_raw("<auth xmlns=%s mechanism='SCRAM-SHA-1'>%s</auth>" % (
            q(NS_SASL), base64.b64encode(("n,," + first_bare).encode()).decode()))
        name, server_first = self._sasl_wait(timeout)
        if name != "challenge":
            raise XmppError("SASL SCRAM", "unexpected " + name)
        attrs = dict(kv.split("=", 1) for kv in server_first.decode().split(","))
        if not attrs["r"].startswith(cnonce):
            raise XmppError("SASL SCRAM", "server nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac("sha1", self.password.encode(), base64.b64decode(attrs["s"]),
                                     int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
        stored_key = hashlib.sha1(client_key).digest()
        final_wo_proof = "c=biws,r=" + attrs["r"]
        auth_msg = ("%s,%s,%s" % (first_bare, server_first.decode(), final_wo_proof)).encode()
        sig = hmac.new(stored_key, auth_msg, hashlib.sha1).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        final = "%s,p=%s" % (final_wo_proof, base64.b64encode(proof).decode())
        self.send_raw("<response xmlns=%s>%s</response>" % (
            q(NS_SASL), base64.b64encode(final.encode()).decode()))
        name, data = self._sasl_wait(timeout)
        if name != "success":
            raise XmppError("SASL SCRAM", "unexpected " + name)
        server_key = hmac.new(salted, b"Server Key", hashlib.sha1).digest()
        want = base64.b64encode(hmac.new(server_key, auth_msg, hashlib.sha1).digest()).decode()
        if data.decode() != "v=" + want:
            raise XmppError("SASL SCRAM", "server signature mismatch")

    def disconnect(self, timeout=2.0):
        """Unavailable presence, </stream:stream> (WebSocket: <close/>), wait for the server's
        close, close (WebSocket: with a close frame)."""
        if self.sock is None:
            return
        try:
            if not self._closed:
                self.send_raw("<presence type='unavailable'/></stream:stream>")  # ws: <close/>
                try:
                    self._pump_until(lambda: self._closed, timeout, "stream close")
                except (Timeout, XmppError):
                    pass
            if self.transport == "ws" and not self._ws_close_sent:
                self._ws_close_sent = True
                self.sock.sendall(ws_frame(WS_CLOSE, (1000).to_bytes(2, "big")))
        except OSError:
            pass
        self.close()

    def close(self):
        """Closes the socket at once (no stream close: like a dropped connection)."""
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.disconnect()
        return False

    # -- I/O --

    def send_raw(self, data):
        """Sends XML text as it is (TCP), or as one masked text frame per top-level element
        (WebSocket; all of them in one write)."""
        if self.sock is None:
            raise ConnectionClosed("%s: not connected" % self.bare)
        if self.transport == "ws":
            if isinstance(data, bytes):
                data = data.decode("utf-8")
            els, rest = split_elements(data, NS_CLIENT)
            if rest.strip():
                raise TestFailure("%s: not complete elements, cannot frame for WebSocket: %r"
                                  % (self.bare, rest[:200]))
            if DEBUG:
                print("%s >> %s" % (self.user, " | ".join(els)))
            self.sock.sendall(b"".join(ws_frame(WS_TEXT, e.encode("utf-8")) for e in els))
            return
        if DEBUG:
            print("%s >> %s" % (self.user, data))
        self.sock.sendall(data.encode("utf-8") if isinstance(data, str) else data)

    def _ws_receive(self, data):
        """Takes received bytes; returns the payloads of the complete text messages among them,
        concatenated (each one a complete element). Pings are answered, a close frame is
        answered and ends the stream."""
        buf = self._ws_buf
        buf += data
        out = []
        pos, n = 0, len(buf)
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            fin, op, ln = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if b0 & 0x70:
                raise TestFailure("%s: WebSocket frame with RSV bits %#x" % (self.bare, b0))
            if b1 & 0x80:
                raise TestFailure("%s: masked WebSocket frame from the server" % self.bare)
            hl = 2
            if ln == 126:
                if n - pos < 4:
                    break
                ln, hl = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif ln == 127:
                if n - pos < 10:
                    break
                ln, hl = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            if n - pos < hl + ln:
                break
            payload = bytes(buf[pos + hl:pos + hl + ln])
            pos += hl + ln
            if op == WS_TEXT or op == WS_BINARY or op == WS_CONT:
                if op != WS_CONT and self._ws_parts:
                    raise TestFailure("%s: new WebSocket message inside a fragmented one" % self.bare)
                if op == WS_CONT and not self._ws_parts:
                    raise TestFailure("%s: WebSocket continuation without a start" % self.bare)
                if fin and not self._ws_parts:
                    out.append(payload)
                else:
                    self._ws_parts.append(payload)
                    if fin:
                        out.append(b"".join(self._ws_parts))
                        self._ws_parts = []
            elif op == WS_PING:
                if DEBUG:
                    print("%s << ws ping %r" % (self.user, payload))
                if not self._ws_close_sent:
                    self.sock.sendall(ws_frame(WS_PONG, payload))
            elif op == WS_PONG:
                pass
            elif op == WS_CLOSE:
                self.ws_close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                if DEBUG:
                    print("%s << ws close %s" % (self.user, self.ws_close_code))
                if not self._ws_close_sent:
                    self._ws_close_sent = True
                    try:
                        self.sock.sendall(ws_frame(WS_CLOSE, payload[:2]))
                    except OSError:
                        pass
                self._closed = True
                pos = n                 # nothing after a close frame counts
                break
            else:
                raise TestFailure("%s: WebSocket opcode %#x" % (self.bare, op))
        del buf[:pos]
        return b"".join(out)

    def pump(self, timeout=0.0):
        """Reads what has arrived (waiting up to timeout for the first bytes) and handles it.
        Returns False when the connection is closed."""
        if self.sock is None or self._closed:
            return False
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return True
        try:
            data = self.sock.recv(262144)
        except (ConnectionResetError, OSError):
            data = b""
        if not data:
            self._closed = True
            return False
        if self.transport == "ws":
            data = self._ws_receive(data)
        self._feed(data)
        return not self._closed

    def _feed(self, data):
        """Parses received XML and hands every complete stanza to _handle."""
        if DEBUG:
            print("%s << %s" % (self.user, data.decode("utf-8", "replace")))
        self._parser.feed(data)
        for ev, el in self._parser.read_events():
            if ev == "start":
                self._depth += 1
                if self._depth == 1:
                    self._root = el
            else:
                self._depth -= 1
                if self._depth == 1:
                    self._root.remove(el)   # keep memory flat
                    self._handle(el)
                elif self._depth == 0:
                    self._closed = True     # </stream:stream>

    def _pump_until(self, cond, timeout, what):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not cond():
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("%s: timed out after %.1f s waiting for %s"
                              % (self.bare, timeout or self.timeout, what))
            if not self.pump(left):
                if cond():
                    return
                raise ConnectionClosed("%s: connection closed while waiting for %s"
                                       % (self.bare, what))

    def _handle(self, el):
        t = el.tag
        if t == tag(NS_CLIENT, "message"):
            self._on_message(el)
        elif t == tag(NS_CLIENT, "presence"):
            self._on_presence(el)
        elif t == tag(NS_CLIENT, "iq"):
            self._on_iq(el)
        elif t == tag(NS_STREAM, "features"):
            self._stream_features = el
        elif t == tag(NS_FRAMING, "close"):
            self._closed = True             # RFC 7395: the end of the stream
        elif t == tag(NS_FRAMING, "open"):
            pass                            # RFC 7395: the server's stream header
        elif t.startswith("{%s}" % NS_SASL):
            self._sasl = el
        elif t == tag(NS_STREAM, "error"):
            cond = [c.tag.split("}", 1)[1] for c in el if c.tag.startswith("{%s}" % NS_STREAMS_ERR)]
            self._closed = True
            raise XmppError("%s: stream error" % self.bare, cond[0] if cond else "?")

    def _on_iq(self, el):
        typ, iid = el.get("type"), el.get("id")
        if typ in ("result", "error"):
            self._iq_results[iid] = el
            return
        child = el[0] if len(el) else None
        frm = el.get("from")
        if child is not None and child.tag == tag(NS_PING, "ping"):
            self.send_raw("<iq type='result' id=%s%s/>" % (q(iid), " to=%s" % q(frm) if frm else ""))
        else:
            self.send_raw("<iq type='error' id=%s%s><error type='cancel'><service-unavailable "
                          "xmlns=%s/></error></iq>" % (q(iid), " to=%s" % q(frm) if frm else "",
                                                       q(NS_STANZAS)))

    def _on_presence(self, el):
        p = Presence()
        p.xml, p.from_, p.type = el, el.get("from", ""), el.get("type")
        p.room, p.nick = bare(p.from_), resource(p.from_)
        p.codes, p.occupant, p.error = set(), None, None
        x = el.find(tag(NS_MUC_USER, "x"))
        if p.type == "error":
            p.error = error_of(el)
        elif x is not None and p.nick is not None:
            p.codes = {int(s.get("code")) for s in x.findall(tag(NS_MUC_USER, "status"))
                       if (s.get("code") or "").isdigit()}
            item = x.find(tag(NS_MUC_USER, "item"))
            occ = Occupant(p.nick, bare(item.get("jid")) if item is not None and item.get("jid") else None,
                           item.get("affiliation") if item is not None else None,
                           item.get("role") if item is not None else None, p.codes)
            p.occupant = occ
            occupants = self.rooms.setdefault(p.room, {})
            if p.type == "unavailable":
                occupants.pop(p.nick, None)
                if 110 in p.codes:
                    self.joined.discard(p.room)
                    self.nicks.pop(p.room, None)
                    self.rooms.pop(p.room, None)
            else:
                occupants[p.nick] = occ
                if 110 in p.codes:
                    self.joined.add(p.room)
                    self.nicks[p.room] = p.nick
        self.presences.append(p)

    def _on_message(self, el):
        m = Message()
        m.xml, m.time = el, time.monotonic()
        m.from_, m.to = el.get("from", ""), el.get("to")
        m.type, m.id = el.get("type", "normal"), el.get("id")
        b = el.find(tag(NS_CLIENT, "body"))
        m.body = (b.text or "") if b is not None else None
        s = el.find(tag(NS_CLIENT, "subject"))
        m.subject = (s.text or "") if s is not None else None
        delay = el.find(tag(NS_DELAY, "delay"))
        m.delayed = delay is not None
        m.delay_stamp = delay.get("stamp") if delay is not None else None
        m.error = error_of(el) if m.type == "error" else None
        sid = el.find(tag(NS_SID, "stanza-id"))
        m.stanza_id = sid.get("id") if sid is not None else None
        m.invite_from = m.invite_reason = None
        x = el.find(tag(NS_MUC_USER, "x"))
        if x is not None:
            inv = x.find(tag(NS_MUC_USER, "invite"))
            if inv is not None:
                m.invite_from = inv.get("from")
                r = inv.find(tag(NS_MUC_USER, "reason"))
                m.invite_reason = r.text if r is not None else None
        frm_bare = bare(m.from_)
        if frm_bare in self.rooms or m.type == "groupchat":
            m.room, m.nick = frm_bare, resource(m.from_)
            occ = self.rooms.get(frm_bare, {}).get(m.nick) if m.nick else None
            m.real_jid = occ.jid if occ is not None else None
        else:
            m.room, m.nick, m.real_jid = None, None, frm_bare
        self.received += 1
        if self.message_hook is not None and self.message_hook(m):
            return
        self.inbox.append(m)

    # -- generic requests --

    def iq(self, typ, to, payload, timeout=None):
        """Sends an IQ and waits for its answer: the result element; XmppError on type=error."""
        iid = new_id()
        self.send_raw("<iq type=%s id=%s%s>%s</iq>"
                      % (q(typ), q(iid), " to=%s" % q(to) if to else "", payload))
        self._pump_until(lambda: iid in self._iq_results, timeout, "iq %s to %s" % (iid, to))
        res = self._iq_results.pop(iid)
        if res.get("type") == "error":
            cond, etype, txt = error_of(res)
            raise XmppError("iq %s to %s" % (typ, to), cond, etype, txt)
        return res

    def ping(self, to=None, timeout=None):
        """XEP-0199 ping (default: the server); returns the round-trip time in seconds."""
        t0 = time.monotonic()
        self.iq("get", to or self.domain, "<ping xmlns=%s/>" % q(NS_PING), timeout)
        return time.monotonic() - t0

    def disco_info(self, jid, timeout=None):
        """(identities [(category, type, name)], features set, form fields dict)."""
        res = self.iq("get", jid, "<query xmlns=%s/>" % q(NS_DISCO_INFO), timeout)
        qel = res.find(tag(NS_DISCO_INFO, "query"))
        ids = [(i.get("category"), i.get("type"), i.get("name"))
               for i in qel.findall(tag(NS_DISCO_INFO, "identity"))]
        feats = {f.get("var") for f in qel.findall(tag(NS_DISCO_INFO, "feature"))}
        return ids, feats, _parse_form(qel.find(tag(NS_DATA, "x")))

    def disco_items(self, jid, timeout=None):
        res = self.iq("get", jid, "<query xmlns=%s/>" % q(NS_DISCO_ITEMS), timeout)
        return [(i.get("jid"), i.get("name")) for i in res.iter(tag(NS_DISCO_ITEMS, "item"))]

    # -- messages --

    def send_message(self, to, body, type="chat", id=None, extra=""):
        """Sends a message; returns its id."""
        mid = id or new_id()
        self.send_raw("<message to=%s type=%s id=%s><body>%s</body>%s</message>"
                      % (q(to), q(type), q(mid), text(body), extra))
        self.sent += 1
        return mid

    def send_chat(self, to, body, id=None):
        return self.send_message(to, body, "chat", id)

    def send_groupchat(self, room, body, id=None):
        return self.send_message(room, body, "groupchat", id)

    def wait_for_message(self, pred=None, timeout=None, with_body=True):
        """The first message (queued or arriving) that has a body (unless with_body=False) and
        matches pred; it is taken out of the inbox. Timeout when none comes in time."""
        def match(m):
            return (not with_body or m.body is not None) and (pred is None or pred(m))

        found = []

        def scan():
            for m in self.inbox:
                if match(m):
                    self.inbox.remove(m)
                    found.append(m)
                    return True
            return False

        if scan():
            return found[0]
        seen = len(self.inbox)

        def cond():
            nonlocal seen
            while seen < len(self.inbox):   # only new arrivals need a look
                m = self.inbox[seen]
                if match(m):
                    del self.inbox[seen]
                    found.append(m)
                    return True
                seen += 1
            return False

        self._pump_until(cond, timeout, "a matching message (inbox: %s)" % list(self.inbox)[-5:])
        return found[0]

    def wait_for_messages(self, n, pred=None, timeout=None):
        return [self.wait_for_message(pred, timeout) for _ in range(n)]

    def no_message(self, pred=None, within=0.5, with_body=True):
        """Asserts that no matching message arrives within `within` seconds (a negative check;
        the only fixed wait in this module, use it sparingly)."""
        try:
            m = self.wait_for_message(pred, within, with_body)
        except Timeout:
            return
        raise TestFailure("%s: unexpected message %r" % (self.bare, m))

    def drain(self, settle=0.0):
        """Handles everything that has arrived; returns and forgets the inbox."""
        self.pump(settle)
        while self.sock is not None and select.select([self.sock], [], [], 0)[0] and self.pump(0):
            pass
        out = list(self.inbox)
        self.inbox.clear()
        return out

    def wait_for_presence(self, pred, timeout=None):
        """The first presence (from now on, or still in the recent list) matching pred."""
        for p in list(self.presences):
            if pred(p):
                self.presences.remove(p)
                return p
        found = []

        def cond():
            while self.presences:
                p = self.presences.popleft()
                if pred(p):
                    found.append(p)
                    return True
            return False

        self._pump_until(cond, timeout, "a matching presence")
        return found[0]

    # -- MUC --

    def room_jid(self, name):
        return name if "@" in name else "%s@%s" % (name, self.muc)

    def join(self, room, nick=None, history=0, password=None, timeout=None, instant=True):
        """Joins a room (maxstanzas=history; None = room default). Returns our own Presence
        (codes: 110 self, 201 created, 100 non-anonymous, 210 nick changed). JoinRefused with
        .condition ("registration-required", "forbidden", "not-authorized", ...) on refusal.
        A room this join created (201) is locked until its owner configures it (Prosody's
        muc_room_locking); with instant=True (default) it is accepted as it is at once (an
        empty form: XEP-0045 "instant room"), as most clients do; instant=False leaves it
        locked for configure_room()."""
        room = self.room_jid(room)
        nick = nick or self.user
        hist = "" if history is None else "<history maxstanzas='%d'/>" % history
        pw = "" if password is None else "<password>%s</password>" % text(password)
        self.send_raw("<presence to=%s><x xmlns=%s>%s%s</x></presence>"
                      % (q(room + "/" + nick), q(NS_MUC), hist, pw))

        def mine(p):
            return p.room == room and ((p.type == "error" and p.nick == nick) or 110 in p.codes)

        p = self.wait_for_presence(mine, timeout)
        if p.type == "error":
            cond, etype, txt = p.error
            raise JoinRefused("join %s as %s" % (room, self.bare), cond, etype, txt)
        if instant and 201 in p.codes:
            self.iq("set", room, "<query xmlns=%s><x xmlns=%s type='submit'/></query>"
                    % (q(NS_MUC_OWNER), q(NS_DATA)), timeout)
        return p

    def try_join(self, room, nick=None, **kw):
        """None when joined, else the refusal's condition (e.g. "registration-required")."""
        try:
            self.join(room, nick, **kw)
            return None
        except JoinRefused as e:
            return e.condition

    def leave(self, room, timeout=None):
        room = self.room_jid(room)
        nick = self.nicks.get(room)
        if nick is None:
            return
        self.send_raw("<presence to=%s type='unavailable'/>" % q(room + "/" + nick))
        self._pump_until(lambda: room not in self.joined, timeout, "leaving " + room)

    def occupants(self, room):
        """{nick: Occupant} as the room told us (Occupant.jid is None in anonymous rooms)."""
        return dict(self.rooms.get(self.room_jid(room), {}))

    def wait_for_occupant(self, room, pred, timeout=None):
        """Waits until an occupant matching pred(Occupant) is in the room; returns it."""
        room = self.room_jid(room)
        found = []

        def cond():
            for o in self.rooms.get(room, {}).values():
                if pred(o):
                    found.append(o)
                    return True
            return False

        self._pump_until(cond, timeout, "an occupant in " + room)
        return found[0]

    def room_info(self, room, timeout=None):
        ids, feats, fields = self.disco_info(self.room_jid(room), timeout)
        return RoomInfo(ids, feats, fields)

    def room_config(self, room, timeout=None):
        """The owner configuration form as {var: value} (booleans as bool, -multi as lists)."""
        res = self.iq("get", self.room_jid(room), "<query xmlns=%s/>" % q(NS_MUC_OWNER), timeout)
        return _parse_form(res.find(".//" + tag(NS_DATA, "x")))

    def configure_room(self, room, fields=None, timeout=None, **friendly):
        """Submits the owner config form. Keywords: persistent, members_only, public, name,
        description, allow_invites, moderated, history_length, password, whois ("anyone" |
        "moderators"), non_anonymous (= whois anyone); `fields` gives raw var -> value."""
        f = dict(fields or {})
        if "non_anonymous" in friendly:
            f[ROOM_CONFIG["whois"]] = "anyone" if friendly.pop("non_anonymous") else "moderators"
        for k, v in friendly.items():
            if k not in ROOM_CONFIG:
                raise TypeError("configure_room: unknown option %r" % k)
            f[ROOM_CONFIG[k]] = v
        parts = ["<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>"]
        for var, v in f.items():
            parts.append("<field var=%s>%s</field>" % (q(var), "".join(
                "<value>%s</value>" % text(x) for x in _field_value(v))))
        self.iq("set", self.room_jid(room), "<query xmlns=%s><x xmlns=%s type='submit'>%s</x></query>"
                % (q(NS_MUC_OWNER), q(NS_DATA), "".join(parts)), timeout)

    def destroy_room(self, room, reason=None, timeout=None):
        r = "<reason>%s</reason>" % text(reason) if reason else ""
        self.iq("set", self.room_jid(room), "<query xmlns=%s><destroy>%s</destroy></query>"
                % (q(NS_MUC_OWNER), r), timeout)

    def set_affiliations(self, room, changes, reason=None, timeout=None):
        """changes: {jid: affiliation} ("owner", "admin", "member", "outcast", "none"); one IQ."""
        r = "<reason>%s</reason>" % text(reason) if reason else ""
        items = "".join("<item affiliation=%s jid=%s>%s</item>" % (q(a), q(j), r)
                        for j, a in changes.items())
        self.iq("set", self.room_jid(room), "<query xmlns=%s>%s</query>" % (q(NS_MUC_ADMIN), items),
                timeout)

    def kick(self, room, nick, reason=None, timeout=None):
        """Sets the occupant `nick`'s role to none (muc#admin): it leaves the room with status
        307 and may come back. Needs a moderator at least the target's affiliation."""
        r = "<reason>%s</reason>" % text(reason) if reason else ""
        self.iq("set", self.room_jid(room), "<query xmlns=%s><item nick=%s role='none'>%s</item>"
                "</query>" % (q(NS_MUC_ADMIN), q(nick), r), timeout)

    def set_affiliation(self, room, jid, affiliation, reason=None, timeout=None):
        self.set_affiliations(room, {jid: affiliation}, reason, timeout)

    def affiliations(self, room, affiliation="member", timeout=None):
        """Sorted bare JIDs with that affiliation (muc#admin query; needs admin/owner rights)."""
        res = self.iq("get", self.room_jid(room), "<query xmlns=%s><item affiliation=%s/></query>"
                      % (q(NS_MUC_ADMIN), q(affiliation)), timeout)
        return sorted(i.get("jid") for i in res.iter(tag(NS_MUC_ADMIN, "item")) if i.get("jid"))

    def room_members(self, room, timeout=None):
        """{bare jid: affiliation} for owner, admin and member."""
        out = {}
        for aff in ("member", "admin", "owner"):
            for j in self.affiliations(room, aff, timeout):
                out[j] = aff
        return out

    def invite(self, room, jid, reason=None):
        r = "<reason>%s</reason>" % text(reason) if reason else ""
        self.send_raw("<message to=%s><x xmlns=%s><invite to=%s>%s</invite></x></message>"
                      % (q(self.room_jid(room)), q(NS_MUC_USER), q(jid), r))


# ---- raw relay rate -----------------------------------------------------------------------------

def relay_rate(sender, receiver, room, n=5000, batch=100, window=None, timeout=120.0, size=40):
    """Pushes n groupchat messages from `sender` into `room` (both joined) as fast as the sockets
    take them (window: at most that many not yet echoed back to the sender; None = no limit),
    and counts them at `receiver`. Returns a dict: n, seconds (first send until the receiver has
    all n), rate (msg/s at the receiver), echo_seconds, echo_rate (sender's own reflections),
    lost (0 unless timed out)."""
    room = sender.room_jid(room)
    tag_ = "relay-%s " % new_id()
    pad = "x" * max(0, size - len(tag_) - 6)
    got = {"rx": 0, "echo": 0}

    def rx_hook(m):
        if m.body is not None and m.body.startswith(tag_):
            got["rx"] += 1
            return True
        return False

    def echo_hook(m):
        if m.body is not None and m.body.startswith(tag_):
            got["echo"] += 1
            return True
        return False

    receiver.message_hook, sender.message_hook = rx_hook, echo_hook
    try:
        sent = 0
        t0 = time.monotonic()
        t_rx = t_echo = None
        deadline = t0 + timeout
        while (got["rx"] < n or got["echo"] < n) and time.monotonic() < deadline:
            room_left = n - sent if window is None else min(n - sent, window - (sent - got["echo"]))
            if room_left > 0:
                k = min(batch, room_left)
                sender.send_raw("".join(
                    "<message to=%s type='groupchat' id='r%d'><body>%s%06d %s</body></message>"
                    % (q(room), sent + i, tag_, sent + i, pad) for i in range(k)))
                sent += k
            wait = 0.0 if room_left > batch else 0.05
            r, _, _ = select.select([receiver.sock, sender.sock], [], [], wait)
            if receiver.sock in r:
                receiver.pump(0)
            if sender.sock in r:
                sender.pump(0)
            if t_rx is None and got["rx"] >= n:
                t_rx = time.monotonic()
            if t_echo is None and got["echo"] >= n:
                t_echo = time.monotonic()
        sender.sent += sent
        t_rx = t_rx or time.monotonic()
        t_echo = t_echo or time.monotonic()
        return {"n": n, "seconds": t_rx - t0, "rate": got["rx"] / (t_rx - t0),
                "echo_seconds": t_echo - t0, "echo_rate": got["echo"] / (t_echo - t0),
                "lost": n - got["rx"]}
    finally:
        receiver.message_hook = sender.message_hook = None


def _cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv):
    """python3 tests/integration/xmpp.py relay [N [RUNS [WINDOW]]] — the raw relay rate of a private Prosody
    (two clients of this module in one room), and its start time."""
    if len(argv) < 1 or argv[0] != "relay":
        print(main.__doc__)
        return 2
    n = int(argv[1]) if len(argv) > 1 else 5000
    runs = int(argv[2]) if len(argv) > 2 else 3
    window = int(argv[3]) if len(argv) > 3 else None
    with Prosody(name="relay") as p:
        print("prosody started in %.3f s (pid %d, %s)" % (p.start_seconds, p.pid, p.ws_url))
        p.register_many({"relay-tx": "tx", "relay-rx": "rx"})
        tx, rx = p.client("relay-tx", "tx"), p.client("relay-rx", "rx")
        room = p.room("relay")
        tx.join(room, "tx")
        rx.join(room, "rx")
        for i in range(runs):
            cpu0 = _cpu_seconds(p.pid)
            r = relay_rate(tx, rx, room, n, window=window)
            cpu = _cpu_seconds(p.pid) - cpu0
            print("run %d: %d msgs, receiver %.0f msg/s (%.3f s), sender echoes %.0f msg/s, lost %d, "
                  "prosody cpu %.2f s" % (i + 1, n, r["rate"], r["seconds"], r["echo_rate"],
                                          r["lost"], cpu))
        tx.disconnect()
        rx.disconnect()
        p.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
