"""Key builders: make a cache key from a function's arguments.

The names and the key format are wheezy.caching's (``"repo-list_items:'en':1"``),
but the make-key functions are built from :func:`inspect.signature` instead of
generated source code (only ``Cached``'s hit path is generated, from the
parameters' names: :class:`KeySource`), defaults are applied (``f()`` and ``f("en")`` share a
key when ``"en"`` is the default), and every key is valid on every backend
whatever the arguments: the readable key when it passes the key rules,
otherwise ``<prefix>-<name>#<sha1 hex of the readable key>``.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from caching.key_rules import MAX_KEY_LENGTH, is_plain_key, is_valid_key

__all__ = [
    "CONTEXT_NAMES",
    "DEFAULT_REPR",
    "check_arguments",
    "key_builder",
    "key_format",
    "key_formatter",
    "safe_key",
]

#: Names of a first parameter that is left out of the key (wheezy's rule).
CONTEXT_NAMES = frozenset({"self", "cls", "klass"})

MakeKey = Callable[..., str]

# Room left for "#" and a 40-character SHA-1 after the readable head of a key.
_MAX_HEAD = MAX_KEY_LENGTH - 41


def safe_key(key: str, head: str = "") -> str:
    """Return ``key`` when it is a valid cache key, else a hashed stand-in.

    :param key: the readable key.
    :param head: readable start of the stand-in (e.g. ``"repo-list_items"``);
        dropped when it is not itself valid or longer than 209 characters.
    :returns: ``key`` itself, or ``head + "#" + sha1(key)`` (hex) -- valid on
        every backend for any input. Distinct keys stay distinct (up to SHA-1
        collisions).
    """
    if is_valid(key):
        return key
    digest = hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()
    if head and len(head) <= _MAX_HEAD and is_valid(head):
        return f"{head}#{digest}"
    return f"#{digest}"


def _key_parameters(func: Callable[..., Any]) -> list[inspect.Parameter]:
    """The parameters of ``func`` that go into its key (``self``/``cls`` left out)."""
    parameters = list(inspect.signature(func).parameters.values())
    if parameters and parameters[0].name in CONTEXT_NAMES:
        return parameters[1:]
    return parameters


def key_format(func: Callable[..., Any], key_prefix: str) -> str:
    """Return the key format of ``func``: one ``:%r`` per key argument.

    >>> def list_items(self, locale='en', sort_order=1):
    ...     pass
    >>> key_format(list_items, 'repo')
    'repo-list_items:%r:%r'

    :param func: the function whose arguments make the key.
    :param key_prefix: the start of every key.
    """
    count = len(_key_parameters(func))
    return f"{key_prefix}-{func.__name__}" + ":%r" * count


def key_formatter(key_prefix: str) -> Callable[[Callable[..., Any]], str]:
    """Return ``key_format`` specialised with ``key_prefix``.

    >>> def list_items(self, locale='en', sort_order=1):
    ...     pass
    >>> key_formatter('repo')(list_items)
    'repo-list_items:%r:%r'
    """

    def key_format_wrapper(func: Callable[..., Any]) -> str:
        return key_format(func, key_prefix)

    return key_format_wrapper


#: What every repr that shows an address holds (``<Query object at 0x7f..>``,
#: ``<function <lambda> at 0x7f..>``): a key holding it has its arguments checked.
DEFAULT_REPR = " at 0x"

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


def _untrusted(value: Any) -> bool:
    """Whether ``repr(value)`` shows an object's address (the default repr
    of an object, a function's, a lambda's...), itself or inside a
    container; a ``str`` holding those words is trusted."""
    if isinstance(value, (str, bytes)):
        return False
    return _ADDRESS.search(repr(value)) is not None


def check_arguments(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Refuse arguments whose ``repr`` is the default ``<... object at 0x...>``.

    Such a repr changes with the object's address, and an address is reused
    once the object is gone: keying a call by it gives false hits
    (``listing(Query("tea"))`` then ``listing(Query("coffee"))`` answered the
    tea listing). The key builders call this only for a key that holds
    :data:`DEFAULT_REPR`, so the hit path does not pay for it. A parameter's
    own default (a sentinel ``object()``, say) is let through: it is the same
    object on every call.

    :raises TypeError: naming the first such parameter and the fixes.
    """
    signature = inspect.signature(func)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return  # the key maker raises the call's own TypeError
    for name, value in bound.arguments.items():
        if name in CONTEXT_NAMES and next(iter(signature.parameters)) == name:
            continue
        if value is signature.parameters[name].default:
            continue  # the same object on every call: its address keys the same calls
        if _untrusted(value):
            kind = type(value).__qualname__
            raise TypeError(
                f"cannot make a cache key of {func.__qualname__}(): argument {name!r} "
                f"({kind}) has the default repr, which shows the object's address and "
                f"so changes from one object to the next (a reused address gives a "
                f"false hit); give {kind} a __repr__ that shows what it holds, or "
                f"pass make_key= to the decorator"
            )


