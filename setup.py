"""Build hook: compile caching/_item_size.py with mypyc when a C compiler is
available (docs/PERFORMANCE.md, "Item size"). Without one, or with
``CACHING_PURE_PYTHON=1``, the package installs as pure Python and
``MemoryCache`` measures containers by pickling them, as before; every
setting lives in pyproject.toml."""

from __future__ import annotations

import glob
import os
import sys
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

COMPILED = [
    "caching/_item_size.py",
    "caching/_reads.py",
    "caching/_memory_core.py",
    "caching/_replies.py",
    "caching/_method_binding.py",
]


class OptionalBuildExt(build_ext):
    """``build_ext`` that falls back to pure Python when compiling fails."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, no Python headers...
            _skipped(exc)

    def build_extension(self, ext: Any) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            _skipped(exc)


def _skipped(exc: Exception) -> None:
    print(f"caching: not compiled ({exc}); installing as pure Python", file=sys.stderr)


#: What an in-place (editable) build leaves beside the sources: imported
#: before the ``.py`` files, so removed before each build (a pure build, or
#: a module dropped from COMPILED, must not keep running an old one).
BUILT = ["caching/_*.cpython-*.so", "caching/*__mypyc*.so", "*__mypyc*.so"]


def _ext_modules() -> list[Any]:
    for path in (path for pattern in BUILT for path in glob.glob(pattern)):
        os.remove(path)
    if os.environ.get("CACHING_PURE_PYTHON"):
        return []
    try:
        from mypyc.build import mypycify

        return list(mypycify(COMPILED, opt_level="3"))
    except BaseException as exc:  # mypy missing, or its type errors (SystemExit)
        _skipped(exc)
        return []


setup(ext_modules=_ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
