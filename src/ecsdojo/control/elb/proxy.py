"""The local load balancer's HTTP side: a threading server on 127.0.0.1 that remembers its client connections
(so a stop closes them), the request handler that hands each request to the balancer, and request-body
reading with ALB's size limit, the headers forwarded to a target, one exchange with a target over its pooled
keep-alive connections, and the response written back.

Example::

    server = ProxyServer(("127.0.0.1", 8080), balancer)   # balancer._proxy(handler) answers each request
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ecsdojo.control.elb.targets import (
    HOP_BY_HOP_HEADERS,
    IDEMPOTENT_METHODS,
    LOOPBACK,
    MAX_REQUEST_BODY_BYTES,
    QUICK_ACK,
    TargetRecord,
    new_connection,
    quick_ack,
)

__all__ = ["ProxyServer", "ProxyHandler", "Response", "UpstreamFailed", "UpstreamTimedOut", "BodyTooLarge",
           "read_request_body", "forward_headers", "exchange", "error_response", "write_response"]


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


def forward_headers(handler: BaseHTTPRequestHandler, body: bytes, *, port: int | None) -> list[tuple[str, str]]:
    """The headers sent on to the target: hop-by-hop ones dropped, Host kept (or the balancer's), and
    X-Forwarded-For (appended), X-Forwarded-Port and X-Forwarded-Proto set as an ALB sets them."""
    connection_tokens = {token.strip().lower() for value in handler.headers.get_all("Connection", [])
                         for token in value.split(",")}
    forwarded_for = None
    headers: list[tuple[str, str]] = []
    for name, value in handler.headers.items():
        lower = name.lower()
        if lower in HOP_BY_HOP_HEADERS or lower in connection_tokens or lower in ("content-length", "expect"):
            continue
        if lower == "x-forwarded-for":
            forwarded_for = value if forwarded_for is None else f"{forwarded_for}, {value}"
            continue
        if lower in ("x-forwarded-port", "x-forwarded-proto"):
            continue
        headers.append((name, value))
    if not any(name.lower() == "host" for name, _ in headers):
        headers.append(("Host", f"{LOOPBACK}:{port}"))
    client = handler.client_address[0]
    headers.append(("X-Forwarded-For", client if forwarded_for is None else f"{forwarded_for}, {client}"))
    headers.append(("X-Forwarded-Port", str(port)))
    headers.append(("X-Forwarded-Proto", "http"))
    if body or handler.command in ("POST", "PUT", "PATCH"):
        headers.append(("Content-Length", str(len(body))))
    return headers


def write_response(handler: BaseHTTPRequestHandler, response: Response) -> None:
    """Send `response` to the client (hop-by-hop headers dropped, Content-Length set; a client gone is no error)."""
    no_body = response.status in (204, 304) or 100 <= response.status < 200
    head = handler.command == "HEAD"
    try:
        handler.send_response_only(response.status, response.reason)
        upstream_length = None
        for name, value in response.headers:
            lower = name.lower()
            if lower == "content-length":
                upstream_length = value
                continue
            if lower in HOP_BY_HOP_HEADERS:
                continue
            handler.send_header(name, value)
        if not no_body:
            length = upstream_length if head and upstream_length is not None else len(response.body)
            handler.send_header("Content-Length", str(length))
        if handler.close_connection:
            handler.send_header("Connection", "close")
        elif handler.request_version == "HTTP/1.0":
            handler.send_header("Connection", "keep-alive")
        handler.end_headers()
        if not no_body and not head and response.body:
            handler.wfile.write(response.body)
    except OSError:
        handler.close_connection = True      # the client went away


def exchange(record: TargetRecord, method: str, path: str, headers: list[tuple[str, str]], body: bytes, *,
             timeout_s: float) -> Response:
    """One request to one target; a stale pooled connection is replaced by a fresh one, transparently.

    Raises UpstreamTimedOut when the target does not answer within `timeout_s`, UpstreamFailed when the
    connection fails (the balancer then marks the target failed and may retry elsewhere)."""
    connection, reused = record.take_connection(timeout_s)
    while True:
        sent = False
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            connection.endheaders(body if body or method in ("POST", "PUT", "PATCH") else None)
            sent = True
            quick_ack(connection.sock)
            upstream = connection.getresponse()
            payload = upstream.read()
        except TimeoutError:
            connection.close()
            raise UpstreamTimedOut() from None
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            # A keep-alive connection the target closed while idle: retry on a fresh one when that is safe.
            if reused and (not sent or method in IDEMPOTENT_METHODS):
                connection, reused = new_connection(record.target.port, timeout_s), False
                continue
            raise UpstreamFailed(error) from None
        if upstream.will_close or QUICK_ACK is None:
            connection.close()
        else:
            record.give_back(connection)
        return Response(upstream.status, upstream.reason, upstream.getheaders(), payload)


def error_response(balancer_name: str, status: int, reason: str, message: str) -> Response:
    """A response the load balancer makes itself (502, 503, 504, 413, 400), as JSON naming the balancer."""
    body = (json.dumps({"error": reason, "message": message, "load_balancer": balancer_name}) + "\n").encode()
    return Response(status, reason, [("Server", "ecsdojo-lb"), ("Content-Type", "application/json")], body,
                    from_target=False)
