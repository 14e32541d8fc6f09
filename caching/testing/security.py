"""The security probe of ``python -m caching check``: "foreign pickle refused".

memcached has no authentication: any host that reaches its port can write
any key. The probe writes, with a raw connection to each server, an unsigned
pickle item (flags 1) whose unpickling calls a harmless function of this
module, and reads it back through the adapter. It holds (``ok``) when the
adapter answers a miss and nothing ran, as with ``secret=`` or
``serializer=json``/``msgpack``; with plain pickle it reports ``warn`` (code
from any host on the cache network runs in every reader), not a failure
(docs/ADAPTERS.md, "Serializers, signed items, compression").
"""

from __future__ import annotations

import pickle
import uuid
from typing import Any

from caching.adapters.health import connect
from caching.adapters.serializer import FLAG_PICKLE
from caching.contract import Cache
from caching.testing.probes import Outcome, probe_key

__all__ = ["FOREIGN_PICKLE", "foreign_pickle"]

#: The probe's name, as ``check`` prints it.
FOREIGN_PICKLE = "foreign pickle"

# Tokens of the canaries that were unpickled in this process.
_RAN: set[str] = set()


def _canary_ran(token: str) -> str:
    """Called by unpickling a :class:`_Canary`: the code a foreign writer runs."""
    _RAN.add(token)
    return "canary"


class _Canary:
    def __init__(self, token: str) -> None:
        self.token = token

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _canary_ran, (self.token,)


def _raw_set(address: str, key: bytes, data: bytes, timeout: float) -> bool:
    with connect(address, timeout) as connection:
        connection.sendall(b"set %s %d 60 %d\r\n%s\r\n" % (key, FLAG_PICKLE, len(data), data))
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = connection.recv(256)
            if not chunk:
                break
            reply += chunk
    return reply == b"STORED\r\n"


def foreign_pickle(cache: Cache, timeout: float = 5.0) -> Outcome | None:
    """Probe whether ``cache`` unpickles an item a foreign writer stored.

    :param cache: a memcached adapter (anything else: ``None``, no probe).
    :param timeout: seconds for each raw connection.
    :returns: ``ok`` (refused, nothing ran), ``warn`` (unsigned pickle: it
        ran), ``FAIL`` (a safe setting that still ran it), ``skip`` (no
        server took the raw write); ``None`` for a backend without servers.
    """
    codec = getattr(cache, "codec", None)
    servers = getattr(cache, "servers", None)
    stored_keys = getattr(cache, "_stored_keys", None)
    if codec is None or not servers or servers == ["pool"] or stored_keys is None:
        return None
    token = uuid.uuid4().hex
    key = probe_key("foreign-pickle")
    payload = pickle.dumps(_Canary(token))
    written = 0
    for server in servers:
        try:
            written += _raw_set(server, stored_keys[key], payload, timeout)
        except OSError:
            continue
    if not written:
        return Outcome(FOREIGN_PICKLE, "skip", "no server took the raw write")
    try:
        value = cache.get(key)
    finally:
        cache.delete(key)
    if token not in _RAN and value is None:
        how = f"serializer={codec.serializer}" + (", signed" if codec.signed else "")
        return Outcome(FOREIGN_PICKLE, "ok", f"an unsigned pickle from any host is a miss ({how})")
    if codec.serializer == "pickle" and not codec.signed:
        return Outcome(
            FOREIGN_PICKLE,
            "warn",
            "an unsigned pickle written by any host was unpickled (code ran): "
            "set secret_env= or serializer=json",
        )
    return Outcome(FOREIGN_PICKLE, "FAIL", f"unpickled under {codec!r}")
