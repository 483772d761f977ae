#!/usr/bin/env python3
"""dingtalk_sim.py — a local DingTalk (钉钉) for tests: the Stream-mode gateway and the OpenAPI
calls dealerbot makes, on one loopback port (Python 3 standard library only).

    dingtalk_sim.py --port 0 --client-id ID --client-secret SECRET [--robot-code CODE]
                    [--ping-interval S] [--resend-after S] [--resend-for S] [--token-ttl S]

Prints one line "port N" on stdout once it listens, then serves until killed. Nothing here is
DingTalk's code; each part follows a documented (or, where marked, observed/assumed)
behaviour:

Gateway (connection open)
  POST /v1.0/gateway/connections/open with JSON {clientId, clientSecret, subscriptions, ua}
  -> 200 {"endpoint": "ws://<this server>/connect", "ticket": "<random>"}. Both fields
  non-empty, the ticket single-use (dingtalk-stream-sdk-go client.go and the Python SDK's
  stream.py get a new ticket for each connection). Wrong credentials -> 401 JSON error
  (assumed shape {"code","message"}, the OpenAPI's error body). The Node SDK sends
  "Accept: application/json" (the real gateway answers XML without it, per the SDK's own
  comment); this simulator answers JSON either way.

Stream (WebSocket, RFC 6455, text frames of JSON)
  GET /connect?ticket=T upgrades; an unknown or used ticket -> 401, no upgrade.
  Down frames: {"specVersion":"1.0","type":"SYSTEM"|"EVENT"|"CALLBACK","headers":{"topic",
  "messageId","contentType":"application/json","time","appId","connectionId"},"data":
  "<JSON string>"} (payload/data_frame.go of the Go SDK, frames.py of the Python SDK).
  Every down frame must be answered with {"code":200,"headers":{"messageId",...},"message":
  "OK","data":"<JSON string>"} (Go SDK processDataFrame, Node SDK onSystem/onEvent/send).
  SYSTEM "ping" every --ping-interval seconds; the answer must echo its data (Node SDK onSystem
  "ping"). A CALLBACK that is not answered is pushed again every --resend-after seconds for
  --resend-for seconds (the Node SDK's comment: the server re-pushes an unanswered message for
  about 60 s); so is one answered with a 5xx code (assumed: the SDKs' codes say 500 is a
  failure, 400/404 a final refusal). SYSTEM "disconnect" (control API) is followed by a close after 1 s (Go SDK
  OnDisconnect: the server will close; the client reconnects with a new ticket). WebSocket
  pings from the client are answered with pongs (the Go SDK's keepalive relies on it).
  Robot message callbacks use topic /v1.0/im/bot/messages/get; their data carries
  conversationType ("1" single chat, "2" group), conversationId, senderStaffId, senderNick,
  msgId, msgtype "text", text.content, createAt, isInAtList, robotCode, chatbotUserId
  (chatbot/model.go of the Go SDK, chatbot.py of the Python SDK). Groups deliver only
  messages that @mention the bot (DingTalk's documented robot behaviour): the control API's
  callback is that message.

OpenAPI
  POST /v1.0/oauth2/accessToken {appKey, appSecret} -> {"accessToken","expireIn"} (seconds,
  --token-ttl, default 7200 as documented); wrong credentials -> 400 JSON error (assumed).
  POST /v1.0/robot/groupMessages/send and /v1.0/robot/oToMessages/batchSend with header
  x-acs-dingtalk-access-token: an unknown or expired token -> 401 {"code":
  "InvalidAuthentication"} (the Python SDK resets its token on 401); a body without robotCode
  equal to ours, without msgKey, or whose msgParam is not a JSON string of at most 15,000
  bytes -> 400 {"code":"invalidParameter"} (documented msgParam limit); a group the robot is
  not in (removed with the control API) -> 400 {"code":"resource.not.found"} (assumed code; the
  documented rule is that the robot must be in the group) -> otherwise 200 {"processQueryKey":
  "<random>"} (group) or {"processQueryKey", "invalidStaffIdList":[], "flowControlledStaffIdList":
  []} (batchSend's documented answer fields).
  Throttling (control API): HTTP 429 {"code":"Throttling"} or HTTP 403 {"code":
  "Forbidden.AccessDenied.QpsLimitForApi"} (DingTalk's documented flow-control code for the new
  OpenAPI; the limit lasts one second) or, for batchSend, 200 with the user in
  flowControlledStaffIdList and no processQueryKey.

HTTP/1.1 with keep-alive (requests with Content-Length; no chunked bodies). Limits: headers
64 KiB, bodies 1 MiB, WebSocket messages 1 MiB.

Control API for tests (JSON in and out, same port, under /_sim/):
  GET  /_sim/state                  counters, connection count, pending callbacks
  POST /_sim/callback {...}         push a robot-message CALLBACK (fields: conversationType,
                                    conversationId, senderStaffId, text, msgId; "omit": [names]
                                    leaves fields out; "data_raw": any JSON value used as data
                                    as it is) -> {"messageId"}; queued until a stream is open
  POST /_sim/raw {"text": "..."}    send one text frame as it is (bad-input tests)
  GET  /_sim/acks                   {"acks": {messageId: code}, "pending": [messageId]}
  GET  /_sim/sent?since=N           messages accepted by the send APIs, from index N
  POST /_sim/drop                   close every stream at once (TCP reset, no close frame)
  POST /_sim/disconnect             SYSTEM disconnect, then close
  POST /_sim/ping                   one SYSTEM ping now -> {"messageId"}
  POST /_sim/throttle {"count","mode"}   the next count sends: mode "429" | "flow" | "flowdm"
  POST /_sim/fail {"what","count","mode"} what "open" (401 at the gateway) | "send" (mode
                                    "notjson" | "nokey" | "500") | "token" (401 on token)
  POST /_sim/delay {"ms"}           answer every send after ms milliseconds
  POST /_sim/group {"openConversationId","member"}  add or remove the robot from a group
  POST /_sim/expire_tokens          every issued token is now unknown (401)
"""
import argparse
import asyncio
import base64
import hashlib
import json
import os
import secrets
import struct
import sys
import time
import urllib.parse

