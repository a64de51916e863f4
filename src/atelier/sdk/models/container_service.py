"""Container deployments: ``AciWebservice.deploy_configuration(cpu_cores=, memory_gb=)``.

Azure's ACI becomes a container on this machine: ``Model.deploy(..., deployment_config=
aci)`` builds the package's OCI image (``Model.package``, cached by content) and the
endpoint's router runs it as a replica (``<engine> run --rm`` with ``--cpus`` and
``--memory`` from the configuration, published on loopback; see
:mod:`atelier.serving.container_replica`). Keys, ``get_logs()``, ``update()`` (the new
image's container starts beside the old one and takes over once ready: no request fails),
model data collection and ``delete()`` work as for a local service.

Without a working engine, deploying raises :class:`ContainerEngineError` before anything
is created; a container that exits at start raises :class:`WebserviceError` with the end
of its log, and leaves nothing behind.
"""

from __future__ import annotations

import builtins
import contextlib
import shutil
import sys
from typing import TYPE_CHECKING, Any, ClassVar

from atelier.containers import Engine, find_engine
from atelier.core.endpoints import CONTAINER, check_endpoint_name
from atelier.core.errors import (
    AlreadyExistsError,
    AtelierError,
    ContainerEngineError,
    ImageBuildError,
    NotFoundError,
    ValidationError,
    WebserviceError,
)
from atelier.core.packages import default_image_name
from atelier.execution import packaging
from atelier.sdk.models import _endpoint_process as proc
from atelier.sdk.models._deployment_config import LocalWebserviceDeploymentConfiguration
from atelier.sdk.models._service_access import check_tls, install_tls
from atelier.sdk.models._service_details import text_map
from atelier.sdk.models.inference import InferenceConfig
from atelier.sdk.models.webservice import DEFAULT_DEPLOYMENT, HOST, Webservice
from atelier.serving.container_replica import CONTAINER_PORT, LABEL

if TYPE_CHECKING:
    from atelier.sdk.models.model import Model
    from atelier.sdk.workspace import Workspace

__all__ = [
    "AciWebservice",
    "AciWebserviceDeploymentConfiguration",
    "ContainerEngineError",
    "deploy_container",
]

_START_TIMEOUT_SECONDS = 180


