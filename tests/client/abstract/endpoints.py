"""Contracts of the endpoint protocols: endpoints as the SDK manages them, and the
reports a serving process sends."""

from __future__ import annotations

from typing import Any

import pytest

from atelier import NotFoundError
from atelier.core.endpoints import HEALTHY, ReplicaRecord, ReplicaReport
from atelier.core.errors import ConflictError, ValidationError


def new_endpoint(connection: Any, workspace: str, name: str = "svc") -> Any:
    return connection.endpoints.create(
        workspace, name, kind="local", port=18001, auth_enabled=True, config={}
    )


class EndpointContract:
    #: who the backend records as an endpoint's creator (its user)
    deployer: str

    def test_create_deploy_split_and_delete(self, connection: Any, workspace: str) -> None:
        made = new_endpoint(connection, workspace)
        assert len(made.key_digests) == 2
        connection.endpoints.put_deployment(workspace, "svc", "blue", {"replicas": 1}, [])
        record = connection.endpoints.put_deployment(workspace, "svc", "green", {}, [])
        assert record.traffic == {"blue": 100}
        split = connection.endpoints.set_traffic(workspace, "svc", {"blue": 50, "green": 50})
        assert split.traffic == {"blue": 50, "green": 50}
        with pytest.raises(ConflictError):
            connection.endpoints.delete_deployment(workspace, "svc", "green")
        connection.endpoints.set_traffic(workspace, "svc", {"blue": 100})
        after = connection.endpoints.delete_deployment(workspace, "svc", "green")
        assert [d.name for d in after.deployments] == ["blue"]
        assert [e.name for e in connection.endpoints.list(workspace)] == ["svc"]
        connection.endpoints.delete(workspace, "svc")
        with pytest.raises(NotFoundError):
            connection.endpoints.get(workspace, "svc")

    def test_keys_manager_and_failure(self, connection: Any, workspace: str) -> None:
        made = new_endpoint(connection, workspace)
        primary, secondary = connection.endpoints.get_keys(workspace, "svc")
        assert primary != secondary
        changed = connection.endpoints.regen_key(workspace, "svc", "secondary", "k" * 20)
        assert changed.revision > made.revision
        assert connection.endpoints.get_keys(workspace, "svc") == (primary, "k" * 20)
        assert connection.endpoints.set_manager(workspace, "svc", 4242).manager_pid == 4242
        connection.endpoints.put_deployment(workspace, "svc", "blue", {}, [])
        failed = connection.endpoints.mark_failed(workspace, "svc", "the process is gone")
        assert all(d.error for d in failed.deployments)

    def test_details_are_set_and_properties_only_added(
        self, connection: Any, workspace: str
    ) -> None:
        made = connection.endpoints.create(
            workspace, "svc", kind="local", port=18001, auth_enabled=True,
            config={"tags": {"team": "risk"}, "properties": {"origin": "ci"}},
        )  # fmt: skip
        changed = connection.endpoints.set_details(
            workspace, "svc", {"tags": {"stage": "prod"}, "properties": {"owner": "ana"}}
        )
        assert changed.config["tags"] == {"stage": "prod"}  # replaced
        assert changed.config["properties"] == {"origin": "ci", "owner": "ana"}  # added to
        assert changed.revision == made.revision  # nothing for the endpoint's process to do
        described = connection.endpoints.set_details(workspace, "svc", {"description": "v2"})
        assert described.config["description"] == "v2"
        assert described.config["tags"] == {"stage": "prod"}  # what was not given stays
        for bad in (
            {"properties": {"origin": "laptop"}},  # set once, never changed
            {"tags": {"n": 1}},
            {"tags": None},
            {"port": 1},
        ):
            with pytest.raises(ValidationError):
                connection.endpoints.set_details(workspace, "svc", bad)
        with pytest.raises(ValidationError):
            connection.endpoints.create(
                workspace, "svc2", kind="local", port=18002, auth_enabled=True,
                config={"tags": ["not", "a", "dict"]},
            )  # fmt: skip
        with pytest.raises(NotFoundError):
            connection.endpoints.set_details(workspace, "absent", {"tags": {}})

    def test_the_creator_is_recorded_whatever_the_config_says(
        self, connection: Any, workspace: str
    ) -> None:
        made = connection.endpoints.create(
            workspace, "svc", kind="local", port=18001, auth_enabled=True,
            config={"created_by": "mallory"},
        )  # fmt: skip
        assert made.config["created_by"] == self.deployer
        assert connection.endpoints.get(workspace, "svc").config["created_by"] == self.deployer

    def test_access_turns_auth_and_tls_on_and_off(self, connection: Any, workspace: str) -> None:
        made = connection.endpoints.create(
            workspace, "svc", kind="local", port=18001, auth_enabled=False, config={}
        )
        assert len(made.key_digests) == 2  # keys exist for when auth is turned on
        tls = {"cname": "svc.example.com", "cert_sha256": "ab" * 32}
        changed = connection.endpoints.set_access(
            workspace, "svc", {"auth_enabled": True, "tls": tls}
        )
        assert changed.auth_enabled and changed.config["tls"] == tls
        assert changed.revision > made.revision  # the endpoint's process applies it
        assert connection.endpoints.get_keys(workspace, "svc") != ("", "")
        plain = connection.endpoints.set_access(workspace, "svc", {"tls": None})
        assert "tls" not in plain.config and plain.auth_enabled  # what was not given stays
        off = connection.endpoints.set_access(workspace, "svc", {"auth_enabled": False})
        assert not off.auth_enabled and off.revision > plain.revision
        for bad in (
            {"auth_enabled": "yes"},
            {"auth_enabled": None},
            {"tls": {"cname": "svc", "cert_sha256": "not hex"}},
            {"tls": {"cname": "bad name!", "cert_sha256": "ab" * 32}},
            {"tls": "on"},
            {"port": 1},
        ):
            with pytest.raises(ValidationError):
                connection.endpoints.set_access(workspace, "svc", bad)
        with pytest.raises(NotFoundError):
            connection.endpoints.set_access(workspace, "absent", {"auth_enabled": True})


