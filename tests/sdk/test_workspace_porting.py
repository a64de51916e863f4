"""Workspace members and config files as azureml code expects them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atelier import NotFoundError, ValidationError, Workspace
from atelier.azureml.core import Experiment
from atelier.azureml.core.authentication import (
    AzureCliAuthentication,
    InteractiveLoginAuthentication,
    MsiAuthentication,
    ServicePrincipalAuthentication,
    TokenAuthentication,
)
from tests.conftest import unique


def test_azure_coordinates_and_collections(ws: Workspace) -> None:
    assert ws.subscription_id is None and ws.resource_group is None
    opened = Workspace("sub-1", "rg-1", ws.name)
    assert (opened.subscription_id, opened.resource_group, opened.sku) == ("sub-1", "rg-1", "basic")
    assert "local" in ws.compute_targets
    assert ws.webservices == {}
    assert ws.images == {}
    assert "AzureML-Minimal" in ws.environments
    run = Experiment(ws, "ws-port").start_logging()
    assert ws.get_run(run.id) == run
    run.complete()
    with pytest.raises(NotFoundError):
        ws.get_run("no-such-run")


def test_create_records_the_azure_coordinates(home: Path) -> None:
    ws = Workspace.create(
        unique("ws"), subscription_id="s", resource_group="r", location="eastus", sku="enterprise"
    )
    assert (ws.subscription_id, ws.resource_group, ws.sku) == ("s", "r", "enterprise")
    reopened = Workspace.get(ws.name)  # read back from the store, not kept on the object
    assert (reopened.subscription_id, reopened.resource_group, reopened.location) == (
        "s",
        "r",
        "eastus",
    )
    assert reopened.sku == "enterprise" == reopened.get_details()["sku"]
    assert Workspace("other-sub", None, ws.name).subscription_id == "other-sub"
    bare = Workspace.create(unique("ws"))
    assert (bare.subscription_id, bare.resource_group, bare.location) == (None, None, None)
    assert Workspace.get(bare.name).sku == "basic"  # azureml's default for create


@pytest.mark.parametrize("place", [".azureml/config.json", "aml_config/config.json", "config.json"])
def test_from_config_searches_azureml_places(ws: Workspace, tmp_path: Path, place: str) -> None:
    config = tmp_path / "project" / place
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        json.dumps({"subscription_id": "sub", "resource_group": "rg", "workspace_name": ws.name})
    )
    deep = tmp_path / "project" / "notebooks" / "week1"
    deep.mkdir(parents=True)
    found = Workspace.from_config(deep)
    assert found == ws
    assert (found.subscription_id, found.resource_group) == ("sub", "rg")


def test_write_config_writes_azureml_keys(ws: Workspace, tmp_path: Path) -> None:
    written = ws.write_config(tmp_path)
    assert written == tmp_path / ".azureml" / "config.json"
    body = json.loads(written.read_text())
    assert {"subscription_id", "resource_group", "workspace_name"} <= set(body)
    assert Workspace.from_config(tmp_path) == ws


def test_missing_config_and_workspace_say_what_to_do(home: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="atelier workspace create"):
        Workspace.from_config(tmp_path)
    (tmp_path / ".azureml").mkdir()
    (tmp_path / ".azureml" / "config.json").write_text('{"workspace_name": "nope-ws"}')
    with pytest.raises(NotFoundError, match="atelier workspace create nope-ws"):
        Workspace.from_config(tmp_path)


def test_authentication_classes_open_the_workspace(ws: Workspace) -> None:
    assert Workspace.get(ws.name, auth=InteractiveLoginAuthentication(tenant_id="t")) == ws
    assert Workspace(workspace_name=ws.name, auth=MsiAuthentication()) == ws
    assert Workspace.get(ws.name, auth=AzureCliAuthentication()) == ws


def test_authentication_bad_input() -> None:
    with pytest.raises(ValidationError, match="atelier token create"):
        ServicePrincipalAuthentication("t", "app", "")
    with pytest.raises(ValidationError, match="needs a function"):
        TokenAuthentication("not callable")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="returned no token"):
        TokenAuthentication(lambda audience: None).get_authentication_header()
    with pytest.raises(ValidationError, match="authentication classes"):
        Workspace.get("x", auth="secret")
    header = TokenAuthentication(
        lambda audience: (f"tok-{audience}", 0)
    ).get_authentication_header()
    assert header == {"Authorization": "Bearer tok-atelier"}
    principal = ServicePrincipalAuthentication("t", "app", "tok")
    assert principal.get_authentication_header() == {"Authorization": "Bearer tok"}
