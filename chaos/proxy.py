"""Fault-injecting TCP proxies for the chaos harness.

Each Caraway node talks to Redis and to Postgres through its OWN proxy on loopback, so the harness
can cut, freeze or slow one node's network without touching the others:

    node ──► 127.0.0.1:<proxy port> ──► 127.0.0.1:<server port>

Modes (set per proxy, at any time, from any thread through `ProxyHub`):

- ``pass``   bytes flow (after the current delay, if any).
- ``cut``    every open connection is aborted at once (both sides see a reset/EOF) and new ones are
             either refused (the listening socket is closed, so a connect gets ECONNREFUSED, as
             from a server that is down or a firewall REJECT) or black-holed (accepted, then never
             answered until the heal, when they are closed): ``cut_style`` = ``refuse`` | ``blackhole``.
             The harness also uses ``cut``/``refuse`` while it restarts Redis or Postgres, so a node
             sees exactly what it would see without a proxy: its connections end and reconnects
             are refused until the server is back. (Accepting and closing instead would hide how a
             client handles a refused connect.)
- ``freeze`` open connections stay open but no byte moves in either direction; what was sent is
             buffered and delivered on the heal, as TCP retransmission would after a short network
             partition. New connections are held silent until the heal, then connected.
- ``delay``  is orthogonal: every chunk is delivered ``delay_ms`` after it was read, in order.

Everything runs on one asyncio loop in a daemon thread (`ProxyHub`); the harness calls the hub's
thread-safe methods. The proxies are plain byte pipes: they never parse RESP or the Postgres
protocol, so what the node sees is exactly what a network fault would show it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ProxyStats:
    accepted: int = 0
    refused: int = 0
    blackholed: int = 0
    aborted: int = 0
    upstream_failures: int = 0
    bytes_up: int = 0
    bytes_down: int = 0


class _Pipe:
    """One proxied connection: client <-> upstream, two directions, each a FIFO of (due, bytes)."""

    serial = 0

    def __init__(self, proxy: "FaultProxy", client_reader, client_writer):
        _Pipe.serial += 1
        self.number = _Pipe.serial
        peer = client_writer.get_extra_info("peername")
        self.client_port = peer[1] if peer else None
        self.proxy = proxy
        self.client_reader = client_reader
        self.client_writer = client_writer
        self.upstream_reader = None
        self.upstream_writer = None
        self.tasks: list[asyncio.Task] = []
        self.closed = False

    def abort(self, why: str = "") -> None:
        """Drops the connection on both sides at once (no FIN handshake, pending bytes discarded)."""
        if self.closed:
            return
        self.closed = True
        self.proxy.trace(self, "closed", why)
        for writer in (self.client_writer, self.upstream_writer):
            if writer is not None:
                try:
                    # SO_LINGER 0 would send RST; abort() closes without flushing, which is what a
                    # cut link looks like to the peer once its next write fails.
                    writer.transport.abort()
                except Exception:
                    pass
        for task in self.tasks:
            task.cancel()
        self.proxy.pipes.discard(self)

    async def run(self) -> None:
        proxy = self.proxy
        try:
            self.upstream_reader, self.upstream_writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", proxy.upstream_port), timeout=3.0)
        except (OSError, asyncio.TimeoutError) as error:
            proxy.stats.upstream_failures += 1
            self.abort(f"upstream connect failed: {error!r}")
            return
        proxy.trace(self, "upstream connected")
        if self.closed:  # cut while we were connecting
            self.upstream_writer.transport.abort()
            return
        for sock_writer in (self.client_writer, self.upstream_writer):
            sock = sock_writer.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass
        up: asyncio.Queue = asyncio.Queue()
        down: asyncio.Queue = asyncio.Queue()
        self.tasks = [
            asyncio.ensure_future(self._read(self.client_reader, up, "up")),
            asyncio.ensure_future(self._write(up, self.upstream_writer)),
            asyncio.ensure_future(self._read(self.upstream_reader, down, "down")),
            asyncio.ensure_future(self._write(down, self.client_writer)),
        ]
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.abort("both directions ended")

    async def _read(self, reader, queue: asyncio.Queue, direction: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if direction == "up":
                    self.proxy.stats.bytes_up += len(data)
                else:
                    self.proxy.stats.bytes_down += len(data)
                queue.put_nowait((loop.time() + self.proxy.delay_ms / 1000.0, data))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            queue.put_nowait((loop.time() + self.proxy.delay_ms / 1000.0, None))

    async def _write(self, queue: asyncio.Queue, writer) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self.proxy.flowing.wait()  # freeze: hold the bytes until the heal
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, ConnectionError):
            pass
        finally:
            # One side ended: end the whole connection (Redis and Postgres do not half-close).
            self.abort("one side ended")


class FaultProxy:
    """A loopback TCP proxy to one upstream port, with switchable faults. Loop-confined: call its
    methods only on the hub's loop (ProxyHub does that)."""

    def __init__(self, name: str, upstream_port: int, listen_port: int = 0):
        self.name = name
        self.upstream_port = upstream_port
        self.listen_port = listen_port
        self.mode = "pass"
        self.cut_style = "refuse"
        self.delay_ms = 0.0
        self.pipes: set[_Pipe] = set()
        self.server: asyncio.base_events.Server | None = None
        self.placeholder: socket.socket | None = None
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.healed = asyncio.Event()
        self.healed.set()
        self.stats = ProxyStats()
        self.trace_file = None

    def trace(self, pipe: "_Pipe", what: str, detail: str = "") -> None:
        """Connection-level trace (CHAOS_PROXY_TRACE=<dir>): one line per accept/connect/close."""
        if self.trace_file is not None:
            self.trace_file.write(f"{time.time():.4f} {self.name} #{pipe.number} client:{pipe.client_port} {what} {detail}\n")
            self.trace_file.flush()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port, reuse_address=True)
        self.listen_port = self.server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        """Real refusals: close the listening socket (SYNs then get a RST, i.e. ECONNREFUSED, as
        from a server that is down) and keep the port bound by a socket that does not listen, so
        nobody else takes it before the heal."""
        if self.server is None:
            return
        self.server.close()
        await self.server.wait_closed()
        self.server = None
        placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        placeholder.bind(("127.0.0.1", self.listen_port))
        self.placeholder = placeholder

    async def _listen_again(self) -> None:
        if self.server is not None:
            return
        if self.placeholder is not None:
            self.placeholder.close()
            self.placeholder = None
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port, reuse_address=True)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.placeholder is not None:
            self.placeholder.close()
        for pipe in list(self.pipes):
            pipe.abort()

    async def _accept(self, reader, writer) -> None:
        self.stats.accepted += 1
        pipe = _Pipe(self, reader, writer)
        self.pipes.add(pipe)
        self.trace(pipe, "accepted", f"mode={self.mode}")
        if self.mode == "cut" and self.cut_style == "refuse":
            self.stats.refused += 1
            pipe.abort("refused (cut)")
            return
        if self.mode in ("cut", "freeze"):
            # Black hole: the client's connect "succeeded" but nothing will ever answer until the heal.
            self.stats.blackholed += 1
            style = (self.mode, self.cut_style)
            await self.healed.wait()
            if style[0] == "cut" or pipe.closed:
                pipe.abort("black hole healed")
                return
        await pipe.run()

    # --- control (on the loop) ---
    async def set_pass(self) -> None:
        self.mode = "pass"
        self.flowing.set()
        self.healed.set()
        await self._listen_again()

    async def set_cut(self, style: str = "refuse") -> None:
        assert style in ("refuse", "blackhole"), style
        self.mode = "cut"
        self.cut_style = style
        self.healed.clear()
        self.flowing.set()
        for pipe in list(self.pipes):
            if pipe.upstream_writer is not None or style == "refuse":
                self.stats.aborted += 1
                pipe.abort("cut")
        if style == "refuse":
            await self._stop_listening()

    def set_freeze(self) -> None:
        self.mode = "freeze"
        self.flowing.clear()
        self.healed.clear()

    def set_delay(self, milliseconds: float) -> None:
        self.delay_ms = float(milliseconds)

    def describe(self) -> dict:
        return {"name": self.name, "listen_port": self.listen_port, "upstream_port": self.upstream_port,
                "mode": self.mode, "cut_style": self.cut_style, "delay_ms": self.delay_ms,
                "open": len(self.pipes), **self.stats.__dict__}


