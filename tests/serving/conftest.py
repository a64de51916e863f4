"""Fixtures for the scoring runtime: entry scripts written to a temporary folder."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from atelier.serving.app import ScoringApp


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def write_script(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``source`` as ``name`` in a fresh source folder; return the folder."""

    def write(source: str, name: str = "score.py") -> Path:
        folder = tmp_path / "src"
        folder.mkdir(exist_ok=True)
        (folder / name).write_text(textwrap.dedent(source), encoding="utf-8")
        return folder

    return write


@asynccontextmanager
async def started(app: ScoringApp) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for ``app`` with its start-up (init()) run first."""
    await app.startup()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://scoring") as client:
        yield client
