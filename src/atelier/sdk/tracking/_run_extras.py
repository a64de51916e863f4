"""More of azureml's ``Run``: its tags, properties and secrets, description, environment,
page, logs, snapshots, child submissions and the runs of a compute target."""

from __future__ import annotations

import builtins
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.paths import LOG_NAME, safe_join
from atelier.core.records import RunRecord
from atelier.sdk.compute.environment import Environment

if TYPE_CHECKING:
    from atelier.client.backend import Backend
    from atelier.sdk.tracking.experiment import Experiment
    from atelier.sdk.tracking.run import Run

#: the tag MLflow keeps a run's description in; azureml's ``description`` reads and writes it
DESCRIPTION_TAG = "mlflow.note.content"
#: where a Studio serves pages when the workspace is embedded (``atelier server``'s default)
STUDIO_URL_VARIABLE = "ATELIER_STUDIO_URL"
LOCAL_STUDIO_URL = "http://127.0.0.1:8643"  # where `atelier studio` serves by default
#: the other folders of a run's files that hold logs, as azureml lays them out
LOG_FOLDERS = ("logs/", "azureml-logs/", "user_logs/")


class RunExtrasMixin:
    """Needs ``_backend``, ``_workspace_name``, ``id``, ``experiment`` and ``_refresh``."""

    _backend: Backend
    _workspace_name: str
    _record: RunRecord
    experiment: Experiment

    @property
    def id(self) -> str:
        raise NotImplementedError

    def _refresh(self) -> RunRecord:
        raise NotImplementedError

    def get_details(self) -> dict[str, Any]:
        raise NotImplementedError

    # --- tags and properties -------------------------------------------------------
    def tag(self, key: str, value: Any = None) -> None:
        self._backend.runs.set_tags(self._workspace_name, self.id, {key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        self._backend.runs.set_tags(self._workspace_name, self.id, tags)

    def get_tags(self) -> dict[str, str]:
        return dict(self._refresh().tags)

    def remove_tags(self, tags: str | builtins.list[str]) -> None:
        keys = [tags] if isinstance(tags, str) else list(tags)
        self._backend.runs.remove_tags(self._workspace_name, self.id, keys)

    def add_properties(self, properties: dict[str, Any]) -> None:
        """Add immutable properties; another value for an existing key raises ``ConflictError``."""
        self._backend.runs.add_properties(self._workspace_name, self.id, properties)

    def get_properties(self) -> dict[str, str]:
        return dict(self._refresh().properties)

    # --- secrets --------------------------------------------------------------------
    def get_secret(self, name: str) -> str:
        """The value of the workspace secret ``name`` (set with the workspace's key vault)."""
        return self._backend.secrets.get(self._workspace_name, [name])[name]

    def get_secrets(self, secrets: builtins.list[str]) -> dict[str, str]:
        """The values of several workspace secrets, by name."""
        if isinstance(secrets, str):
            raise ValidationError("get_secrets takes a list of names; use get_secret for one")
        return self._backend.secrets.get(self._workspace_name, list(secrets))

    # --- description and environment ---------------------------------------------------
    @property
    def description(self) -> str | None:
        """The run's description (None when it has none)."""
        return self._refresh().tags.get(DESCRIPTION_TAG)

    @description.setter
    def description(self, value: str) -> None:
        if not isinstance(value, str):
            raise ValidationError("a run's description must be a string")
        self.set_tags({DESCRIPTION_TAG: value})

    def get_environment(self) -> Environment:
        """The environment a submitted run ran in; ``NotFoundError`` for an interactive
        run (``start_logging``), which runs in whatever Python started it."""
        environment = ((self._refresh().definition or {}).get("environment")) or {}
        if not environment.get("spec"):
            raise NotFoundError(
                f"run {self.id} has no environment: it was not submitted (interactive runs "
                "use the Python that started them); submit a ScriptRunConfig to record one"
            )
        version = environment.get("version")
        return Environment.from_spec(
            environment.get("name") or "atelier-default",
            environment["spec"],
            version=None if version is None else str(version),
        )

    # --- its page ---------------------------------------------------------------------
    def get_portal_url(self) -> str:
        """The run's page in the Studio: on the workspace server for a server workspace,
        else on ``ATELIER_STUDIO_URL`` (default: where ``atelier studio`` serves)."""
        uri = self._backend.tracking_uri
        base = uri if uri.startswith(("http://", "https://")) else None
        base = base or os.environ.get(STUDIO_URL_VARIABLE) or LOCAL_STUDIO_URL
        return f"{base.rstrip('/')}/workspaces/{quote(self._workspace_name)}/runs/{quote(self.id)}"

    @property
    def portal_url(self) -> str:
        return self.get_portal_url()

    # --- logs -------------------------------------------------------------------------
    def _log_text(self) -> bytes:
        chunks: builtins.list[bytes] = []
        offset = 0
        while True:
            chunk, _ended = self._backend.runs.read_log(self._workspace_name, self.id, offset)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            offset += len(chunk)

    def get_all_logs(self, destination: str | Path | None = None) -> builtins.list[str]:
        """Write the run's logs under ``destination`` (default ``./logs``): the script's
        output as ``user_logs/std_log.txt`` and every file of the run under ``logs/``,
        ``azureml-logs/`` and ``user_logs/``; returns the paths written."""
        root = Path(destination) if destination is not None else Path.cwd() / "logs"
        written: builtins.list[str] = []
        for record in self._backend.artifacts.list(self._workspace_name, self.id):
            if record.path.startswith(LOG_FOLDERS) and record.path != LOG_NAME:
                target = safe_join(root, record.path)
                self._backend.artifacts.download(self._workspace_name, self.id, record.path, target)
                written.append(str(target))
        output = self._log_text()
        if output:
            target = safe_join(root, LOG_NAME)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(output)
            written.append(str(target))
        return sorted(written)

    def get_details_with_logs(self) -> dict[str, Any]:
        """``get_details()`` with ``logFiles`` filled: each log's name and its text."""
        details = self.get_details()
        logs: dict[str, str] = {}
        output = self._log_text()
        if output:
            logs[LOG_NAME] = output.decode("utf-8", errors="replace")
        details["logFiles"] = logs
        return details

    # --- snapshots and children --------------------------------------------------------
    def take_snapshot(self, file_or_folder_path: str | Path) -> str:
        """Store a snapshot of a folder (or one file) with the run's workspace and return
        its id (``restore_snapshot(snapshot_id)`` writes it back)."""
        # pathspec (the snapshot's ignore rules) loads only when a snapshot is taken
        from atelier.sdk.tracking import _snapshot

        source = Path(file_or_folder_path)
        if source.is_file():
            files = [(source.name, source, source.stat().st_mode & 0o777)]
        elif source.is_dir():
            files = _snapshot.collect(source)
        else:
            raise NotFoundError(f"cannot snapshot {source}: no such file or folder")
        return self._backend.snapshots.create(self._workspace_name, files).id

    def submit_child(self, config: Any, tags: dict[str, Any] | None = None, **kwargs: Any) -> Run:
        """Submit a ``ScriptRunConfig`` as a child of this run; returns the child run."""
        return self.experiment.submit(config, tags, _parent_run_id=self.id, **kwargs)
