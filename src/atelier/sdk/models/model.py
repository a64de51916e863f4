"""``Model``: registered model files with a name and an auto-incremented version.

The names and shapes follow ``azureml.core.model.Model``. A model holds one *asset*: the
file or the folder that was registered, under its own name. ``model.download(d)`` writes
``d/<asset>`` and returns that path; inside a scoring or training script
``Model.get_model_path(name)`` finds the asset without being told where it is.
"""

from __future__ import annotations

import builtins
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.names import check_model_name, check_version
from atelier.core.records import ModelQuery, ModelRecord, ModelSpec
from atelier.core.timeutil import ms_to_iso
from atelier.sdk.data._model_links import datasets_argument, model_datasets
from atelier.sdk.models._model_files import (
    local_files,
    model_path,
)
from atelier.sdk.models.container_service import (
    AciWebserviceDeploymentConfiguration,
    deploy_container,
    unlimited_container,
)
from atelier.sdk.models.local_service import LocalWebserviceDeploymentConfiguration, deploy_local
from atelier.sdk.tracking._query import key_filter
from atelier.sdk.tracking.run import Run

if TYPE_CHECKING:
    from atelier.sdk.data._dataset_base import AbstractDataset
    from atelier.sdk.models.inference import InferenceConfig
    from atelier.sdk.models.package import ModelPackage
    from atelier.sdk.models.webservice import Webservice
    from atelier.sdk.workspace import Workspace