class ProxyHub:
    """Runs every FaultProxy on one asyncio loop in a daemon thread; thread-safe control."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.proxies: dict[str, FaultProxy] = {}
        self.thread = threading.Thread(target=self._run, name="chaos-proxies", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def _call(self, coroutine, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def _on_loop(self, function, *args):
        async def call():
            result = function(*args)
            if asyncio.iscoroutine(result):
                result = await result
            return result
        return self._call(call())

    def add(self, name: str, upstream_port: int, listen_port: int = 0) -> FaultProxy:
        async def create():
            proxy = FaultProxy(name, upstream_port, listen_port)
            trace_dir = os.environ.get("CHAOS_PROXY_TRACE")
            if trace_dir:
                proxy.trace_file = open(Path(trace_dir) / ("proxy-" + name.replace("/", "-") + ".trace"), "a")
            await proxy.start()
            return proxy
        proxy = self._call(create())
        self.proxies[name] = proxy
        return proxy

    def port(self, name: str) -> int:
        return self.proxies[name].listen_port

    def heal(self, *names: str) -> None:
        for name in names:
            self._on_loop(self.proxies[name].set_pass)

    def cut(self, *names: str, style: str = "refuse") -> None:
        for name in names:
            self._on_loop(self.proxies[name].set_cut, style)

    def freeze(self, *names: str) -> None:
        for name in names:
            self._on_loop(self.proxies[name].set_freeze)

    def delay(self, milliseconds: float, *names: str) -> None:
        for name in names:
            self._on_loop(self.proxies[name].set_delay, milliseconds)

    def describe(self) -> list[dict]:
        async def collect():
            return [p.describe() for p in self.proxies.values()]
        return self._call(collect())

    def close(self) -> None:
        async def close_all():
            for proxy in self.proxies.values():
                await proxy.close()
        try:
            self._call(close_all(), timeout=5)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def _selftest() -> None:
    """python chaos/proxy.py: a quick check of pass / delay / cut / freeze against an echo server."""
    import socketserver

    class Echo(socketserver.BaseRequestHandler):
        def handle(self):
            while data := self.request.recv(65536):
                self.request.sendall(data)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hub = ProxyHub()
    hub.add("echo", server.server_address[1])
    port = hub.port("echo")

    def roundtrip(sock):
        start = time.monotonic()
        sock.sendall(b"ping")
        assert sock.recv(16) == b"ping"
        return time.monotonic() - start

    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    print(f"pass: {roundtrip(sock) * 1000:.1f} ms")
    hub.delay(100, "echo")
    print(f"delay 100 ms: {roundtrip(sock) * 1000:.1f} ms")
    hub.delay(0, "echo")
    hub.freeze("echo")
    sock.sendall(b"ping")
    sock.settimeout(0.5)
    try:
        sock.recv(16)
        raise AssertionError("freeze let bytes through")
    except socket.timeout:
        print("freeze: no bytes")
    hub.heal("echo")
    sock.settimeout(2)
    assert sock.recv(16) == b"ping"
    print("heal after freeze: buffered bytes delivered")
    hub.cut("echo", style="refuse")
    try:
        data = sock.recv(16)
        assert data == b"", data
    except ConnectionResetError:
        pass
    print("cut: open connection dropped")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2)
        raise AssertionError("cut (refuse) accepted a connection")
    except ConnectionRefusedError:
        print("cut (refuse): new connection refused")
    hub.heal("echo")
    fresh = socket.create_connection(("127.0.0.1", port), timeout=2)
    print(f"healed: {roundtrip(fresh) * 1000:.1f} ms")
    print(hub.describe())
    hub.close()


if __name__ == "__main__":
    _selftest()