TOPIC_ROBOT = "/v1.0/im/bot/messages/get"
MAX_HEAD = 65536
MAX_BODY = 1 << 20
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def rid(n=16):
    return secrets.token_hex(n)


class Stream:
    """One open WebSocket stream."""

    def __init__(self, sim, reader, writer):
        self.sim = sim
        self.reader = reader
        self.writer = writer
        self.id = rid(8)
        self.closed = False

    def send_text(self, text):
        if self.closed:
            return
        data = text.encode() if isinstance(text, str) else text
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", 0x81, n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x81, 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 127, n)
        self.writer.write(head + data)

    def send_ctl(self, opcode, payload=b""):
        if not self.closed:
            self.writer.write(struct.pack("!BB", 0x80 | opcode, len(payload)) + payload)

    def abort(self):
        self.closed = True
        try:
            self.writer.transport.abort()
        except Exception:
            pass


class Sim:
    def __init__(self, args):
        self.a = args
        self.port = 0
        self.tickets = set()
        self.tokens = {}  # token -> expiry (monotonic)
        self.streams = []
        self.pending = {}  # messageId -> [frame_text, first_sent, last_sent]
        self.queued = []  # frames waiting for a stream
        self.acks = {}  # messageId -> code
        self.sent = []
        self.removed_groups = set()
        self.throttle = {"count": 0, "mode": "429"}
        self.fail = {"open": 0, "send": 0, "send_mode": "notjson", "token": 0}
        self.delay_ms = 0
        self.stats = {k: 0 for k in (
            "opens", "opens_refused", "streams", "tokens", "tokens_refused", "sends",
            "sends_ok", "sends_401", "sends_throttled", "sends_refused", "sends_bad",
            "frames_in", "frames_bad", "acks", "pings_sent", "pongs", "resent", "ws_pings")}

    # ---- stream side ----

    def frame(self, ftype, topic, data, mid=None):
        mid = mid or rid(12)
        return mid, json.dumps({
            "specVersion": "1.0", "type": ftype,
            "headers": {"topic": topic, "messageId": mid, "contentType": "application/json",
                        "time": str(int(time.time() * 1000)), "appId": self.a.client_id,
                        "connectionId": self.streams[0].id if self.streams else ""},
            "data": data}, ensure_ascii=False)

    def push(self, mid, text, track=True):
        if track:
            now = time.monotonic()
            self.pending[mid] = [text, now, now]
        live = [s for s in self.streams if not s.closed]
        if live:
            live[0].send_text(text)
        else:
            self.queued.append((mid, text))

    def on_up_frame(self, text):
        self.stats["frames_in"] += 1
        try:
            f = json.loads(text)
            mid = f["headers"]["messageId"]
            code = int(f["code"])
            if not isinstance(f.get("data", ""), str):
                raise ValueError("data is not a string")
        except Exception:
            self.stats["frames_bad"] += 1
            return
        self.stats["acks"] += 1
        self.acks.setdefault(mid + "/codes", []).append(code)
        self.acks[mid] = code
        if code < 500:
            self.pending.pop(mid, None)

    async def resend_loop(self):
        while True:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            for mid, p in list(self.pending.items()):
                if now - p[1] > self.a.resend_for:
                    del self.pending[mid]
                    continue
                if now - p[2] >= self.a.resend_after:
                    p[2] = now
                    live = [s for s in self.streams if not s.closed]
                    if live:
                        self.stats["resent"] += 1
                        live[0].send_text(p[0])

    async def ping_loop(self):
        if self.a.ping_interval <= 0:
            return
        while True:
            await asyncio.sleep(self.a.ping_interval)
            self.send_ping()

    def send_ping(self):
        mid, text = self.frame("SYSTEM", "ping", json.dumps({"opaque": rid(6)}))
        self.stats["pings_sent"] += 1
        self.push(mid, text, track=False)
        self.acks.pop(mid, None)
        return mid

    async def serve_stream(self, s):
        self.streams.append(s)
        self.stats["streams"] += 1
        for mid, text in self.queued:
            s.send_text(text)
        self.queued = []
        for mid, p in self.pending.items():  # unanswered ones again on the new stream
            s.send_text(p[0])
        buf = []
        try:
            while not s.closed:
                h = await s.reader.readexactly(2)
                op = h[0] & 0x0F
                fin = h[0] & 0x80
                masked = h[1] & 0x80
                n = h[1] & 0x7F
                if n == 126:
                    n = struct.unpack("!H", await s.reader.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", await s.reader.readexactly(8))[0]
                if n > MAX_BODY or not masked:
                    break
                key = await s.reader.readexactly(4)
                raw = await s.reader.readexactly(n)
                payload = bytes(b ^ key[i % 4] for i, b in enumerate(raw))
                if op == 0x9:
                    self.stats["ws_pings"] += 1
                    s.send_ctl(0xA, payload[:125])
                    continue
                if op == 0xA:
                    self.stats["pongs"] += 1
                    continue
                if op == 0x8:
                    s.send_ctl(0x8, payload[:2])
                    break
                buf.append(payload)
                if sum(len(b) for b in buf) > MAX_BODY:
                    break
                if fin:
                    msg = b"".join(buf)
                    buf = []
                    self.on_up_frame(msg.decode("utf-8", "replace"))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            s.closed = True
            if s in self.streams:
                self.streams.remove(s)
            try:
                s.writer.close()
            except Exception:
                pass

    # ---- HTTP side ----

    async def handle(self, reader, writer):
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                if len(head) > MAX_HEAD:
                    return
                lines = head.decode("latin-1").split("\r\n")
                try:
                    method, target, _ = lines[0].split(" ", 2)
                except ValueError:
                    return
                hdr = {}
                for ln in lines[1:]:
                    if ":" in ln:
                        k, v = ln.split(":", 1)
                        hdr[k.strip().lower()] = v.strip()
                n = int(hdr.get("content-length", "0") or 0)
                if n > MAX_BODY:
                    await self.answer(writer, 413, {"code": "tooLarge"}, close=True)
                    return
                body = await reader.readexactly(n) if n else b""
                url = urllib.parse.urlsplit(target)
                if url.path == "/connect" and hdr.get("upgrade", "").lower() == "websocket":
                    await self.upgrade(reader, writer, url, hdr)
                    return
                status, obj, raw = await self.route(method, url, hdr, body)
                close = hdr.get("connection", "").lower() == "close"
                await self.answer(writer, status, obj, close=close, raw=raw)
                if close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def answer(self, writer, status, obj, close=False, raw=None):
        body = raw if raw is not None else json.dumps(obj, ensure_ascii=False).encode()
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                  404: "Not Found", 413: "Payload Too Large", 429: "Too Many Requests",
                  500: "Internal Server Error"}.get(status, "Status")
        ctype = "application/json" if raw is None else "text/html"
        writer.write((f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype};charset=utf-8\r\n"
                      f"Content-Length: {len(body)}\r\n"
                      f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n").encode() + body)
        await writer.drain()

    async def upgrade(self, reader, writer, url, hdr):
        q = urllib.parse.parse_qs(url.query)
        ticket = (q.get("ticket") or [""])[0]
        if ticket not in self.tickets:
            await self.answer(writer, 401, {"code": "invalidTicket", "message": "unknown ticket"},
                              close=True)
            return
        self.tickets.discard(ticket)
        key = hdr.get("sec-websocket-key", "")
        acc = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Accept: {acc}\r\n\r\n").encode())
        await writer.drain()
        await self.serve_stream(Stream(self, reader, writer))

    def token_ok(self, hdr):
        t = hdr.get("x-acs-dingtalk-access-token", "")
        exp = self.tokens.get(t)
        return exp is not None and exp > time.monotonic()

    async def route(self, method, url, hdr, body):
        path = url.path
        try:
            req = json.loads(body) if body else {}
        except ValueError:
            req = None
        if path.startswith("/_sim/"):
            return self.control(method, path, url, req)
        if method != "POST":
            return 404, {"code": "notFound"}, None
        if req is None or not isinstance(req, dict):
            return 400, {"code": "invalidParameter", "message": "body is not JSON"}, None
        if path == "/v1.0/gateway/connections/open":
            self.stats["opens"] += 1
            if self.fail["open"] > 0 or req.get("clientId") != self.a.client_id or \
                    req.get("clientSecret") != self.a.client_secret:
                self.fail["open"] = max(0, self.fail["open"] - 1)
                self.stats["opens_refused"] += 1
                return 401, {"code": "InvalidAuthentication", "message": "bad client"}, None
            subs = req.get("subscriptions")
            if not isinstance(subs, list):
                return 400, {"code": "invalidParameter", "message": "subscriptions"}, None
            t = rid()
            self.tickets.add(t)
            return 200, {"endpoint": f"ws://127.0.0.1:{self.port}/connect", "ticket": t}, None
        if path == "/v1.0/oauth2/accessToken":
            if self.fail["token"] > 0:
                self.fail["token"] -= 1
                self.stats["tokens_refused"] += 1
                return 401, {"code": "InvalidAuthentication", "message": "refused"}, None
            if req.get("appKey") != self.a.client_id or req.get("appSecret") != self.a.client_secret:
                self.stats["tokens_refused"] += 1
                return 400, {"code": "invalidClientIdOrSecret", "message": "bad app"}, None
            t = rid()
            self.tokens[t] = time.monotonic() + self.a.token_ttl
            self.stats["tokens"] += 1
            return 200, {"accessToken": t, "expireIn": self.a.token_ttl}, None
        if path in ("/v1.0/robot/groupMessages/send", "/v1.0/robot/oToMessages/batchSend"):
            return await self.send(path, hdr, req)
        return 404, {"code": "notFound"}, None

    async def send(self, path, hdr, req):
        self.stats["sends"] += 1
        if self.delay_ms:
            await asyncio.sleep(self.delay_ms / 1000)
        group = path.endswith("groupMessages/send")
        if not self.token_ok(hdr):
            self.stats["sends_401"] += 1
            return 401, {"code": "InvalidAuthentication", "message": "不合法的access_token"}, None
        if self.throttle["count"] > 0:
            mode = self.throttle["mode"]
            if mode != "flowdm" or not group:
                self.throttle["count"] -= 1
                self.stats["sends_throttled"] += 1
                if mode == "429":
                    return 429, {"code": "Throttling", "message": "too many requests"}, None
                if mode == "flow":
                    return 403, {"code": "Forbidden.AccessDenied.QpsLimitForApi",
                                 "message": "qps limit"}, None
                return 200, {"invalidStaffIdList": [],
                             "flowControlledStaffIdList": list(req.get("userIds") or [])}, None
        if self.fail["send"] > 0:
            self.fail["send"] -= 1
            mode = self.fail["send_mode"]
            if mode == "notjson":
                return 200, None, b"<html>gateway hiccup</html>"
            if mode == "nokey":
                return 200, {"result": "ok"}, None
            return 500, {"code": "ServiceUnavailable", "message": "try later"}, None
        param = req.get("msgParam")
        ok = req.get("robotCode") == self.a.robot_code and isinstance(req.get("msgKey"), str) \
            and isinstance(param, str) and len(param.encode()) <= 15000
        try:
            p = json.loads(param) if ok else None
            ok = ok and isinstance(p, dict)
        except ValueError:
            ok = False
        if group:
            cid = req.get("openConversationId")
            ok = ok and isinstance(cid, str) and cid != ""
        else:
            users = req.get("userIds")
            ok = ok and isinstance(users, list) and 0 < len(users) <= 20
        if not ok:
            self.stats["sends_bad"] += 1
            return 400, {"code": "invalidParameter", "message": "bad request body"}, None
        if group and cid in self.removed_groups:
            self.stats["sends_refused"] += 1
            return 400, {"code": "resource.not.found", "message": "robot is not in the group"}, None
        key = rid()
        self.stats["sends_ok"] += 1
        self.sent.append({"group": group, "to": cid if group else req["userIds"],
                          "msgKey": req["msgKey"], "title": p.get("title"),
                          "text": p.get("text", p.get("content")), "processQueryKey": key,
                          "t": time.time()})
        if group:
            return 200, {"processQueryKey": key}, None
        return 200, {"processQueryKey": key, "invalidStaffIdList": [],
                     "flowControlledStaffIdList": []}, None

    def control(self, method, path, url, req):
        req = req if isinstance(req, dict) else {}
        if path == "/_sim/state":
            return 200, {"stats": self.stats, "streams": len([s for s in self.streams
                                                              if not s.closed]),
                         "pending": len(self.pending), "sent": len(self.sent)}, None
        if path == "/_sim/acks":
            return 200, {"acks": self.acks, "pending": list(self.pending)}, None
        if path == "/_sim/sent":
            since = int((urllib.parse.parse_qs(url.query).get("since") or ["0"])[0])
            return 200, {"sent": self.sent[since:], "total": len(self.sent)}, None
        if method != "POST":
            return 404, {"code": "notFound"}, None
        if path == "/_sim/callback":
            if "data_raw" in req:
                data = req["data_raw"]
            else:
                ctype = str(req.get("conversationType", "2"))
                d = {"conversationId": req.get("conversationId", "cid-none"),
                     "conversationType": ctype,
                     "conversationTitle": req.get("conversationTitle", ""),
                     "msgId": req.get("msgId") or "msg" + rid(10),
                     "msgtype": "text", "text": {"content": req.get("text", "")},
                     "createAt": int(time.time() * 1000),
                     "senderId": "$:LWCP_v1:$" + rid(8),
                     "senderStaffId": req.get("senderStaffId", ""),
                     "senderNick": req.get("senderNick", "someone"),
                     "senderCorpId": "ding-corp", "isAdmin": False,
                     "chatbotUserId": "$:LWCP_v1:$bot", "chatbotCorpId": "ding-corp",
                     "robotCode": self.a.robot_code, "isInAtList": True,
                     "atUsers": [{"dingtalkId": "$:LWCP_v1:$bot"}],
                     "sessionWebhook": f"http://127.0.0.1:{self.port}/robot/sendBySession",
                     "sessionWebhookExpiredTime": int(time.time() * 1000) + 5400000}
                for k in req.get("omit", []):
                    d.pop(k, None)
                data = json.dumps(d, ensure_ascii=False)
            mid, text = self.frame("CALLBACK", TOPIC_ROBOT, data, req.get("messageId"))
            self.acks.pop(mid, None)
            self.push(mid, text)
            return 200, {"messageId": mid}, None
        if path == "/_sim/raw":
            for s in self.streams:
                s.send_text(str(req.get("text", "")))
            return 200, {"streams": len(self.streams)}, None
        if path == "/_sim/drop":
            n = len(self.streams)
            for s in list(self.streams):
                s.abort()
            return 200, {"dropped": n}, None
        if path == "/_sim/disconnect":
            n = len(self.streams)
            for s in list(self.streams):
                mid, text = self.frame("SYSTEM", "disconnect", json.dumps({"reason": "test"}))
                s.send_text(text)
                asyncio.get_running_loop().call_later(1.0, s.abort)
            return 200, {"disconnected": n}, None
        if path == "/_sim/ping":
            return 200, {"messageId": self.send_ping()}, None
        if path == "/_sim/throttle":
            self.throttle = {"count": int(req.get("count", 0)), "mode": str(req.get("mode", "429"))}
            return 200, self.throttle, None
        if path == "/_sim/fail":
            what = req.get("what")
            if what not in ("open", "send", "token"):
                return 400, {"code": "bad what"}, None
            self.fail[what] = int(req.get("count", 1))
            if what == "send":
                self.fail["send_mode"] = str(req.get("mode", "notjson"))
            return 200, self.fail, None
        if path == "/_sim/delay":
            self.delay_ms = int(req.get("ms", 0))
            return 200, {"ms": self.delay_ms}, None
        if path == "/_sim/group":
            cid = str(req.get("openConversationId", ""))
            if req.get("member", True):
                self.removed_groups.discard(cid)
            else:
                self.removed_groups.add(cid)
            return 200, {"removed": sorted(self.removed_groups)}, None
        if path == "/_sim/expire_tokens":
            self.tokens.clear()
            return 200, {}, None
        return 404, {"code": "notFound"}, None


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    ap.add_argument("--robot-code")
    ap.add_argument("--ping-interval", type=float, default=10.0)
    ap.add_argument("--resend-after", type=float, default=5.0)
    ap.add_argument("--resend-for", type=float, default=60.0)
    ap.add_argument("--token-ttl", type=int, default=7200)
    a = ap.parse_args()
    a.robot_code = a.robot_code or a.client_id
    sim = Sim(a)
    server = await asyncio.start_server(sim.handle, "127.0.0.1", a.port, limit=MAX_HEAD + 1,
                                        backlog=256)
    sim.port = server.sockets[0].getsockname()[1]
    print(f"port {sim.port}", flush=True)
    asyncio.get_running_loop().create_task(sim.resend_loop())
    asyncio.get_running_loop().create_task(sim.ping_loop())
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
