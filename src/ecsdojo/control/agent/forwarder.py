"""The task agent's forwarder: runs INSIDE a task's container (python3 standard library only, no ecsdojo import).

It listens on the container's own loopback — 127.0.0.1:AGENT_PORT (metadata and credentials) and
127.0.0.1:AWS_PORT (the AWS endpoint) — and relays every connection, byte for byte, to the engine's Unix sockets
bind-mounted at /ecs-agent (agent.sock, aws.sock). Nothing is sent to a bridge address: the only traffic leaves
the container through the mounted Unix sockets. (The ECS agent serves 169.254.170.2 through the host's
iptables; a loopback port is the closest a local engine can get without touching the host's network.)

Run as: python3 /ecs-agent/forwarder.py TOKEN. Once both ports listen it reports `POST /ready/TOKEN` on
agent.sock (with `in-use` when another forwarder of the same network namespace already listens: the containers
of one awsvpc task share it, and either forwarder serves them all, since the engine routes by path).
"""

import os
import socket
import sys
import threading

AGENT_PORT = 51679
AWS_PORT = 51680
DIRECTORY = os.path.dirname(os.path.abspath(__file__))
BUFFER = 65536


def pipe(source, target):
    try:
        while True:
            data = source.recv(BUFFER)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def handle(client, path):
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(path)
    except OSError:
        client.close()
        upstream.close()
        return
    back = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
    back.start()
    pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def serve(listener, path):
    while True:
        client, _ = listener.accept()
        threading.Thread(target=handle, args=(client, path), daemon=True).start()


def listen(port):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    return listener


def report(token, status):
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(os.path.join(DIRECTORY, "agent.sock"))
    connection.sendall(("POST /ready/%s?status=%s HTTP/1.1\r\nHost: agent\r\nContent-Length: 0\r\n"
                        "Connection: close\r\n\r\n" % (token, status)).encode())
    while connection.recv(BUFFER):
        pass
    connection.close()


def main():
    token = sys.argv[1]
    try:
        listeners = [(listen(AGENT_PORT), os.path.join(DIRECTORY, "agent.sock")),
                     (listen(AWS_PORT), os.path.join(DIRECTORY, "aws.sock"))]
    except OSError:
        report(token, "in-use")
        return
    report(token, "listening")
    for listener, path in listeners[1:]:
        threading.Thread(target=serve, args=(listener, path), daemon=True).start()
    serve(*listeners[0])


if __name__ == "__main__":
    main()
