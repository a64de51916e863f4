"""Contracts of the tracking protocols: workspaces, experiments, runs, metrics, a run's
files, snapshots, and run supervision."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from atelier import NotFoundError, ValidationError
from atelier.client.registry import backend_for
from atelier.core.errors import AlreadyExistsError, InvalidStateError
from atelier.core.records import RunQuery
from atelier.core.status import RunStatus
from atelier.core.timeutil import now_ms
from tests.conftest import unique


def new_run(connection: Any, workspace: str, **fields: Any) -> Any:
    return connection.runs.create(workspace, "exp", **fields)


class WorkspaceContract:
    def test_create_get_list_delete(self, connection: Any) -> None:
        name = unique("ws")
        made = connection.workspaces.create(
            name, description="d", location="here", tags={"a": "1"}, exist_ok=False
        )
        assert (made.name, made.description, made.tags) == (name, "d", {"a": "1"})
        assert connection.workspaces.get(name) == made
        assert name in [w.name for w in connection.workspaces.list()]
        again = connection.workspaces.create(
            name, description="", location="", tags={}, exist_ok=True
        )
        assert again.id == made.id
        with pytest.raises(AlreadyExistsError):
            connection.workspaces.create(name, description="", location="", tags={}, exist_ok=False)
        connection.workspaces.delete(name)
        with pytest.raises(NotFoundError):
            connection.workspaces.get(name)

    def test_azure_coordinates_are_recorded_as_given(self, connection: Any) -> None:
        given, bare = unique("ws"), unique("ws")
        connection.workspaces.create(
            given,
            description="",
            location="westeurope",
            tags={},
            exist_ok=False,
            subscription_id="sub-1",
            resource_group="rg-1",
            sku="enterprise",
        )
        connection.workspaces.create(bare, description="", location=None, tags={}, exist_ok=False)
        found = connection.workspaces.get(given)
        assert (found.subscription_id, found.resource_group, found.location, found.sku) == (
            "sub-1",
            "rg-1",
            "westeurope",
            "enterprise",
        )
        empty = connection.workspaces.get(bare)
        assert (empty.subscription_id, empty.resource_group, empty.location, empty.sku) == (
            None,
            None,
            None,
            None,
        )
        with pytest.raises(ValidationError):
            connection.workspaces.create(
                unique("ws"), description="", location="x" * 65, tags={}, exist_ok=False
            )


class ExperimentContract:
    def test_get_or_create_archive_tag_list(self, connection: Any, workspace: str) -> None:
        made = connection.experiments.get_or_create(workspace, "exp-a")
        assert connection.experiments.get_or_create(workspace, "exp-a").id == made.id
        tagged = connection.experiments.set_tags(workspace, "exp-a", {"k": "v"})
        assert tagged.tags == {"k": "v"}
        assert connection.experiments.set_archived(workspace, "exp-a", True).archived
        active = connection.experiments.list(workspace, "ActiveOnly")
        archived = connection.experiments.list(workspace, "ArchivedOnly")
        assert ("exp-a" in [e.name for e in active], [e.name for e in archived]) == (
            False,
            ["exp-a"],
        )
        with pytest.raises(NotFoundError):
            connection.experiments.get(workspace, "exp-missing")

    def test_delete_takes_the_runs_and_waits_for_them_to_end(
        self, connection: Any, workspace: str
    ) -> None:
        run = connection.runs.create(workspace, "exp-gone")
        connection.artifacts.upload(workspace, run.run_id, "outputs/a.txt", io.BytesIO(b"a"))
        with pytest.raises(InvalidStateError, match="has not ended"):
            connection.experiments.delete(workspace, "exp-gone")
        connection.runs.transition(workspace, run.run_id, RunStatus.COMPLETED)
        connection.experiments.delete(workspace, "exp-gone")
        with pytest.raises(NotFoundError):
            connection.experiments.get(workspace, "exp-gone")
        with pytest.raises(NotFoundError):
            connection.runs.get(workspace, run.run_id)
        with pytest.raises(NotFoundError):
            connection.experiments.delete(workspace, "exp-gone")


class RunContract:
    def test_create_get_tag_and_list(self, connection: Any, workspace: str) -> None:
        run = new_run(connection, workspace, display_name="first", tags={"t": "1"})
        assert run.status == RunStatus.RUNNING
        connection.runs.set_tags(workspace, run.run_id, {"u": "2"})
        connection.runs.remove_tags(workspace, run.run_id, ["t"])
        connection.runs.add_properties(workspace, run.run_id, {"p": "3"})
        found = connection.runs.get(workspace, run.run_id)
        assert (found.display_name, found.tags, found.properties) == (
            "first",
            {"u": "2"},
            {"p": "3"},
        )
        assert connection.runs.locate(run.run_id) == workspace
        listed = connection.runs.list(workspace, "exp", RunQuery(tags={"u": "2"}))
        assert [r.run_id for r in listed] == [run.run_id]

    def test_children_and_transitions(self, connection: Any, workspace: str) -> None:
        parent = new_run(connection, workspace)
        child = new_run(connection, workspace, parent_run_id=parent.run_id)
        grandchild = new_run(connection, workspace, parent_run_id=child.run_id)
        direct = connection.runs.children(workspace, parent.run_id, False)
        every = connection.runs.children(workspace, parent.run_id, True)
        assert [r.run_id for r in direct] == [child.run_id]
        assert {r.run_id for r in every} == {child.run_id, grandchild.run_id}
        done = connection.runs.transition(
            workspace, child.run_id, RunStatus.FAILED, {"message": "boom"}, 3
        )
        assert (done.status, done.exit_code) == (RunStatus.FAILED, 3)
        with pytest.raises(InvalidStateError):
            connection.runs.transition(workspace, child.run_id, RunStatus.RUNNING)
        assert connection.runs.cancel(workspace, parent.run_id).status in (
            RunStatus.CANCELED,
            RunStatus.CANCEL_REQUESTED,
        )

    def test_read_log_of_a_run_that_logged_nothing(self, connection: Any, workspace: str) -> None:
        run = new_run(connection, workspace)
        assert connection.runs.read_log(workspace, run.run_id, 0) == (b"", False)
        connection.runs.transition(workspace, run.run_id, RunStatus.COMPLETED)
        assert connection.runs.read_log(workspace, run.run_id, 0) == (b"", True)

    def test_missing_run(self, connection: Any, workspace: str) -> None:
        with pytest.raises(NotFoundError):
            connection.runs.get(workspace, "exp_0000000000_missing")


class MetricContract:
    def test_scalars_documents_and_history(self, connection: Any, workspace: str) -> None:
        run = new_run(connection, workspace)
        stamp = now_ms()
        count = connection.metrics.log_scalars(
            workspace, run.run_id, {"loss": ([0, 1, 2], [0.5, 0.25, 0.125], [stamp] * 3)}
        )
        assert count == 3
        connection.metrics.log_documents(workspace, run.run_id, [("classes", "list", [1, 2])])
        history = connection.metrics.history(workspace, run.run_id, "loss")
        assert history["values"] == [0.5, 0.25, 0.125]
        found = connection.metrics.get(workspace, [run.run_id])[run.run_id]
        assert found["loss"] == [0.5, 0.25, 0.125] and found["classes"] == [1, 2]


class ArtifactContract:
    def test_upload_list_download(self, connection: Any, workspace: str, tmp_path: Path) -> None:
        run = new_run(connection, workspace)
        one = connection.artifacts.upload(workspace, run.run_id, "outputs/a.txt", io.BytesIO(b"a"))
        local = tmp_path / "b.txt"
        local.write_bytes(b"bb")
        many = connection.artifacts.upload_files(workspace, run.run_id, [("logs/b.txt", local)])
        assert (one.size, [m.path for m in many]) == (1, ["logs/b.txt"])
        listed = connection.artifacts.list(workspace, run.run_id, "outputs/")
        assert [a.path for a in listed] == ["outputs/a.txt"]
        target = tmp_path / "down" / "a.txt"
        connection.artifacts.download(workspace, run.run_id, "outputs/a.txt", target)
        assert target.read_bytes() == b"a"
        with pytest.raises(NotFoundError):
            connection.artifacts.download(workspace, run.run_id, "outputs/none", target)


class SnapshotContract:
    def test_create_files_restore(self, connection: Any, workspace: str, tmp_path: Path) -> None:
        script = tmp_path / "train.py"
        script.write_text("print(1)\n")
        made = connection.snapshots.create(workspace, [("src/train.py", script, 0o755)])
        files = connection.snapshots.files(workspace, made.id)
        assert [(f.path, f.size, f.mode & 0o777) for f in files] == [("src/train.py", 9, 0o755)]
        restored = connection.snapshots.restore(workspace, made.id, tmp_path / "out")
        assert (restored / "src" / "train.py").read_text() == "print(1)\n"


class SupervisionContract:
    """What a run's supervisor calls, on a run it supervises."""

    def test_heartbeat_records_the_supervisor_and_answers_the_status(
        self, connection: Any, workspace: str
    ) -> None:
        run = new_run(connection, workspace, status=RunStatus.QUEUED)
        info = {"pid": 1, "host": "here", "phase": "queued"}
        assert connection.supervision.heartbeat(workspace, run.run_id, info) == RunStatus.QUEUED
        assert connection.runs.get(workspace, run.run_id).supervisor == info
        stale = connection.runs.stale_runs(workspace, now_ms() + 60_000)
        assert [r.run_id for r in stale] == [run.run_id]
        assert connection.runs.stale_runs(workspace, 0) == []
        connection.runs.cancel(workspace, run.run_id)
        assert connection.supervision.heartbeat(workspace, run.run_id, info) in (
            RunStatus.CANCEL_REQUESTED,
            RunStatus.CANCELED,
        )

    def test_queue_state_counts_the_runs_ahead(self, connection: Any, workspace: str) -> None:
        first = new_run(connection, workspace, status=RunStatus.QUEUED, target="local")
        second = new_run(connection, workspace, status=RunStatus.QUEUED, target="local")
        new_run(connection, workspace, status=RunStatus.RUNNING, target="local")
        assert connection.supervision.queue_state(workspace, first.run_id) == (0, 1)
        assert connection.supervision.queue_state(workspace, second.run_id) == (1, 1)

    def test_run_environment_reaches_the_run(self, connection: Any, workspace: str) -> None:
        run = new_run(connection, workspace)
        env = {
            **connection.child_environment(),
            **connection.supervision.run_environment(workspace, run.run_id),
        }
        assert all(isinstance(v, str) for v in env.values())
        seen = backend_for(env["ATELIER_TRACKING_URI"], token=env.get("ATELIER_TOKEN"))
        assert seen.runs.get(workspace, run.run_id).run_id == run.run_id

    def test_supervising_a_missing_run(self, connection: Any, workspace: str) -> None:
        with pytest.raises((NotFoundError, ValidationError)):
            connection.supervision.heartbeat(workspace, "exp_0000000000_missing", {})
