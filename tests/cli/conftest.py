"""CLI tests run the Typer app in this process against a throw-away home (``atelier``);
tests/e2e keeps the journeys that need a real process."""

from __future__ import annotations

from tests.helpers.cli import atelier, atelier_process, cli_cwd, cli_home

__all__ = ["atelier", "atelier_process", "cli_cwd", "cli_home"]
