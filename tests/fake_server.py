"""A scripted memcached on loopback, for the tests of misbehaving servers.

:class:`FakeMemcached` speaks enough of memcached's text protocol to serve
the adapters (``get``/``gets``, ``set``/``add``/``replace``, ``delete``,
``incr``/``decr``, ``flush_all``, ``version``, ``quit``) and, while its
:attr:`~FakeMemcached.mode` says so, mangles its replies the ways a broken
server, proxy or network does:

``fixed``
    correct replies, as memcached 1.6 gives them.
``garbage``
    each reply replaced by a line no client can parse.
``other-key``
    each reply replaced by the reply of a ``get`` of another stored key
    (``VALUE <other> ... END``): a reply the client did not ask for.
``extra``
    the correct reply, then, a moment later in a packet of its own, the
    reply of a ``get`` of another key: the server runs one reply ahead.
``two-lines``
    ``CLIENT_ERROR bad command line format`` then ``ERROR``: what memcached
    answers to a ``set`` with an exptime it cannot parse (one command, two
    replies).
``cut``
    the first half of the correct reply, then the connection closed.
``stall``
    the first half of the correct reply, then, after
    :attr:`~FakeMemcached.stall` seconds (longer than the client's timeout),
    the rest: late bytes on a connection the client gave up on.
``bad-value``
    ``get`` answers the right key with a value its flags say it is not
    (digits that are not digits, a pickle that is not one).

The commands always act on the fake's items as memcached would; only the
replies change. The server is bounded: it binds 127.0.0.1 on a free port,
serves at most ``max_connections`` connections at once, and stops by itself
after ``lifetime`` seconds even if a test forgets to. It counts the bytes it
receives (:attr:`~FakeMemcached.received`), so a test can prove that a call
sent nothing.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType

__all__ = ["MODES", "FakeMemcached"]

MODES = ("fixed", "garbage", "other-key", "extra", "two-lines", "cut", "stall", "bad-value")

_GARBAGE = b"\x00\xff garbage 12 x\r\n"

# Items: key -> (flags, data).
_Items = dict[bytes, tuple[int, bytes]]


class FakeMemcached:
    """A scripted memcached on ``127.0.0.1`` (see the module docstring).

    :param lifetime: seconds after which the server stops by itself.
    :param max_connections: most connections served at once; more are
        closed as soon as they are accepted.
    :param stall: seconds between the two halves of a reply in ``stall`` mode.
    :param extra_delay: seconds between the reply and the unrequested one in
        ``extra`` mode (so that it arrives in a packet of its own).
    """

    def __init__(
        self,
        lifetime: float = 60.0,
        max_connections: int = 64,
        stall: float = 0.6,
        extra_delay: float = 0.005,
    ) -> None:
        self.mode = "fixed"
        self.lifetime = lifetime
        self.max_connections = max_connections
        self.stall = stall
        self.extra_delay = extra_delay
        self.items: _Items = {}
        #: Bytes received from clients, in all.
        self.received = 0
        #: Connections accepted, in all.
        self.connections = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, name="fake-memcached", daemon=True)
        self._deadline = 0.0

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> FakeMemcached:
        """Start serving (for at most :attr:`lifetime` seconds)."""
        self._deadline = time.monotonic() + self.lifetime
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop serving: close the listener and every connection, join the threads."""
        self._stopping.set()
        if self._acceptor.is_alive():
            self._acceptor.join(5)
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                connection.close()
        for thread in list(self._threads):
            thread.join(5)
        with contextlib.suppress(OSError):
            self._listener.close()

    def drop_connections(self) -> None:
        """Close every open connection (the listener stays)."""
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FakeMemcached:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- serving ------------------------------------------------------------

    def _accept(self) -> None:
        try:
            while not self._stopping.is_set() and time.monotonic() < self._deadline:
                try:
                    connection, _ = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                with self._lock:
                    self.connections += 1
                    full = len(self._open) >= self.max_connections
                    if not full:
                        self._open.add(connection)
                if full:
                    connection.close()
                    continue
                thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
                thread.start()
        finally:
            self._stopping.set()
            with contextlib.suppress(OSError):
                self._listener.close()

    def _serve(self, connection: socket.socket) -> None:
        buffer = b""
        try:
            connection.settimeout(0.05)  # (inside: stop() may have closed it already)
            while not self._stopping.is_set():
                try:
                    chunk = connection.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                with self._lock:
                    self.received += len(chunk)
                buffer += chunk
                while True:
                    request = _next_request(buffer)
                    if request is None:
                        break
                    line, data, buffer = request
                    if line.split(b" ", 1)[0] == b"quit":
                        return
                    if not self._answer(connection, line, data):
                        return
        except OSError:
            return
        finally:
            with self._lock:
                self._open.discard(connection)
            with contextlib.suppress(OSError):
                connection.close()

    def _answer(self, connection: socket.socket, line: bytes, data: bytes | None) -> bool:
        """Act on one command and send the reply as the mode says; ``False``
        when the connection is to be closed."""
        with self._lock:
            reply, noreply = _execute(self.items, line, data)
            mode = self.mode
            other = self._other_reply(line)
        if noreply:
            return True
        if mode == "fixed":
            connection.sendall(reply)
        elif mode == "garbage":
            connection.sendall(_GARBAGE)
        elif mode == "other-key":
            connection.sendall(other)
        elif mode == "extra":
            connection.sendall(reply)
            time.sleep(self.extra_delay)
            connection.sendall(other)
        elif mode == "two-lines":
            connection.sendall(b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
        elif mode == "cut":
            connection.sendall(reply[: max(1, len(reply) // 2)])
            return False
        elif mode == "stall":
            half = max(1, len(reply) // 2)
            connection.sendall(reply[:half])
            if self._stopping.wait(self.stall):
                return False
            connection.sendall(reply[half:])
        elif mode == "bad-value":
            connection.sendall(_bad_value(line) or reply)
        else:
            raise ValueError(f"unknown mode {mode!r}")
        return True

    def _other_reply(self, line: bytes) -> bytes:
        """The reply of a ``get`` of a stored key the command does not name
        (under the lock)."""
        named = set(line.split()[1:])
        for key, (flags, value) in self.items.items():
            if key not in named:
                return _value(key, flags, value) + b"END\r\n"
        return b"VALUE unasked 0 1\r\nx\r\nEND\r\n"


@contextlib.contextmanager
def running(**options: float) -> Iterator[FakeMemcached]:
    """A started :class:`FakeMemcached`, stopped whatever happens."""
    server = FakeMemcached(**options)  # type: ignore[arg-type]
    with server:
        yield server


# -- the protocol ------------------------------------------------------------

_STORAGE = {b"set", b"add", b"replace", b"append", b"prepend", b"cas"}


def _next_request(buffer: bytes) -> tuple[bytes, bytes | None, bytes] | None:
    """``(command line, data block or None, rest)``, or ``None`` until a whole
    request has arrived."""
    end = buffer.find(b"\r\n")
    if end < 0:
        return None
    line = buffer[:end]
    rest = buffer[end + 2 :]
    words = line.split()
    if words and words[0] in _STORAGE and len(words) >= 5:
        try:
            size = int(words[4])
        except ValueError:
            return line, None, rest
        if len(rest) < size + 2:
            return None
        return line, rest[:size], rest[size + 2 :]
    return line, None, rest


def _value(key: bytes, flags: int, data: bytes) -> bytes:
    return b"VALUE %s %d %d\r\n%s\r\n" % (key, flags, len(data), data)


def _execute(items: _Items, line: bytes, data: bytes | None) -> tuple[bytes, bool]:
    """memcached's answer to one command on ``items``: ``(reply, noreply)``."""
    words = line.split()
    if not words:
        return b"ERROR\r\n", False
    command, args = words[0], words[1:]
    noreply = bool(args) and args[-1] == b"noreply"
    if noreply:
        args = args[:-1]
    if command in (b"get", b"gets"):
        reply = b"".join(
            _value(key, *items[key]) if key in items else b"" for key in args
        )  # (gets: no cas unique; the adapters never ask for one)
        return reply + b"END\r\n", False
    if command in _STORAGE:
        return _store(items, command, args, data), noreply
    if command == b"delete":
        if not args:
            return b"ERROR\r\n", noreply
        return (b"DELETED\r\n" if items.pop(args[0], None) else b"NOT_FOUND\r\n"), noreply
    if command in (b"incr", b"decr"):
        return _count(items, command, args), noreply
    if command == b"flush_all":
        items.clear()
        return b"OK\r\n", noreply
    if command == b"version":
        return b"VERSION 1.6.18-fake\r\n", False
    if command == b"verbosity":
        return b"OK\r\n", noreply
    return b"ERROR\r\n", False


def _store(items: _Items, command: bytes, args: list[bytes], data: bytes | None) -> bytes:
    if len(args) < 4 or data is None:
        return b"CLIENT_ERROR bad command line format\r\n"
    key = args[0]
    try:
        flags, exptime = int(args[1]), int(args[2])
    except ValueError:
        return b"CLIENT_ERROR bad command line format\r\n"
    live = key in items
    needs_live = command in (b"replace", b"append", b"prepend")
    if (command == b"add" and live) or (needs_live and not live):
        return b"NOT_STORED\r\n"
    if exptime < 0:
        items.pop(key, None)  # stored already expired
    elif command == b"append":
        items[key] = (items[key][0], items[key][1] + data)
    elif command == b"prepend":
        items[key] = (items[key][0], data + items[key][1])
    else:
        items[key] = (flags, data)
    return b"STORED\r\n"


def _count(items: _Items, command: bytes, args: list[bytes]) -> bytes:
    if len(args) < 2 or not args[1].isdigit():
        return b"CLIENT_ERROR invalid numeric delta argument\r\n"
    key, delta = args[0], int(args[1])
    if key not in items:
        return b"NOT_FOUND\r\n"
    flags, data = items[key]
    text = data.strip()
    if not text.isdigit() or int(text) >= 2**64:
        return b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
    value = int(text)
    value = (value + delta) % 2**64 if command == b"incr" else max(0, value - delta)
    items[key] = (flags, str(value).encode())
    return b"%d\r\n" % value


def _bad_value(line: bytes) -> bytes | None:
    """A ``get`` reply for the key asked, with bytes its flags cannot be."""
    words = line.split()
    if not words or words[0] not in (b"get", b"gets") or len(words) < 2:
        return None
    parts = []
    for number, key in enumerate(words[1:]):
        flags, data = [(2, b"12x"), (1, b"\x80\x05not a pickle"), (16, b"\xff\xfe")][number % 3]
        parts.append(_value(key, flags, data))
    return b"".join(parts) + b"END\r\n"
