"""The one value format of the memcached adapters: ``(bytes, flags)``.

All three adapters store values this way, so an item written through one is
read back equal, with its type, through another:

========  =====  ==========================================================
type      flags  bytes on the server
========  =====  ==========================================================
bytes     0      the bytes
pickle    1      ``pickle.dumps`` of anything else (floats, containers...),
                 and of bytes that start like a number (``b"12"``, ``b" 7"``)
                 or are empty, which the server must not count
int       2      decimal text, for ints in ``0 .. 2**64-1``: memcached's
                 ``incr``/``decr`` work on it
str       16     UTF-8
quoted    48     str (16) + 32: a str that starts like a number (``"12"``),
                 with ``"_"`` or is empty, after one leading ``"_"``: the
                 server does not count it, so ``incr`` fails as the contract
                 requires
bool      80     str (16) + 64: ``"01"``/``"00"``, numeric to the server, so
                 a bool counts as an int for ``incr``; a counter read back as
                 anything but those two texts is an ``int``
pickled   33     pickle (1) + 32: a str with no UTF-8 form (lone surrogates)
quoted           that would be quoted, pickled with its leading ``"_"``
========  =====  ==========================================================

Flags 0, 1, 2 and 16 mean what they mean to pylibmc's own decoder (and to
python-memcached's and pymemcache's), and 32 and 64 are bits no client
library gives a meaning to: pylibmc reads every item in C, quoted and bool
items as a str (flags 33 as the pickled quoted str), which
:func:`from_native` tells apart by the first character (no other str it
reads starts with ``"_"`` or like a number).
Values of the other types need no second look.

A counter's text can outgrow what its flags say: after ``incr`` a bool item
holds ``b"2"``, and after ``decr`` memcached pads the text (``b"99 "``); both
read back as ``int``. Ints outside ``0 .. 2**64-1`` are pickled, so the server
refuses to count them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import json
import logging
import pickle
import re
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from caching.counters import MAX_COUNTER
from caching.errors import MissingExtraError

__all__ = [
    "COMPRESSORS",
    "FLAG_BOOL",
    "FLAG_BYTES",
    "FLAG_INT",
    "FLAG_JSON",
    "FLAG_MSGPACK",
    "FLAG_PICKLE",
    "FLAG_QUOTED",
    "FLAG_QUOTED_PICKLE",
    "FLAG_SIGNED",
    "FLAG_STR",
    "FLAG_ZLIB",
    "FLAG_ZSTD",
    "MARKED_TEXT",
    "MAX_INFLATED",
    "NUMERIC_START",
    "PICKLED_TYPES",
    "SERIALIZERS",
    "TAG_SIZE",
    "BadItemError",
    "Codec",
    "Item",
    "RefusalLog",
    "counter_value",
    "dumps",
    "from_native",
    "loads",
    "pickle_item",
    "raw",
]

FLAG_BYTES = 0
FLAG_PICKLE = 1
FLAG_INT = 2
FLAG_STR = 16
FLAG_QUOTED = FLAG_STR | 32
FLAG_BOOL = FLAG_STR | 64
FLAG_QUOTED_PICKLE = FLAG_PICKLE | 32

#: A serialised value: ``(bytes to store, flags)``.
Item = tuple[bytes, int]

# First characters that make memcached's strtoull-based incr accept a value.
_NUMERIC_TEXT = "0123456789+- \t\n\v\f\r"
#: First bytes of the ``bytes`` values :func:`dumps` pickles (``value[0] in
#: NUMERIC_START``): the server would count them as they are.
NUMERIC_START = frozenset(_NUMERIC_TEXT.encode())
_QUOTE = "_"
#: First characters of the str values that are quoted or bool items, as
#: pylibmc reads them (``text[:1] in MARKED_TEXT``): no other str starts so.
MARKED_TEXT = frozenset(_NUMERIC_TEXT + _QUOTE)
_TRUE, _FALSE = "01", "00"


def pickle_item(value: Any) -> Item:
    """``value`` pickled, as the item :func:`dumps` makes of a value it pickles.

    :raises TypeError: ``value`` cannot be pickled (naming its type).
    """
    try:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL), FLAG_PICKLE
    except Exception as exc:  # PicklingError, TypeError, AttributeError...
        raise TypeError(f"cannot cache a {type(value).__name__}: {exc}") from exc


#: The types :func:`dumps` always pickles (``pickle_item(value)`` for them is
#: ``dumps(value)``, one call less: docs/PERFORMANCE.md, "Signed items").
PICKLED_TYPES = frozenset({dict, list, tuple, float, type(None)})


def dumps(value: Any) -> Item:
    """Serialise ``value`` for memcached.

    :returns: ``(data, flags)`` as the table in the module docstring.
    :raises TypeError: ``value`` cannot be pickled.
    """
    kind = type(value)
    if kind is bytes:
        if value and value[0] not in NUMERIC_START:
            return value, FLAG_BYTES
        return pickle_item(value)
    if kind is str:
        if value and value[0] not in MARKED_TEXT:
            try:
                return value.encode("utf-8"), FLAG_STR
            except UnicodeEncodeError:  # lone surrogates: no UTF-8 form
                return pickle_item(value)
        quoted = _QUOTE + value
        try:
            return quoted.encode("utf-8"), FLAG_QUOTED
        except UnicodeEncodeError:
            return pickle_item(quoted)[0], FLAG_QUOTED_PICKLE
    if kind is int and 0 <= value < MAX_COUNTER:
        return str(value).encode("ascii"), FLAG_INT
    if kind is bool:
        return (_TRUE if value else _FALSE).encode("ascii"), FLAG_BOOL
    return pickle_item(value)


def loads(data: bytes, flags: int) -> Any:
    """Read back a value written by :func:`dumps` (or counted by the server).

    :param data: the item's bytes.
    :param flags: the item's flags.
    :returns: the value, of the type it was stored with (an ``int`` for a
        bool the server has counted past ``0``/``1``).
    :raises ValueError: unknown flags.
    """
    if flags == FLAG_STR:
        return data.decode("utf-8")
    if flags == FLAG_BYTES:
        return data
    if flags == FLAG_INT:
        return int(data)
    if flags == FLAG_PICKLE:
        return pickle.loads(data)
    if flags in (FLAG_QUOTED, FLAG_BOOL):
        return from_native(data.decode("utf-8"))
    if flags == FLAG_QUOTED_PICKLE:
        return from_native(pickle.loads(data))
    raise ValueError(f"unknown memcached flags {flags}")


def from_native(value: Any) -> Any:
    """A value as pylibmc's own decoder read it, as :func:`loads` would have.

    pylibmc reads flags 0, 1, 2 and 16 as :func:`loads` does, and quoted
    and bool items (flags 16 with a bit it ignores) as their text: a quoted
    one starts with ``"_"``, a bool one like a number.
    """
    if type(value) is str and value[:1] in MARKED_TEXT:
        if value[0] == _QUOTE:
            return value[1:]
        if value in (_TRUE, _FALSE):
            return value == _TRUE
        return int(value)  # a bool item the server counted
    return value


# -- serializers, signed items, compression (Codec) --------------------------

#: Flag bits of :class:`Codec` (above pylibmc's ``ZLIB`` bit, 8, which its C
#: decoder inflates on its own, and below 2**16, which every client keeps).
FLAG_SIGNED = 1 << 8
FLAG_ZLIB = 1 << 9
FLAG_ZSTD = 1 << 10
FLAG_JSON = 1 << 11
FLAG_MSGPACK = 1 << 12

SERIALIZERS = ("pickle", "json", "msgpack")
COMPRESSORS = ("zlib", "zstd")

#: Bytes of an HMAC-SHA256 tag.
TAG_SIZE = 32
#: Default most bytes a compressed item may inflate to (memcached's default
#: item size limit, 1 MiB): a larger one is refused as a miss.
MAX_INFLATED = 1024 * 1024

# A counter's text as memcached leaves it: digits, padded with spaces after
# a decr that shortened it.
_COUNTER = re.compile(rb"[0-9]{1,20} *")
_BYTES_TAG = "$bytes"
_DICT_TAG = "$dict"
_TAGS = (_BYTES_TAG, _DICT_TAG)


_COMPRESSED = FLAG_ZLIB | FLAG_ZSTD
#: (A global: one lookup less per signed read than ``hmac.compare_digest``.)
_compare_digest = hmac.compare_digest
# HMAC's pads (RFC 2104), as the stdlib's hmac module makes them.
_OPAD = bytes(x ^ 0x5C for x in range(256))
_IPAD = bytes(x ^ 0x36 for x in range(256))


# The tag's header words, looked up rather than made per item, and joined
# with the data for one update (docs/PERFORMANCE.md, "Signed items"): a key's
# length (2 bytes; memcached keys are 1 to 250 bytes) and the flags of every
# signed item a Codec writes (4 bytes).
_KEY_LENGTHS = tuple(n.to_bytes(2, "big") for n in range(251))
_FLAG_WORDS = {
    flags: flags.to_bytes(4, "big")
    for base in (
        FLAG_BYTES,
        FLAG_PICKLE,
        FLAG_STR,
        FLAG_QUOTED,
        FLAG_QUOTED_PICKLE,
        FLAG_JSON,
        FLAG_MSGPACK,
    )
    for packing in (0, FLAG_ZLIB, FLAG_ZSTD)
    for flags in (base | packing | FLAG_SIGNED,)
}


class _Mac:
    """HMAC-SHA256 with one secret (RFC 2104, as :mod:`hmac` computes it),
    keyed once: each tag copies the keyed :mod:`hashlib` states (about
    1 µs for a small item, against 3 µs for ``hmac.new``/``hmac.digest``,
    whose OpenSSL set-up is paid per call)."""

    __slots__ = ("inner", "outer")

    def __init__(self, secret: bytes) -> None:
        if len(secret) > 64:  # SHA-256's block size
            secret = hashlib.sha256(secret).digest()
        secret = secret.ljust(64, b"\0")
        #: The SHA-256 states after the inner and the outer padded key.
        self.inner = hashlib.sha256(secret.translate(_IPAD))
        self.outer = hashlib.sha256(secret.translate(_OPAD))

    def tag(self, key: bytes, flags: int, data: bytes) -> bytes:
        """The tag of ``data`` stored under ``key`` with ``flags``: over the
        key's length (2 bytes), the key, the flags (4 bytes) and the data.
        (:meth:`Codec.dumps` and :meth:`Codec.loads` compute it inline for
        the first secret: the same bytes, one call less.)"""
        inner = self.inner.copy()
        inner.update(b"".join((*_header(key, flags), data)))
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def _header(key: bytes, flags: int) -> tuple[bytes, bytes, bytes]:
    """The tag's bytes before the data: the key's length, the key, the flags."""
    try:
        return _KEY_LENGTHS[len(key)], key, _FLAG_WORDS[flags]
    except (IndexError, KeyError):  # a longer key, flags no Codec writes
        return len(key).to_bytes(2, "big"), key, flags.to_bytes(4, "big")


def _utf8(data: bytes) -> str:
    return data.decode("utf-8")


def _quoted(data: bytes) -> Any:
    return from_native(data.decode("utf-8"))


def _quoted_pickle(data: bytes) -> Any:
    return from_native(pickle.loads(data))


def _json_loads(data: bytes) -> Any:
    return json.loads(data.decode("utf-8", "surrogatepass"), object_hook=_from_json_object)


class BadItemError(ValueError):
    """An item :meth:`Codec.loads` refuses (read as a miss): a missing or wrong
    tag, flags no adapter writes, bytes that do not decode as their flags
    say, a pickle it may not or cannot read, or one that inflates too far."""


def _type_error(value: Any, serializer: str) -> TypeError:
    return TypeError(
        f"cannot cache a {type(value).__name__} with serializer={serializer!r} "
        "(it takes None, bool, int, float, str, bytes, list, tuple and dict with str keys)"
    )


def _to_json(value: Any) -> Any:
    """``value`` as plain JSON data: bytes as ``{"$bytes": base64}``, a dict of
    the one key ``"$bytes"`` or ``"$dict"`` as ``{"$dict": [[key, value]]}``,
    tuples as lists; raises :class:`TypeError` on any other type."""
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is float or kind is str:
        return value
    if kind is bytes:
        return {_BYTES_TAG: base64.b64encode(value).decode("ascii")}
    if kind is list or kind is tuple:
        return [_to_json(item) for item in value]
    if kind is dict:
        for name in value:
            if type(name) is not str:
                raise TypeError(f"cannot cache a dict key of type {type(name).__name__} as JSON")
        if len(value) == 1 and next(iter(value)) in _TAGS:
            return {_DICT_TAG: [[name, _to_json(item)] for name, item in value.items()]}
        return {name: _to_json(item) for name, item in value.items()}
    raise _type_error(value, "json")


def _from_json_object(pairs: dict[str, Any]) -> Any:
    if len(pairs) == 1:
        if _BYTES_TAG in pairs:
            return base64.b64decode(pairs[_BYTES_TAG], validate=True)
        if _DICT_TAG in pairs:
            return dict(pairs[_DICT_TAG])
    return pairs


def _check_msgpack(value: Any) -> None:
    """Raise :class:`TypeError` unless ``value`` is in the data model."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str, bytes):
        return
    if kind is list or kind is tuple:
        for item in value:
            _check_msgpack(item)
        return
    if kind is dict:
        for name, item in value.items():
            if type(name) is not str:
                raise TypeError(
                    f"cannot cache a dict key of type {type(name).__name__} with msgpack"
                )
            _check_msgpack(item)
        return
    raise _type_error(value, "msgpack")


