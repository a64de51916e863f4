"""Property: no route answers 5xx to an out-of-range number or an over-long name in a path
or query parameter. The routes and their parameters come from the app itself, so a new
route is probed without anyone listing it; each probe fuzzes one parameter and gives the
others real values (the team's workspace, a run, a model), so it reaches the route's code."""

from __future__ import annotations

import io
import re
import tarfile
import tempfile
import types
from pathlib import Path
from typing import Any, Union, get_args
from urllib.parse import quote

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from atelier.core.settings import Settings
from atelier.server.app import create_app
from tests.server.conftest import Team

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

#: drawn values per parameter, after the fixed first one (FIRST_INTEGER / FIRST_NAME)
EXAMPLES_PER_PARAMETER = 1
HUGE_INTEGERS = st.one_of(
    st.sampled_from([2**31, 2**63, 2**64, -(2**63) - 1, 99999999999999999999]),
    st.integers(min_value=2**63, max_value=2**200),
    st.integers(min_value=-(2**200), max_value=-(2**63) - 1),
)
_NAME_CHARACTERS = st.sampled_from("abcxyz019-_.é")
LONG_NAMES = st.one_of(
    st.sampled_from(["a" * 256, "a" * 5000, "é" * 200, "ab/" * 400 + "c", "a" * 300 + "/b"]),
    st.text(_NAME_CHARACTERS, min_size=256, max_size=5000),
)
#: what every probe of a parameter sends first, whatever else hypothesis draws
FIRST_INTEGER = "99999999999999999999"
FIRST_NAME = "a" * 300 + "/" + "b" * 5000
#: real values for the parameters a probe does not fuzz
REAL = {
    "experiment": "fuzz",
    "name": "fuzz",
    "version": "1",
    "user": "no-such-user",
    "token_id": "no-such-token",
    "snapshot_id": "no-such-snapshot",
    "dataset_id": "no-such-dataset",
    "model_id": "no-such-model",
    "deployment": "nosuch",
    "slot": "primary",
    "pipeline_id": "no-such-pipeline",
    "key": "no-such-key",
    "experiment_id": "no-such-experiment",
    "tag_key": "fuzz",
    "path": "fuzz.txt",
    "rest": "fuzz",
}


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    origin = getattr(annotation, "__origin__", None)
    if isinstance(annotation, types.UnionType) or origin is Union:
        return int in get_args(annotation)
    return False


def _parameters() -> list[tuple[str, str, str, str, bool]]:
    """(method, path, parameter, "path" or "query", is an integer) of every route."""
    found = []
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(home=Path(folder)))
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if not isinstance(route, APIRoute):
                continue
            path = context.path or route.path
            for method in sorted((route.methods or set()) - {"HEAD"}):
                for field in route.dependant.path_params:
                    found.append(
                        (method, path, field.name, "path", _is_int(field.field_info.annotation))
                    )
                for field in route.dependant.query_params:
                    annotation = field.field_info.annotation
                    if _is_int(annotation) or str in get_args(annotation) or annotation is str:
                        found.append((method, path, field.alias, "query", _is_int(annotation)))
    return found


PARAMETERS = _parameters()


def _url(path: str, real: dict[str, str], fuzzed: str, value: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        if name == fuzzed:
            return quote(value, safe="/")
        if name == "name" and "/datastores/" in path:
            return "workspaceblobstore"  # the datastore every workspace has
        return real[name]

    return re.sub(r"\{([^}]+)\}", fill, path)


def _team_data(client: httpx.Client, workspace: str) -> dict[str, str]:
    """A run, an environment and a model named "fuzz" for the probes to reach."""
    base = f"/api/v1/workspaces/{workspace}"
    run_id = client.post(f"{base}/experiments/fuzz/runs", json={}).json()["run_id"]
    assert client.post(f"{base}/environments/fuzz", json={"spec": {}}).status_code == 200
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        member = tarfile.TarInfo("fuzz.txt")
        member.size = 1
        archive.addfile(member, io.BytesIO(b"x"))
    model = client.post(
        f"{base}/models/fuzz/versions",
        content=buffer.getvalue(),
        headers={"Content-Type": "application/x-tar"},
    )
    assert model.status_code == 201, model.text
    return {**REAL, "workspace": workspace, "workspace_name": workspace, "run_id": run_id}


@pytest.mark.slow  # calls every route many times
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_no_route_answers_5xx_to_huge_numbers_or_long_names(team: Team) -> None:
    assert len({(m, p) for m, p, *_ in PARAMETERS}) > 100  # the app's routes were found
    failures: list[str] = []
    probes: list[int] = []
    with team.owner.client(team.url) as client:
        real = _team_data(client, team.workspace)
        for method, path, name, where, is_int in PARAMETERS:
            if method == "DELETE" and path.endswith("/workspaces/{workspace}") and where == "query":
                continue  # the team's workspace must survive the probe
            _probe(client, (method, path, name, where), is_int, real, failures, probes)
    assert len(probes) >= len(PARAMETERS)
    assert not failures, "\n".join(failures[:20])


def _probe(
    client: httpx.Client,
    route: tuple[str, str, str, str],
    is_int: bool,
    real: dict[str, str],
    failures: list[str],
    probes: list[int],
) -> None:
    method, path, name, where = route

    @settings(
        max_examples=EXAMPLES_PER_PARAMETER,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @example(value=FIRST_INTEGER if is_int else FIRST_NAME)
    @given(value=HUGE_INTEGERS.map(str) if is_int else LONG_NAMES)
    def probe(value: str) -> None:
        if where == "path":
            url, params = _url(path, real, name, value), None
        else:
            url, params = _url(path, real, "", ""), {name: value}
        body = {} if method in ("POST", "PUT", "PATCH") else None
        answer = client.request(method, url, params=params, json=body)
        probes.append(answer.status_code)
        if answer.status_code >= 500:
            failures.append(
                f"{method} {path} {where} {name}={value[:40]!r}...: "
                f"{answer.status_code} {answer.text[:200]}"
            )

    probe()
