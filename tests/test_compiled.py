"""The modules ``setup.py`` compiles with mypyc: built where CI builds them,
and never older than their source (an editable install imports the compiled
module first, so an edit of the source needs a rebuild)."""

from __future__ import annotations

import importlib
import importlib.machinery
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: setup.py's list, as module names.
MODULES = [
    "caching._item_size",
    "caching._reads",
    "caching._memory_core",
    "caching._replies",
    "caching._method_binding",
]


def test_the_list_is_setup_pys() -> None:
    text = (ROOT / "setup.py").read_text()
    assert all(f'"{name.replace(".", "/")}.py"' in text for name in MODULES)


def test_the_makefile_rebuilds_when_one_changes() -> None:
    # Its COMPILED is a prerequisite of the install: an edit rebuilds.
    text = (ROOT / "Makefile").read_text()
    assert all(f"{name.replace('.', '/')}.py" in text for name in MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_compiled_where_ci_builds_and_not_stale(name: str) -> None:
    module = importlib.import_module(name)
    compiled = isinstance(module.__loader__, importlib.machinery.ExtensionFileLoader)
    if os.environ.get("CI") == "true":
        assert compiled, f"{name} was not compiled (see setup.py)"
    if compiled:
        assert module.__file__ is not None
        source = ROOT / (name.replace(".", "/") + ".py")
        built = Path(module.__file__).stat().st_mtime
        assert built >= source.stat().st_mtime, "rebuild: python -m pip install -e ."
