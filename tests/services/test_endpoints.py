"""Endpoint rules through the embedded backend, on SQLite and PostgreSQL (no processes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from atelier import ConflictError, Model, NotFoundError, ValidationError, Workspace
from atelier.core.endpoints import FAILED, HEALTHY, ReplicaRecord, ReplicaReport
from atelier.core.errors import AlreadyExistsError
from atelier.store.models import EndpointKeyRow


def _endpoints(ws: Workspace):  # type: ignore[no-untyped-def]
    return ws._backend.endpoints


def _model(ws: Workspace, tmp_path: Path, name: str = "m") -> Model:
    path = tmp_path / f"{name}.bin"
    path.write_bytes(b"weights")
    return Model.register(ws, path, name)


def _create(ws: Workspace, name: str = "svc-a", port: int = 18001):  # type: ignore[no-untyped-def]
    return _endpoints(ws).create(
        ws.name, name, kind="local", port=port, auth_enabled=True, config={}
    )


def test_keys_are_stored_encrypted_and_returned(ws: Workspace) -> None:
    record = _create(ws)
    primary, secondary = _endpoints(ws).get_keys(ws.name, "svc-a")
    assert primary != secondary and len(primary) >= 40
    assert len(record.key_digests) == 2
    with _endpoints(ws).db.session() as session:
        stored = session.scalars(select(EndpointKeyRow.ciphertext)).all()
    assert primary not in stored and secondary not in stored
    updated = _endpoints(ws).regen_key(ws.name, "svc-a", "secondary", "x" * 20)
    assert _endpoints(ws).get_keys(ws.name, "svc-a") == (primary, "x" * 20)
    assert updated.revision == record.revision + 1
    with pytest.raises(ValidationError):
        _endpoints(ws).regen_key(ws.name, "svc-a", "secondary", "short")
    with pytest.raises(ValidationError):
        _endpoints(ws).regen_key(ws.name, "svc-a", "tertiary")


def test_names_ports_and_traffic(ws: Workspace, tmp_path: Path) -> None:
    _create(ws)
    with pytest.raises(AlreadyExistsError):
        _create(ws, port=18002)
    with pytest.raises(ConflictError, match="port 18001"):
        _create(ws, "svc-b")
    for bad in ("1ab", "ab", "a_b"):
        with pytest.raises(ValidationError):
            _create(ws, bad, port=18003)
    model = _model(ws, tmp_path)
    spec = {"entry_script": "score.py"}
    first = _endpoints(ws).put_deployment(ws.name, "svc-a", "blue", spec, [("m", 1)])
    assert first.traffic == {"blue": 100}
    assert first.deployment("blue").models == ("m:1",)  # type: ignore[union-attr]
    _endpoints(ws).put_deployment(ws.name, "svc-a", "green", spec, [("m", 1)])
    with pytest.raises(NotFoundError, match="model m:7"):
        _endpoints(ws).put_deployment(ws.name, "svc-a", "blue", spec, [("m", 7)])
    with pytest.raises(ValidationError, match="add up to 100"):
        _endpoints(ws).set_traffic(ws.name, "svc-a", {"blue": 60, "green": 30})
    with pytest.raises(NotFoundError, match="no deployment 'red'"):
        _endpoints(ws).set_traffic(ws.name, "svc-a", {"red": 100})
    split = _endpoints(ws).set_traffic(ws.name, "svc-a", {"blue": 0, "green": 100})
    assert split.traffic == {"green": 100}
    with pytest.raises(ConflictError, match="100% of endpoint"):
        _endpoints(ws).delete_deployment(ws.name, "svc-a", "green")
    with pytest.raises(ConflictError, match="svc-a/blue, svc-a/green"):
        model.delete()
    remaining = _endpoints(ws).delete_deployment(ws.name, "svc-a", "blue")
    assert [d.name for d in remaining.deployments] == ["green"]
    listed = _endpoints(ws).list(ws.name, ("m", 1))
    assert [e.name for e in listed] == ["svc-a"]
    assert _endpoints(ws).list(ws.name, ("m", 2)) == []
    _endpoints(ws).delete(ws.name, "svc-a")
    model.delete()  # nothing serves it any more
    with pytest.raises(NotFoundError):
        _endpoints(ws).get(ws.name, "svc-a")


def test_reports_move_state_and_revision(ws: Workspace, tmp_path: Path) -> None:
    _model(ws, tmp_path)
    _create(ws)
    record = _endpoints(ws).put_deployment(ws.name, "svc-a", "blue", {}, [("m", 1)])
    assert record.state == "Transitioning"
    replica = ReplicaRecord(index=0, pid=1, port=2, generation=1, state="Ready", started_ms=0)
    report = ReplicaReport(
        deployment="blue", generation=1, state=HEALTHY, served_generation=1, replicas=(replica,)
    )
    healthy = _endpoints(ws).report(ws.name, "svc-a", record.revision, [report])
    # mid-rollout, old and new replicas share an index
    successor = ReplicaRecord(index=0, pid=9, port=3, generation=2, state="Starting", started_ms=1)
    both = ReplicaReport(
        deployment="blue",
        generation=1,
        state=HEALTHY,
        served_generation=1,
        replicas=(replica, successor),
    )
    rolling = _endpoints(ws).report(ws.name, "svc-a", record.revision, [both])
    assert len(rolling.deployment("blue").replicas) == 2  # type: ignore[union-attr]
    healthy = _endpoints(ws).report(ws.name, "svc-a", record.revision, [report])
    assert healthy.state == HEALTHY
    assert healthy.deployment("blue").replicas == (replica,)  # type: ignore[union-attr]
    newer = _endpoints(ws).put_deployment(ws.name, "svc-a", "blue", {"v": 2}, [("m", 1)])
    assert newer.state == "Transitioning"
    stale = ReplicaReport(deployment="blue", generation=1, state=FAILED, served_generation=1)
    still = _endpoints(ws).report(ws.name, "svc-a", newer.revision, [stale])
    assert still.deployment("blue").state == "Transitioning"  # type: ignore[union-attr]
    failed = _endpoints(ws).mark_failed(ws.name, "svc-a", "the process is gone")
    assert failed.state == FAILED
    assert failed.deployment("blue").error == "the process is gone"  # type: ignore[union-attr]
