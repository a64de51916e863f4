"""Whole journeys as a user runs them: the ``atelier`` command in real processes."""

from __future__ import annotations

from tests.helpers.cli import atelier, atelier_process, cli_cwd, cli_home

__all__ = ["atelier", "atelier_process", "cli_cwd", "cli_home"]
