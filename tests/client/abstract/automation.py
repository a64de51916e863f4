"""Contracts of the automation protocols: published pipelines and their endpoints,
schedules, and the scheduler's side of schedules (``SchedulingAPI``, in-process only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from atelier import NotFoundError
from atelier.core.pipelines import ACTIVE, DISABLED

STEP = {"name": "a", "definition": {"script": "a.py"}, "upstream": [], "snapshot_id": "s"}
GRAPH = {"steps": [STEP], "parameters": {"lr": 0.1}}


def publish(connection: Any, workspace: str, name: str = "pipe") -> Any:
    return connection.pipelines.publish(workspace, name, GRAPH, "d", "1.0", False)


def daily_from_tomorrow(connection: Any, workspace: str, name: str = "nightly") -> Any:
    """A daily schedule of a published pipeline whose first slot is tomorrow (no real
    scheduler fires it during the test)."""
    pipeline = publish(connection, workspace)
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0, tzinfo=None)
    spec = {
        "target_kind": "pipeline",
        "target_id": pipeline.id,
        "name": name,
        "experiment_name": "exp",
        "recurrence": {"frequency": "Day", "interval": 1, "start_time": start.isoformat()},
        "description": "d",
        "pipeline_parameters": {"lr": 0.2},
    }
    return connection.schedules.create(workspace, spec)


class PipelineContract:
    """Endpoint versions are numbered from 0, as in azureml."""

    def test_publish_get_list_disable(self, connection: Any, workspace: str) -> None:
        made = publish(connection, workspace)
        assert (made.name, made.version, made.status, made.graph) == ("pipe", "1.0", ACTIVE, GRAPH)
        assert connection.pipelines.get(workspace, made.id) == made
        assert [p.id for p in connection.pipelines.list(workspace, True)] == [made.id]
        off = connection.pipelines.set_status(workspace, made.id, DISABLED)
        assert off.status == DISABLED
        assert connection.pipelines.list(workspace, True) == []
        assert [p.id for p in connection.pipelines.list(workspace, False)] == [made.id]
        with pytest.raises(NotFoundError):
            connection.pipelines.get(workspace, "00000000-0000-0000-0000-000000000000")

    def test_endpoint_versions(self, connection: Any, workspace: str) -> None:
        first = publish(connection, workspace, "one")
        second = publish(connection, workspace, "two")
        made = connection.pipelines.publish_endpoint(workspace, "ep", "d", first.id)
        assert (made.name, made.default_version, made.versions) == ("ep", 0, {"0": first.id})
        assert connection.pipelines.get_endpoint(workspace, "ep") == made
        assert connection.pipelines.get_endpoint(workspace, made.id) == made
        assert [e.id for e in connection.pipelines.list_endpoints(workspace)] == [made.id]
        grown = connection.pipelines.add_version(workspace, "ep", second.id, True)
        assert (grown.default_version, grown.versions) == (1, {"0": first.id, "1": second.id})
        back = connection.pipelines.set_default_version(workspace, "ep", 0)
        assert back.default_version == 0
        with pytest.raises(NotFoundError):
            connection.pipelines.get_endpoint(workspace, "missing")


class ScheduleContract:
    def test_create_get_list_disable(self, connection: Any, workspace: str) -> None:
        made = daily_from_tomorrow(connection, workspace)
        assert (made.name, made.status, made.target_kind) == ("nightly", ACTIVE, "pipeline")
        assert made.next_due_ms is not None and made.pipeline_parameters == {"lr": 0.2}
        assert connection.schedules.get(workspace, made.id) == made
        listed = connection.schedules.list(workspace, target_id=made.target_id)
        assert [s.id for s in listed] == [made.id]
        off = connection.schedules.update(workspace, made.id, {"status": DISABLED})
        assert off.status == DISABLED
        assert connection.schedules.list(workspace) == []
        everything = connection.schedules.list(workspace, active_only=False)
        assert [s.id for s in everything] == [made.id]
        assert connection.schedules.firings(workspace, made.id) == []
        with pytest.raises(NotFoundError):
            connection.schedules.get(workspace, "missing")


class SchedulingContract:
    """What a scheduler calls: only backends that run a scheduler beside their database."""

    def test_due_claim_once_and_record(self, connection: Any, workspace: str) -> None:
        made = daily_from_tomorrow(connection, workspace)
        assert made.id not in [s.id for s in connection.scheduling.due(made.next_due_ms - 1)]
        now = made.next_due_ms + 1_000
        due = [s for s in connection.scheduling.due(now) if s.id == made.id]
        assert len(due) == 1
        firing = connection.scheduling.claim(due[0], now)
        assert firing is not None
        assert (firing.schedule_id, firing.slot_ms, firing.reason) == (
            made.id,
            made.next_due_ms,
            "recurrence",
        )
        assert connection.scheduling.claim(due[0], now) is None
        done = connection.scheduling.record_outcome(firing, error="boom")
        assert (done.id, done.run_id, done.error) == (firing.id, None, "boom")
        assert [f.id for f in connection.schedules.firings(workspace, made.id)] == [firing.id]
        later = connection.schedules.get(workspace, made.id)
        assert later.next_due_ms is not None and later.next_due_ms > made.next_due_ms