class AciWebserviceDeploymentConfiguration(LocalWebserviceDeploymentConfiguration):
    """CPU and memory limits of the container, key auth, TLS, port, tags and model data.

    With ``ssl_enabled``, ``ssl_cert_pem_file`` and ``ssl_key_pem_file`` are read and
    checked here: :class:`WebserviceError` (azureml's ``WebserviceException``) when one is
    missing, unreadable, or they are not a PEM certificate and its matching key."""

    def __init__(
        self,
        cpu_cores: float = 0.1,
        memory_gb: float = 0.5,
        auth_enabled: bool = False,
        port: int | None = None,
        image: str | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        enable_app_insights: bool = False,
        collect_model_data: bool = False,
        properties: dict[str, str] | None = None,
        ssl_enabled: bool | None = None,
        ssl_cert_pem_file: str | None = None,
        ssl_key_pem_file: str | None = None,
        ssl_cname: str | None = None,
        primary_key: str | None = None,
        secondary_key: str | None = None,
    ) -> None:
        for name, value in (("cpu_cores", cpu_cores), ("memory_gb", memory_gb)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValidationError(f"{name} must be a number > 0; got {value!r}")
        super().__init__(
            port=port, auth_enabled=auth_enabled, collect_model_data=collect_model_data
        )
        self.cpu_cores = float(cpu_cores)
        self.memory_gb = float(memory_gb)
        self.image = image
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self.properties = {str(k): str(v) for k, v in (properties or {}).items()}
        self.description = description
        self.enable_app_insights = bool(enable_app_insights)
        self.tls = check_tls(ssl_enabled, ssl_cert_pem_file, ssl_key_pem_file, ssl_cname)
        self.ssl_enabled = self.tls is not None
        self.ssl_cname = self.tls.cname if self.tls is not None else None
        self.primary_key = primary_key
        self.secondary_key = secondary_key
        #: False for a local service run in a container (no CPU or memory limits)
        self.limited = True

    def __repr__(self) -> str:
        return (
            f"AciWebserviceDeploymentConfiguration(cpu_cores={self.cpu_cores:g}, "
            f"memory_gb={self.memory_gb:g}, auth_enabled={self.auth_enabled}, "
            f"ssl_enabled={self.ssl_enabled})"
        )


def unlimited_container(
    local: LocalWebserviceDeploymentConfiguration,
) -> AciWebserviceDeploymentConfiguration:
    """A local service's configuration as a container's, without CPU or memory limits
    (``LocalWebservice.deploy_configuration()`` with an environment whose
    ``docker.enabled`` is set)."""
    config = AciWebserviceDeploymentConfiguration(
        port=local.port or None,
        auth_enabled=local.auth_enabled,
        collect_model_data=local.collect_model_data,
    )
    config.num_replicas = local.num_replicas
    config.limited = False
    return config


class AciWebservice(Webservice):
    """A service whose replicas are containers (``AciWebservice.deploy_configuration()``)."""

    compute_type = "ACI"
    _kind: ClassVar[str | None] = CONTAINER

    @staticmethod
    def deploy_configuration(
        cpu_cores: float = 0.1,
        memory_gb: float = 0.5,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        location: str | None = None,
        auth_enabled: bool = False,
        ssl_enabled: bool | None = None,
        enable_app_insights: bool = False,
        ssl_cert_pem_file: str | None = None,
        ssl_key_pem_file: str | None = None,
        ssl_cname: str | None = None,
        dns_name_label: str | None = None,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        collect_model_data: bool = False,
        cmk_vault_base_url: str | None = None,
        cmk_key_name: str | None = None,
        cmk_key_version: str | None = None,
        vnet_name: str | None = None,
        subnet_name: str | None = None,
        port: int | None = None,
        image: str | None = None,
        **azureml_arguments: Any,
    ) -> AciWebserviceDeploymentConfiguration:
        """Its configuration, azureml's arguments in its order: CPU cores and memory (GiB)
        limits, key auth, tags, model data collection, and TLS: with ``ssl_enabled`` the
        service answers HTTPS with the certificate and key of ``ssl_cert_pem_file`` and
        ``ssl_key_pem_file`` (``scoring_uri`` is ``https://``; ``ssl_cname`` is the name
        ``run()`` checks the certificate for). ``port`` (None: a free one) and ``image`` (a
        package's ``location``, instead of building one) are Atelier's. The Azure
        placement, DNS, key-vault and network arguments change nothing here, and
        ``primary_key``/``secondary_key`` replace the random keys (16 characters at least)."""
        del location, dns_name_label, cmk_vault_base_url, cmk_key_name, cmk_key_version
        del vnet_name, subnet_name, azureml_arguments  # Azure placement and networking
        return AciWebserviceDeploymentConfiguration(
            cpu_cores=cpu_cores,
            memory_gb=memory_gb,
            auth_enabled=auth_enabled,
            port=port,
            image=image,
            tags=tags,
            description=description,
            enable_app_insights=enable_app_insights,
            collect_model_data=collect_model_data,
            properties=properties,
            ssl_enabled=ssl_enabled,
            ssl_cert_pem_file=ssl_cert_pem_file,
            ssl_key_pem_file=ssl_key_pem_file,
            ssl_cname=ssl_cname,
            primary_key=primary_key,
            secondary_key=secondary_key,
        )

    @property
    def image(self) -> str:
        """The image its default deployment runs."""
        deployment = self._record.deployment(DEFAULT_DEPLOYMENT) or self._record.deployments[0]
        return str(deployment.spec["container"]["image"])

    @property
    def image_id(self) -> str | None:
        return self.image

    def update(  # type: ignore[override]
        self,
        image: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        auth_enabled: bool | None = None,
        ssl_enabled: bool | None = None,
        ssl_cert_pem_file: str | None = None,
        ssl_key_pem_file: str | None = None,
        ssl_cname: str | None = None,
        enable_app_insights: bool | None = None,
        models: builtins.list[Model] | None = None,
        inference_config: InferenceConfig | None = None,
        deployment_config: LocalWebserviceDeploymentConfiguration | None = None,
        deployment_name: str | None = None,
        timeout_sec: float = _START_TIMEOUT_SECONDS,
        **azureml_arguments: Any,
    ) -> None:
        """azureml's arguments, in its order. ``tags`` replace the service's tags,
        ``properties`` are added to its properties (one already set cannot change),
        ``description`` replaces it: at once, the container keeps serving.

        Rolls to a new image when ``image`` (a package's ``location``), ``models``,
        ``inference_config`` or ``deployment_config`` is given (the others as they were):
        the new container starts beside the old one and takes over once ready, so no
        request fails; when it does not start, raises :class:`WebserviceError` and the old
        one keeps serving. With nothing to change, raises ``WebserviceError``, as azureml
        does.

        ``auth_enabled`` turns key auth on or off on the live service, and ``ssl_enabled``
        (with ``ssl_cert_pem_file`` and ``ssl_key_pem_file``, or the current ones when only
        ``ssl_cname`` changes) turns HTTPS on, off, or to a new certificate: both apply at
        once, without a restart; the new ``scoring_uri`` follows. ``enable_app_insights``
        is Azure's and changes nothing here."""
        del enable_app_insights, azureml_arguments  # Azure's monitoring; the image era's
        access, tls = self._access_changes(
            auth_enabled, ssl_enabled, ssl_cert_pem_file, ssl_key_pem_file, ssl_cname
        )
        details = {
            key: value
            for key, value in (
                ("tags", tags),
                ("properties", properties),
                ("description", description),
            )
            if value is not None
        }
        rolls = any(v is not None for v in (image, models, inference_config, deployment_config))
        asked = (auth_enabled, ssl_enabled, ssl_cert_pem_file, ssl_key_pem_file, ssl_cname)
        if not details and not rolls and all(v is None for v in asked):
            raise WebserviceError(
                f"no parameters given to update service {self.name!r}: give tags, properties, "
                "description, auth_enabled, ssl_enabled, image, models, inference_config or "
                "deployment_config"
            )
        if access or tls is not None:
            self._set_access(access, tls)
        if details:
            self._set_details(
                **{k: text_map(k, v) if k != "description" else str(v) for k, v in details.items()}
            )
        if not rolls:
            return
        self._next_image = image
        try:
            self._roll(models, inference_config, deployment_config, deployment_name, timeout_sec)
        finally:
            self._next_image = None

    def _new_spec(
        self,
        deployment: str,
        old: dict[str, Any],
        models: builtins.list[Model],
        inference_config: InferenceConfig | None,
        deployment_config: LocalWebserviceDeploymentConfiguration | None,
    ) -> dict[str, Any]:
        config = deployment_config
        image: str | None = getattr(self, "_next_image", None)
        if inference_config is None:
            inference_config = InferenceConfig(
                entry_script=old["entry_script"], source_directory=old["source_directory"]
            )
            if old.get("environment"):
                from atelier.sdk.compute.environment import Environment

                env = old["environment"]
                inference_config.environment = Environment.get(
                    self.workspace, env["name"], env.get("version")
                )
        engine = find_engine()
        limits = old["container"]
        aci = config if isinstance(config, AciWebserviceDeploymentConfiguration) else None
        return _container_spec(
            self.workspace, self.name, engine, models, inference_config,
            image=image or (aci.image if aci else None),
            settings=(config or _settings_of(old)).deployment_settings(),
            cpus=aci.cpu_cores if aci else limits.get("cpus"),
            memory_mb=round(aci.memory_gb * 1024) if aci else limits.get("memory_mb"),
        )  # fmt: skip

    def delete(self) -> None:
        """Stop the service and its containers, forget it, and remove its files."""
        super().delete()
        remove_containers(self.workspace.name, self.name)


def _settings_of(old: dict[str, Any]) -> LocalWebserviceDeploymentConfiguration:
    return LocalWebserviceDeploymentConfiguration(
        num_replicas=int(old.get("num_replicas") or 1),
        collect_model_data=bool(old.get("collect_model_data")),
    )


def remove_containers(workspace: str, name: str) -> None:
    """Remove any container the endpoint left (a manager killed before its replicas)."""
    with contextlib.suppress(ContainerEngineError):
        find_engine().remove_labelled(f"{LABEL}={workspace}/{name}")


def _container_spec(
    workspace: Workspace,
    name: str,
    engine: Engine,
    models: builtins.list[Model],
    inference_config: InferenceConfig,
    image: str | None,
    settings: dict[str, Any],
    cpus: float | None,
    memory_mb: int | None,
) -> dict[str, Any]:
    """The deployment spec of a container replica: the image (built from the models and
    the entry script unless given), the server's command in it, and the limits."""
    from atelier.sdk.models.package import create_package

    command: list[str] | None = None
    if image is None:
        package = create_package(
            workspace, models, inference_config, image_name=default_image_name(name)
        )
        image = package.local_image
        arguments = packaging.serve_arguments(
            package.manifest, packaging.APP_ROOT, "0.0.0.0", CONTAINER_PORT
        )
        command = ["python", *arguments[: arguments.index("--host")]]  # the replica adds them
    elif not engine.image_exists(image):
        raise ImageBuildError(
            f"the image {image!r} is not in {engine.name}'s storage: give a package's "
            "location (Model.package(...).location) or leave image unset to build one"
        )
    source = inference_config.source_directory.resolve()
    spec: dict[str, Any] = {
        **settings,
        "python": sys.executable,
        "entry_script": inference_config.entry_script,
        "source_directory": str(source),
        "container": {
            "engine": engine.path,
            "engine_name": engine.name,
            "conf": engine.conf,
            "image": image,
            "command": command,
            "cpus": cpus,
            "memory_mb": memory_mb,
            "name": f"atelier-{workspace.name}-{name}",
            "label": f"{workspace.name}/{name}",
        },
    }
    environment = inference_config.environment
    if environment is not None:
        spec["environment"] = {"name": environment.name, "version": environment.version}
        spec["environment_variables"] = dict(
            environment.to_spec().get("environment_variables") or {}
        )
    return spec


def deploy_container(
    workspace: Workspace,
    name: str,
    models: builtins.list[Model],
    inference_config: InferenceConfig | None,
    config: AciWebserviceDeploymentConfiguration,
    overwrite: bool = False,
) -> AciWebservice:
    """``Model.deploy`` with an ACI configuration: build the image, run it as the
    endpoint's replica, return once it serves. Raises :class:`ContainerEngineError` first
    when no engine works, ``ConflictError`` for a port in use, ``ImageBuildError`` for a
    failed build and :class:`WebserviceError` (with the log's end) when the container does
    not start; nothing is left behind."""
    check_endpoint_name(name)
    engine = find_engine()
    models = builtins.list(models or ())
    if not models:
        raise ValidationError("give at least one model to deploy")
    if not isinstance(inference_config, InferenceConfig):
        raise ValidationError(
            "a container deployment needs an InferenceConfig: its entry script and "
            "environment go into the image"
        )
    backend = workspace._backend
    with contextlib.suppress(NotFoundError):
        existing = Webservice(workspace, name)
        if not overwrite:
            raise AlreadyExistsError(f"service {name!r} already exists; pass overwrite=True")
        existing.delete()
    port = proc.free_port(config.port)
    spec = _container_spec(
        workspace, name, engine, models, inference_config, config.image,
        config.deployment_settings(),
        config.cpu_cores if config.limited else None,
        round(config.memory_gb * 1024) if config.limited else None,
    )  # fmt: skip
    folder = proc.endpoint_dir(workspace.name, name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    created, pid = False, 0
    try:
        backend.endpoints.create(
            workspace.name,
            name,
            kind=CONTAINER,
            port=port,
            auth_enabled=config.auth_enabled,
            config={
                "host": HOST,
                "max_body_bytes": config.max_request_bytes,
                "tags": dict(config.tags),
                "properties": dict(config.properties),
                "description": config.description,
                "cpu_cores": config.cpu_cores,
                "memory_gb": config.memory_gb,
                "enable_app_insights": config.enable_app_insights,
                "tls": install_tls(folder, config.tls) if config.tls is not None else None,
            },
        )
        created = True
        for slot, key in (("primary", config.primary_key), ("secondary", config.secondary_key)):
            if key is not None:
                backend.endpoints.regen_key(workspace.name, name, slot, key)
        backend.endpoints.put_deployment(
            workspace.name, name, DEFAULT_DEPLOYMENT, spec, [(m.name, m.version) for m in models]
        )
        pid = proc.start_manager(
            backend.tracking_uri, workspace.name, name, folder, backend.child_environment()
        )
        backend.endpoints.set_manager(workspace.name, name, pid)
        service = AciWebservice(workspace, name)
        service.wait_for_deployment(timeout_sec=_START_TIMEOUT_SECONDS)
    except BaseException:
        proc.stop_manager(pid)
        remove_containers(workspace.name, name)
        if created:
            with contextlib.suppress(AtelierError):
                backend.endpoints.delete(workspace.name, name)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return service
