"""Pattern logic written once for sync and async backends ("sans I/O").

A pattern's decisions are a generator of *steps*: it yields each cache call
it needs as a :data:`Call` (the contract method's name and its positional
arguments) and is sent the call's answer back. :func:`run` answers the calls
with a sync :class:`~caching.contract.Cache`, :func:`run_async` awaits them
on an :class:`~caching.aio.contract.AsyncCache`; the generator's return value
is the pattern's answer. An exception raised by a call is thrown into the
generator at its ``yield``, so ``try``/``except`` around a step works as
around a direct call; a ``StopIteration`` a call or the steps' own code (a
key builder, a ``should_cache``) raises and the generator does not catch
comes out of :func:`run` as itself (not as the
``RuntimeError`` a generator turns it into, PEP 479). So one home holds
each rule (which keys, in which order, what an answer means), and the sync
and the async pattern cannot drift apart.

Used by the lockouts (:mod:`caching.patterns.lockout`,
:mod:`caching.aio.lockout`), the dependencies, the invalidation marks
(:mod:`caching.patterns.marks`), the multi-item parts of ``Cached`` and
``AsyncCached`` (:class:`caching.patterns.cached.CachedBase`) and the
counters of the memcached adapters from 2**63
(:func:`caching.adapters.base.count_from_2_63`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

__all__ = ["Call", "Steps", "run", "run_async"]

T = TypeVar("T")

#: One cache call: ``(method name, positional arguments)``, e.g.
#: ``("get_multi", (keys, namespace))``.
Call = tuple[str, tuple[Any, ...]]

#: A generator of steps answering ``T``: yields :data:`Call`, is sent each
#: call's answer, returns ``T``.
Steps = Generator[Call, Any, T]


def run(steps: Steps[T], cache: Any) -> T:
    """Answer every call of ``steps`` on the sync ``cache``; return its result.

    :param steps: a generator of :data:`Call`.
    :param cache: any object with the contract's methods (a ``Cache``, or a
        ``MemoryCache`` of this process).
    :returns: what ``steps`` returns.
    :raises: whatever a call raises and ``steps`` does not catch (also a
        ``StopIteration``, as raised by the call).
    """
    try:
        name, args = steps.send(None)
        while True:
            try:
                answer = getattr(cache, name)(*args)
            except BaseException as error:  # thrown in at the step's yield
                name, args = steps.throw(error)
            else:
                name, args = steps.send(answer)
    except StopIteration as stop:
        result: T = stop.value
        return result
    except RuntimeError as converted:
        stopped = _converted_stop(converted)
        if stopped is None:
            raise  # a RuntimeError of its own, with its cause
        raise stopped from None


def _converted_stop(error: RuntimeError) -> StopIteration | None:
    """The ``StopIteration`` that ``error`` stands for, when a generator of
    steps turned one into it (PEP 479): raised by a call or by code the
    steps run (a key builder, a ``should_cache``) and not caught; else
    ``None``."""
    cause = error.__cause__
    if isinstance(cause, StopIteration) and error.args == ("generator raised StopIteration",):
        return cause
    return None


async def run_async(steps: Steps[T], cache: Any) -> T:
    """As :func:`run`, awaiting each call on the async ``cache``.

    A cancellation of the awaiting task is thrown into ``steps`` at the step
    it interrupted (and propagates unless ``steps`` catches it). (No call
    answers with a ``StopIteration`` here: a coroutine raising one raises
    ``RuntimeError``, PEP 479.)
    """
    try:
        name, args = steps.send(None)
        while True:
            try:
                answer = await getattr(cache, name)(*args)
            except BaseException as error:
                name, args = steps.throw(error)
            else:
                name, args = steps.send(answer)
    except StopIteration as stop:
        result: T = stop.value
        return result
