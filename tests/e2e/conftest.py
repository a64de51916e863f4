"""Whole journeys as a user runs them: the ``atelier`` command in real processes."""

from __future__ import annotations

import pytest

from tests.helpers.cli import atelier, atelier_process, cli_cwd, cli_home

__all__ = ["atelier", "atelier_process", "cli_cwd", "cli_home"]


@pytest.fixture(autouse=True)
def _users_agent(per_home_agent: None) -> None:
    """A journey's submissions start and reach its home's own agent, as a user's do."""
