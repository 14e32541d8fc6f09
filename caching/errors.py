"""The exception hierarchy of ``caching``.

Programming errors raise; cache *server* failures never do (see CONTRACT.md,
"Failures"): they are answered with the contract's "nothing happened" value.
"""

from __future__ import annotations

__all__ = [
    "DISTRIBUTION",
    "CacheError",
    "InvalidKeyError",
    "MissingExtraError",
    "RegionNotConfiguredError",
]


class CacheError(Exception):
    """Base class of every exception raised by ``caching``."""


class InvalidKeyError(CacheError, ValueError):
    """A key that memcached would refuse or misread.

    Raised before any I/O, by every backend, when the key that reaches storage
    is not ``str``/``bytes`` of 1 to 250 bytes (UTF-8) free of ASCII control
    characters and spaces (bytes ``0x00``-``0x20`` and ``0x7f``).
    """


#: The distribution that installs the ``caching`` package (``pip install caching-toolkit``).
DISTRIBUTION = "caching-toolkit"


class MissingExtraError(CacheError, ImportError):
    """An optional client library is not installed.

    The message names the extra that installs it, e.g.
    ``pip install caching-toolkit[pylibmc]``.
    """

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"the {module!r} module is not installed; "
            f"install it with: pip install '{DISTRIBUTION}[{extra}]'"
        )
        self.name = module
        self.extra = extra


class RegionNotConfiguredError(CacheError):
    """A cache region was used before it was configured.

    Raised by every call of a :class:`~caching.regions.Region`, and of a
    function it caches, until ``region.configure(...)`` or
    ``caching.configure(config)`` binds it; the message names the region.
    """
