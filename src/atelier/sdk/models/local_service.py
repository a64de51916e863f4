"""Services on this machine: ``LocalWebservice`` and ``Model.deploy`` with its
configuration (a router process in front of local scoring replicas)."""

from __future__ import annotations

import builtins
import contextlib
import shutil
from typing import TYPE_CHECKING, Any, ClassVar

from atelier.core.endpoints import FAILED, LOCAL, check_endpoint_name
from atelier.core.errors import (
    AlreadyExistsError,
    AtelierError,
    NotFoundError,
    ValidationError,
    WebserviceError,
)
from atelier.sdk.models import _endpoint_process as proc
from atelier.sdk.models._deployment_config import LocalWebserviceDeploymentConfiguration
from atelier.sdk.models._service_rollout import APPLY_TIMEOUT_SECONDS, model_ref
from atelier.sdk.models.inference import InferenceConfig
from atelier.sdk.models.webservice import DEFAULT_DEPLOYMENT, HOST, Webservice

if TYPE_CHECKING:
    from atelier.sdk.models.model import Model
    from atelier.sdk.workspace import Workspace

__all__ = ["LocalWebservice", "LocalWebserviceDeploymentConfiguration", "deploy_local"]


class LocalWebservice(Webservice):
    """A service running on this machine."""

    _kind: ClassVar[str | None] = LOCAL

    def reload(self, wait: bool = False) -> None:
        """Re-read each deployment's entry script and source directory from disk and
        restart its replicas with them (azureml's behaviour: edit ``score.py``, then
        ``reload()`` serves the new code). The new replicas start beside the old ones and
        take over once ready; with ``wait``, returns once they serve (``WebserviceError``
        with the log if they fail to start), else at once."""
        self._refresh()
        revision = self._record.revision
        for deployment in self._record.deployments:
            models = [self.workspace._model(*model_ref(m)) for m in deployment.models]
            spec = self._new_spec(deployment.name, deployment.spec, models, None, None)
            revision = self._backend.endpoints.put_deployment(
                self.workspace.name,
                self.name,
                deployment.name,
                spec,
                [(m.name, m.version) for m in models],
            ).revision
        if wait:
            self._record = self._wait_applied(revision)
            failed = [d for d in self._record.deployments if d.state == FAILED]
            if failed:
                raise WebserviceError(
                    f"service {self.name!r} did not restart: {failed[0].error or 'see get_logs()'}"
                )

    def update(  # type: ignore[override]
        self,
        models: builtins.list[Model] | None = None,
        image_config: Any = None,
        deployment_config: LocalWebserviceDeploymentConfiguration | None = None,
        wait: bool = False,
        inference_config: InferenceConfig | None = None,
        *,
        deployment_name: str | None = None,
        timeout_sec: float = APPLY_TIMEOUT_SECONDS,
    ) -> None:
        """azureml's arguments, in its order. Rolls the deployment (the only one, or
        ``deployment_name``) to new ``models``, ``inference_config`` (entry script,
        environment) and/or ``deployment_config`` (replicas, autoscaling), with no failed
        request: the new replicas start beside the old ones and take over once all are
        ready. A ``deployment_config`` whose ``auth_enabled`` differs from the service's
        turns key auth on or off at once (with nothing else to change, no replica
        restarts).

        Whatever ``wait`` says, returns once the new replicas serve: when one fails to
        start, raises :class:`WebserviceError` with the log, and the old ones keep serving.
        ``image_config`` (azureml's image era) is refused: give ``inference_config``."""
        del wait  # the rollout is always awaited: its failure rolls back
        if image_config is not None:
            raise WebserviceError(
                "image_config (ContainerImageConfig) belongs to azureml's retired image API; "
                "pass inference_config=InferenceConfig(entry_script=..., environment=...)"
            )
        if deployment_config is not None and not isinstance(
            deployment_config, LocalWebserviceDeploymentConfiguration
        ):
            raise WebserviceError(
                "deployment_config must be LocalWebservice.deploy_configuration(...); got "
                f"{type(deployment_config).__name__}"
            )
        if inference_config is not None and not isinstance(inference_config, InferenceConfig):
            raise WebserviceError(
                "inference_config must be an InferenceConfig; got "
                f"{type(inference_config).__name__}"
            )
        self._refresh()
        if (
            deployment_config is not None
            and deployment_config.auth_enabled != self._record.auth_enabled
        ):
            self._set_access({"auth_enabled": deployment_config.auth_enabled})
            if (
                models is None
                and inference_config is None
                and self._same_settings(deployment_config, deployment_name)
            ):
                return  # only the auth changed: the replicas keep serving
        self._roll(models, inference_config, deployment_config, deployment_name, timeout_sec)

    def _same_settings(
        self, config: LocalWebserviceDeploymentConfiguration, deployment_name: str | None
    ) -> bool:
        """Whether the deployment already runs with ``config``'s replica settings."""
        deployment = self._record.deployment(self._deployment_name(deployment_name))
        settings = config.deployment_settings()
        return deployment is not None and all(
            deployment.spec.get(key) == value for key, value in settings.items()
        )

    @staticmethod
    def deploy_configuration(
        port: int | None = None,
        workers: int = 1,
        num_replicas: int | None = None,
        autoscale_enabled: bool = False,
        autoscale_min_replicas: int = 1,
        autoscale_max_replicas: int = 4,
        autoscale_target_in_flight: float = 4.0,
        auth_enabled: bool = True,
        collect_model_data: bool = False,
    ) -> LocalWebserviceDeploymentConfiguration:
        """Its configuration: ``port`` (None or 0 = a free port), replicas, autoscaling,
        key auth and model data collection."""
        return LocalWebserviceDeploymentConfiguration(
            port=port,
            workers=workers,
            num_replicas=num_replicas,
            autoscale_enabled=autoscale_enabled,
            autoscale_min_replicas=autoscale_min_replicas,
            autoscale_max_replicas=autoscale_max_replicas,
            autoscale_target_in_flight=autoscale_target_in_flight,
            auth_enabled=auth_enabled,
            collect_model_data=collect_model_data,
        )


