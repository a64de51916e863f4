"""The server killed with SIGKILL while three clients log metrics loses no acknowledged point
(bench/bench_reliability_server.py, run briefly)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_reliability_server.py"


@pytest.mark.slow  # starts, kills and restarts a server
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_no_acknowledged_point_is_lost_when_the_server_is_killed(
    database: str, request: pytest.FixtureRequest
) -> None:
    command = [sys.executable, str(BENCH), "--seconds", "1", "--json"]
    if database == "postgresql":
        command += ["--database-url", request.getfixturevalue("private_postgres_url")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["acknowledged_before_kill"] > 0  # the kill came while clients logged
    assert result["acknowledged"] > result["acknowledged_before_kill"]  # and after restart
    assert result["lost"] == 0, result