# msgpack ext type for ints outside its 64-bit range (decimal text).
_EXT_BIG_INT = 1


def _msgpack_default(value: Any) -> Any:
    if type(value) is int:
        msgpack = _require("msgpack", "msgpack")
        return msgpack.ExtType(_EXT_BIG_INT, str(value).encode("ascii"))
    raise _type_error(value, "msgpack")


def _msgpack_ext(code: int, data: bytes) -> Any:
    if code == _EXT_BIG_INT:
        return int(data)
    raise BadItemError(f"unknown msgpack ext type {code}")


def _require(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(module, extra) from None


def _as_secrets(secret: str | bytes | Sequence[str | bytes] | None) -> list[bytes]:
    if secret is None:
        return []
    listed = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    secrets = []
    for one in listed:
        if isinstance(one, str):
            one = one.encode("utf-8")
        if not isinstance(one, bytes):
            raise TypeError(f"a secret must be str or bytes, not {type(one).__name__}")
        if not one:
            raise ValueError("a secret must not be empty")
        secrets.append(one)
    if not secrets:
        raise ValueError("secret= needs at least one secret")
    return secrets


class Codec:
    """The value format of an adapter built with ``serializer=``, ``secret=``
    or ``compress_over=`` (docs/ADAPTERS.md, "Serializers, signed items,
    compression"). Items keep the flags of the module's table for bytes,
    str, int and bool, with these bits added:

    ===========  ======  =================================================
    bit          flags   meaning
    ===========  ======  =================================================
    signed       256     the bytes end with an HMAC-SHA256 tag (32 bytes)
                         over the key, the flags and the bytes before it
                         (at the end: the item still starts as its payload
                         does, never like a number, so memcached never
                         counts it)
    zlib         512     the rest is compressed with zlib
    zstd         1024    ... with zstd (``zstandard``)
    json         2048    the rest is JSON (instead of a pickle)
    msgpack      4096    ... msgpack
    ===========  ======  =================================================

    An int in ``0 .. 2**64-1`` (and a bool) is stored as plain decimal text
    (flags 2 or 80), never signed nor compressed, so that memcached counts it;
    a signed reader takes such an item without a tag when it holds only
    digits (no code can run from digits).

    :param serializer: ``"pickle"`` (default), ``"json"`` or ``"msgpack"``
        (``pip install 'caching-toolkit[msgpack]'``); with ``json`` or
        ``msgpack`` nothing is ever unpickled, whatever an item's flags.
    :param secret: a key (``str``, as UTF-8, or ``bytes``) or a list of them:
        the first signs, every one verifies (rotation); ``None``: unsigned.
    :param compress_over: values whose serialised form is longer than this
        many bytes are compressed (kept plain when that does not shrink
        them); ``None``: never.
    :param compressor: ``"zlib"`` (stdlib) or ``"zstd"``
        (``pip install 'caching-toolkit[zstd]'``).
    :param max_inflated: bytes a compressed item may inflate to; a larger
        one is refused.
    :raises ValueError: an unknown serializer or compressor, an empty
        secret, ``compress_over`` below 0.
    :raises TypeError: a secret that is not ``str``/``bytes``.
    :raises MissingExtraError: the library of ``msgpack`` or ``zstd`` is not
        installed.
    """

    def __init__(
        self,
        serializer: str = "pickle",
        secret: str | bytes | Sequence[str | bytes] | None = None,
        compress_over: int | None = None,
        compressor: str = "zlib",
        max_inflated: int = MAX_INFLATED,
    ) -> None:
        if serializer not in SERIALIZERS:
            raise ValueError(f"unknown serializer {serializer!r} (known: {', '.join(SERIALIZERS)})")
        if compressor not in COMPRESSORS:
            raise ValueError(f"unknown compressor {compressor!r} (known: {', '.join(COMPRESSORS)})")
        if compress_over is not None and (type(compress_over) is not int or compress_over < 0):
            raise ValueError(f"compress_over must be an int >= 0, got {compress_over!r}")
        self.serializer = serializer
        self.compressor = compressor
        self.compress_over = compress_over
        self.max_inflated = max_inflated
        self._secrets = _as_secrets(secret)
        self._macs = [_Mac(one) for one in self._secrets]
        #: The first secret's (the one that signs); ``None``: unsigned.
        self._mac = self._macs[0] if self._macs else None
        self._signed_pickle = bool(self._macs) and serializer == "pickle" and compress_over is None
        self._msgpack: Any = None
        self._zstd: Any = None
        self._readers = self._read_readers()
        if serializer == "msgpack":
            self._msgpack = _require("msgpack", "msgpack")
        if compress_over is not None and compressor == "zstd":
            self._zstd = _require("zstandard", "zstd")

    @property
    def plain(self) -> bool:
        """Whether this is the module's own format (pickle, unsigned, never
        compressed): what pylibmc may read in C."""
        return self.serializer == "pickle" and not self._secrets and self.compress_over is None

    @property
    def signed(self) -> bool:
        """Whether items are signed (a secret was given)."""
        return bool(self._secrets)

    def __repr__(self) -> str:
        return (
            f"Codec(serializer={self.serializer!r}, signed={self.signed}, "
            f"compress_over={self.compress_over!r}, compressor={self.compressor!r})"
        )

    # -- writing ----------------------------------------------------------

    def dumps(self, key: bytes, value: Any) -> Item:
        """Serialise ``value`` for ``key`` (the bytes key stored).

        :returns: ``(data, flags)``.
        :raises TypeError: ``value`` is outside the serializer's data model
            (json, msgpack) or cannot be pickled; raised before any I/O.
        """
        mac = self._mac
        if mac is not None and self._signed_pickle:  # pickle, never compressed
            if type(value) is bytes and value and value[0] not in NUMERIC_START:
                data, flags = value, FLAG_SIGNED  # serializer.dumps' first case, inline
            else:
                data, flags = dumps(value)
                if flags in (FLAG_INT, FLAG_BOOL):  # a counter: unsigned
                    return data, flags
                flags |= FLAG_SIGNED
        else:
            kind = type(value)
            if kind is int and 0 <= value < MAX_COUNTER:
                return str(value).encode("ascii"), FLAG_INT  # a counter: unsigned
            if kind is bool:
                return (_TRUE if value else _FALSE).encode("ascii"), FLAG_BOOL
            if self.serializer == "pickle":
                data, flags = dumps(value)
            else:
                data, flags = self._dump_data(value)
            if self.compress_over is not None and len(data) > self.compress_over:
                packed = self._compress(data)
                if len(packed) < len(data):
                    data = packed
                    flags |= FLAG_ZSTD if self._zstd is not None else FLAG_ZLIB
            if mac is None:
                return data, flags
            flags |= FLAG_SIGNED
        # The first secret's tag (_Mac.tag inline: docs/PERFORMANCE.md).
        try:
            header = _KEY_LENGTHS[len(key)], key, _FLAG_WORDS[flags], data
        except (IndexError, KeyError):
            header = *_header(key, flags), data
        inner = mac.inner.copy()
        inner.update(b"".join(header))
        outer = mac.outer.copy()
        outer.update(inner.digest())
        return data + outer.digest(), flags

    def _dump_data(self, value: Any) -> Item:
        kind = type(value)
        if kind is bytes and value and value[0] not in NUMERIC_START:
            return value, FLAG_BYTES
        if kind is str and value and value[0] not in MARKED_TEXT:
            try:
                return value.encode("utf-8"), FLAG_STR
            except UnicodeEncodeError:
                pass  # lone surrogates: in the payload
        if self._msgpack is not None:
            _check_msgpack(value)
            packed = self._msgpack.packb(
                value, use_bin_type=True, default=_msgpack_default, unicode_errors="surrogatepass"
            )
            return packed, FLAG_MSGPACK
        text = json.dumps(_to_json(value), ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8", "surrogatepass"), FLAG_JSON

    def _compress(self, data: bytes) -> bytes:
        if self._zstd is not None:
            return self._zstd.ZstdCompressor().compress(data)  # type: ignore[no-any-return]
        return zlib.compress(data)

    # -- reading ----------------------------------------------------------

    def loads(self, key: bytes, data: bytes, flags: int) -> Any:
        """Read back an item of ``key`` (the bytes key stored).

        The tag is checked before anything else is done with the bytes,
        then the item inflated (at most ``max_inflated`` bytes), then read.

        :returns: the value.
        :raises BadItemError: a missing or wrong tag (signed), flags no adapter
            writes, bytes that do not decode as their flags say, a pickle
            (with json or msgpack), one that cannot be read (a missing
            class...), an item that inflates past ``max_inflated``.
        """
        mac = self._mac
        if mac is not None and flags & FLAG_SIGNED:  # (never a counter's flags)
            end = len(data) - TAG_SIZE
            if end < 0:
                raise BadItemError("no tag (too short)")
            body = data[:end]
            # The first secret's tag (_Mac.tag inline: docs/PERFORMANCE.md),
            # then the others'.
            try:
                header = _KEY_LENGTHS[len(key)], key, _FLAG_WORDS[flags], body
            except (IndexError, KeyError):
                header = *_header(key, flags), body
            inner = mac.inner.copy()
            inner.update(b"".join(header))
            outer = mac.outer.copy()
            outer.update(inner.digest())
            tag = data[end:]
            if not _compare_digest(tag, outer.digest()):
                for other in self._macs[1:]:
                    if _compare_digest(tag, other.tag(key, flags, body)):
                        break
                else:
                    raise BadItemError("wrong tag")
            flags ^= FLAG_SIGNED
            if flags == FLAG_BYTES:  # the commonest item, read as it is
                return body
            data = body
        elif flags in (FLAG_INT, FLAG_BOOL):  # a counter: never signed
            if _COUNTER.fullmatch(data) is None:
                raise BadItemError(f"flags {flags} on bytes that are not a counter")
            return loads(data.rstrip(b" "), flags)
        elif mac is not None:
            raise BadItemError("no tag (unsigned item)")
        elif flags & FLAG_SIGNED:
            raise BadItemError("signed item, and no secret to check it")
        if flags & _COMPRESSED:
            if flags & _COMPRESSED == _COMPRESSED:
                raise BadItemError(f"flags {flags}: two compressors")
            data = self._inflate_zlib(data) if flags & FLAG_ZLIB else self._inflate_zstd(data)
            flags &= ~_COMPRESSED
        reader = self._readers.get(flags)
        if reader is None:
            if flags in (FLAG_PICKLE, FLAG_QUOTED_PICKLE):
                raise BadItemError(f"a pickle (flags {flags}), and serializer={self.serializer!r}")
            raise BadItemError(f"unknown flags {flags}")
        try:
            return reader(data)
        except Exception as exc:  # bad UTF-8, a pickle of a class gone...
            raise BadItemError(f"flags {flags}: {type(exc).__name__}: {exc}") from None

    def _read_readers(self) -> dict[int, Callable[[bytes], Any]]:
        """flags (without the signed and compressed bits) -> reader of the bytes."""
        readers: dict[int, Callable[[bytes], Any]] = {
            FLAG_BYTES: bytes,
            FLAG_STR: _utf8,
            FLAG_QUOTED: _quoted,
            FLAG_JSON: _json_loads,
            FLAG_MSGPACK: self._msgpack_loads,
        }
        if self.serializer == "pickle":  # never with json or msgpack
            readers[FLAG_PICKLE] = pickle.loads
            readers[FLAG_QUOTED_PICKLE] = _quoted_pickle
        return readers

    def _msgpack_loads(self, data: bytes) -> Any:
        msgpack = self._msgpack or _require("msgpack", "msgpack")
        return msgpack.unpackb(
            data, raw=False, ext_hook=_msgpack_ext, unicode_errors="surrogatepass"
        )

    def _inflate_zlib(self, data: bytes) -> bytes:
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(data, self.max_inflated + 1)
        except zlib.error as exc:
            raise BadItemError(f"zlib: {exc}") from None
        if len(out) > self.max_inflated:
            raise BadItemError(f"inflates past {self.max_inflated} bytes")
        if not inflater.eof:
            raise BadItemError("zlib: truncated")
        return out

    def _inflate_zstd(self, data: bytes) -> bytes:
        zstd = self._zstd or _require("zstandard", "zstd")
        chunks, size = [], 0
        try:
            with zstd.ZstdDecompressor().stream_reader(data) as reader:
                while size <= self.max_inflated:
                    chunk = reader.read(self.max_inflated + 1 - size)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
        except zstd.ZstdError as exc:
            raise BadItemError(f"zstd: {exc}") from None
        if size > self.max_inflated:
            raise BadItemError(f"inflates past {self.max_inflated} bytes")
        return b"".join(chunks)


def raw(data: bytes, flags: int) -> Item:
    """An item as a client library hands it over when the adapter reads it
    with a :class:`Codec`: ``(data, flags)``, read nothing."""
    return data, flags


def counter_value(item: Item) -> Any:
    """The int (or bool) of a counter item ``(data, flags)``, else ``None``."""
    data, flags = item
    if flags in (FLAG_INT, FLAG_BOOL) and _COUNTER.fullmatch(data) is not None:
        return loads(data.rstrip(b" "), flags)
    return None


class RefusalLog:
    """Logs refused items (:class:`BadItemError`) at WARNING, at most once per
    ``period`` seconds per logger.

    :param logger: the adapter's logger.
    :param period: seconds (the adapter's retry period).
    :param clock: monotonic time in seconds.
    """

    def __init__(
        self, logger: logging.Logger, period: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger = logger
        self.period = period
        self._clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()

    def report(self, key: bytes, reason: object) -> bool:
        """Note that the item of ``key`` was refused; log it unless one was
        logged within the period. :returns: whether it was logged."""
        now = self._clock()
        with self._lock:
            if self._last is not None and now - self._last < self.period:
                return False
            self._last = now
        self.logger.warning(
            "memcached item %r refused (%s); read as a miss (more refusals are not "
            "logged for %g s)",
            key[:60],
            reason,
            self.period,
        )
        return True
