"""``python -m caching``: the command line (see :mod:`caching.cli`)."""

from __future__ import annotations

from caching.cli import main

raise SystemExit(main())
