"""Moved to tests/helpers/server.py; kept so that tests written before the move import."""

from tests.helpers.server import (
    RunningServer,
    _environment,
    free_port,
    start_server,
    stop_server,
)

__all__ = ["RunningServer", "_environment", "free_port", "start_server", "stop_server"]
