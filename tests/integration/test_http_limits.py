"""Integration tests of the HTTP server's limits (issue 16): http.timeout drops a client that
sends its headers one byte a second while other clients are served; http.max_connections
refuses a connection past the cap, and serves again once the idle ones have timed out. The
real `dealerbot run` on a free loopback port, over real TCP. Run by CTest with DEALERBOT_BIN
set; or by hand:
    DEALERBOT_BIN=build/src/dealerbot /usr/bin/python3 tests/integration/test_http_limits.py
"""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbot  # noqa: E402
from dbot import check, eq  # noqa: E402


def test_slow_client_dropped_others_served(t):
    """http.timeout: a client that sends its headers one byte a second is dropped within the
    limit, while other clients are answered all along; http.max_connections: past the cap a
    new connection is closed at once, and once the idle ones have timed out, clients are
    served again."""
    b = t.bot(http_extra="timeout = 2; max_connections = 6;")
    result = {}

    def slow():
        s = socket.create_connection(("127.0.0.1", b.port), timeout=10)
        t0 = time.monotonic()
        try:
            for ch in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 60:
                s.sendall(bytes([ch]))
                s.settimeout(1.0)
                try:
                    if s.recv(100) == b"":
                        break
                except socket.timeout:
                    pass
        except OSError:
            pass
        result["dropped_after"] = time.monotonic() - t0
        s.close()

    th = threading.Thread(target=slow)
    th.start()
    served = 0
    while th.is_alive():
        eq(b.get("/healthz", token=None).status, 200, "another client, meanwhile")
        served += 1
        time.sleep(0.2)
    th.join()
    check(result["dropped_after"] < 4.5,
          "the slow client was dropped after %.1f s (limit 2 s)" % result["dropped_after"])
    check(served >= 5, "others were served while it dawdled: %d" % served)

    # the cap: six idle connections fill it; the seventh is closed without an answer
    idle = [socket.create_connection(("127.0.0.1", b.port), timeout=5) for _ in range(6)]
    time.sleep(0.3)
    extra = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    try:
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        got = extra.recv(100)
    except OSError:
        got = b""
    eq(got, b"", "a connection past http.max_connections is closed")
    extra.close()
    b.wait_log("http.max_connections reached")
    time.sleep(2.5)  # the idle ones time out
    eq(b.get("/healthz", token=None).status, 200, "served again once the idle ones are gone")
    for s in idle:
        s.close()


if __name__ == "__main__":
    dbot.main(globals())
