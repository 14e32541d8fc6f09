"""Compatibility path: ``wheezy.caching.lockout``'s names.

The lockout lives in :mod:`caching.patterns.lockout`.
"""

from caching.patterns.lockout import Counter, Locker, Lockout, NullLocker, NullLockout

__all__ = ["Counter", "Locker", "Lockout", "NullLocker", "NullLockout"]