class ReportingContract:
    """What a serving process calls: its replicas' state, and collected request data."""

    def test_report_replicas_and_the_applied_revision(
        self, connection: Any, workspace: str
    ) -> None:
        new_endpoint(connection, workspace)
        record = connection.endpoints.put_deployment(workspace, "svc", "blue", {}, [])
        replica = ReplicaRecord(
            index=0, pid=11, port=18002, generation=1, state=HEALTHY, started_ms=5
        )
        report = ReplicaReport(
            deployment="blue", generation=1, state=HEALTHY, served_generation=1, replicas=(replica,)
        )
        answered = connection.reporting.report(workspace, "svc", record.revision, [report])
        assert answered.applied_revision == record.revision
        deployment = connection.endpoints.get(workspace, "svc").deployments[0]
        assert (deployment.state, deployment.replicas) == (HEALTHY, (replica,))

    def test_model_data_is_read_back(self, connection: Any, workspace: str) -> None:
        new_endpoint(connection, workspace)
        connection.endpoints.put_deployment(workspace, "svc", "blue", {}, [])
        path = connection.reporting.write_model_data(workspace, "svc", "blue", "2026-12-06", b"P")
        # the written path is the listed one, relative to the store: never the server's root
        [(stored, data)] = connection.endpoints.model_data(workspace, "svc")
        assert data == b"P" and path == stored and "date=2026-12-06" in stored
        assert not path.startswith("/")
        assert connection.endpoints.model_data(workspace, "svc", "green") == []

    def test_reporting_on_a_missing_endpoint(self, connection: Any, workspace: str) -> None:
        with pytest.raises(NotFoundError):
            connection.reporting.report(workspace, "gone", 1, [])
