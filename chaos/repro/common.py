"""What the repro scripts share: the binary under test, a private Redis, and the small TCP front most
of them put between a node and Redis to break one connection in one precise way.

Each script keeps only its own fault (its `Front.connected`) and its verdict; exit codes are the
same everywhere: 0 fixed, 1 bug reproduced, 2 inconclusive.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cluster import REPO, ChaosRedis  # noqa: E402,F401  (re-exported for the scripts)


def caraway_binary() -> Path:
    """The binary under test: CARAWAY_BIN, else the release build."""
    return Path(os.environ.get("CARAWAY_BIN") or REPO / ".build" / "release" / "caraway")


def private_redis(prefix: str) -> tuple[Path, ChaosRedis]:
    """A fresh work directory and a started Redis (AOF) inside it."""
    work = Path(tempfile.mkdtemp(prefix=f"caraway-repro-{prefix}-"))
    server = ChaosRedis(work / "redis")
    server.start()
    return work, server


def listen(port: int = 0) -> socket.socket:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    return listener


def is_reserve(data: bytes) -> bool:
    """The node's `reserve` script call on queue `celery`: the one EVALSHA carrying both the
    revocations key and the queue key."""
    return b"EVALSHA" in data.upper() and b"caraway:revoked" in data and b"\r\ncelery\r\n" in data


def close_quietly(*sockets: socket.socket) -> None:
    for s in sockets:
        try:
            s.close()
        except OSError:
            pass


def reset(sock: socket.socket) -> None:
    """Closes with linger 0: the peer gets a TCP RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    close_quietly(sock)


def pump(source: socket.socket, destination: socket.socket) -> None:
    """Copies one direction until either side closes, then closes both."""
    try:
        while data := source.recv(65536):
            destination.sendall(data)
    except OSError:
        pass
    close_quietly(source, destination)


class Front:
    """Listens on a free loopback port; for each client, `connected(client)` decides what happens
    (by default: connect to Redis and forward both ways)."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.listener = listen(0)
        self.port = self.listener.getsockname()[1]
        self.start_serving()

    def start_serving(self) -> None:
        threading.Thread(target=self.serve, args=(self.listener,), daemon=True).start()

    def serve(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # listener closed
            self.connected(client)

    def upstream(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.upstream_port))

    def connected(self, client: socket.socket) -> None:
        upstream = self.upstream()
        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
