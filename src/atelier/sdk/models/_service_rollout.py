"""What changes a web service's deployments: ``update`` (a rolling update of one
deployment), ``create_deployment``, ``set_traffic``, ``delete_deployment``, and the wait
for the endpoint's manager to act on a change (its ``applied_revision``)."""

from __future__ import annotations

import builtins
import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.endpoints import FAILED, EndpointRecord
from atelier.core.errors import AlreadyExistsError, NotFoundError, ValidationError, WebserviceError
from atelier.sdk.models import _endpoint_process as proc
from atelier.sdk.models._deployment_config import (
    SETTING_KEYS,
    LocalWebserviceDeploymentConfiguration,
)
from atelier.sdk.models.inference import InferenceConfig

if TYPE_CHECKING:
    from atelier.client.backend import Backend
    from atelier.sdk.models.model import Model
    from atelier.sdk.workspace import Workspace

LOG_FILE = proc.LOG_FILE
APPLY_TIMEOUT_SECONDS = 300.0
_LOG_TAIL_LINES = 40


class ServiceRolloutMixin:
    """Needs ``_record``, ``name``, ``workspace``, ``_backend``, ``_folder`` and
    ``_refresh()`` from ``Webservice``."""

    _record: EndpointRecord
    name: str
    workspace: Workspace
    _backend: Backend
    _folder: Path

    def _refresh(self) -> None:
        self._record = self._backend.endpoints.get(self.workspace.name, self.name)

    def _roll(
        self,
        models: builtins.list[Model] | None,
        inference_config: InferenceConfig | None,
        deployment_config: LocalWebserviceDeploymentConfiguration | None,
        deployment_name: str | None = None,
        timeout_sec: float = APPLY_TIMEOUT_SECONDS,
    ) -> None:
        """Roll a deployment (the only one, or ``deployment_name``) to new models, entry
        script/environment and/or replica settings, with no failed request: the new
        replicas start beside the old ones and take over once all are ready.

        When a new replica fails (``init()`` raises, the process exits), raises
        :class:`WebserviceError` with the traceback from the log; the old replicas keep
        serving and the deployment keeps its previous models."""
        self._refresh()
        target = self._deployment_name(deployment_name)
        current = self._record.deployment(target)
        assert current is not None  # _deployment_name checked it
        old_models = [model_ref(m) for m in current.models]
        chosen = (
            models
            if models is not None
            else [self.workspace._model(name, version) for name, version in old_models]
        )
        spec = self._new_spec(target, current.spec, chosen, inference_config, deployment_config)
        record = self._backend.endpoints.put_deployment(
            self.workspace.name, self.name, target, spec, [(m.name, m.version) for m in chosen]
        )
        self._record = self._wait_applied(record.revision, timeout_sec)
        deployment = self._record.deployment(target)
        if deployment is not None and deployment.state == FAILED:
            error = deployment.error or "the new replicas did not start"
            back = self._backend.endpoints.put_deployment(
                self.workspace.name, self.name, target, current.spec, old_models
            )
            with contextlib.suppress(WebserviceError):
                self._record = self._wait_applied(back.revision, 30)
            raise WebserviceError(
                f"the update of {self.name!r} failed; it still serves the previous "
                f"version ({', '.join(current.models)}). {error}"
            )

    def create_deployment(
        self,
        name: str,
        models: builtins.list[Model],
        inference_config: InferenceConfig | None = None,
        deployment_config: LocalWebserviceDeploymentConfiguration | None = None,
        timeout_sec: float = APPLY_TIMEOUT_SECONDS,
    ) -> None:
        """Add deployment ``name`` (taking no traffic until :meth:`set_traffic`); returns
        once its replicas are ready, or raises :class:`WebserviceError` with the log."""
        self._refresh()
        if self._record.deployment(name) is not None:
            raise AlreadyExistsError(
                f"service {self.name!r} already has a deployment {name!r}; update it with "
                f"service.update(..., deployment_name={name!r})"
            )
        config = deployment_config or LocalWebserviceDeploymentConfiguration()
        spec = proc.deployment_spec(
            self._folder, name, list(models), inference_config, config.deployment_settings()
        )
        record = self._backend.endpoints.put_deployment(
            self.workspace.name, self.name, name, spec, [(m.name, m.version) for m in models]
        )
        self._record = self._wait_applied(record.revision, timeout_sec)
        deployment = self._record.deployment(name)
        if deployment is not None and deployment.state == FAILED:
            self._record = self._backend.endpoints.delete_deployment(
                self.workspace.name, self.name, name
            )
            raise WebserviceError(f"deployment {name!r} failed to start. {deployment.error}")

    def set_traffic(self, traffic: dict[str, int]) -> None:
        """Split requests between deployments, e.g. ``{"blue": 90, "green": 10}`` (whole
        percentages adding up to 100); applies at once."""
        record = self._backend.endpoints.set_traffic(self.workspace.name, self.name, traffic)
        self._record = self._wait_applied(record.revision)

    def delete_deployment(self, name: str) -> None:
        """Stop and remove a deployment that takes no traffic."""
        record = self._backend.endpoints.delete_deployment(self.workspace.name, self.name, name)
        self._record = self._wait_applied(record.revision)

    # --- helpers --------------------------------------------------------------------------
    def _deployment_name(self, name: str | None) -> str:
        names = [d.name for d in self._record.deployments]
        if name is None:
            if len(names) == 1:
                return names[0]
            raise ValidationError(
                f"service {self.name!r} has deployments {', '.join(names)}; pass "
                "deployment_name= to say which one to update"
            )
        if name not in names:
            raise NotFoundError(
                f"service {self.name!r} has no deployment {name!r}; it has {', '.join(names)}"
            )
        return name

    def _new_spec(
        self,
        deployment: str,
        old: dict[str, Any],
        models: builtins.list[Model],
        inference_config: InferenceConfig | None,
        deployment_config: LocalWebserviceDeploymentConfiguration | None,
    ) -> dict[str, Any]:
        settings = {k: old[k] for k in SETTING_KEYS if k in old}
        if deployment_config is not None:
            settings = deployment_config.deployment_settings()
        if inference_config is None and not old.get("no_code"):
            inference_config = InferenceConfig(
                entry_script=Path(old["entry_script"]).relative_to(old["source_directory"]),
                source_directory=old["source_directory"],
            )
            spec = proc.deployment_spec(
                self._folder, deployment, models, inference_config, settings
            )
            for key in ("python", "environment", "environment_variables"):
                if key in old:
                    spec[key] = old[key]
            return spec
        return proc.deployment_spec(self._folder, deployment, models, inference_config, settings)

    def _wait_applied(
        self, revision: int, timeout_sec: float = APPLY_TIMEOUT_SECONDS
    ) -> EndpointRecord:
        """Wait until the endpoint's manager has acted on ``revision``."""
        deadline = time.monotonic() + timeout_sec
        while True:
            record = self._backend.endpoints.get(self.workspace.name, self.name)
            if record.applied_revision >= revision:
                return record
            if not proc.alive(record.manager_pid):
                self._record = record
                raise WebserviceError(
                    f"service {self.name!r} is not running; the end of its log:\n{self._log_tail()}"
                )
            if time.monotonic() >= deadline:
                raise WebserviceError(
                    f"service {self.name!r} did not apply the change within {timeout_sec} s; "
                    f"the end of its log:\n{self._log_tail()}"
                )
            time.sleep(0.05)

    def _log_tail(self) -> str:
        return proc.tail(self._folder / LOG_FILE, _LOG_TAIL_LINES) or "(the log is empty)"


def model_ref(model_id: str) -> tuple[str, int]:
    name, _, version = model_id.rpartition(":")
    return name, int(version)
