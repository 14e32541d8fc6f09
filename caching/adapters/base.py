"""What the three memcached adapters share, written once.

:class:`MemcachedAdapter` implements the whole contract (``caching.contract``)
over a few primitives that each adapter maps onto its client library. The
base does everything the libraries disagree on: keys are checked (and
``key_encode`` applied) before any I/O, times normalised, values serialised
by :mod:`caching.adapters.serializer`, results keyed by the caller's keys, counters
created race-free with ``initial_value``, and server failures answered with
the contract's "nothing happened" value and logged by
:class:`~caching.adapters.failures.FailureLog`.

A reply the library cannot read, or one it did not ask for, is a server
failure too: whatever the library raises on it, the client's connections are
closed before the client goes back to the pool (it may hold the rest of that
reply, which would be read as the answer to a later call), and the call
answers "nothing happened" (docs/FAILURES.md, "Misbehaving servers").
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from time import monotonic
from types import ModuleType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from caching import counters
from caching.adapters.failures import FailureLog
from caching.adapters.health import round_trip
from caching.adapters.options import ADAPTER_OPTIONS
from caching.adapters.pool import PoolLike, checkout, lender
from caching.adapters.serializer import (
    FLAG_BYTES,
    FLAG_INT,
    NUMERIC_START,
    PICKLED_TYPES,
    BadItemError,
    Codec,
    Item,
    RefusalLog,
    counter_value,
    dumps,
    pickle_item,
)
from caching.adapters.watch import ServerWatch
from caching.errors import MissingExtraError
from caching.expiry import MAX_EXPTIME, MAX_RELATIVE, Time, to_exptime
from caching.key_rules import (
    Key,
    canonical_key,
    check_mapping,
    is_plain_key,
    plain_keys,
    reject_single_key,
)
from caching.memo import Memo
from caching.steps import Steps, run
from caching.store_rules import ADD, REPLACE, SET
from caching.url import parse_options

__all__ = [
    "ADD",
    "BATCH_LIMIT",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_RETRY_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "EXPIRED",
    "NON_NUMERIC",
    "REPLACE",
    "SET",
    "MemcacheApi",
    "MemcachedAdapter",
    "StoredKeys",
    "count_from_2_63",
    "require",
]

T = TypeVar("T")

#: Default seconds to wait for a TCP connection to a server.
DEFAULT_CONNECT_TIMEOUT = 0.5
#: Default seconds to wait for a server's answer (a hung server costs this).
DEFAULT_TIMEOUT = 1.0
#: Default seconds a failed server is left alone before it is tried again;
#: also the period of the failure warnings.
DEFAULT_RETRY_TIMEOUT = 1.0

#: Items whose value is larger than this many bytes are stored one command
#: at a time in the ``_multi`` calls, so that a value the server refuses as
#: too large cannot spoil a pipelined batch.
BATCH_LIMIT = 512 * 1024

_INITIAL_TRIES = 10

#: ``gets``/``cas`` rounds of one count from 2**63 before it answers "nothing happened".
_CAS_TRIES = 100

#: What the ``_incr``/``_decr`` primitives answer for memcached's
#: ``CLIENT_ERROR cannot increment or decrement non-numeric value``: no
#: counter is negative, and the call raises the contract's ``ValueError``
#: once the client is back in the pool, outside the failure guard (a
#: programming error is never taken for a server failure, nor one for it).
NON_NUMERIC = -1

#: Sent for a negative ``time``: an absolute timestamp in 1970, which
#: memcached also treats as "already expired" and which, unlike a negative
#: number, twemproxy forwards (it closes the connection on a negative one).
EXPIRED = MAX_RELATIVE + 1


def _exptime(time: Time) -> int:
    exptime = to_exptime(time)
    return EXPIRED if exptime < 0 else exptime


def _storer(mode: str) -> Callable[..., bool]:
    """Build ``set``, ``add`` or ``replace`` of :class:`MemcachedAdapter`:
    one body, no extra call per use (key checked, then time, then value).
    An ``int`` time memcached keeps as it is passes one chained comparison;
    any other goes through :func:`caching.expiry.to_exptime`, which refuses
    the times memcached cannot keep."""
    latest = MAX_EXPTIME

    def store(
        self: MemcachedAdapter, key: Key, value: Any, time: Time = 0, namespace: str | None = None
    ) -> bool:
        stored_key = self._stored_keys[key]
        exptime = time if type(time) is int and 0 <= time <= latest else _exptime(time)
        if not self._plain:
            item = self.codec.dumps(stored_key, value)
        elif type(value) is bytes and value and value[0] not in NUMERIC_START:
            item = (value, FLAG_BYTES)  # dumps' first case, inline (docs/PERFORMANCE.md)
        elif type(value) in PICKLED_TYPES:
            item = pickle_item(value)
        else:
            item = dumps(value)
        return self._run(self._stores[mode], False, (stored_key, item, exptime))

    store.__name__ = store.__qualname__ = mode
    return store


def require(module: str, extra: str) -> ModuleType:
    """Import client library ``module`` on first use.

    :raises MissingExtraError: it is not installed; the message names the
        extra (``pip install 'caching-toolkit[extra]'``).
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(module, extra) from None


