"""The pylibmc adapter's own text-protocol connections to memcached.

pylibmc's C code inflates every item whose flags carry its zlib bit (8)
before anything of the caller sees it, overridden ``deserialize`` or not,
and without a bound: a 99 KiB item written by any host on the cache network
inflates to 100 MiB inside ``get`` (a 1 MiB one to about 1 GiB). No setting
of pylibmc or libmemcached turns that off, so the pylibmc adapter reads no
value through pylibmc: it sends ``get``/``gets`` in memcached's text
protocol on a :class:`TextConnection` of each pooled client and server, and
hands each item over as bytes and flags, for the adapter to check and read
(docs/ADAPTERS.md, "pylibmc's reads"). The same connection carries the
batches libmemcached sends command by command (``set_multi``,
``add_multi``, ``delete_multi``: the whole batch in one write, then its
replies) and the meta commands libmemcached does not speak (``ma``, ``mg
<key> t``): docs/ADAPTERS.md, "pylibmc's batches". Single writes, counters
and deletes stay pylibmc's.

One home for what each use needs alike: connecting with the client's
timeouts (:func:`connect`, the kernel's own socket timeouts), the check for
bytes no command asked for before a command (:meth:`TextConnection.usable`,
:meth:`TextConnection.unread`), replies out of step
(:class:`OutOfStepError`), the process that owns the connection
(:attr:`TextConnection.pid`) and closing it on any exception met while a
reply is owed.

The text protocol's reply to ``get k1 k2 ...`` is, per item found,
``VALUE <key> <flags> <bytes>[ <cas>]\\r\\n<data>\\r\\n``, then ``END\\r\\n``.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
from collections.abc import Callable

from caching._replies import Found, Read, file_item, plain_number, read_asked
from caching.adapters import pool
from caching.key_rules import Key, key_stored

__all__ = [
    "SEND_WHOLE",
    "Found",
    "OutOfStepError",
    "TextConnection",
    "address_of",
    "connect",
    "send_reading",
]

_END = b"END"
_VALUE = b"VALUE"
#: The whole reply of a ``get`` that found nothing.
_MISS = b"END\r\n"

#: The flags met in replies, as memcached writes them (plain digits), and
#: their values, read without ``int()`` (at most 256 of them; docs/PERFORMANCE.md,
#: "pylibmc's reads").
_FLAG_VALUES: dict[bytes, int] = {}

#: ``b"<length>"`` of the data lengths met in replies (at most 4,096 of them).
_SIZE_TEXT: dict[int, bytes] = {}


def _flag_value(text: bytes) -> int | None:
    """The flags that ``text`` writes in plain digits (as memcached does),
    ``None`` for any other text."""
    flags = plain_number(text)
    if flags < 0:
        return None
    if len(_FLAG_VALUES) < 256:
        _FLAG_VALUES[text] = flags
    return flags


def _as_read(items: list[Found], asked: list[Key], plain: bool) -> Read:
    """``items``, read step by step, as :func:`~caching._replies.read_asked`
    gives them.

    :raises OutOfStepError: an item of a key not in ``asked``.
    """
    given = {key_stored(key): key for key in asked}
    found: dict[Key, object] = {}
    others: list[tuple[Key, bytes, int]] = []
    for stored, data, flags, _ in items:
        key = given.get(stored)
        if key is None:
            raise OutOfStepError(f"an item of a key not asked for, {stored[:60]!r}")
        file_item(found, others, key, data, flags, plain)
    return found, others


def _size_text(length: int) -> bytes:
    text = b"%d" % length
    if len(_SIZE_TEXT) < 4096:
        _SIZE_TEXT[length] = text
    return text


_CHUNK = 65536


#: Requests longer than this (bytes) are sent while their replies are read
#: (:func:`send_reading`), so that a server whose replies fill the socket
#: buffers before it has read the whole request is never left waiting on a
#: client that waits on it: memcached stops reading a connection whose
#: replies it cannot send, and a request sent whole first then never ends.
SEND_WHOLE = 65536


def address_of(spec: str) -> str:
    """The address the adapter connects to for a server ``spec`` as pylibmc
    takes it (:func:`pylibmc.client.translate_server_spec`): ``"host:port"``
    (``"[v6]:port"``) with memcached's port 11211 for a host without one and
    without a ketama weight (``"host:port:weight"``), or ``"unix:/path"``
    for a Unix socket (pylibmc's bare ``/path``). A spec pylibmc cannot read
    is returned as it is (connecting to it fails: :func:`connect`)."""
    if spec.startswith("unix:"):
        return spec
    try:
        from pylibmc.client import translate_server_spec  # type: ignore[import-untyped]

        kind, host, port, _ = translate_server_spec(spec)
    except (ImportError, ValueError, KeyError, TypeError):
        return spec
    if kind == 4:  # pylibmc's unix socket type
        return f"unix:{host}"
    if kind != 1:  # UDP: the adapter's own connections speak TCP alone
        return spec
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connect(address: str, connect_timeout: float, timeout: float) -> socket.socket:
    """A blocking text-protocol connection to ``address`` (``"host:port"``,
    ``"[v6]:port"``, ``"unix:/path"``: :func:`address_of`), opened within
    ``connect_timeout`` seconds, TCP_NODELAY, with the kernel's own timeouts
    of ``timeout`` seconds on each send and receive (``SO_SNDTIMEO``/
    ``SO_RCVTIMEO``: one system call per send and per receive, where
    Python's own timeout polls before each; a wait that ends raises
    ``BlockingIOError``, an ``OSError``), Python's where the platform
    refuses them.

    :raises OSError: the server cannot be reached, or ``address`` names no
        TCP server or Unix socket (a connection error, as a refusal).
    """
    if address.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(connect_timeout)
            sock.connect(address[5:])
        except BaseException:
            sock.close()
            raise
    else:
        host, _, port = address.rpartition(":")
        try:
            where = (host.strip("[]"), int(port))
        except ValueError:
            raise OSError(f"not a memcached server address: {address!r}") from None
        if not host:
            raise OSError(f"not a memcached server address: {address!r}")
        sock = socket.create_connection(where, connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    whole = int(timeout)
    interval = struct.pack("ll", whole, int((timeout - whole) * 1_000_000))
    try:
        sock.settimeout(None)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, interval)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, interval)
    except (OSError, AttributeError):
        sock.settimeout(timeout)
    return sock


def send_reading(sock: socket.socket, request: bytes, timeout: float) -> bytes:
    """Send ``request`` on ``sock`` while reading what the server answers
    meanwhile (``poll`` for both), for a request over :data:`SEND_WHOLE`
    bytes: the replies read so far (the caller reads the rest).

    :raises OSError: the server closed the connection, or neither read nor
        wrote anything for ``timeout`` seconds (``TimeoutError``).
    """
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLOUT)
    view = memoryview(request)
    sent, size = 0, len(request)
    received: list[bytes] = []
    wait = max(1, round(timeout * 1000))
    flags = socket.MSG_DONTWAIT
    while sent < size:
        events = poller.poll(wait)
        if not events:
            raise TimeoutError(f"no progress in {timeout} s, {sent} of {size} bytes sent")
        ready = events[0][1]
        if ready & (select.POLLIN | select.POLLHUP | select.POLLERR):
            try:
                chunk = sock.recv(_CHUNK, flags)
            except BlockingIOError:
                chunk = None
            if chunk == b"":
                raise ConnectionResetError("closed by the server")
            if chunk:
                received.append(chunk)
        if ready & select.POLLOUT:
            with contextlib.suppress(BlockingIOError):
                sent += sock.send(view[sent : sent + _CHUNK * 4], flags)
    return b"".join(received)


class OutOfStepError(Exception):
    """A reply that the commands sent cannot get (an error line, a malformed
    header, bytes after ``END`` or after the replies counted); the
    connection is closed."""


def _closed_poll(timeout: float | None = None) -> list[tuple[int, int]]:
    """:meth:`TextConnection.usable`'s poll of a closed connection."""
    return [(-1, select.POLLNVAL)]


class TextConnection:
    """One text-protocol connection of one pooled pylibmc client to one
    memcached server: ``get``/``gets`` of keys already checked (valid
    memcached keys: :meth:`fetch_one`, :meth:`fetch`), batches of one-line
    commands (:meth:`batch`, or :meth:`send` then :meth:`replies`) and meta
    commands (:meth:`ask`).

    It belongs to the process that made it (:attr:`pid`) and to one pooled
    client (checked out with it, never shared between threads). Every
    method that sends closes the connection on any exception before the
    whole reply is read (a server failure, a reply out of step, a
    ``KeyboardInterrupt``), so that no later command reads an earlier one's
    reply.

    :param address: ``"host:port"``, ``"[v6]:port"`` or ``"unix:/path"``
        (:func:`address_of`).
    :param connect_timeout: seconds to wait for the connection.
    :param timeout: seconds to wait for each part of a reply.
    :raises OSError: the server cannot be reached (:func:`connect`).
    """

    __slots__ = ("address", "pid", "poll", "sock", "timeout")

    def __init__(self, address: str, connect_timeout: float, timeout: float) -> None:
        self.address = address
        self.timeout = timeout
        self.pid = pool.process_id()
        sock = connect(address, connect_timeout, timeout)
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        self.sock, self.poll = sock, poller.poll

    def usable(self) -> bool:
        """Whether the connection is open and holds nothing no command asked
        for (a server that restarted closed it). (Whether it is of this
        process is its holder's to check, :attr:`pid`.)"""
        return not self.poll(0)  # (closed: _closed_poll)

    def unread(self) -> bytes:
        """What waits on a connection found not :meth:`usable`, which no
        command asked for (``b""``: none, the server closed it, or it was
        closed here)."""
        if self.pid != pool.process_id() or self.sock.fileno() < 0:
            return b""
        try:
            return self.sock.recv(4096, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError:  # reset by the server, or nothing after all
            return b""

    def fetch_one(self, request: bytes, key: bytes) -> Found | None:
        """:meth:`fetch` of one key's ``get``/``gets``, the common reply
        (one item, whole in one receive, or none) read in as few steps as
        can check it: the reply split once into exactly the header, the
        data, ``END`` and nothing after it, the header into exactly
        ``VALUE``, the key, the flags and the data's length, both numbers in
        plain digits (read from bounded memos, not ``int()``);
        docs/PERFORMANCE.md, "pylibmc's reads". Any other reply is read
        step by step.

        :returns: the item, ``None`` on a miss.
        :raises OSError, OutOfStepError: as :meth:`fetch`; also an item of
            another key, or more than one.
        """
        sock = self.sock
        try:
            sock.sendall(request)
            buf = sock.recv(_CHUNK)
            if buf == _MISS:
                return None
            try:  # one item whose value holds no \r\n, whole, of a get
                head, data, end, rest = buf.split(b"\r\n")
                value, named, flags, size = head.split(b" ")
            except ValueError:  # any other shape: read step by step below
                pass
            else:
                # (memcached writes numbers in plain digits: any other
                # spelling, as any other reply, is read step by step.)
                length = len(data)
                flag = _FLAG_VALUES.get(flags)
                if flag is None:
                    flag = _flag_value(flags)
                if (
                    flag is not None
                    and named == key
                    and value == _VALUE
                    and end == _END
                    and not rest
                    and size == (_SIZE_TEXT.get(length) or _size_text(length))
                ):
                    return key, data, flag, None
            found = self._read(buf, request)
        except BaseException:
            self.close()
            raise
        if not found:
            return None
        if len(found) != 1 or found[0][0] != key:
            self.close()
            raise OutOfStepError(f"{len(found)} items, of {found[0][0][:60]!r}, for {key[:60]!r}")
        return found[0]

    def fetch(self, asked: list[Key], plain: bool) -> Read:
        """Send ``get`` of ``asked`` (checked keys) and read its reply.

        A whole reply of keys in printable ASCII is read in one pass
        (:func:`~caching._replies.read_asked`); any other, step by step.

        :param plain: as :func:`~caching._replies.read_asked`'s.
        :returns: ``(found, others)`` as :func:`~caching._replies.read_asked`'s,
            keyed by the keys of ``asked``.
        :raises OSError: the server failed (refused, closed, timed out).
        :raises OutOfStepError: a reply that does not belong to this
            ``get``. (Either way, the connection is closed.)
        """
        try:
            request = b"get " + " ".join(asked).encode("ascii") + b"\r\n"  # type: ignore[arg-type]
        except (TypeError, UnicodeEncodeError):  # bytes keys, or not ASCII
            request = b"get " + b" ".join(map(key_stored, asked)) + b"\r\n"
            ascii_keys = False
        else:
            ascii_keys = True
        sock = self.sock
        try:
            if len(request) > SEND_WHOLE:  # the reply may fill the buffers first
                buf = send_reading(sock, request, self.timeout)
                return _as_read(self._read(buf, request), asked, plain)
            sock.sendall(request)
            buf = sock.recv(_CHUNK)
            if buf == _MISS:
                return {}, []
            if ascii_keys and buf.endswith(b"\r\nEND\r\n"):
                read = read_asked(buf, asked, plain)  # type: ignore[arg-type]
                if read is not None:
                    return read
            return _as_read(self._read(buf, request), asked, plain)
        except BaseException:
            self.close()
            raise

    def _read(self, buf: bytes, request: bytes) -> list[Found]:
        """The items of the reply that begins with ``buf``, read step by
        step (receiving the rest as needed; what was read is dropped from
        the buffer when more arrives, so a long reply costs its length)."""
        found: list[Found] = []
        append = found.append
        pos = 0
        while True:
            eol = buf.find(b"\r\n", pos)
            while eol < 0:
                buf, pos = self._fill(buf[pos:], len(buf) - pos + 1), 0
                eol = buf.find(b"\r\n")
            header = buf[pos:eol]
            if header == _END:
                if eol + 2 != len(buf):
                    raise OutOfStepError(f"{len(buf) - eol - 2} bytes after END")
                return found
            parts = header.split(b" ")
            if parts[0] != _VALUE or not 4 <= len(parts) <= 5:
                raise OutOfStepError(f"unexpected reply {header[:60]!r} to {request[:40]!r}")
            try:
                flags, size = int(parts[2]), int(parts[3])
                cas = int(parts[4]) if len(parts) == 5 else None
            except ValueError:
                raise OutOfStepError(f"malformed header {header[:60]!r}") from None
            start = eol + 2
            end = start + size + 2
            if len(buf) < end + 5:  # this value, and at least END after it
                buf = self._fill(buf[pos:], end + 5 - pos)
                start, end, pos = start - pos, end - pos, 0
            if buf[end - 2 : end] != b"\r\n":
                raise OutOfStepError(f"{size} bytes announced, no end of line after them")
            append((parts[1], buf[start : end - 2], flags, cas))
            pos = end

    def _fill(self, buf: bytes, need: int) -> bytes:
        """``buf`` and what more arrives, until it holds ``need`` bytes."""
        chunks = [buf]
        size = len(buf)
        while size < need:
            chunk = self.sock.recv(max(_CHUNK, need - size))
            if not chunk:
                raise ConnectionResetError("closed by the server")
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    def ask(self, request: bytes, complete: Callable[[list[bytes]], bool]) -> list[bytes]:
        """Send ``request`` (a meta command) and read reply lines until
        ``complete`` says they are all there.

        :returns: the reply lines, without their ``\\r\\n``.
        :raises OSError: as :meth:`fetch`.
        :raises OutOfStepError: bytes after the lines ``complete`` takes.
        """
        sock = self.sock
        try:
            sock.sendall(request)
            lines: list[bytes] = []
            rest = b""
            while not complete(lines):
                chunk = sock.recv(_CHUNK)
                if not chunk:
                    raise ConnectionResetError("closed by the server")
                *done, rest = (rest + chunk).split(b"\r\n")
                lines += done
            if rest:
                raise OutOfStepError(f"{len(rest)} bytes after the replies: {rest[:40]!r}")
            return lines
        except BaseException:
            self.close()
            raise

    def send(self, request: bytes) -> None:
        """Send ``request``, at most :data:`SEND_WHOLE` bytes, whose replies
        :meth:`replies` reads.

        :raises OSError: the server failed (the connection is closed).
        """
        try:
            self.sock.sendall(request)
        except BaseException:
            self.close()
            raise

    def batch(self, request: bytes, count: int) -> bytes:
        """Send ``request`` (``count`` one-line commands), then read their
        :meth:`replies`; a request over :data:`SEND_WHOLE` bytes is sent
        while its replies are read (:func:`send_reading`).

        :raises OSError, OutOfStepError: as :meth:`replies`.
        """
        try:
            if len(request) > SEND_WHOLE:
                return self.replies(count, send_reading(self.sock, request, self.timeout))
            self.sock.sendall(request)
        except BaseException:
            self.close()
            raise
        return self.replies(count)

    def replies(self, count: int, first: bytes = b"") -> bytes:
        """Read the replies of ``count`` one-line commands sent (``first``:
        those read already).

        :returns: the bytes of ``count`` lines, each ending in ``\\r\\n``
            (one ``recv`` for a small batch; docs/PERFORMANCE.md, "pylibmc's
            batches").
        :raises OSError: as :meth:`fetch`.
        :raises OutOfStepError: more bytes than ``count`` lines.
        """
        try:
            recv = self.sock.recv
            reply = first or recv(_CHUNK)
            lines = reply.count(b"\r\n")
            if lines < count:
                if not reply:
                    raise ConnectionResetError("closed by the server")
                chunks = [reply]
                while lines < count:
                    chunk = recv(_CHUNK)
                    if not chunk:
                        raise ConnectionResetError("closed by the server")
                    lines += chunk.count(b"\r\n")
                    if chunk[:1] == b"\n" and chunks[-1][-1:] == b"\r":
                        lines += 1  # a line end split between two chunks
                    chunks.append(chunk)
                reply = b"".join(chunks)
            if lines != count or not reply.endswith(b"\r\n"):
                raise OutOfStepError(f"bytes after the {count} replies: {reply[-40:]!r}")
            return reply
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the connection (a forked child's copy: only its own); it is
        no longer :meth:`usable` (its descriptor's number may be another
        socket's from now on, so it is never polled again)."""
        self.sock.close()
        self.poll = _closed_poll

    def __del__(self) -> None:
        # A client dropped without its connections closed (as libmemcached
        # does for its own): closing a forked child's copy of the socket
        # leaves the parent's connection open. (No socket: never connected.)
        sock = getattr(self, "sock", None)
        if sock is not None:
            sock.close()
