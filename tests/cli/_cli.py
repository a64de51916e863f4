"""Moved to tests/helpers/cli.py; kept so that tests written before the move import."""

from tests.helpers.cli import Atelier, Result, assert_one_line_error

__all__ = ["Atelier", "Result", "assert_one_line_error"]