def _stored_key(key_encode: Callable[[Key], Key] | None, given: Key) -> bytes:
    key = given if key_encode is None else key_encode(given)
    if is_plain_key(key):
        return key.encode()  # type: ignore[union-attr]
    checked = canonical_key(key)
    return checked.encode("utf-8") if type(checked) is str else checked  # type: ignore[return-value]


class StoredKeys(Memo[Key, bytes]):
    """``stored[key]``: the ``bytes`` key sent to memcached for the caller's
    ``key``, which ``key_encode`` (if any) and then the key rules of
    :mod:`caching.key_rules` turn it into.

    Keys are checked once and remembered, up to ``size`` of them (the memo
    then starts over): a key used again costs one dict lookup, in C, instead
    of the checks. Invalid keys are not remembered; they raise each time.

    :param key_encode: applied before the checks (remembered: it must give
        one answer per key, as :mod:`caching.encoding`'s do); ``None`` keeps keys.
    :param size: most keys remembered.
    :raises InvalidKeyError: (on lookup) the key breaks the key rules.
    :raises TypeError: (on lookup) the key is not ``str`` or ``bytes``
        (an unhashable one: "unhashable type").
    """

    __slots__ = ("key_encode",)

    def __init__(self, key_encode: Callable[[Key], Key] | None, size: int = 4096) -> None:
        super().__init__(partial(_stored_key, key_encode), size)
        self.key_encode = key_encode


