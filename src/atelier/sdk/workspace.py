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
from atelier.sdk.authentication import token_of
from atelier.sdk.compute.environment import Environment
from atelier.sdk.compute.targets import ComputeTarget
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.data.datastore import Datastore
from atelier.sdk.keyvault import Keyvault
from atelier.sdk.models.model import Model
from atelier.sdk.models.package import ModelPackage
from atelier.sdk.models.webservice import Webservice
from atelier.sdk.tracking import run as run_module
from atelier.sdk.tracking.experiment import Experiment

if TYPE_CHECKING:
    from atelier.sdk.data._dataset_base import AbstractDataset
    from atelier.sdk.tracking.run import Run

CONFIG_DIR = ".atelier"
CONFIG_FILE = "config.json"
#: where azureml's ``from_config`` looks in each folder, in its order; Atelier's own first
CONFIG_LOCATIONS = (
    f"{CONFIG_DIR}/{CONFIG_FILE}",
    CONFIG_FILE,
    f".azureml/{CONFIG_FILE}",
    f"aml_config/{CONFIG_FILE}",
)


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
        self._backend = _backend or backend_for(tracking_uri, home, token_of(auth))
        if _record is None:
            if workspace_name is None:
                raise ValidationError("give workspace_name, e.g. Workspace(workspace_name='demo')")
            _record = self._backend.workspaces.get(workspace_name)
        self._record = _record
        # azureml's Azure coordinates: those recorded at creation (None where never given),
        # unless given here; write_config writes them, so a config.json round-trips
        self.subscription_id = subscription_id or _record.subscription_id
        self.resource_group = resource_group or _record.resource_group
        self.sku = _record.sku

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
        del create_resource_group, friendly_name
        backend = backend_for(url, home, token or token_of(auth))
        record = backend.workspaces.create(
            name,
            description=description,
            location=location,
            tags=tags or {},
            exist_ok=exist_ok,
            subscription_id=subscription_id,
            resource_group=resource_group,
            sku=sku,
        )
        if show_output:
            print(f"Workspace {record.name!r} ready at {backend.tracking_uri}")
        return cls(subscription_id, resource_group, _backend=backend, _record=record)

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
        backend = backend_for(url, home, token or token_of(auth))
        return cls(
            subscription_id, resource_group, _backend=backend, _record=backend.workspaces.get(name)
        )

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
        backend = backend_for(url, home, token or token_of(auth))
        return {
            r.name: [cls(subscription_id, resource_group, _backend=backend, _record=r)]
            for r in backend.workspaces.list()
        }

    @classmethod
    def from_config(
        cls,
        path: str | Path | None = None,
        auth: object = None,
        _logger: object = None,
        _file_name: str | None = None,
    ) -> Workspace:
        """The workspace named by the nearest config file, searched as azureml does.

        ``path`` may be the file itself or a folder to start from (default: the current
        folder). In that folder and then each parent, in turn: ``.atelier/config.json``,
        ``config.json``, ``.azureml/config.json``, ``aml_config/config.json`` (with
        ``_file_name``, that name in those places). The file holds ``workspace_name`` and,
        for a server, ``tracking_uri``; azureml's ``subscription_id`` and
        ``resource_group`` are read when present.
        """
        del _logger
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
        return cls.get(
            name,
            auth=auth,
            subscription_id=config.get("subscription_id"),
            resource_group=config.get("resource_group"),
            url=url,
            token=config.get("token"),
        )

    def write_config(self, path: str | Path | None = None, file_name: str | None = None) -> Path:
        """Write ``<path>/.azureml/config.json`` (azureml's place and keys:
        ``subscription_id``, ``resource_group``, ``workspace_name``, plus Atelier's
        ``tracking_uri``) so ``Workspace.from_config()`` finds this workspace."""
        folder = Path(path) if path is not None else Path.cwd()
        target = folder / ".azureml" / (file_name or CONFIG_FILE)
        target.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
            "workspace_name": self.name,
            "tracking_uri": self._backend.tracking_uri,
        }
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
    def location(self) -> str | None:
        """The location given at creation; None when none was given."""
        return self._record.location

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._record.tags)

    @property
    def compute_targets(self) -> dict[str, ComputeTarget]:
        """Every compute target of the workspace, by name."""
        return {target.name: target for target in ComputeTarget.list(self)}

    @property
    def webservices(self) -> dict[str, Webservice]:
        """Every web service of the workspace, by name."""
        return {service.name: service for service in Webservice.list(self)}

    @property
    def environments(self) -> dict[str, Environment]:
        """Every registered environment (and the curated ones), by name."""
        return Environment.list(self)

    @property
    def images(self) -> dict[str, ModelPackage]:
        """The latest version of each image (model package), by name."""
        latest: dict[str, ModelPackage] = {}
        for package in ModelPackage.list(self):
            latest.setdefault(package.image_name, package)
        return latest

    def get_run(self, run_id: str) -> Run:
        """The run with that id in this workspace; ``NotFoundError`` if there is none."""
        return run_module.Run.get(self, run_id)

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
            "sku": self.sku,
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
    names = (
        [f"{CONFIG_DIR}/{file_name}", file_name, f".azureml/{file_name}", f"aml_config/{file_name}"]
        if file_name
        else list(CONFIG_LOCATIONS)
    )
    folder = start.resolve()
    for candidate_dir in (folder, *folder.parents):
        for relative in names:
            candidate = candidate_dir / relative
            if candidate.is_file() and _is_atelier_config(candidate):
                return candidate
    raise NotFoundError(
        f"no workspace config ({', '.join(CONFIG_LOCATIONS)}) naming a workspace in {folder} "
        "or its parents; create a workspace with 'atelier workspace create NAME', then write "
        "one with ws.write_config()"
    )


def _is_atelier_config(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # ours but broken: report it, don't skip it
        return path.parent.name in (CONFIG_DIR, ".azureml", "aml_config")
    return isinstance(data, dict) and "workspace_name" in data


def _open_workspace(backend: Backend, record: WorkspaceRecord) -> Workspace:
    return Workspace(_backend=backend, _record=record)


run_module.set_workspace_factory(_open_workspace)
