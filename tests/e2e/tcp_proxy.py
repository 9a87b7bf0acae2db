#!/usr/bin/env python3
"""A TCP forwarder for fault tests: 127.0.0.1:LISTEN -> 127.0.0.1:TARGET, for each pair given.

    tcp_proxy.py LISTEN:TARGET [LISTEN:TARGET ...]

Written for partition_test.sh: killing the proxy drops every connection through it and refuses
new ones (the learner's endpoint is unreachable); SIGSTOP freezes it with the connections open
(packets go nowhere, nothing is reset: a silent partition); SIGCONT ends that. Prints "ready"
once every listening socket is bound.
"""
import selectors
import socket
import sys


def main():
    pairs = []
    for arg in sys.argv[1:]:
        listen, target = arg.split(":")
        pairs.append((int(listen), int(target)))
    if not pairs:
        print("usage: tcp_proxy.py LISTEN:TARGET [LISTEN:TARGET ...]", file=sys.stderr)
        return 2
    sel = selectors.DefaultSelector()
    for listen, target in pairs:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", listen))
        s.listen(64)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, ("listen", target))
    print("ready", flush=True)
    peers = {}  # socket -> the socket its bytes go to

    def close(sock):
        other = peers.pop(sock, None)
        for x in (sock, other):
            if x is None:
                continue
            try:
                sel.unregister(x)
            except (KeyError, ValueError):
                pass
            peers.pop(x, None)
            x.close()

    while True:
        for key, _ in sel.select():
            kind, target = key.data
            sock = key.fileobj
            if kind == "listen":
                client, _ = sock.accept()
                client.setblocking(True)
                upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    upstream.connect(("127.0.0.1", target))
                except OSError:
                    client.close()
                    upstream.close()
                    continue
                peers[client], peers[upstream] = upstream, client
                sel.register(client, selectors.EVENT_READ, ("pipe", None))
                sel.register(upstream, selectors.EVENT_READ, ("pipe", None))
                continue
            try:
                data = sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                close(sock)
                continue
            try:
                peers[sock].sendall(data)
            except (OSError, KeyError):
                close(sock)


if __name__ == "__main__":
    sys.exit(main())
