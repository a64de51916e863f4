"""Fixtures of the tabular reading tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atelier.sdk.data import _csv_pieces, _tabular_cache


@pytest.fixture
def parsed_pieces(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The row count of every CSV piece parsed from now on (the piece reader, watched)."""
    counts: list[int] = []
    real = _csv_pieces.csv_pieces

    def counted(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for piece in real(*args, **kwargs):
            counts.append(piece.num_rows)
            yield piece

    monkeypatch.setattr(_csv_pieces, "csv_pieces", counted)
    return counts


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of this test's own (the cache lives in it), with the default cap."""
    home = tmp_path / "home"
    monkeypatch.setenv("ATELIER_HOME", str(home))
    monkeypatch.delenv(_tabular_cache.CACHE_ENV, raising=False)
    return home
