"""Key encoders: turn arbitrary keys into keys valid on every backend.

Pass one as a backend's ``key_encode``. Each encoder that produces keys for
storage (:func:`base64_encode`, :func:`hash_encode`) yields keys that pass the
key rules whatever its input; :func:`string_encode` only converts ``str`` to
UTF-8 bytes, as wheezy.caching's does.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from caching.key_rules import MAX_KEY_LENGTH, Key

__all__ = ["base64_encode", "encode_keys", "hash_encode", "string_encode"]

V = TypeVar("V")

_ALTCHARS = b"-_"


def _as_bytes(key: Key) -> bytes:
    if isinstance(key, str):
        return key.encode("utf-8", "surrogatepass")
    if isinstance(key, bytes):
        return key
    raise TypeError(f"cache key must be str or bytes, not {type(key).__name__}")


_ESCAPED = re.compile(rb"[\x00-\x20\x7f%]")


def _sha1_key(data: bytes) -> bytes:
    return b"sha1:" + hashlib.sha1(data).hexdigest().encode("ascii")


def string_encode(key: Key) -> bytes:
    """Return ``key`` as UTF-8 ``bytes``, readable and always valid.

    Spaces, control characters and ``%`` are percent-escaped (``"a b"`` gives
    ``b"a%20b"``), so distinct keys stay distinct; a result longer than 250
    bytes is replaced by ``sha1:`` and the hex SHA-1 of the key's bytes.
    (wheezy's ``string_encode`` only encodes, so ``"a b"`` stays invalid.)
    """
    data = _ESCAPED.sub(lambda m: b"%%%02X" % m.group()[0], _as_bytes(key))
    if not data or len(data) > MAX_KEY_LENGTH:
        return _sha1_key(_as_bytes(key))
    return data


def base64_encode(key: Key) -> bytes:
    """Return the URL-safe base64 of ``key``'s UTF-8 bytes.

    The result has no space or control character; a key whose encoding would
    pass 250 bytes (input over 187 bytes), or the empty key, is replaced by
    ``sha1:`` and the hex SHA-1 of its bytes, so the result is always valid.
    """
    data = base64.b64encode(_as_bytes(key), _ALTCHARS)
    if not data or len(data) > MAX_KEY_LENGTH:
        return _sha1_key(_as_bytes(key))
    return data


def hash_encode(hash_factory: Callable[[], Any]) -> Callable[[Key], bytes]:
    """Return an encoder that maps any key to the hex digest of its bytes.

    :param hash_factory: a ``hashlib`` constructor such as ``hashlib.sha1``.
    :returns: ``key_encode(key) -> bytes``, the hex digest (40 bytes for
        SHA-1): printable, no spaces, at most 128 bytes for any ``hashlib``
        algorithm, so always a valid key. (wheezy returns the raw digest,
        whose bytes can be spaces or control characters that memcached
        refuses.)
    :raises TypeError: ``hash_factory`` is not callable.
    """
    if not callable(hash_factory):
        raise TypeError("hash_factory must be callable, e.g. hashlib.sha1")

    def key_encode(key: Key) -> bytes:
        digest = hash_factory()
        digest.update(_as_bytes(key))
        return digest.hexdigest().encode("ascii")  # type: ignore[no-any-return]

    return key_encode


def encode_keys(
    mapping: Mapping[Key, V], key_encode: Callable[[Key], Key]
) -> tuple[dict[Key, Key], dict[Key, V]]:
    """Encode every key of ``mapping`` with ``key_encode``.

    :returns: ``(encoded key -> key as given, encoded key -> value)``, the
        first to map results back to the caller's keys.
    """
    key_mapping: dict[Key, Key] = {}
    encoded_mapping: dict[Key, V] = {}
    for key, value in mapping.items():
        encoded = key_encode(key)
        key_mapping[encoded] = key
        encoded_mapping[encoded] = value
    return key_mapping, encoded_mapping