def _value(parameter: inspect.Parameter, value: Any) -> Any:
    if parameter.kind is inspect.Parameter.VAR_KEYWORD:
        return tuple(sorted(value.items()))
    return value


class KeySource(NamedTuple):
    """A function's parameters as source text, for a wrapper generated with
    the function's own signature (``Cached``'s hit path, docs/PERFORMANCE.md,
    "Decorated hits"); only identifiers of the function's parameters appear
    in it, never a value.

    ``parameters`` is the parameter list without defaults, which the wrapper
    takes as ``defaults`` and ``kwdefaults`` (its ``__defaults__`` and
    ``__kwdefaults__``, the function's own); ``key`` an
    f-string expression of the readable key, exactly ``fmt % values``, with
    ``_caching_head`` standing for the key's head; ``args`` the positional
    arguments passed on, each followed by a comma; ``kwargs`` a dict display
    of the keyword-only ones.
    """

    parameters: str
    key: str
    args: str
    kwargs: str
    defaults: tuple[Any, ...] | None
    kwdefaults: dict[str, Any] | None


#: The prefix of the names a generated wrapper keeps for itself.
RESERVED_PREFIX = "_caching_"


class KeySpec(NamedTuple):
    """How a make-key function formats its key, for callers that inline it.

    With no keyword arguments and ``formats.get(len(args))`` not ``None``, the
    readable key is ``formats[len(args)] % args[skip:]`` (the defaults of the
    parameters not passed are already rendered in that format); it still has
    to be checked (or left to the backend's key check) before use. ``source``
    is the same key as source text (:class:`KeySource`), or ``None`` for a
    function with ``*args``/``**kwargs`` or a parameter of a reserved name.
    """

    formats: dict[int, str]
    skip: int
    head: str
    source: KeySource | None


def _source(
    func: Callable[..., Any], parameters: list[inspect.Parameter], skip: int
) -> KeySource | None:
    """The :class:`KeySource` of ``func``'s signature with ``skip`` context
    parameters; ``None`` unless ``func`` is a plain function whose signature
    is its own code's (not one given by ``__signature__`` or ``__wrapped__``,
    whose defaults a call to ``func`` does not apply), with no ``*args`` or
    ``**kwargs`` and only ASCII parameter names, none reserved."""
    kinds = {p.kind for p in parameters}
    if (
        not inspect.isfunction(func)
        or hasattr(func, "__wrapped__")
        or hasattr(func, "__signature__")
        or kinds & {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}
        or any(
            p.name.startswith(RESERVED_PREFIX) or not p.name.isascii() or p.name == "__debug__"
            for p in parameters
        )
    ):
        return None
    listed = [p.name for p in parameters]
    positional = [p.name for p in parameters if p.kind is not p.KEYWORD_ONLY]
    keyword = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY]
    only = sum(p.kind is p.POSITIONAL_ONLY for p in parameters)
    if only:
        listed.insert(only, "/")
    if keyword:
        listed.insert(len(listed) - len(keyword), "*")
    rendered = "".join(f":{{{p.name}!r}}" for p in parameters[skip:])
    defaults = tuple(
        p.default for p in parameters if p.kind is not p.KEYWORD_ONLY and p.default is not p.empty
    )
    kwdefaults = {
        p.name: p.default
        for p in parameters
        if p.kind is p.KEYWORD_ONLY and p.default is not p.empty
    }
    return KeySource(
        parameters=", ".join(listed),
        key=f'f"{{{RESERVED_PREFIX}head}}{rendered}"',
        args="".join(f"{name}, " for name in positional),
        kwargs="{" + ", ".join(f"{name!r}: {name}" for name in keyword) + "}",
        defaults=defaults or None,
        kwdefaults=kwdefaults or None,
    )


#: Default values whose repr never changes, so they can be rendered once.
_IMMUTABLE = (str, bytes, int, float, complex, bool, type(None))


def is_valid(key: str) -> bool:
    """Whether ``key`` passes the key rules (the plain key checked first)."""
    return is_plain_key(key) or is_valid_key(key)


