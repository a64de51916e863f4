"""``PublishedPipeline`` (a pipeline's graph frozen under an id, runnable without the code
that built it, also over REST) and ``PipelineEndpoint`` (a named front with versions)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from atelier.core.errors import InvalidStateError, NotFoundError, ValidationError
from atelier.core.pipelines import (
    ACTIVE,
    DISABLED,
    PIPELINE_ENDPOINT,
    PUBLISHED_PIPELINE,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
)
from atelier.sdk.pipelines._submit import submit_graph
from atelier.sdk.pipelines._views import RecordView
from atelier.sdk.tracking.experiment import Experiment

if TYPE_CHECKING:
    from atelier.sdk.pipelines.runs import PipelineRun
    from atelier.sdk.workspace import Workspace


def _rest_url(workspace: Workspace, path: str) -> str:
    """The REST URL of ``path`` on the workspace's server (a path only in embedded mode,
    where ``atelier server start`` serves it)."""
    base = workspace._backend.tracking_uri
    prefix = base.rstrip("/") if base.startswith(("http://", "https://")) else ""
    return f"{prefix}/api/v1/workspaces/{workspace.name}/pipelines/{path}"


def publish_graph(
    workspace: Workspace,
    name: str | None,
    graph: dict[str, Any],
    description: str | None,
    version: str | None,
    continue_on_step_failure: bool | None,
) -> PublishedPipeline:
    """Freeze ``graph`` (steps with their stored snapshots) as a published pipeline."""
    record = workspace._backend.pipelines.publish(
        workspace.name,
        name or "pipeline",
        graph,
        description or "",
        version or "",
        bool(continue_on_step_failure),
    )
    return PublishedPipeline(workspace, record)


class PublishedPipeline(RecordView[PublishedPipelineRecord]):
    """A published pipeline. ``endpoint`` takes ``POST`` with ``Authorization: Bearer
    <token>`` and ``{"ExperimentName": ..., "ParameterAssignments": {...}}``."""

    def __init__(self, workspace: Workspace, record: PublishedPipelineRecord) -> None:
        self._workspace = workspace
        self._record = record

    @property
    def graph_id(self) -> str:
        return self._record.id

    @property
    def version(self) -> str:
        return self._record.version

    @property
    def continue_on_step_failure(self) -> bool:
        return self._record.continue_on_step_failure

    @property
    def total_run_steps(self) -> int:
        return len(self._record.graph.get("steps") or [])

    @property
    def parameters(self) -> dict[str, Any]:
        """Declared pipeline parameters and their defaults."""
        return dict(self._record.graph.get("parameters") or {})

    @property
    def endpoint(self) -> str:
        return _rest_url(self._workspace, f"published/{self.id}/runs")

    @staticmethod
    def get(workspace: Workspace, id: str, **kwargs: Any) -> PublishedPipeline:
        """The published pipeline ``id``; ``NotFoundError`` if the workspace has none."""
        del kwargs
        return PublishedPipeline(workspace, workspace._backend.pipelines.get(workspace.name, id))

    @staticmethod
    def list(
        workspace: Workspace, active_only: bool = True, **kwargs: Any
    ) -> builtins.list[PublishedPipeline]:
        """Newest first; with ``active_only`` (the default) disabled ones are left out."""
        del kwargs
        records = workspace._backend.pipelines.list(workspace.name, active_only)
        return [PublishedPipeline(workspace, r) for r in records]

    def _set_status(self, status: str) -> None:
        backend = self._workspace._backend
        self._record = backend.pipelines.set_status(self._workspace.name, self.id, status)

    def disable(self) -> None:
        """Refuse new runs (from the SDK, REST and schedules) until enabled again."""
        self._set_status(DISABLED)

    def enable(self) -> None:
        self._set_status(ACTIVE)

    def submit(
        self,
        workspace: Workspace,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        _continue_on_step_failure: bool | None = None,
        regenerate_outputs: bool = False,
        parent_run_id: str | None = None,
        **kwargs: Any,
    ) -> PipelineRun:
        """Run it in ``experiment_name``; ``InvalidStateError`` if it is disabled."""
        return _submit(
            workspace, self.id, experiment_name, pipeline_parameters,
            continue_on_step_failure=_continue_on_step_failure,
            regenerate_outputs=regenerate_outputs, tags=kwargs.get("tags"),
            endpoint_id=kwargs.get("_endpoint_id"), parent_run_id=parent_run_id,
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"PublishedPipeline(Name: {self.name}, Id: {self.id}, Status: {self.status}, "
            f"Endpoint: {self.endpoint})"
        )


def _submit(
    workspace: Workspace,
    pipeline_id: str,
    experiment_name: str,
    pipeline_parameters: dict[str, Any] | None,
    *,
    continue_on_step_failure: bool | None,
    regenerate_outputs: bool,
    tags: dict[str, Any] | None,
    endpoint_id: str | None,
    parent_run_id: str | None,
) -> PipelineRun:
    del parent_run_id
    # read afresh: a pipeline disabled since this object was made must not run
    record = workspace._backend.pipelines.get(workspace.name, pipeline_id)
    if record.status != ACTIVE:
        raise InvalidStateError(
            f"published pipeline {record.name!r} ({record.id}) is disabled; enable it first"
        )
    properties = {PUBLISHED_PIPELINE: record.id}
    if endpoint_id:
        properties[PIPELINE_ENDPOINT] = endpoint_id
    keep_going = (
        record.continue_on_step_failure
        if continue_on_step_failure is None
        else continue_on_step_failure
    )
    return submit_graph(
        Experiment(workspace, experiment_name),
        record.graph,
        pipeline_parameters=pipeline_parameters,
        regenerate_outputs=regenerate_outputs,
        continue_on_step_failure=keep_going,
        tags=tags,
        properties=properties,
    )


class PipelineEndpoint(RecordView[PipelineEndpointRecord]):
    """A named endpoint in front of published pipelines: versions 0, 1, ...; runs go to the
    default version unless ``pipeline_version`` says otherwise."""

    def __init__(self, workspace: Workspace, record: PipelineEndpointRecord) -> None:
        self._workspace = workspace
        self._record = record

    @property
    def default_version(self) -> str:
        return str(self._record.default_version)

    @property
    def endpoint(self) -> str:
        return _rest_url(self._workspace, f"endpoints/{self.name}/runs")

    @staticmethod
    def publish(
        workspace: Workspace, name: str, description: str, pipeline: Any, **kwargs: Any
    ) -> PipelineEndpoint:
        """A new endpoint whose version 0 (the default) is ``pipeline`` (a
        ``PublishedPipeline``, or a ``Pipeline``, published on the way)."""
        del kwargs
        published = _as_published(workspace, pipeline, name)
        record = workspace._backend.pipelines.publish_endpoint(
            workspace.name, name, description or "", published.id
        )
        return PipelineEndpoint(workspace, record)

    @staticmethod
    def get(
        workspace: Workspace, id: str | None = None, name: str | None = None
    ) -> PipelineEndpoint:
        wanted = id or name
        if not wanted:
            raise ValidationError("give the pipeline endpoint's id= or name=")
        return PipelineEndpoint(
            workspace, workspace._backend.pipelines.get_endpoint(workspace.name, wanted)
        )

    @staticmethod
    def list(workspace: Workspace, active_only: bool = True) -> builtins.list[PipelineEndpoint]:
        records = workspace._backend.pipelines.list_endpoints(workspace.name)
        return [
            PipelineEndpoint(workspace, r) for r in records if not active_only or r.status == ACTIVE
        ]

    def _refresh(self) -> PipelineEndpointRecord:
        self._record = self._workspace._backend.pipelines.get_endpoint(
            self._workspace.name, self.id
        )
        return self._record

    def add(self, pipeline: Any) -> None:
        """Add ``pipeline`` as the next version, leaving the default as it is."""
        published = _as_published(self._workspace, pipeline, self.name)
        self._record = self._workspace._backend.pipelines.add_version(
            self._workspace.name, self.id, published.id, False
        )

    def add_default(self, pipeline: Any) -> None:
        """Add ``pipeline`` as the next version and make it the default."""
        published = _as_published(self._workspace, pipeline, self.name)
        self._record = self._workspace._backend.pipelines.add_version(
            self._workspace.name, self.id, published.id, True
        )

    def set_default_version(self, version: int | str) -> None:
        try:
            number = int(version)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"version must be a whole number, not {version!r}") from exc
        self._record = self._workspace._backend.pipelines.set_default_version(
            self._workspace.name, self.id, number
        )

    def list_versions(self) -> builtins.list[dict[str, Any]]:
        """``[{"version": "0", "pipeline_id": ..., "is_default": True}, ...]``."""
        record = self._refresh()
        return [
            {
                "version": version,
                "pipeline_id": pipeline_id,
                "is_default": version == str(record.default_version),
            }
            for version, pipeline_id in sorted(record.versions.items(), key=lambda v: int(v[0]))
        ]

    def list_pipelines(self, active_only: bool = True) -> builtins.list[PublishedPipeline]:
        found = [self.get_pipeline(v["version"]) for v in self.list_versions()]
        return [p for p in found if not active_only or p.status == ACTIVE]

    def get_pipeline(self, version: int | str | None = None) -> PublishedPipeline:
        record = self._refresh()
        wanted = str(record.default_version if version is None else version)
        if wanted not in record.versions:
            raise NotFoundError(f"pipeline endpoint {self.name!r} has no version {wanted}")
        return PublishedPipeline.get(self._workspace, record.versions[wanted])

    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        parent_run_id: str | None = None,
        pipeline_version: str | None = None,
        **kwargs: Any,
    ) -> PipelineRun:
        """Run the default version (or ``pipeline_version``) in ``experiment_name``."""
        published = self.get_pipeline(pipeline_version)
        return _submit(
            self._workspace, published.id, experiment_name, pipeline_parameters,
            continue_on_step_failure=None,
            regenerate_outputs=bool(kwargs.get("regenerate_outputs")), tags=kwargs.get("tags"),
            endpoint_id=self.id, parent_run_id=parent_run_id,
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"PipelineEndpoint(Name: {self.name}, Id: {self.id}, Default: {self.default_version})"
        )


def _as_published(workspace: Workspace, pipeline: Any, name: str) -> PublishedPipeline:
    if isinstance(pipeline, PublishedPipeline):
        return pipeline
    publish = getattr(pipeline, "publish", None)
    if publish is None:
        raise ValidationError("pass a PublishedPipeline or a Pipeline")
    published: PublishedPipeline = publish(name=name)
    del workspace
    return published


def submit_by_id(
    workspace: Workspace,
    experiment_name: str,
    *,
    pipeline_id: str | None = None,
    pipeline_endpoint_id: str | None = None,
    pipeline_parameters: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
) -> PipelineRun:
    """Start a run of a published pipeline or of a pipeline endpoint's default version, by
    id (what a schedule holds); ``NotFoundError`` / ``InvalidStateError`` as their submit."""
    if (pipeline_id is None) == (pipeline_endpoint_id is None):
        raise ValidationError("give exactly one of pipeline_id and pipeline_endpoint_id")
    if pipeline_id is not None:
        return PublishedPipeline.get(workspace, pipeline_id).submit(
            workspace, experiment_name, pipeline_parameters, tags=tags
        )
    endpoint = PipelineEndpoint.get(workspace, id=pipeline_endpoint_id)
    return endpoint.submit(experiment_name, pipeline_parameters, tags=tags)
