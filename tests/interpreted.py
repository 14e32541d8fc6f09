"""``MemoryCache`` as a pure-Python install runs it, beside the compiled one.

Where ``setup.py`` compiled :mod:`caching._memory_core` (mypyc), the tests
would otherwise never run its source as Python; yet that is what an install
without a C compiler runs. :func:`interpreted_memory_cache` builds the class
from the source, with the compiled walk and reads switched off as they are
in such an install, so the contract suite checks both.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from caching import _memory_core
from caching.memory import MemoryCache


def source_module(module: ModuleType) -> ModuleType:
    """``module``'s ``.py`` source, run by the interpreter as a new module."""
    assert module.__file__ is not None
    path = Path(module.__file__)
    source = path.with_name(path.name.split(".")[0] + ".py")
    name = f"{module.__name__}_source"
    loader = importlib.machinery.SourceFileLoader(name, str(source))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    copy = importlib.util.module_from_spec(spec)
    sys.modules[name] = copy  # where freezegun finds the clock it patches
    loader.exec_module(copy)
    return copy


@functools.cache
def interpreted_memory_cache() -> type[Any]:
    """``MemoryCache`` over :mod:`caching._memory_core`'s source, run as a
    pure-Python install runs it (no compiled walk, no compiled reads)."""
    core = source_module(_memory_core)
    core.walk = False
    core.compiled_reads = False
    body = {
        name: value
        for name, value in vars(MemoryCache).items()
        if name not in ("__dict__", "__weakref__")
    }
    return type("MemoryCache", (core.MemoryCore,), body)
