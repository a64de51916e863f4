"""``Workspace``: the top-level container, with azureml-core's names and shapes."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.client.backend import Backend
from atelier.client.registry import backend_for
from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.records import WorkspaceRecord
from atelier.core.timeutil import ms_to_iso
from atelier.sdk import lineage
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.data.datastore import Datastore
from atelier.sdk.keyvault import Keyvault
from atelier.sdk.models.model import Model
from atelier.sdk.models.webservice import Webservice
from atelier.sdk.tracking import run as run_module
from atelier.sdk.tracking.experiment import Experiment

if TYPE_CHECKING:
    from atelier.sdk.data._dataset_base import AbstractDataset
    from atelier.sdk.tracking.run import Run

CONFIG_DIR = ".atelier"
CONFIG_FILE = "config.json"


class Workspace:
    """A workspace: experiments, runs, models and (later) data and endpoints.

    ``Workspace.create("demo")`` keeps everything under ``ATELIER_HOME`` (default
    ``~/.atelier``) in embedded mode. ``Workspace(workspace_name="demo")`` and
    ``Workspace.get("demo")`` open an existing one and raise ``NotFoundError`` if absent.
    """

    def __init__(
        self,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        auth: object = None,
        *,
        home: str | Path | None = None,
        tracking_uri: str | None = None,
        _backend: Backend | None = None,
        _record: WorkspaceRecord | None = None,
    ) -> None:
        del subscription_id, resource_group, auth  # accepted so azureml code ports unchanged
        self._backend = _backend or backend_for(tracking_uri, home)
        if _record is None:
            if workspace_name is None:
                raise ValidationError("give workspace_name, e.g. Workspace(workspace_name='demo')")
            _record = self._backend.workspaces.get(workspace_name)
        self._record = _record

    # --- construction -------------------------------------------------------------
    @classmethod
    def create(
        cls,
        name: str,
        auth: object = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        create_resource_group: bool = True,
        sku: str = "basic",
        tags: dict[str, str] | None = None,
        friendly_name: str | None = None,
        description: str = "",
        exist_ok: bool = False,
        show_output: bool = False,
        *,
        home: str | Path | None = None,
        url: str | None = None,
        token: str | None = None,
    ) -> Workspace:
        """Create a workspace; ``AlreadyExistsError`` unless ``exist_ok`` is set. With
        ``url`` (and ``token``) it is created on that server, with you as its Owner."""
        del auth, subscription_id, resource_group, create_resource_group, sku, friendly_name
        backend = backend_for(url, home, token)
        record = backend.workspaces.create(
            name,
            description=description,
            location=location or "local",
            tags=tags or {},
            exist_ok=exist_ok,
        )
        if show_output:
            print(f"Workspace {record.name!r} ready at {backend.tracking_uri}")
        return cls(_backend=backend, _record=record)

    @classmethod
    def get(
        cls,
        name: str,
        auth: object = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        *,
        home: str | Path | None = None,
        url: str | None = None,
        token: str | None = None,
    ) -> Workspace:
        """Open an existing workspace (``NotFoundError`` if there is none of that name).

        ``url`` (and ``token``) open it on a workspace server; without them, the server
        ``atelier login`` stored, else the embedded store under ``home``."""
        del auth, subscription_id, resource_group
        backend = backend_for(url, home, token)
        return cls(_backend=backend, _record=backend.workspaces.get(name))

    @classmethod
    def list(
        cls,
        subscription_id: str | None = None,
        auth: object = None,
        resource_group: str | None = None,
        *,
        home: str | Path | None = None,
        url: str | None = None,
        token: str | None = None,
    ) -> dict[str, builtins.list[Workspace]]:
        """Every workspace, as azureml returns them: name -> [Workspace] (on a server:
        the ones you are a member of)."""
        del subscription_id, auth, resource_group
        backend = backend_for(url, home, token)
        return {r.name: [cls(_backend=backend, _record=r)] for r in backend.workspaces.list()}

    @classmethod
    def from_config(
        cls, path: str | Path | None = None, auth: object = None, _file_name: str | None = None
    ) -> Workspace:
        """The workspace named by the nearest ``.atelier/config.json`` or ``config.json``.

        ``path`` may be the file itself or a folder to start from (default: the current
        folder); each parent is searched in turn.
        """
        del auth
        config_path = find_config(Path(path) if path is not None else Path.cwd(), _file_name)
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValidationError(f"cannot read workspace config {config_path}: {exc}") from exc
        name = config.get("workspace_name") if isinstance(config, dict) else None
        if not isinstance(name, str):
            raise ValidationError(
                f"{config_path} has no 'workspace_name'; rewrite it with ws.write_config()"
            )
        url = config.get("url") or config.get("tracking_uri")
        return cls.get(name, url=url, token=config.get("token"))

    def write_config(self, path: str | Path | None = None, file_name: str | None = None) -> Path:
        """Write ``<path>/.atelier/config.json`` so ``Workspace.from_config()`` finds this one."""
        folder = Path(path) if path is not None else Path.cwd()
        target = folder / CONFIG_DIR / (file_name or CONFIG_FILE)
        target.parent.mkdir(parents=True, exist_ok=True)
        body = {"workspace_name": self.name, "tracking_uri": self._backend.tracking_uri}
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        tmp.replace(target)
        return target

    # --- what it is -----------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._record.name

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def location(self) -> str:
        return self._record.location

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._record.tags)

    @property
    def experiments(self) -> dict[str, Experiment]:
        """Active experiments by name."""
        return {e.name: Experiment(self, e.name) for e in Experiment.list(self)}

    @property
    def models(self) -> dict[str, Model]:
        """The latest version of each registered model, by name."""
        return {model.name: model for model in Model.list(self, latest=True)}

    # --- data: datastores and datasets ------------------------------------------------
    @property
    def datastores(self) -> dict[str, Datastore]:
        """Every registered datastore by name (the default one included)."""
        return {store.name: store for store in Datastore.list(self)}

    def get_default_datastore(self) -> Datastore:
        """The default datastore (``workspaceblobstore`` on the workspace's blob storage,
        unless another one was made the default)."""
        return Datastore.get_default(self)

    def set_default_datastore(self, name: str) -> None:
        """Make the datastore ``name`` the default; ``NotFoundError`` if it is not registered."""
        self._backend.datastores.set_default(self.name, name)

    @property
    def datasets(self) -> dict[str, AbstractDataset]:
        """The latest version of each registered dataset, by name."""
        return Dataset.get_all(self)

    def get_mlflow_tracking_uri(self) -> str:
        return self._backend.tracking_uri

    def get_details(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "location": self.location,
            "description": self._record.description,
            "tags": self.tags,
            "creationTime": ms_to_iso(self._record.created_ms),
            "trackingUri": self._backend.tracking_uri,
            "mode": "embedded" if self._backend.tracking_uri.startswith("file://") else "server",
        }

    def delete(self, delete_dependent_resources: bool = False, no_wait: bool = False) -> None:
        """Delete the workspace with all its experiments, runs, metrics and files; its
        endpoints are stopped first (router and replicas), so none keeps serving."""
        del delete_dependent_resources, no_wait
        for service in Webservice.list(self):
            service.delete()
        self._backend.workspaces.delete(self.name)

    def get_default_keyvault(self) -> Keyvault:
        """The workspace's key vault: secrets encrypted at rest (see ``Keyvault``)."""
        return Keyvault(self)

    # --- the classes a lower object reaches through its workspace ---------------------------
    # A run is built below its experiment and a model above its run; going through the
    # workspace (which imports them all) keeps the lower module from importing the upper.
    def _experiment(self, name: str) -> Experiment:
        """The experiment ``name`` of this workspace, read once (a run's ``experiment``)."""
        return Experiment(self, name, _record=self._backend.experiments.get(self.name, name))

    def _model(self, name: str, version: int) -> Model:
        """Version ``version`` of the model ``name`` (a service's deployed models)."""
        return Model(self, name, version=version)

    def _register_run_model(
        self, run: Run, model_name: str, model_path: str, **options: Any
    ) -> Model:
        """``Run.register_model``: the run's file or folder as the next version of a model."""
        return Model._register_from_run(run, model_name, model_path, **options)

    def _models_using(self, dataset_id: str) -> builtins.list[Model]:
        """``dataset.get_models()``: lineage answers with models, which sit above data."""
        return lineage.models_using(self, dataset_id)

    def _runs_using(self, dataset_id: str) -> builtins.list[Run]:
        """``dataset.get_runs()``: lineage answers with runs, which sit above data."""
        return lineage.runs_using(self, dataset_id)

    def __repr__(self) -> str:
        return f"Workspace.get(name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


def find_config(start: Path, file_name: str | None = None) -> Path:
    """The config file at ``start`` or nearest above it; ``NotFoundError`` if none."""
    if start.is_file():
        return start
    names = [file_name] if file_name else [f"{CONFIG_DIR}/{CONFIG_FILE}", CONFIG_FILE]
    folder = start.resolve()
    for candidate_dir in (folder, *folder.parents):
        for relative in names:
            candidate = candidate_dir / relative
            if candidate.is_file() and _is_atelier_config(candidate):
                return candidate
    raise NotFoundError(
        f"no {CONFIG_DIR}/{CONFIG_FILE} or {CONFIG_FILE} naming a workspace in {folder} or its "
        "parents; write one with ws.write_config()"
    )


def _is_atelier_config(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return path.parent.name == CONFIG_DIR  # ours but broken: report it, don't skip it
    return isinstance(data, dict) and "workspace_name" in data


def _open_workspace(backend: Backend, record: WorkspaceRecord) -> Workspace:
    return Workspace(_backend=backend, _record=record)


run_module.set_workspace_factory(_open_workspace)
