"""Small HTTP backends for the elbv2 end-to-end tests, on loopback IPs.

``Backend("127.0.2.10")`` serves on an ephemeral port in a thread:

* ``GET /health``        → ``health_status`` (settable; 200 by default)
* ``GET /slow?s=1.5``    → waits that many seconds, then 200
* ``GET /reset``         → resets the connection without answering
* ``GET /garbage``       → answers bytes that are not HTTP, then closes
* ``POST /echo``         → streams the request body back (chunked)
* anything else          → 200, a JSON body naming the backend, the path and the
  forwarding headers it received

Every request is counted in ``hits`` (by path) so tests can see who served what.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes
    server: _Server

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json", extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        backend = self.server.backend
        with backend.lock:
            backend.hits[url.path] += 1
        if url.path == "/health":
            self._send(backend.health_status, b"ok" if backend.health_status == 200 else b"sick")
            return
        if url.path == "/slow":
            time.sleep(float(parse_qs(url.query).get("s", ["1"])[0]))
        elif url.path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        elif url.path == "/garbage":
            self.wfile.write(b"this is not HTTP at all\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        extra = {}
        if backend.app_cookie and "cookie" not in {k.lower() for k in self.headers}:
            extra["Set-Cookie"] = f"{backend.app_cookie}=hello"
        body = json.dumps(
            {
                "backend": backend.name,
                "path": self.path,
                "host": self.headers.get("Host"),
                "xff": self.headers.get("X-Forwarded-For"),
                "proto": self.headers.get("X-Forwarded-Proto"),
                "port": self.headers.get("X-Forwarded-Port"),
                "trace": self.headers.get("X-Amzn-Trace-Id"),
            }
        ).encode()
        self._send(200, body, extra=extra)

    def do_POST(self) -> None:  # noqa: N802
        backend = self.server.backend
        with backend.lock:
            backend.hits[self.path] += 1
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data = self.rfile.read(size)
                self.rfile.readline()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            remaining = int(self.headers.get("Content-Length", "0"))
            while remaining:
                data = self.rfile.read(min(remaining, 65536))
                remaining -= len(data)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.write(b"0\r\n\r\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    backend: Backend


class Backend:
    def __init__(self, ip: str, name: str | None = None) -> None:
        self.ip = ip
        self.name = name or ip
        self.health_status = 200
        self.app_cookie = ""
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.server = _Server((ip, 0), _Handler)
        self.server.backend = self
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def target(self) -> dict[str, object]:
        return {"Id": self.ip, "Port": self.port}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class UpgradeBackend:
    """A raw backend: ``/health`` answers 200; any other request is switched
    (``101``, ``Upgrade: echo``) and then every byte is echoed back."""

    def __init__(self, ip: str) -> None:
        self.ip = ip
        self.sock = socket.create_server((ip, 0))
        self.port = int(self.sock.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def target(self) -> dict[str, object]:
        return {"Id": self.ip, "Port": self.port}

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                piece = conn.recv(4096)
                if not piece:
                    return
                head += piece
            if head.startswith(b"GET /health "):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                return
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
            rest = head.split(b"\r\n\r\n", 1)[1]
            if rest:
                conn.sendall(rest)
            while piece := conn.recv(4096):
                conn.sendall(piece)

    def close(self) -> None:
        self.sock.close()
