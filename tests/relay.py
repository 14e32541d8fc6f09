"""A loopback TCP relay that counts round trips, for the tests that prove how
many a call costs.

:class:`Relay` listens on a free port of 127.0.0.1 and forwards every
connection to a real server (memcached), byte for byte, in both directions.
It counts **request bursts**: a burst starts when a client sends bytes on a
connection after the server has answered on it (or for the first time).
However TCP cuts the bytes into segments, a client that sends its commands
together and then reads the replies makes one burst per connection it uses;
one that waits for each reply before the next command makes one per command.
So ``bursts`` is the number of round trips the client made.
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

__all__ = ["Relay", "relay"]


class Relay:
    """Forward ``127.0.0.1:port`` to ``target`` (``"host:port"``), counting
    request bursts (:attr:`bursts`, all connections together).

    :param target: the real server's ``"host:port"``.
    """

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._bursts = 0
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    @property
    def address(self) -> str:
        """``"127.0.0.1:port"`` for the client to connect to."""
        return f"127.0.0.1:{self.port}"

    @property
    def bursts(self) -> int:
        """Request bursts (round trips) counted so far."""
        with self._lock:
            return self._bursts

    def reset(self) -> None:
        """Start counting from 0 again."""
        with self._lock:
            self._bursts = 0

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(self.target)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets += [client, server]
            pump = threading.Thread(target=self._pump, args=(client, server), daemon=True)
            pump.start()
            self._threads.append(pump)

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        """Forward both ways; a client chunk after a server chunk (or the
        first one) starts a burst."""
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, server)
        selector.register(server, selectors.EVENT_READ, client)
        answered = True  # nothing asked yet: the first bytes start a burst
        try:
            while not self._stopped.is_set():
                for key, _ in selector.select(0.1):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    if not data:
                        return
                    if source is client:
                        if answered:
                            with self._lock:
                                self._bursts += 1
                            answered = False
                    else:
                        answered = True
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            client.close()
            server.close()

    def close(self) -> None:
        """Stop relaying and close every connection."""
        self._stopped.set()
        self._listener.close()
        for sock in self._sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(2)


@contextmanager
def relay(target: str) -> Iterator[Relay]:
    """A :class:`Relay` to ``target`` for the ``with`` block."""
    running = Relay(target)
    try:
        yield running
    finally:
        running.close()