def _formats(parameters: list[inspect.Parameter], skip: int, head: str) -> dict[int, str]:
    """Positional argument count -> key format with the missing defaults rendered.

    Empty when a parameter is not positional; a count whose missing defaults
    are not all immutable is left out (such calls take the general path).
    """
    if not all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters):
        return {}
    formats = {}
    for count in range(len(parameters) + 1):
        missing = parameters[count:]
        if any(p.default is p.empty or type(p.default) not in _IMMUTABLE for p in missing):
            continue
        passed = ":%r" * (count - skip) if count >= skip else None
        if passed is None:
            continue
        rendered = "".join(":" + repr(p.default).replace("%", "%%") for p in missing)
        formats[count] = head.replace("%", "%%") + passed + rendered
    return formats


def _key_spec(func: Callable[..., Any], key_prefix: str) -> tuple[KeySpec, Callable[..., str]]:
    """The key spec of ``func``, and the general key maker (``inspect.Signature.bind``)."""
    signature = inspect.signature(func)
    parameters = list(signature.parameters.values())
    skip = 1 if parameters and parameters[0].name in CONTEXT_NAMES else 0
    keyed = parameters[skip:]
    head = f"{key_prefix}-{func.__name__}"
    fmt = head.replace("%", "%%") + ":%r" * len(keyed)

    positional = all(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters)
    names = [p.name for p in parameters]
    defaults = [p.default for p in parameters]

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        count = len(args)
        if positional and count <= len(names) and kwargs.keys() <= set(names[count:]):
            # Keyword arguments of a plain signature: fill by name, no Signature.bind.
            tail = [
                kwargs.get(name, default)
                for name, default in zip(names[count:], defaults[count:], strict=True)
            ]
            if not any(value is inspect.Parameter.empty for value in tail):
                return fmt % (*args[skip:], *tail[max(0, skip - count) :])
        bound = signature.bind(*args, **kwargs)  # raises TypeError as a call would
        bound.apply_defaults()
        return fmt % tuple(_value(p, bound.arguments[p.name]) for p in keyed)

    spec = KeySpec(_formats(parameters, skip, head), skip, head, _source(func, parameters, skip))
    return spec, bind


def _make_key(func: Callable[..., Any], key_prefix: str) -> MakeKey:
    spec, bind = _key_spec(func, key_prefix)
    formats, skip, head = spec.formats, spec.skip, spec.head

    def make_key(*args: Any, **kwargs: Any) -> str:
        fmt = None if kwargs else formats.get(len(args))
        key = bind(args, kwargs) if fmt is None else fmt % args[skip:]
        if DEFAULT_REPR in key:
            check_arguments(func, args, kwargs)
        return key if is_plain_key(key) or is_valid(key) else safe_key(key, head)

    make_key.__name__ = make_key.__qualname__ = f"key_{func.__name__}"
    make_key.__doc__ = f"Cache key of {func.__qualname__}: {key_format(func, key_prefix)!r}."
    make_key.key_spec = spec  # type: ignore[attr-defined]
    make_key.bind = bind  # type: ignore[attr-defined]
    return make_key


def key_builder(key_prefix: str = "") -> Callable[[Callable[..., Any]], MakeKey]:
    """Return a builder of make-key functions for ``key_prefix``.

    >>> def list_items(self, locale='en', sort_order=1):
    ...     pass
    >>> make_key = key_builder('repo')(list_items)
    >>> make_key('self')
    "repo-list_items:'en':1"
    >>> make_key('self', 'uk')
    "repo-list_items:'uk':1"
    >>> make_key('self', sort_order=0)
    "repo-list_items:'en':0"
    >>> make_key('self', 'a b')[:16]  # a space: hashed, readable up to '#'
    'repo-list_items#'

    A make-key function takes the function's own arguments (including
    ``self``/``cls``, which are left out of the key) and returns
    ``key_format(func, key_prefix) % values``, with defaults applied and
    ``**kwargs`` sorted. A key that would break the key rules (a space, a
    control character, longer than 250 bytes) is replaced by
    ``"<prefix>-<name>#<sha1 hex>"`` (see :func:`safe_key`).

    :param key_prefix: the start of every key.
    :returns: ``build(func) -> make_key``.
    :raises TypeError: (from ``make_key``) arguments that do not fit the
        function's signature, as a call would; an argument whose ``repr`` is
        the default ``<... object at 0x...>`` (see :func:`check_arguments`).
    """

    def build(func: Callable[..., Any]) -> MakeKey:
        return _make_key(func, key_prefix)

    return build
