"""Reads of memcached items on connections of the adapter's own, for pylibmc.

pylibmc's C code inflates every item whose flags carry its zlib bit (8)
before anything of the caller sees it, overridden ``deserialize`` or not,
and without a bound: a 99 KiB item written by any host on the cache network
inflates to 100 MiB inside ``get`` (a 1 MiB one to about 1 GiB). No setting
of pylibmc or libmemcached turns that off, so the pylibmc adapter reads no
value through pylibmc: it sends ``get``/``gets`` in memcached's text
protocol on a :class:`ItemReader` of each pooled client and server, and
hands each item over as bytes and flags, for the adapter to check and read
(docs/ADAPTERS.md, "pylibmc's reads"). Writes, counters and deletes stay
pylibmc's.

The text protocol's reply to ``get k1 k2 ...`` is, per item found,
``VALUE <key> <flags> <bytes>[ <cas>]\\r\\n<data>\\r\\n``, then ``END\\r\\n``.
"""

from __future__ import annotations

import os
import select
import socket

__all__ = ["Found", "ItemReader", "OutOfStepError"]

#: An item as read: ``(key, data, flags, cas)``, ``cas`` ``None`` for ``get``.
Found = tuple[bytes, bytes, int, "int | None"]

_END = b"END"
_VALUE = b"VALUE"


class OutOfStepError(Exception):
    """A reply that the ``get``/``gets`` sent cannot get (an error line, a
    malformed header, bytes after ``END``); the connection is closed."""


class ItemReader:
    """One text-protocol connection to one memcached server, for ``get`` and
    ``gets`` of keys already checked (valid memcached keys).

    It belongs to the process that made it (:attr:`pid`) and to one pooled
    client (never shared between threads).

    :param address: ``"host:port"`` or ``"unix:/path"``.
    :param connect_timeout: seconds to wait for the connection.
    :param timeout: seconds to wait for each part of a reply.
    :raises OSError: the server cannot be reached.
    """

    __slots__ = ("address", "pid", "poll", "sock")

    def __init__(self, address: str, connect_timeout: float, timeout: float) -> None:
        self.address = address
        self.pid = os.getpid()
        if address.startswith("unix:"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(connect_timeout)
                sock.connect(address[5:])
            except BaseException:
                sock.close()
                raise
        else:
            host, port = address.rsplit(":", 1)
            sock = socket.create_connection((host.strip("[]"), int(port)), connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(timeout)
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        self.sock, self.poll = sock, poller.poll

    def usable(self) -> bool:
        """Whether the connection is open, of this process, and holds
        nothing no command asked for (a server that restarted closed it)."""
        return self.pid == os.getpid() and self.sock.fileno() >= 0 and not self.poll(0)

    def unread(self) -> bytes:
        """What waits on a connection found not :meth:`usable`, which no
        command asked for (``b""``: none, or the server closed it)."""
        if self.pid != os.getpid() or self.sock.fileno() < 0:
            return b""
        try:
            return self.sock.recv(4096, socket.MSG_PEEK)
        except OSError:  # reset by the server
            return b""

    def fetch(self, request: bytes) -> list[Found]:
        """Send ``request`` (one ``get``/``gets`` line) and read its reply.

        :returns: the items found, in the order the server sent them.
        :raises OSError: the server failed (refused, closed, timed out).
        :raises OutOfStepError: a reply that does not belong to a ``get``.
            (Either way, the connection is closed.)
        """
        sock = self.sock
        try:
            sock.sendall(request)
            buf: bytes | bytearray = sock.recv(65536)
            if buf == b"END\r\n":
                return []
            found: list[Found] = []
            pos = 0
            while True:
                eol = buf.find(b"\r\n", pos)
                while eol < 0:
                    buf = self._more(buf)
                    eol = buf.find(b"\r\n", pos)
                header = bytes(buf[pos:eol])
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
                end = start + size
                while len(buf) < end + 2:
                    buf = self._more(buf)
                if buf[end : end + 2] != b"\r\n":
                    raise OutOfStepError(f"{size} bytes announced, no end of line after them")
                found.append((parts[1], bytes(buf[start:end]), flags, cas))
                pos = end + 2
        except BaseException:
            self.close()
            raise

    def _more(self, buf: bytes | bytearray) -> bytearray:
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionResetError("closed by the server")
        if type(buf) is not bytearray:
            buf = bytearray(buf)
        buf += chunk
        return buf

    def close(self) -> None:
        """Close the connection (a forked child's copy: only its own)."""
        self.sock.close()

    def __del__(self) -> None:
        sock = getattr(self, "sock", None)
        if sock is not None:
            sock.close()
