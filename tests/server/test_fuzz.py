"""A bounded fuzz run over the server's own OpenAPI document (schemathesis): whatever
a client sends that the document allows, or nearly allows, the server never answers 5xx."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import Team

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

EXAMPLES_PER_OPERATION = 8


def _raw_bytes(_context: Any, value: Any) -> bytes:
    """Uploads are raw bytes (a file, or a tar stream): fuzz them with arbitrary bytes."""
    return value if isinstance(value, bytes) else str(value).encode()


schemathesis.serializer("application/x-tar", "application/octet-stream")(_raw_bytes)


@pytest.mark.parametrize("database", ["sqlite"])
def test_no_operation_answers_5xx(team: Team) -> None:
    schema = schemathesis.openapi.from_url(f"{team.url}/openapi.json")
    headers = {"Authorization": f"Bearer {team.owner.token}"}
    failures: list[str] = []
    calls: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        _fuzz(result.ok(), team.url, headers, failures, calls, team.workspace)
    assert operations > 50
    assert len(calls) >= operations * 2  # the probe really ran
    assert sum(1 for status in calls if status < 300) >= 20  # it reached the routes' code
    assert not failures, "\n".join(failures[:20])


def _fuzz(
    operation: Any,
    url: str,
    headers: dict[str, str],
    failures: list[str],
    calls: list[int],
    workspace: str,
) -> None:
    from hypothesis import HealthCheck, given, settings

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def probe(case: Any) -> None:
        # most generated cases name the team's workspace, so they reach the route's code
        # instead of stopping at the membership check
        parameters = case.path_parameters or {}
        if "workspace" in parameters and len(calls) % 4 != 0 and case.method != "DELETE":
            parameters["workspace"] = workspace
        response = case.call(base_url=url, headers=headers, timeout=30)
        calls.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{operation.label}: {response.status_code} {response.text[:300]}")

    probe()
