"""Options of the memcached adapters, as given in a ``memcached://`` URL.

``memcached://host:port[,host:port...]?client=NAME&option=value...`` takes
the options below. ``client=python-memcached`` takes only ``timeout`` and
``retry_timeout``: that library has one socket timeout, for connecting too,
and one connection per thread instead of a pool.

``connect_timeout``
    seconds (float) to wait for a TCP connection; default 0.5.
``timeout``
    seconds (float) to wait for an answer; a hung server costs at most this
    per call; default 1.
``retry_timeout``
    seconds (float) a failed server is left alone before it is tried again,
    and between two warnings about it; default 1.
``pool_size``
    most idle connections (clients) kept per process; default 16.
``serializer``
    ``pickle`` (default), ``json`` or ``msgpack`` (docs/ADAPTERS.md,
    "Serializers, signed items, compression").
``secret_env``
    the name of an environment variable holding the secret that signs
    items (``NAME1,NAME2``: several, for rotation, the first signing); read
    when the adapter is built, so the secret stays out of the URL.
``compress_over``
    bytes (int); values whose serialised form is longer are compressed.
``compressor``
    ``zlib`` (default) or ``zstd``.

Every client takes the last four, ``python-memcached`` too.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["ADAPTER_OPTIONS", "CODEC_OPTIONS", "as_servers", "secrets_from_env"]


def _seconds(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError("must be a positive number of seconds")
    return value


def _size(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be >= 1")
    return value


def _choice(*names: str) -> Callable[[str], str]:
    def choose(text: str) -> str:
        if text not in names:
            raise ValueError(f"expected one of {', '.join(names)}, got {text!r}")
        return text

    return choose


def _bytes(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def secrets_from_env(text: str) -> list[bytes]:
    """The secrets in the environment variables named in ``text``
    (``NAME`` or ``NAME1,NAME2``), in that order, as UTF-8 bytes.

    :raises ValueError: a variable that is not set or is empty (the message
        names it, never its value).
    """
    secrets = []
    for name in text.split(","):
        value = os.environ.get(name.strip())
        if not value:
            raise ValueError(f"environment variable {name.strip()!r} is not set or empty")
        secrets.append(value.encode("utf-8"))
    return secrets


#: ``caching.url.parse_options`` spec of the value format options, which
#: every adapter takes (``secret_env`` becomes ``secret``).
CODEC_OPTIONS: dict[str, Callable[[str], Any]] = {
    "serializer": _choice("pickle", "json", "msgpack"),
    "secret_env": secrets_from_env,
    "compress_over": _bytes,
    "compressor": _choice("zlib", "zstd"),
}

#: ``caching.url.parse_options`` spec of the options every adapter takes.
ADAPTER_OPTIONS: dict[str, Callable[[str], Any]] = {
    "connect_timeout": _seconds,
    "timeout": _seconds,
    "retry_timeout": _seconds,
    "pool_size": _size,
    **CODEC_OPTIONS,
}


def as_servers(servers: str | Sequence[str]) -> list[str]:
    """``"host:port"`` or a sequence of them, as a non-empty list.

    :raises TypeError: neither a ``str`` nor a sequence of ``str``.
    :raises ValueError: no server.
    """
    listed = [servers] if isinstance(servers, str) else list(servers)
    if not all(isinstance(server, str) for server in listed):
        raise TypeError(f"servers must be 'host:port' strings, got {servers!r}")
    if not listed:
        raise ValueError("no memcached server given")
    return listed