class MemcachedAdapter:
    """The contract over one client library (see the subclasses).

    Subclasses set :attr:`errors` (and :attr:`refusals`) and implement the
    ``_store``, ``_get``, ``_get_many``, ``_delete``, ``_delete_many``,
    ``_incr``, ``_decr`` and ``_flush`` primitives, which receive a client
    checked out of the pool, keys as checked ``bytes`` (``_get_many``:
    checked ``str`` or ``bytes``) and values as serialised
    ``(bytes, flags)``. ``set``, ``add`` and ``replace`` call the operations
    of ``_stores``, by default ``_store`` with the mode bound; a subclass may
    put the library's own methods there instead of implementing ``_store``.

    :param pool: where clients come from (``acquire``/``get_back``).
    :param servers: ``"host:port"`` of each server, for the log messages.
    :param key_encode: applied to every key before the key rules are checked
        (e.g. :func:`caching.encoding.hash_encode`); ``None`` keeps keys. The
        adapter remembers the checked keys (:class:`StoredKeys`), so it must
        give one answer per key.
    :param logger: the adapter's logger.
    :param retry_timeout: seconds between two warnings about one server,
        and of the hold-off.
    :param hold_off: after a failure, answer "nothing happened" at once for
        ``retry_timeout`` seconds instead of trying again, then let one call
        through to try the server (on a client reset first by
        :meth:`_reset`, so that its own failure state does not answer for the
        server). The server's one state for every pooled client: a hung
        server costs one timeout per period, not one per client.
    :param recovers: keep one health state per server (implied by
        ``hold_off``): after a failure, calls go through a slower path until
        one is answered (:meth:`_answered`); the server is then back, which
        is logged at INFO once, and every client pooled before is retired
        (:meth:`_renew`), so that no later call fails only because another
        pooled connection still holds the old failure.
    :param codec: the value format when ``serializer=``, ``secret=`` or
        ``compress_over=`` is given (:class:`~caching.adapters.serializer.Codec`):
        the library then hands over every item undecoded, as ``(data,
        flags)`` (:func:`~caching.adapters.serializer.raw`), and the adapter
        reads it with the stored key; an item the codec refuses is a miss,
        logged at WARNING at most once per ``retry_timeout``. ``None`` (or a
        plain codec): the module's own format, read by the library.
    """

    #: Exceptions of the client library that mean "the server failed".
    errors: tuple[type[BaseException], ...] = (OSError,)

    #: Exceptions of the client library that mean "the server refused this
    #: one call" (e.g. a value over its item size): no failure, ``_run``
    #: answers its default after :meth:`_refused`.
    refusals: tuple[type[BaseException], ...] = ()

    #: Those of :attr:`errors` that mean "the server answered something the
    #: library could not read or did not ask for" (a server that answers is
    #: not down: no hold-off). ``_run`` treats any other exception raised
    #: while the library works (``ValueError``, ``KeyError``...) the same way.
    bad_replies: tuple[type[BaseException], ...] = ()

    #: Called with the client after each operation, before the client goes
    #: back to the pool, for a library that reports failures other than by
    #: raising (python-memcached); ``None`` for the others.
    _inspect: Callable[[Any], None] | None = None

    #: The options of ``memcached://...?client=NAME`` (name -> converter).
    url_options: dict[str, Callable[[str], Any]] = ADAPTER_OPTIONS

    @classmethod
    def build(cls, servers: str | Sequence[str], **options: Any) -> Self:
        """Build over ``servers`` with the options every adapter names alike.

        :param servers: ``"host:port"`` or a list of them.
        :param options: ``connect_timeout``, ``timeout``, ``retry_timeout``
            (seconds), ``pool_size`` and ``key_encode`` where the adapter
            takes them (see :mod:`caching.adapters.options`), translated to
            its own constructor's names; and the value format's
            ``serializer``, ``secret``, ``compress_over`` and ``compressor``
            (:class:`~caching.adapters.serializer.Codec`), which every
            adapter takes.
        """
        construct: Callable[..., Self] = cls  # adapters take (servers, **options)
        return construct(servers, **options)

    @classmethod
    def from_url(cls, url: str, servers: list[str], query: str) -> Self:
        """Build from ``memcached://...?client=NAME&...`` (see
        :func:`caching.from_url`); options as :attr:`url_options`.
        ``secret_env=NAME[,NAME...]`` becomes ``secret=`` (the secrets in
        those environment variables, read now, the first signing).
        """
        options = parse_options(url, query, cls.url_options)
        if "secret_env" in options:
            options["secret"] = options.pop("secret_env")
        return cls.build(servers, **options)

    def __init__(
        self,
        pool: PoolLike[Any],
        servers: Sequence[str],
        key_encode: Callable[[Key], Key] | None,
        logger: logging.Logger,
        retry_timeout: float,
        hold_off: bool = False,
        recovers: bool = False,
        codec: Codec | None = None,
    ) -> None:
        if not hasattr(pool, "acquire") or not hasattr(pool, "get_back"):
            raise TypeError("pool must have acquire() and get_back()")
        self.pool = pool
        self._checkout = lender(pool)
        self.servers = list(servers)
        self._stored_keys = StoredKeys(key_encode)
        self.failures = FailureLog(logger, retry_timeout)
        self.retry_timeout = retry_timeout
        self._hold_off = hold_off
        self._recovers = recovers or hold_off
        #: A server failed and has not answered since: calls take _run_troubled.
        self._troubled = False
        #: With hold_off: monotonic time until which calls answer at once.
        self._down_until = 0.0
        #: With several servers the library does not tell apart: their health.
        self._watch: ServerWatch | None = None
        #: ``count``: the failures this thread's calls met (:meth:`failed_calls`).
        self._failed_here = threading.local()
        #: ``set``/``add``/``replace`` as operations of ``_run``:
        #: ``(client, key, item, exptime) -> stored``.
        self._stores: dict[str, Callable[..., bool]] = {
            mode: partial(self._store, mode) for mode in (SET, ADD, REPLACE)
        }
        #: The value format (serializer, secret, compression).
        self.codec = Codec() if codec is None else codec
        #: The module's own format: the library reads items itself.
        self._plain = self.codec.plain
        self._item_refusals = RefusalLog(logger, retry_timeout)

    @property
    def key_encode(self) -> Callable[[Key], Key] | None:
        """Applied to every key before it is checked (``None``: keys as given)."""
        return self._stored_keys.key_encode

    def close(self) -> None:
        """Close the pooled connections; the adapter reconnects when used again."""
        close = getattr(self.pool, "close", None)
        if close is not None:
            close()
        if self._watch is not None:
            self._watch.close()

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__} {','.join(self.servers)}>"

    # -- plumbing ---------------------------------------------------------

    def _keys(self, keys: Iterable[Key]) -> dict[bytes, list[Key]]:
        """Checked bytes key -> the caller's keys that name it (a ``str`` and
        its UTF-8 bytes name one item)."""
        reject_single_key(keys)
        by_key: dict[bytes, list[Key]] = {}
        for key in keys:
            stored = self._stored_keys[key]
            if stored in by_key:
                by_key[stored].append(key)
            else:
                by_key[stored] = [key]
        return by_key

    def _run(self, operation: Callable[..., T], default: T, args: tuple[Any, ...] = ()) -> T:
        """``operation(client, *args)`` on a pooled client; a server failure
        gives ``default``. Every call to the library goes through here.

        A reply the library could not read (one of :attr:`bad_replies`, or
        any other exception but :attr:`errors` raised by the library) also
        gives ``default``, after :meth:`_bad_reply`.

        (Its shape is explained in docs/PERFORMANCE.md, "One call to the library".)
        """
        if self._troubled:  # one test, as the hold-off's was before
            return self._run_troubled(operation, default, args)
        try:
            lease = self._checkout()  # (a ``with`` block's work, inline)
            try:
                client = lease.client
                result = operation(*(client,) + args)  # noqa: RUF005
            except self.refusals as refusal:
                self._refused(client, refusal, operation, args)
                return default
            except self.bad_replies as exc:
                self._bad_reply(client, exc)
                return default
            except self.errors:
                raise
            except Exception as exc:  # the library could not read a reply
                self._bad_reply(client, exc)
                return default
            else:
                if self._inspect is not None:
                    self._inspect(client)
                return result
            finally:
                give_back = lease.give_back  # a local: "Attribute loads"
                give_back(lease)
        except self.errors as exc:
            self._failed(exc)
            return default

    def _run_troubled(self, operation: Callable[..., T], default: T, args: tuple[Any, ...]) -> T:
        """:meth:`_run` while a server is down (docs/FAILURES.md, "Recovery"):
        within the hold-off, ``default`` at once; after it, this call tries
        the server on a reset client while the others still answer
        ``default``; a call answered marks the server back."""
        if self._hold_off:
            now = monotonic()
            if now < self._down_until:
                self._count_failure()
                return default
            self._down_until = now + self.retry_timeout  # this call tries
        lend = self._checkout
        try:
            with lend() as client:
                if self._hold_off:
                    self._reset(client)
                try:
                    result = operation(*(client,) + args)  # noqa: RUF005
                except self.refusals as refusal:
                    # No proof that the server answered (pylibmc refuses a
                    # too large value before sending it).
                    self._refused(client, refusal, operation, args)
                    return default
                except self.bad_replies as exc:
                    self._bad_reply(client, exc)
                    return default
                except self.errors:
                    raise
                except Exception as exc:  # the library could not read a reply
                    self._bad_reply(client, exc)
                    return default
                if self._inspect is not None:
                    self._inspect(client)
                answered = self._answered(client)
        except self.errors as exc:
            self._failed(exc)
            return default
        for server in answered:
            self._recovered(server)
        return result

    def _answered(self, client: Any) -> list[str]:
        """The servers known to have answered the call just made on
        ``client`` (no server failure was raised): with one server, that one,
        under every name it was reported down by; with several, none unless
        the library tells (python-memcached)."""
        return [*self.failures.down, *self.servers] if len(self.servers) == 1 else []

    def _recovered(self, server: str) -> None:
        """``server`` answered after a failure: retire the clients pooled
        before (:meth:`_renew`), take it out of ``failures.down``, end the
        hold-off once no server is down, then log it back (once per recovery).

        In this order, a call that begins once the server is out of the down
        set (it is tried again) never takes a client that still holds the
        failure, and one that begins once it is logged back does not meet
        the hold-off either. Threads that see it back together may each
        renew (the clients are retired once more).
        """
        back = False
        if server in self.failures.down:
            try:
                self._renew()
            except Exception:  # the old clients stay; the server is back all the same
                self.failures.logger.exception("renewing the pool after %s failed", server)
            back = self.failures.forget(server)
        if not self.failures.down:
            self._down_until = 0.0
            self._troubled = False
            if self.failures.down:  # a failure reported meanwhile keeps the troubled path
                self._troubled = self._recovers
        if back:
            self.failures.log_back(server)

    def _renew(self) -> None:
        """Retire every pooled client (:meth:`Pool.renew`) when a server is
        back; a foreign pool without ``renew`` is left as it is, unless the
        adapter knows how to refresh its clients (pylibmc)."""
        renew = getattr(self.pool, "renew", None)
        if renew is not None:
            renew()

    def _bad_reply(self, client: Any, error: BaseException) -> None:
        """The server's reply could not be read (or was not asked for):
        close ``client``'s connections before it goes back to the pool, so
        that no later call reads what is left of that reply, and report the
        failure (logged at most once per period). No hold-off: the server
        answers, and the next call gets a fresh connection."""
        self._reset(client)
        self._bad_reply_seen(self._failed_server(error), f"{type(error).__name__}: {error}")

    def _bad_reply_seen(self, server: str, reason: str) -> None:
        """Log that ``server`` sent a reply that could not be read (at most
        once per period); the server answered, so its health is unchanged."""
        self.failures.report(server, f"unexpected reply: {reason}", down=False)

    def _reset(self, client: Any) -> None:
        """Close every connection of ``client`` and drop its failure state
        (libmemcached's retry wait goes with pylibmc's connections); it
        reconnects when used again. Called with the client checked out: after
        a reply that could not be read, and before a client tries a server
        again after the hold-off. (``disconnect_all`` or ``close``, whichever
        the client has.)"""
        close = getattr(client, "disconnect_all", None) or getattr(client, "close", None)
        if close is not None:
            close()

    def _refused(
        self,
        client: Any,
        refusal: BaseException,
        operation: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> None:
        """Called, with the client still checked out, when the server refused
        ``operation(client, *args)`` with one of :attr:`refusals` (the call
        then answers its default); does nothing unless a subclass needs to
        tidy up."""

    def _stored(self, client: Any, mode: str, key: bytes, item: Item, exptime: int) -> bool:
        """One item stored by ``_stores[mode]`` on ``client``, already checked
        out; a refusal (see :attr:`refusals`) is ``False``, as in ``_run``."""
        store = self._stores[mode]
        try:
            return store(client, key, item, exptime)
        except self.refusals as refusal:
            self._refused(client, refusal, store, (key, item, exptime))
            return False

    def _failed(self, error: BaseException) -> None:
        """Note a server failure (hold off, log at most once per period),
        unless the error is the server refusing the call (:meth:`_refusal`)."""
        if self._refusal(error):
            return
        if self._hold_off:
            self._down_until = monotonic() + self.retry_timeout
        self._report(self._failed_server(error), error)

    def _refusal(self, error: BaseException) -> bool:
        """Whether ``error``, one of :attr:`errors`, is the server's answer
        refusing the call (e.g. memcached's ``SERVER_ERROR out of memory``),
        which the library raises like a failure; ``False`` here."""
        return False

    def _report(self, server: str, error: object) -> None:
        """Note that ``server`` failed: log it (at most once per period) and,
        when the adapter keeps the servers' health, take the troubled path
        (set first: a thread that sees the server back meanwhile must not
        leave the adapter off the troubled path with the server down). With
        several servers the library cannot tell apart, a
        :class:`~caching.adapters.watch.ServerWatch` finds which failed,
        logs it, and renews the pool when it is back."""
        self._count_failure()
        if self._recovers:
            self._troubled = True
        elif len(self.servers) > 1:  # the library does not say which one
            self._server_watch().suspect(self._suspects(server), error)
            return
        self.failures.report(server, error)

    def _count_failure(self) -> None:
        here = self._failed_here
        here.count = getattr(here, "count", 0) + 1

    def failed_calls(self) -> int:
        """How many calls made by this thread met a server failure (and so
        answered "nothing happened") since the adapter was built; for
        :class:`caching.stats.StatsCache`. A call counts once or more."""
        return getattr(self._failed_here, "count", 0)

    def _suspects(self, server: str) -> list[str]:
        """The servers a failure reported under ``server`` may have come from."""
        return self.servers if server == ",".join(self.servers) else [server]

    def _server_watch(self) -> ServerWatch:
        """The adapter's :class:`~caching.adapters.watch.ServerWatch`, made on
        first use."""
        if self._watch is None:
            self._watch = ServerWatch(self)
        return self._watch

    def _failed_server(self, error: BaseException) -> str:
        """The server an exception came from (all of them when unknown)."""
        return ",".join(self.servers)

    # -- primitives (per library) -----------------------------------------

    def _store(self, mode: str, client: Any, key: bytes, item: Item, exptime: int) -> bool:
        raise NotImplementedError

    def _store_batch(
        self, client: Any, mode: str, items: dict[bytes, Item], exptime: int
    ) -> list[bytes]:
        """Store many items; the keys not stored. One command at a time
        unless the library pipelines ``mode``."""
        return [
            key for key, item in items.items() if not self._stored(client, mode, key, item, exptime)
        ]

    def _get(self, client: Any, key: bytes) -> Any:
        raise NotImplementedError

    def _get_many(self, client: Any, keys: list[Key]) -> dict[Key, Any]:
        """The items found, under the very key objects of ``keys`` (checked
        ``str`` keys, which the library encodes as UTF-8, or ``bytes``)."""
        raise NotImplementedError

    def _delete(self, client: Any, key: bytes) -> bool:
        raise NotImplementedError

    def _delete_many(self, client: Any, keys: list[bytes]) -> bool:
        raise NotImplementedError

    def _incr(self, client: Any, key: bytes, delta: int) -> int | None:
        """The new value, ``None`` on a miss, :data:`NON_NUMERIC` when the
        server says the item is not a counter."""
        raise NotImplementedError

    def _decr(self, client: Any, key: bytes, delta: int) -> int | None:
        raise NotImplementedError

    def _flush(self, client: Any) -> bool:
        raise NotImplementedError

    # -- stores -----------------------------------------------------------

    if TYPE_CHECKING:  # the signatures of the methods _storer builds

        def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
            """As :meth:`caching.contract.Cache.set`."""

        def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
            """As :meth:`caching.contract.Cache.add`."""

        def replace(
            self, key: Key, value: Any, time: Time = 0, namespace: str | None = None
        ) -> bool:
            """As :meth:`caching.contract.Cache.replace`."""

    else:
        set = _storer(SET)
        add = _storer(ADD)
        replace = _storer(REPLACE)

    def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_all(SET, mapping, time)

    def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_all(ADD, mapping, time)

    def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._store_all(REPLACE, mapping, time)

    def _store_all(self, mode: str, mapping: Mapping[Key, Any], time: Time) -> list[Key]:
        if type(mapping) is dict:
            # Keys checked, then values serialised, each by one map in C
            # (docs/PERFORMANCE.md, "pylibmc's batches").
            exptime = time if type(time) is int and 0 <= time <= MAX_EXPTIME else _exptime(time)
            stored = list(map(self._stored_keys.__getitem__, mapping))
            if self._plain:
                values = map(dumps, mapping.values())
            else:
                values = map(self.codec.dumps, stored, mapping.values())
            batch = dict(zip(stored, values, strict=True))
            if len(batch) == len(mapping):  # no two keys name one item
                if not batch:
                    return []
                failed = self._run(self._store_items, stored, (mode, batch, exptime))
                if not failed:
                    return []
                given = dict(zip(stored, mapping, strict=True))
                return [given[key] for key in failed]
        check_mapping(mapping)
        exptime = _exptime(time)
        by_key = self._keys(mapping)  # every key checked before anything is sent
        if self._plain:
            items = {key: dumps(mapping[given[-1]]) for key, given in by_key.items()}
        else:
            encode = self.codec.dumps
            items = {key: encode(key, mapping[given[-1]]) for key, given in by_key.items()}
        if not items:
            return []
        failed = self._run(self._store_items, list(items), (mode, items, exptime))
        return [given for key in failed for given in by_key[key]]

    def _store_items(
        self, client: Any, mode: str, items: dict[bytes, Item], exptime: int
    ) -> list[bytes]:
        batch = {key: item for key, item in items.items() if len(item[0]) <= BATCH_LIMIT}
        failed = self._store_batch(client, mode, batch, exptime) if batch else []
        for key, item in items.items():
            if key not in batch and not self._stored(client, mode, key, item, exptime):
                failed.append(key)
        return failed

    # -- reads ------------------------------------------------------------

    def get(self, key: Key, namespace: str | None = None) -> Any:
        if self._plain:
            return self._run(self._get, None, (self._stored_keys[key],))
        stored_key = self._stored_keys[key]
        item = self._run(self._get, None, (stored_key,))
        if item is None:
            return None
        try:  # _decoded inline: one call less on each signed read (docs/PERFORMANCE.md)
            return self.codec.loads(stored_key, item[0], item[1])
        except BadItemError as exc:
            self._item_refusals.report(stored_key, exc)
            return None

    def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        reject_single_key(keys)
        listed = keys if type(keys) is list else list(keys)
        if self._stored_keys.key_encode is None and plain_keys(listed):
            # Valid as they are, and no two name one item unless equal: the
            # library's answer is keyed by the caller's keys already.
            return self._get_found(listed) if listed else {}
        by_key = self._keys(listed)
        if not by_key:
            return {}
        found = self._get_found(list(by_key))
        return {given: value for key, value in found.items() for given in by_key[key]}  # type: ignore[index]

    def _get_found(self, keys: list[Key]) -> dict[Key, Any]:
        """``_get_many`` on a pooled client; what could be read, without the
        stored ``None`` values (misses to the contract)."""
        nothing: dict[Key, Any] = {}
        if self._plain:
            return self._hits(self._run(self._get_many, nothing, (keys,)))
        found = self._run(self._get_many, nothing, (keys,))
        read = {}
        for key, item in found.items():
            if item is not None:
                stored = key.encode("utf-8") if type(key) is str else key
                value = self._decoded(stored, item)  # type: ignore[arg-type]
                if value is not None:
                    read[key] = value
        return read

    def _decoded(self, key: bytes, item: Item) -> Any:
        """The value of ``key``'s item ``(data, flags)``, as the library
        handed it over undecoded, read by :attr:`codec`; ``None`` (a miss,
        logged at most once per period) for an item it refuses."""
        try:
            return self.codec.loads(key, *item)
        except BadItemError as exc:
            self._item_refusals.report(key, exc)
            return None

    def _hits(self, found: dict[Key, Any]) -> dict[Key, Any]:
        """``found`` without its ``None`` values."""
        for value in found.values():
            if value is None:
                return {key: value for key, value in found.items() if value is not None}
        return found

    # -- deletes ----------------------------------------------------------

    def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        stored_key = self._stored_keys[key]
        return self._run(self._delete, False, (stored_key,))

    def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool:
        stored_keys = list(self._keys(keys))
        if not stored_keys:
            return True
        return self._run(self._delete_many, False, (stored_keys,))

    def flush_all(self) -> bool:
        return self._run(self._flush, False)

    # -- health -----------------------------------------------------------

    #: Seconds a :meth:`ping` waits for each server (each adapter sets its
    #: answer timeout).
    ping_timeout: float = DEFAULT_TIMEOUT

    def ping(self) -> dict[str, float | None]:
        """As :meth:`caching.contract.Cache.ping`: each server's round trip
        to memcached's ``version`` on a connection of its own
        (:func:`caching.adapters.health.round_trip`). Over a pool of the
        caller's (``servers == ["pool"]``) the servers are read off one of
        its clients."""
        servers = self.servers
        if servers == ["pool"]:
            with checkout(self.pool) as client:
                servers = self._client_servers(client)
        return {server: round_trip(server, self.ping_timeout) for server in servers}

    def _client_servers(self, client: Any) -> list[str]:
        """The ``"host:port"`` (or ``"unix:/path"``) of each server of a
        client of the library."""
        raise NotImplementedError

    # -- counters ---------------------------------------------------------

    def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return self._count(key, delta, initial_value, False)

    def decr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return self._count(key, delta, initial_value, True)

    def _count(self, key: Key, delta: int, initial_value: int | None, down: bool) -> int | None:
        stored_key = self._stored_keys[key]
        delta = counters.check_delta(delta)
        initial = counters.check_initial(initial_value)
        value = self._run(self._counter, None, (stored_key, delta, initial, down))
        if value is not None and value < 0:  # NON_NUMERIC
            # memcached 1.6 can misread a counter from 2**63 as non-numeric
            # (docs/FAILURES.md, "Counters from 2**63"): count it here.
            # A reply it cannot read leaves memcached's answer standing; a
            # server failure meanwhile (a timeout) is a failed call, as any.
            failures = self.failed_calls()
            fallback: int | None = NON_NUMERIC
            value = self._run(self._count_from_2_63, fallback, (stored_key, delta, down))
            if value is not None and value < 0:
                if self.failed_calls() != failures:
                    return None
                raise counters.non_numeric()
        return value

    def _count_from_2_63(self, client: Any, key: bytes, delta: int, down: bool) -> int | None:
        """``incr``/``decr`` by ``gets``/``cas`` (:func:`count_from_2_63`) of
        a counter that memcached answered "non-numeric" for;
        :data:`NON_NUMERIC` also when the library has no ``gets``. The item
        keeps the expiry that :meth:`_gets`'s token carries to :meth:`_cas`
        (pylibmc's reads it with meta commands); here none: the text
        protocol does not read it back."""
        if getattr(client, "gets", None) is None:
            return NON_NUMERIC
        return run(count_from_2_63(key, delta, down), _CasCalls(self, client))

    def _gets(self, client: Any, key: bytes) -> tuple[Any, Any]:
        """``(value, cas token)`` of ``key``, the value as a counter reads
        (``counter_value`` of an item handed over undecoded)."""
        value, token = client.gets(key)
        if type(value) is tuple:  # an item handed over undecoded
            counted = counter_value(value)
            value = value if counted is None else counted  # no counter: stays a tuple
        return value, token

    def _cas(self, client: Any, key: bytes, value: int, token: Any) -> bool:
        return bool(client.cas(key, (str(value).encode("ascii"), FLAG_INT), token))

    def _counter(
        self, client: Any, key: bytes, delta: int, initial: int | None, down: bool
    ) -> int | None:
        """incr/decr; a miss with ``initial`` creates the counter with ``add``,
        so of concurrent creators one adds and the others count on it."""
        count = self._decr if down else self._incr
        for _ in range(_INITIAL_TRIES):
            value = count(client, key, delta)
            if value is not None or initial is None:
                return value
            start = counters.decr(initial, delta) if down else counters.incr(initial, delta)
            if self._stored(client, ADD, key, dumps(start), 0):
                return start
        return None


def count_from_2_63(key: bytes, delta: int, down: bool) -> Steps[int | None]:
    """``incr``/``decr`` of ``key`` by ``gets``/``cas``, as steps
    (:mod:`caching.steps`), for a counter of 2**63 or more that memcached
    answered "non-numeric" for (docs/FAILURES.md, "Counters from 2**63").

    The one rule of every adapter, sync and async: yields ``("gets", (key,))``,
    sent ``(value, cas token)`` (the value as a counter reads; ``(None,
    None)``: no item), and ``("cas", (key, new value, token))``, sent whether
    it was stored; tries again while another writer wins the ``cas``.

    :returns: the new value; :data:`NON_NUMERIC` when the item is no counter
        from 2**63 (the server's answer was true); ``None`` when it is gone
        or every ``cas`` lost. The item keeps the expiry the token carries
        where the adapter reads it (pylibmc, with meta ``mg <key> t``);
        elsewhere it is written without one (the text protocol does not read
        it back).
    """
    for _ in range(_CAS_TRIES):
        value, token = yield ("gets", (key,))
        if value is None and token is None:
            return None  # gone (a stored None has a token)
        if type(value) is not int or not 2**63 <= value < counters.MAX_COUNTER:
            return NON_NUMERIC
        new = counters.decr(value, delta) if down else counters.incr(value, delta)
        if (yield ("cas", (key, new, token))):
            return new
    return None


class _CasCalls:
    """The ``gets``/``cas`` of :func:`count_from_2_63` on one client of a sync adapter."""

    __slots__ = ("adapter", "client")

    def __init__(self, adapter: MemcachedAdapter, client: Any) -> None:
        self.adapter = adapter
        self.client = client

    def gets(self, key: bytes) -> tuple[Any, Any]:
        return self.adapter._gets(self.client, key)

    def cas(self, key: bytes, value: int, token: Any) -> bool:
        return self.adapter._cas(self.client, key, value, token)


class MemcacheApi(MemcachedAdapter):
    """The primitives over python-memcached's method names (``get``,
    ``get_multi``, ``set_multi``, ``delete``), which pylibmc shares."""

    def _store_batch(
        self, client: Any, mode: str, items: dict[bytes, Item], exptime: int
    ) -> list[bytes]:
        if mode != SET:
            return super()._store_batch(client, mode, items, exptime)
        return list(client.set_multi(items, exptime))

    def _get(self, client: Any, key: bytes) -> Any:
        return client.get(key)

    def _get_many(self, client: Any, keys: list[Key]) -> dict[Key, Any]:
        return client.get_multi(keys)  # type: ignore[no-any-return]

    def _delete(self, client: Any, key: bytes) -> bool:
        return bool(client.delete(key))