def deploy_local(
    workspace: Workspace,
    name: str,
    models: builtins.list[Model],
    inference_config: InferenceConfig | None,
    deployment_config: LocalWebserviceDeploymentConfiguration | None = None,
    overwrite: bool = False,
) -> LocalWebservice:
    """``Model.deploy``: create the endpoint with one deployment (``default``), start its
    router, return the service at once (``wait_for_deployment()`` waits until ready).

    Nothing is left behind when it fails: no record, no folder, no process."""
    check_endpoint_name(name)
    models = builtins.list(models or ())
    if not models:
        raise ValidationError("give at least one model to deploy")
    if inference_config is not None and not isinstance(inference_config, InferenceConfig):
        raise ValidationError("inference_config must be an InferenceConfig")
    config = deployment_config or LocalWebserviceDeploymentConfiguration()
    if not isinstance(config, LocalWebserviceDeploymentConfiguration):
        raise ValidationError(
            "pass LocalWebservice.deploy_configuration() (or AciWebservice's) as deployment_config"
        )
    backend = workspace._backend
    with contextlib.suppress(NotFoundError):
        existing = Webservice(workspace, name)
        if not overwrite:
            raise AlreadyExistsError(
                f"service {name!r} already exists; pass overwrite=True to replace it "
                "or delete it first"
            )
        existing.delete()
    port = proc.free_port(config.port)
    folder = proc.endpoint_dir(workspace.name, name)
    shutil.rmtree(folder, ignore_errors=True)  # files of an endpoint deleted half-way
    folder.mkdir(parents=True, mode=0o700)
    created = False
    pid = 0
    try:
        spec = proc.deployment_spec(
            folder, DEFAULT_DEPLOYMENT, models, inference_config, config.deployment_settings()
        )
        backend.endpoints.create(
            workspace.name,
            name,
            kind=LOCAL,
            port=port,
            auth_enabled=config.auth_enabled,
            config={"host": HOST, "max_body_bytes": config.max_request_bytes},
        )
        created = True
        backend.endpoints.put_deployment(
            workspace.name, name, DEFAULT_DEPLOYMENT, spec, [(m.name, m.version) for m in models]
        )
        pid = proc.start_manager(
            backend.tracking_uri, workspace.name, name, folder, backend.child_environment()
        )
        backend.endpoints.set_manager(workspace.name, name, pid)
    except BaseException:
        proc.stop_manager(pid)
        if created:
            with contextlib.suppress(AtelierError):
                backend.endpoints.delete(workspace.name, name)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return LocalWebservice(workspace, name)
