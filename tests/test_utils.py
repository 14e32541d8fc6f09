from __future__ import annotations

from datetime import timedelta

import pytest

from caching.utils import total_seconds


def test_total_seconds() -> None:
    assert total_seconds(100) == 100
    assert total_seconds(timedelta(hours=2, milliseconds=500)) == 7200
    assert total_seconds(timedelta(days=-1)) == -86400
    for bad in ("100", 1.5, True, None):
        with pytest.raises(TypeError):
            total_seconds(bad)  # type: ignore[arg-type]