class Model:
    """A registered model version. ``Model(ws, "iris-clf")`` opens its latest version,
    ``Model(ws, "iris-clf", version=2)`` or ``Model(ws, id="iris-clf:2")`` a given one.

    With ``tags``, ``properties``, ``run_id`` or ``model_framework`` the newest matching
    version is opened. Raises ``NotFoundError`` if nothing matches.
    """

    class Framework:
        """azureml's framework names, for ``model_framework``."""

        CUSTOM = "Custom"
        MULTI = "Multi"
        ONNX = "Onnx"
        PYTORCH = "Pytorch"
        SCIKITLEARN = "ScikitLearn"
        TENSORFLOW = "TensorFlow"
        TFKERAS = "TfKeras"

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: Any = None,
        properties: Any = None,
        version: int | str | None = None,
        run_id: str | None = None,
        model_framework: str | None = None,
        expand: bool = True,
        *,
        _record: ModelRecord | None = None,
        **kwargs: Any,
    ) -> None:
        del expand, kwargs  # azureml's loading flags: everything is always loaded here
        self.workspace = workspace
        self._backend = workspace._backend
        if _record is None:
            _record = _find(workspace, name, id, tags, properties, version, run_id, model_framework)
        self._record = _record

    # --- what it is -----------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._record.name

    @property
    def version(self) -> int:
        return self._record.version

    @property
    def id(self) -> str:
        """azureml's model id: ``<name>:<version>``."""
        return f"{self._record.name}:{self._record.version}"

    @property
    def description(self) -> str:
        return self._record.description

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._record.tags)

    @property
    def properties(self) -> dict[str, str]:
        return dict(self._record.properties)

    @property
    def run_id(self) -> str | None:
        """The run the model was registered from, if any (its lineage)."""
        return self._record.run_id

    @property
    def run(self) -> Run | None:
        return None if self.run_id is None else Run.get(self.workspace, self.run_id)

    @property
    def model_framework(self) -> str | None:
        return self._record.framework

    @property
    def model_framework_version(self) -> str | None:
        return self._record.framework_version

    @property
    def created_time(self) -> datetime:
        return datetime.fromtimestamp(self._record.created_ms / 1000, tz=UTC)

    def serialize(self) -> dict[str, Any]:
        """The model as a JSON-ready dict with azureml's keys."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "createdTime": ms_to_iso(self._record.created_ms),
            "framework": self.model_framework,
            "frameworkVersion": self.model_framework_version,
            "runId": self.run_id,
            "tags": self.tags,
            "properties": self.properties,
        }

    def get_file_names(self) -> builtins.list[str]:
        """The model's file paths, each starting with the asset's name."""
        files = self._backend.models.files(self.workspace.name, self.name, self.version)
        return [entry.path for entry in files]

    def __repr__(self) -> str:
        return (
            f"Model(workspace={self.workspace!r}, name={self.name!r}, id={self.id!r}, "
            f"version={self.version}, tags={self.tags}, properties={self.properties})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and other._record.id == self._record.id

    def __hash__(self) -> int:
        return hash(self._record.id)

    # --- registering and finding -------------------------------------------------------
    @classmethod
    def register(
        cls,
        workspace: Workspace,
        model_path: str | os.PathLike[str],
        model_name: str,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        description: str | None = None,
        datasets: builtins.list[Any] | None = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        child_paths: builtins.list[str] | None = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: Any = None,
    ) -> Model:
        """Upload a local file or folder as the next version of ``model_name``.

        The first registration of a name is version 1, each later one the latest + 1.
        For a folder, ``child_paths`` (files or sub-folders relative to it) limits what is
        uploaded. All files are stored or none. Raises ``ValidationError`` for a bad name
        (letters, digits, '-', '_', '.'), ``NotFoundError`` if ``model_path`` or a child
        path does not exist.
        """
        _refuse_unsupported(None, sample_input_dataset, sample_output_dataset)
        del resource_configuration  # a sizing hint for deployments; nothing uses it yet
        check_model_name(model_name)
        links = datasets_argument(datasets)
        files = local_files(Path(model_path), child_paths)
        spec = _spec(tags, properties, description, model_framework, model_framework_version)
        record = workspace._backend.models.register(workspace.name, model_name, files, spec)
        return cls(workspace, _record=record)._with_datasets(links)

    @classmethod
    def _register_from_run(
        cls,
        run: Run,
        model_name: str,
        model_path: str,
        *,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        description: str | None = None,
        datasets: builtins.list[Any] | None = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: Any = None,
    ) -> Model:
        """``Run.register_model``: the run's file or folder, its blobs reused, not copied."""
        _refuse_unsupported(None, sample_input_dataset, sample_output_dataset)
        del resource_configuration  # a sizing hint for deployments; nothing uses it yet
        links = datasets_argument(datasets)
        spec = _spec(tags, properties, description, model_framework, model_framework_version)
        workspace = run.experiment.workspace
        record = workspace._backend.models.register_from_run(
            workspace.name, model_name, run.id, model_path, spec
        )
        return cls(workspace, _record=record)._with_datasets(links)

    def _with_datasets(self, links: builtins.list[tuple[str, str]]) -> Model:
        if links:
            self._backend.datasets.link_model(self.workspace.name, self.name, self.version, links)
        return self

    @property
    def datasets(self) -> dict[str, builtins.list[AbstractDataset]]:
        """The dataset versions behind this model, by scenario (``'training data'`` ...)."""
        return model_datasets(self)

    @classmethod
    def list(
        cls,
        workspace: Workspace,
        name: str | None = None,
        tags: Any = None,
        properties: Any = None,
        run_id: str | None = None,
        latest: bool = False,
        dataset_id: str | None = None,
        expand: bool = True,
        page_count: int = 255,
        model_framework: str | None = None,
    ) -> builtins.list[Model]:
        """Registered models, by name and newest version first.

        ``tags`` and ``properties`` filter as in azureml: ``['key', ['key2', 'value']]``
        (a dict ``{'key2': 'value'}`` works too). With ``latest`` only the newest matching
        version of each name is returned.
        """
        del expand, page_count
        using: set[tuple[str, int]] | None = None
        if dataset_id is not None:
            links = workspace._backend.datasets.models_using(workspace.name, dataset_id)
            using = {(link.model_name, link.model_version) for link in links}
        query = ModelQuery(
            name=name,
            tags=key_filter("tags", tags),
            properties=key_filter("properties", properties),
            run_id=run_id,
            framework=model_framework,
            latest=bool(latest),
        )
        records = workspace._backend.models.list(workspace.name, query)
        if using is not None:
            records = [r for r in records if (r.name, r.version) in using]
        return [cls(workspace, _record=record) for record in records]

    # --- changing -------------------------------------------------------------------------
    def add_tags(self, tags: dict[str, Any]) -> None:
        """Add tags; an existing key gets the new value."""
        self._record = self._backend.models.set_tags(
            self.workspace.name, self.name, self.version, tags
        )

    def remove_tags(self, tags: str | builtins.list[str]) -> None:
        """Remove the tags with these keys (keys the model lacks are ignored)."""
        keys = [tags] if isinstance(tags, str) else builtins.list(tags)
        self._record = self._backend.models.remove_tags(
            self.workspace.name, self.name, self.version, keys
        )

    def add_properties(self, properties: dict[str, Any]) -> None:
        """Add properties; they are immutable, so another value for a key raises
        ``ConflictError``."""
        self._record = self._backend.models.add_properties(
            self.workspace.name, self.name, self.version, properties
        )

    def update(
        self,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: Any = None,
    ) -> None:
        """Replace the tags (all of them) and/or the description; None leaves either as is."""
        _refuse_unsupported(None, sample_input_dataset, sample_output_dataset)
        del resource_configuration
        self._record = self._backend.models.update(
            self.workspace.name, self.name, self.version, description=description, tags=tags
        )

    def delete(self) -> None:
        """Delete this model version (other versions of the name stay).

        Raises ``ConflictError`` while a deployment serves it (update or delete that
        endpoint first)."""
        self._backend.models.delete(self.workspace.name, self.name, self.version)

    # --- deploying --------------------------------------------------------------------------
    @staticmethod
    def deploy(
        workspace: Workspace,
        name: str,
        models: builtins.list[Model],
        inference_config: InferenceConfig | None = None,
        deployment_config: LocalWebserviceDeploymentConfiguration
        | AciWebserviceDeploymentConfiguration
        | None = None,
        deployment_target: Any = None,
        overwrite: bool = False,
        show_output: bool = False,
    ) -> Webservice:
        """Serve ``models`` with ``inference_config``'s entry script as the local web
        service ``name`` (see :mod:`atelier.sdk.models.webservice`); returns without waiting.

        ``deployment_config`` comes from ``LocalWebservice.deploy_configuration()``
        (default: a free port, one replica). Without ``inference_config`` a scikit-learn
        or MLflow model is served with a generated entry script (no-code deployment).
        An existing service of that name raises ``AlreadyExistsError`` unless
        ``overwrite``; a port in use raises ``ConflictError``.
        """
        if deployment_target is not None:
            raise ValidationError("only local deployments are supported: leave deployment_target")
        service: Webservice
        if isinstance(deployment_config, AciWebserviceDeploymentConfiguration):
            service = deploy_container(
                workspace, name, models, inference_config, deployment_config, overwrite
            )
        elif _asks_for_a_container(inference_config):
            # a local service whose environment asks for Docker: a container with no limits
            local = deployment_config or LocalWebserviceDeploymentConfiguration()
            service = deploy_container(
                workspace, name, models, inference_config, unlimited_container(local), overwrite
            )
        else:
            service = deploy_local(
                workspace, name, models, inference_config, deployment_config, overwrite=overwrite
            )
        if show_output:
            service.wait_for_deployment(show_output=True)
        return service

    @staticmethod
    def package(
        workspace: Workspace,
        models: builtins.list[Model],
        inference_config: InferenceConfig,
        generate_dockerfile: bool = False,
        image_name: str | None = None,
        image_label: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> ModelPackage:
        """Store ``models`` with the entry script, its source and locked environment as the
        next version of an image, and build that image with podman or docker unless
        ``generate_dockerfile`` (then only the build context with its Dockerfile is stored;
        see :mod:`atelier.sdk.models.package`)."""
        # packaging (pathspec, the environment builder) loads only when a model is packaged
        from atelier.sdk.models.package import create_package

        checked = _checked_models(models)
        return create_package(
            workspace, checked, inference_config, image_name, image_label, tags,
            generate_dockerfile=bool(generate_dockerfile),
        )  # fmt: skip

    # --- files ------------------------------------------------------------------------------
    def download(
        self,
        target_dir: str | os.PathLike[str] = ".",
        exist_ok: bool = False,
        exists_ok: bool | None = None,
    ) -> str:
        """Write the model's file or folder into ``target_dir``; return its path.

        The asset appears whole or not at all. If it already exists there, raises
        ``AlreadyExistsError`` unless ``exist_ok`` (then it is replaced).
        """
        if exists_ok is not None:  # azureml's deprecated spelling
            exist_ok = exists_ok
        written = self._backend.models.download(
            self.workspace.name, self.name, self.version, Path(target_dir), bool(exist_ok)
        )
        return str(written)

    @staticmethod
    def get_model_path(
        model_name: str, version: int | str | None = None, _workspace: Workspace | None = None
    ) -> str:
        """The local path of the model's file or folder (latest version unless given).

        Looked up, in order: ``$ATELIER_MODEL_DIR/<name>/<version>/`` and
        ``$AZUREML_MODEL_DIR`` (what a serving process sets), then a download from
        ``_workspace`` (or, inside a run, the run's workspace) into a cache under
        ``$ATELIER_HOME/models``. Raises ``NotFoundError`` if none has the model.
        """
        return model_path(model_name, version, _workspace)


# --- helpers ------------------------------------------------------------------------------
def _find(
    workspace: Workspace,
    name: str | None,
    model_id: str | None,
    tags: Any,
    properties: Any,
    version: int | str | None,
    run_id: str | None,
    framework: str | None,
) -> ModelRecord:
    if model_id is not None:
        id_name, sep, id_version = model_id.rpartition(":")
        if not sep or (name is not None and name != id_name):
            raise ValidationError(f"model id {model_id!r} must look like '<name>:<version>'")
        name, version = id_name, id_version
    if name is None:
        raise ValidationError("give the model's name or id, e.g. Model(ws, 'iris-clf')")
    number = None if version is None else check_version("model", version)
    filters = (tags, properties, run_id, framework)
    if all(value is None for value in filters):
        return workspace._backend.models.get(workspace.name, name, number)
    query = ModelQuery(
        name=name,
        tags=key_filter("tags", tags),
        properties=key_filter("properties", properties),
        run_id=run_id,
        framework=framework,
    )
    matches = [
        record
        for record in workspace._backend.models.list(workspace.name, query)
        if number is None or record.version == number
    ]
    if not matches:
        workspace._backend.models.get(workspace.name, name, number)  # says if it is absent
        raise NotFoundError(f"no version of model {name!r} matches the given filters")
    return max(matches, key=lambda record: record.version)


def _spec(
    tags: dict[str, Any] | None,
    properties: dict[str, Any] | None,
    description: str | None,
    framework: str | None,
    framework_version: str | None,
) -> ModelSpec:
    for kind, values in (("tags", tags), ("properties", properties)):
        if values is not None and not isinstance(values, dict):
            raise ValidationError(f"{kind} must be a dict of names to values, not {values!r}")
    return ModelSpec(
        description=description or "",
        framework=framework,
        framework_version=framework_version,
        tags=dict(tags or {}),
        properties=dict(properties or {}),
    )


def _refuse_unsupported(datasets: Any, sample_input: Any, sample_output: Any) -> None:
    if datasets or sample_input is not None or sample_output is not None:
        raise ValidationError(
            "dataset lineage (datasets, sample_input_dataset, sample_output_dataset) is not "
            "supported yet; register the model without it"
        )


def _checked_models(models: object) -> builtins.list[Model]:
    """``Model.package``'s ``models``: one model or a non-empty list of them."""
    if isinstance(models, Model):
        models = [models]
    if not isinstance(models, list | tuple) or not models:
        raise ValidationError("give at least one model to package, e.g. [Model(ws, 'iris')]")
    for model in models:
        if not isinstance(model, Model):
            raise ValidationError(f"models must be Model objects, not {type(model).__name__}")
    return builtins.list(models)


def _asks_for_a_container(inference_config: InferenceConfig | None) -> bool:
    environment = inference_config.environment if inference_config is not None else None
    return environment is not None and bool(environment.docker.enabled)
