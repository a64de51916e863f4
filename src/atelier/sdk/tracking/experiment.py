"""``Experiment``: a named group of runs in a workspace, created on first use."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.records import ExperimentRecord, RunQuery
from atelier.sdk.tracking import _frames, _query
from atelier.sdk.tracking.run import Run

if TYPE_CHECKING:
    import pandas as pd

    from atelier.sdk.workspace import Workspace


class Experiment:
    """``Experiment(ws, "iris")`` opens the experiment, creating it if it does not exist."""

    def __init__(
        self,
        workspace: Workspace,
        name: str,
        *,
        _record: ExperimentRecord | None = None,
        **kwargs: Any,
    ) -> None:
        del kwargs  # azureml's private flags (_skip_name_validation, _id, ...) are accepted
        self.workspace = workspace
        self._backend = workspace._backend
        self._record = _record or self._backend.experiments.get_or_create(workspace.name, name)

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def archived(self) -> bool:
        return self._record.archived

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._record.tags)

    @classmethod
    def list(
        cls,
        workspace: Workspace,
        experiment_name: str | None = None,
        view_type: str = "ActiveOnly",
        tags: Any = None,
    ) -> builtins.list[Experiment]:
        """Experiments of the workspace: ``view_type`` is ActiveOnly, ArchivedOnly or All."""
        records = workspace._backend.experiments.list(workspace.name, view_type, experiment_name)
        wanted = _query.key_filter("tags", tags)
        found = []
        for record in records:
            if all(
                k in record.tags and (v is None or record.tags[k] == v) for k, v in wanted.items()
            ):
                found.append(cls(workspace, record.name, _record=record))
        return found

    def archive(self) -> None:
        """Hide the experiment from default listings; it takes no new runs until reactivated."""
        self._record = self._backend.experiments.set_archived(self.workspace.name, self.name, True)

    def reactivate(self, new_name: str | None = None) -> None:
        if new_name is not None:
            raise ValidationError("renaming on reactivate is not supported; omit new_name")
        self._record = self._backend.experiments.set_archived(self.workspace.name, self.name, False)

    def tag(self, key: str, value: str | None = None) -> None:
        self._record = self._backend.experiments.set_tags(
            self.workspace.name, self.name, {key: value}
        )

    def set_tags(self, tags: dict[str, str | None]) -> None:
        self._record = self._backend.experiments.set_tags(self.workspace.name, self.name, tags)

    def remove_tags(self, tags: str | builtins.list[str]) -> None:
        """Remove the tag ``tags`` (a key) or each of the keys in a list."""
        keys = [tags] if isinstance(tags, str) else list(tags)
        if not all(isinstance(key, str) for key in keys):
            raise ValidationError("remove_tags takes a tag key or a list of keys")
        self._record = self._backend.experiments.remove_tags(self.workspace.name, self.name, keys)

    @staticmethod
    def delete(workspace: Workspace, experiment_id: str) -> None:
        """Delete the experiment with id ``experiment_id`` from ``workspace``, with its runs,
        metrics and files (azureml's static ``Experiment.delete``). ``NotFoundError`` if the
        workspace has no such experiment; ``InvalidStateError`` while one of its runs has not
        ended. On a server it needs the Owner role."""
        if not isinstance(experiment_id, str) or not experiment_id:
            raise ValidationError("Experiment.delete takes the experiment's id (experiment.id)")
        backend = workspace._backend
        for record in backend.experiments.list(workspace.name, "All"):
            if record.id == experiment_id:
                backend.experiments.delete(workspace.name, record.name)
                return
        raise NotFoundError(
            f"no experiment with id {experiment_id!r} in workspace {workspace.name!r}; "
            "Experiment.list(ws, view_type='All') lists them"
        )

    def refresh(self) -> None:
        """Read the experiment's tags and state again."""
        self._record = self._backend.experiments.get(self.workspace.name, self.name)

    def start_logging(
        self,
        *args: Any,
        outputs: str | None = None,
        snapshot_directory: str | Path | None = None,
        display_name: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Run:
        """Start an interactive run (status Running); use it as a context manager to end it.

        When ``snapshot_directory`` (default: the current folder) is in a git repository,
        the run records its URL, branch, commit and whether the tree was dirty.
        """
        del args, outputs, kwargs
        return Run._start(
            self,
            display_name=display_name,
            tags=tags,
            source_directory=Path(snapshot_directory) if snapshot_directory else Path.cwd(),
        )

    def submit(self, config: Any, tags: dict[str, Any] | None = None, **kwargs: Any) -> Run:
        """Submit a ``ScriptRunConfig``: its source directory is snapshotted, the run is
        Queued on its compute target and a supervisor takes it from there.

        Other kinds of configuration (a sweep, a pipeline) submit themselves: an object with
        a ``_submit_to(experiment, tags, **kwargs)`` method is handed the experiment and the
        keyword arguments (``pipeline_parameters=``, ``regenerate_outputs=`` ...) and returns
        its run."""
        submit_to = getattr(type(config), "_submit_to", None)
        if submit_to is not None:
            run: Run = submit_to(config, self, tags, **kwargs)
            return run
        parent_run_id = kwargs.pop("_parent_run_id", None)
        # pathspec (the snapshot's ignore rules) loads only when a script is submitted
        from atelier.sdk.tracking._submit import submit

        return submit(self, config, tags, parent_run_id=parent_run_id)

    def get_runs(
        self,
        type: str | None = None,
        tags: Any = None,
        properties: Any = None,
        include_children: bool = False,
    ) -> Iterator[Run]:
        """Runs newest first; children only with ``include_children``."""
        yield from Run.list(
            self, type=type, tags=tags, properties=properties, include_children=include_children
        )

    def get_runs_dataframe(
        self,
        filter: str | None = None,
        order_by: str | builtins.list[str] | None = None,
        max_results: int | None = None,
        include_children: bool = False,
    ) -> pd.DataFrame:
        """This experiment's runs as a DataFrame shaped like ``mlflow.search_runs``: see
        ``atelier.search_runs`` for the columns, ``filter`` and ``order_by``."""
        query = RunQuery(include_children=include_children, with_latest_metrics=True)
        records = self._backend.runs.list(self.workspace.name, self.name, query)
        return _frames.select(records, filter, order_by, max_results)

    def get_best_run(
        self, metric: str, goal: str = "maximize", include_children: bool = False
    ) -> Run | None:
        """The run whose latest value of ``metric`` is best; None when the experiment has no
        run. A metric no run logged raises ``NotFoundError`` naming the logged ones."""
        if goal not in ("maximize", "minimize"):
            raise ValidationError(f"goal {goal!r} must be 'maximize' or 'minimize'")
        direction = "desc" if goal == "maximize" else "asc"
        best = Run.list(
            self, order_by=(metric, direction), top=1, include_children=include_children
        )
        return best[0] if best else None

    def __repr__(self) -> str:
        return f"Experiment(Name: {self.name}, Workspace: {self.workspace.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Experiment) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)
