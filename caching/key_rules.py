"""Key rules shared by every backend (CONTRACT.md, "Keys").

A key is ``str`` (stored as UTF-8) or ``bytes``; the key that reaches storage
must be 1 to 250 bytes with no ASCII control character and no space (bytes
``0x00``-``0x20`` and ``0x7f``), exactly what memcached's text protocol accepts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from caching.errors import InvalidKeyError

__all__ = [
    "MAX_KEY_LENGTH",
    "Key",
    "canonical_key",
    "check_keys",
    "check_mapping",
    "is_plain_key",
    "is_valid_key",
    "key_bytes",
    "key_stored",
    "plain_keys",
    "reject_single_key",
]

#: Longest key memcached accepts, in bytes.
MAX_KEY_LENGTH = 250

#: The bytes no key may hold: ASCII controls, space and DEL.
_FORBIDDEN_BYTES = bytes(range(0x21)) + b"\x7f"
#: Above this many characters, the keys of a batch are checked with
#: ``bytes.translate`` rather than ``str.isprintable`` (measured crossover).
_SHORT_TEXT = 64

Key = str | bytes

_FORBIDDEN = re.compile(b"[" + re.escape(_FORBIDDEN_BYTES) + b"]")


def _invalid(key: object, why: str) -> InvalidKeyError:
    shown = repr(key)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidKeyError(f"invalid cache key {shown}: {why}")


def key_bytes(key: Key) -> bytes:
    """Return ``key`` as the bytes memcached stores, after checking it.

    :param key: ``str`` (encoded as UTF-8) or ``bytes``.
    :returns: the key's bytes.
    :raises TypeError: ``key`` is neither ``str`` nor ``bytes``.
    :raises InvalidKeyError: empty, longer than 250 bytes, not encodable as
        UTF-8, or holding a control character or a space.
    """
    if isinstance(key, str):
        try:
            data = key.encode("utf-8")
        except UnicodeEncodeError:
            raise _invalid(key, "not encodable as UTF-8") from None
    elif isinstance(key, bytes):
        data = key
    else:
        raise TypeError(f"cache key must be str or bytes, not {type(key).__name__}")
    if not data:
        raise _invalid(key, "empty")
    if len(data) > MAX_KEY_LENGTH:
        raise _invalid(key, f"{len(data)} bytes, memcached allows {MAX_KEY_LENGTH}")
    if _FORBIDDEN.search(data):
        raise _invalid(key, "contains a space or an ASCII control character")
    return data


def key_stored(key: Key) -> bytes:
    """Return a key already checked (:func:`key_bytes`, :func:`check_keys`)
    as the bytes memcached stores: ``str`` encoded as UTF-8, ``bytes`` as
    they are; no check."""
    return key.encode("utf-8") if isinstance(key, str) else key


def is_plain_key(key: object) -> bool:
    """Whether ``key`` is a ``str`` of 1 to 250 printable ASCII characters
    other than space: the common key, valid as it is (its UTF-8 bytes are its
    characters). ``False`` says only that the full check of :func:`key_bytes`
    is needed.
    """
    return (
        type(key) is str
        and 0 < len(key) <= MAX_KEY_LENGTH
        and key.isascii()
        and key.isprintable()
        and " " not in key
    )


def is_valid_key(key: object) -> bool:
    """Whether ``key`` passes the key rules (as :func:`key_bytes`, without
    raising): ``False`` for a key of another type too."""
    try:
        key_bytes(key)  # type: ignore[arg-type]
    except (InvalidKeyError, TypeError):
        return False
    return True


def canonical_key(key: Key) -> Key:
    """Return the one form under which an in-process store keeps ``key``.

    A ``str`` key and its UTF-8 bytes name the same item, as on the server: the
    canonical form is the ``str`` when the bytes decode as UTF-8, else the
    ``bytes``. Checks the key as :func:`key_bytes` does.
    """
    if is_plain_key(key):
        return key
    data = key_bytes(key)
    if isinstance(key, str):
        return key
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def plain_keys(keys: list[Key]) -> bool:
    """Whether every key of ``keys`` is a ``str`` of 1 to 250 printable ASCII
    characters other than space: valid as it is, and naming the same item as
    no key but itself (its UTF-8 bytes are its characters).

    The characters and lengths of all the keys are checked at once, in C
    loops (docs/PERFORMANCE.md, "Batches of keys"). ``False`` says only that
    some key needs :func:`canonical_key`.
    """
    try:
        joined = "".join(keys)  # type: ignore[arg-type]  # TypeError unless all are str
    except TypeError:
        return False
    # printable ASCII is 0x20-0x7e: with no space, exactly memcached's key bytes
    if not joined.isascii():
        return False
    if len(joined) <= _SHORT_TEXT:
        if not joined.isprintable() or " " in joined:
            return False
    # isprintable reads each character through the Unicode tables: a long
    # text is checked by deleting its forbidden bytes (docs/PERFORMANCE.md,
    # "Batches of keys")
    elif len(joined.encode("ascii").translate(None, _FORBIDDEN_BYTES)) != len(joined):
        return False
    # The lengths in C too: no empty key, none longer than the limit (none is
    # when all of them together are not).
    return not keys or (
        "" not in keys and (len(joined) <= MAX_KEY_LENGTH or max(map(len, keys)) <= MAX_KEY_LENGTH)
    )


def reject_single_key(keys: object) -> None:
    """Refuse a single key where the call takes an iterable of keys (a ``str``
    is an iterable of characters, ``bytes`` of ints).

    :raises TypeError: ``keys`` is a ``str`` or ``bytes``.
    """
    if isinstance(keys, (str, bytes)):
        raise TypeError(f"expected an iterable of keys, got a single key {keys!r:.60}")


def check_mapping(mapping: object) -> None:
    """Refuse anything but a mapping of keys to values (the ``_multi`` stores).

    :raises TypeError: ``mapping`` is not a :class:`collections.abc.Mapping`.
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(f"expected a mapping of keys to values, not {type(mapping).__name__}")


def check_keys(keys: Iterable[Key]) -> list[Key]:
    """Check every key of ``keys`` (before any I/O) and return them as a list.

    :raises TypeError: ``keys`` is a single ``str``/``bytes`` rather than an
        iterable of keys, or one of them is not a key.
    :raises InvalidKeyError: one of them breaks the key rules.
    """
    reject_single_key(keys)
    listed = list(keys)
    for key in listed:
        canonical_key(key)
    return listed
