"""The local load balancer's HTTP side: a threading server on 127.0.0.1 that remembers its client connections
(so a stop closes them), the request handler that hands each request to the balancer, and request-body
reading with ALB's size limit.

Example::

    server = ProxyServer(("127.0.0.1", 8080), balancer)   # balancer._proxy(handler) answers each request
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ecsdojo.control.elb.targets import MAX_REQUEST_BODY_BYTES

__all__ = ["ProxyServer", "ProxyHandler", "Response", "UpstreamFailed", "UpstreamTimedOut", "BodyTooLarge",
           "read_request_body"]


class ProxyServer(ThreadingHTTPServer):
    """A threading HTTP server that remembers its open client connections, so `stop()` can close them."""

    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], balancer: Any) -> None:
        self.balancer = balancer
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, ProxyHandler)

    def process_request(self, request, client_address) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self._open_lock:
            open_sockets, self._open = list(self._open), set()
        for connection in open_sockets:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"            # keep-alive to clients
    server_version = "ecsdojo-lb"
    disable_nagle_algorithm = True           # headers and body go in two writes: no 40 ms delayed-ACK stalls

    def setup(self) -> None:
        self.timeout = self.server.balancer.idle_timeout_s   # an idle client connection closes, as on an ALB
        super().setup()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.server.balancer._proxy(self)

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET


class UpstreamFailed(Exception):
    """The connection to a target failed before a response arrived."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class UpstreamTimedOut(Exception):
    pass


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    from_target: bool = True




class BodyTooLarge(Exception):
    pass


def read_request_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, from Content-Length or chunked transfer coding."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks, total = [], 0
        while True:
            size_line = handler.rfile.readline(1024)
            if not size_line:
                raise ValueError("truncated chunked body")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass                      # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BODY_BYTES:
                raise BodyTooLarge()
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline(1024)
    length = handler.headers.get("Content-Length")
    if not length:
        return b""
    size = int(length)
    if size < 0:
        raise ValueError("negative Content-Length")
    if size > MAX_REQUEST_BODY_BYTES:
        raise BodyTooLarge()
    body = handler.rfile.read(size)
    if len(body) != size:
        raise ValueError("truncated body")
    return body
