"""Web services: ``Model.deploy`` puts models behind a scoring endpoint on this machine.

The names follow ``azureml.core.webservice``::

    config = LocalWebservice.deploy_configuration(port=8890, num_replicas=2)
    service = Model.deploy(ws, "iris-svc", [model], inference_config, config)
    service.wait_for_deployment(show_output=True)
    service.run({"data": [[1, 2, 3, 4]]})
    service.update(models=[new_model])              # rolling: no request fails

An endpoint is a router process that owns the port and checks the keys, in front of
replica processes (one scoring server each) run by the router's manager; see
:mod:`atelier.serving.manager`. Its state — deployments, keys (encrypted), traffic split,
replicas — lives in the workspace's database; its files (models, ``service.log``) under
``<ATELIER_HOME>/services/<workspace>/<name>/``.

Blue/green: an endpoint can hold several named deployments and split requests between
them (Azure ML v2's shape)::

    service.create_deployment("green", [new_model], inference_config)   # takes 0 % at first
    service.set_traffic({"default": 90, "green": 10})
    service.set_traffic({"green": 100}); service.delete_deployment("default")

A request can also name its deployment with the ``azureml-model-deployment`` header.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import shutil
import time
from typing import TYPE_CHECKING, Any, ClassVar

from atelier.core.endpoints import (
    FAILED,
    HEALTHY,
    LOCAL,
    EndpointRecord,
)
from atelier.core.errors import (
    NotFoundError,
    ValidationError,
    WebserviceError,
)
from atelier.sdk.models import _answers
from atelier.sdk.models import _endpoint_process as proc
from atelier.sdk.models._deployment_config import (
    LocalWebserviceDeploymentConfiguration,
)
from atelier.sdk.models._service_access import ServiceAccessMixin
from atelier.sdk.models._service_details import ServiceDetailsMixin
from atelier.sdk.models._service_rollout import APPLY_TIMEOUT_SECONDS
from atelier.sdk.models.inference import InferenceConfig

if TYPE_CHECKING:
    from atelier.sdk.models.model import Model
    from atelier.sdk.workspace import Workspace

__all__ = ["DEFAULT_DEPLOYMENT", "Webservice", "WebserviceError"]

HOST = proc.HOST
LOG_FILE = proc.LOG_FILE
DEFAULT_DEPLOYMENT = "default"
#: how often wait_for_deployment(show_output=True) repeats an unchanged state
_PROGRESS_EVERY = 10.0


class Webservice(ServiceDetailsMixin, ServiceAccessMixin):
    """A deployed service. ``Webservice(ws, "iris-svc")`` opens it (``NotFoundError`` if
    there is none by that name)."""

    compute_type = "Local"
    #: the endpoint kind (``core.endpoints``) each subclass serves, for ``Webservice.list``
    _kinds: ClassVar[dict[str, type[Webservice]]] = {}
    _kind: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls._kind is not None:
            Webservice._kinds[cls._kind] = cls

    def __new__(cls, workspace: Workspace | None = None, name: str | None = None) -> Webservice:
        """``Webservice(ws, name)`` is the service as its own class (``AciWebservice`` for
        a container service, ``LocalWebservice`` for a local one), as in azureml."""
        chosen = cls
        if cls is Webservice and workspace is not None and name is not None:
            kind = workspace._backend.endpoints.get(workspace.name, name).kind
            chosen = Webservice._kinds.get(kind) or Webservice._kinds.get(LOCAL, Webservice)
        return super().__new__(chosen)

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = name
        self._backend = workspace._backend
        self._record: EndpointRecord = self._backend.endpoints.get(workspace.name, name)
        self._folder = proc.endpoint_dir(workspace.name, name)

    # --- what it is -------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._record.port

    @property
    def scoring_uri(self) -> str:
        """``http://127.0.0.1:<port>/score``, ``https://`` with TLS on."""
        return f"{self._scheme()}://{HOST}:{self.port}/score"

    @property
    def swagger_uri(self) -> str:
        return f"{self._scheme()}://{HOST}:{self.port}/swagger.json"

    @property
    def image_id(self) -> str | None:
        """azureml's image the service runs: a container service's image, else None."""
        return None

    @property
    def models(self) -> builtins.list[str]:
        """The deployed models' ids (``<name>:<version>``), over all deployments."""
        return sorted({m for d in self._record.deployments for m in d.models})

    @property
    def deployments(self) -> dict[str, dict[str, Any]]:
        """Each deployment's state, generation, models, replicas and traffic share."""
        self._refresh()
        return {
            d.name: {
                "state": d.state,
                "generation": d.generation,
                "servedGeneration": d.served_generation,
                "models": list(d.models),
                "replicas": [{"pid": r.pid, "port": r.port, "state": r.state} for r in d.replicas],
                "traffic": self._record.traffic.get(d.name, 0),
                "error": d.error,
            }
            for d in self._record.deployments
        }

    @property
    def traffic(self) -> dict[str, int]:
        return dict(self._record.traffic)

    @property
    def state(self) -> str:
        """``Transitioning`` while starting or rolling out, ``Healthy`` once every
        deployment serves, ``Failed`` when the endpoint's process died or a deployment
        failed to start (its error is in ``deployments`` and the logs)."""
        return self._probe()

    def serialize(self) -> dict[str, Any]:
        """The service as a JSON-ready dict (without its keys)."""
        return {
            "name": self.name,
            "computeType": self.compute_type,
            "state": self.state,
            "scoringUri": self.scoring_uri,
            "swaggerUri": self.swagger_uri,
            "models": self.models,
            "port": self.port,
            "traffic": self.traffic,
            "deployments": self.deployments,
            "tags": self.tags,
            "properties": self.properties,
            "description": self.description,
            "createdTime": self.created_time.isoformat(),
            "createdBy": self.created_by,
            "authEnabled": self.auth_enabled,
            "sslEnabled": self.ssl_enabled,
            "updatedTime": self.updated_time.isoformat(),
            "error": self.error,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace.name!r}, name={self.name!r})"

    def reload(self) -> None:
        """Read the service's state again."""
        self._refresh()

    # --- listing --------------------------------------------------------------------------
    @classmethod
    def list(
        cls,
        workspace: Workspace,
        compute_type: str | None = None,
        image_name: str | None = None,
        image_id: str | None = None,
        model_name: str | None = None,
        model_id: str | None = None,
        tags: Any = None,
        properties: Any = None,
        image_digest: str | None = None,
    ) -> builtins.list[Webservice]:
        """The workspace's services by name; ``model_name``/``model_id`` filter."""
        del image_name, image_id, tags, properties, image_digest  # azureml's image-era filters
        model: tuple[str, int | None] | None = None
        if model_id is not None:
            name, _, version = model_id.partition(":")
            if not version.isdigit():
                return []
            model = (name, int(version))
        elif model_name is not None:
            model = (model_name, None)
        found: builtins.list[Webservice] = []
        for record in workspace._backend.endpoints.list(workspace.name, model):
            kind = "Local" if record.kind == LOCAL else "ACI"
            if compute_type is not None and compute_type.lower() != kind.lower():
                continue
            with contextlib.suppress(NotFoundError):  # deleted meanwhile
                found.append(_open(workspace, record))
        return found

    # --- using it -------------------------------------------------------------------------
    def wait_for_deployment(self, show_output: bool = False, timeout_sec: float = 60) -> None:
        """Block until the service is ``Healthy``.

        Raises :class:`WebserviceError` with the error and the log's end when the
        endpoint's process exits or a deployment fails, or when ``timeout_sec`` passes.
        ``show_output`` prints a line with the state and the time waited on each change, and
        every 10 s while it stays the same."""
        started = time.monotonic()
        deadline = started + timeout_sec
        shown, shown_at = "", started
        while True:
            state = self._probe()
            now = time.monotonic()
            if show_output and (state != shown or now - shown_at >= _PROGRESS_EVERY):
                print(f"{self.name}: {state} ({now - started:.1f} s)", flush=True)
                shown, shown_at = state, now
            if state == HEALTHY:
                return
            if state == FAILED:
                raise WebserviceError(
                    f"service {self.name!r} failed: {self._failure()}\nthe end of its log "
                    f"({self._folder / LOG_FILE}):\n{self._log_tail()}"
                )
            if time.monotonic() >= deadline:
                raise WebserviceError(
                    f"service {self.name!r} was not ready after {timeout_sec} s; the end of "
                    f"its log:\n{self._log_tail()}"
                )
            time.sleep(0.1)

    def run(self, input_data: Any) -> Any:
        """POST ``input_data`` to the scoring URI with the primary key; return the parsed
        JSON answer. A string or bytes is sent as is, anything else as JSON. A non-2xx
        answer raises :class:`WebserviceError` with the problem's detail."""
        import httpx

        body = input_data if isinstance(input_data, str | bytes) else json.dumps(input_data)
        headers = {"Content-Type": "application/json"}
        if self._record.auth_enabled:
            headers["Authorization"] = f"Bearer {self.get_keys()[0]}"
        verify, extensions = self._client_tls()
        try:
            with httpx.Client(verify=verify, timeout=120) as client:
                response = client.post(
                    self.scoring_uri, content=body, headers=headers, extensions=extensions
                )
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            # a replica that answers its connections itself took this one with it
            raise WebserviceError(
                f"service {self.name!r} closed the connection before answering ({exc}): the "
                "replica handling the request stopped; it is being restarted: retry the request"
            ) from None
        except httpx.HTTPError as exc:
            raise WebserviceError(
                f"service {self.name!r} could not be reached at {self.scoring_uri}: {exc}; "
                "check service.state and service.get_logs()"
            ) from None
        if not response.is_success:
            request_id = _answers.request_id(response)
            where = (
                f" (request id {request_id}; service.get_logs() has its details)"
                if request_id
                else ""
            )
            raise WebserviceError(
                f"service {self.name!r} answered {response.status_code}: "
                f"{_answers.detail(response)}{where}",
                request_id=request_id,
            )
        try:
            return response.json()
        except ValueError:
            return response.text

    def get_keys(self) -> tuple[str, str]:
        """The (primary, secondary) bearer keys; either is accepted by ``/score``."""
        return self._backend.endpoints.get_keys(self.workspace.name, self.name)

    def regen_key(self, key: str, set_key: str | None = None) -> None:
        """Replace the ``'Primary'`` or ``'Secondary'`` key with a new random one (or
        ``set_key``); returns once the endpoint accepts only the new one."""
        slot = {"primary": "primary", "secondary": "secondary"}.get(str(key).lower())
        if slot is None:
            raise ValidationError(f"key must be 'Primary' or 'Secondary'; got {key!r}")
        record = self._backend.endpoints.regen_key(self.workspace.name, self.name, slot, set_key)
        self._wait_applied(record.revision)

    def get_logs(self, num_lines: int = 5000, init: bool = False) -> str:
        """The last ``num_lines`` lines of the router's and replicas' output (``init``:
        azureml's init container's logs; a service here has none, its start is in this
        log too)."""
        del init
        return proc.tail(self._folder / LOG_FILE, num_lines)

    def get_model_data(self, deployment: str | None = None) -> builtins.list[dict[str, Any]]:
        """The collected model data (``collect_model_data=True``): one dict per scored
        request with ``timestamp``, ``request_id``, ``status``, ``input``, ``prediction``,
        ``deployment`` and ``path`` (the Parquet file under
        ``modeldata/<endpoint>/<deployment>/date=YYYY-MM-DD/``). Batches are written every
        few seconds, so the latest requests may not be there yet."""
        import pyarrow.parquet as pq

        rows: builtins.list[dict[str, Any]] = []
        for path, data in self._backend.endpoints.model_data(
            self.workspace.name, self.name, deployment
        ):
            name = path.split("/modeldata/", 1)[-1].split("/")[1]
            for row in pq.read_table(io.BytesIO(data)).to_pylist():
                rows.append({**row, "deployment": name, "path": path})
        return rows

    def delete(self) -> None:
        """Stop the endpoint (router and replicas), forget it, and remove its files."""
        proc.stop_manager(self._record.manager_pid)
        with contextlib.suppress(NotFoundError):
            self._backend.endpoints.delete(self.workspace.name, self.name)
        shutil.rmtree(self._folder, ignore_errors=True)

    # --- changing it ----------------------------------------------------------------------
    def update(
        self,
        models: builtins.list[Model] | None = None,
        inference_config: InferenceConfig | None = None,
        deployment_config: LocalWebserviceDeploymentConfiguration | None = None,
        deployment_name: str | None = None,
        timeout_sec: float = APPLY_TIMEOUT_SECONDS,
        **azureml_arguments: Any,
    ) -> None:
        """Roll a deployment (the only one, or ``deployment_name``) to new models, entry
        script/environment and/or replica settings, with no failed request (see
        ``LocalWebservice.update`` and ``AciWebservice.update`` for azureml's arguments)."""
        del azureml_arguments  # image, tags, properties…: the container era's arguments
        self._roll(models, inference_config, deployment_config, deployment_name, timeout_sec)

    # --- helpers --------------------------------------------------------------------------
    def _probe(self) -> str:
        self._refresh()
        if not proc.alive(self._record.manager_pid):
            if self._record.manager_pid and any(
                d.state != FAILED for d in self._record.deployments
            ):
                self._record = self._backend.endpoints.mark_failed(
                    self.workspace.name,
                    self.name,
                    "the endpoint's process is not running (it could not bind its port, or "
                    "was stopped); see service.get_logs()",
                )
            return FAILED
        return self._record.state

    def _failure(self) -> str:
        errors = [f"{d.name}: {d.error}" for d in self._record.deployments if d.error]
        return "; ".join(errors) or "see the log"


def _open(workspace: Workspace, record: EndpointRecord) -> Webservice:
    """The service of ``record`` as the class of its kind (container, else local)."""
    cls = Webservice._kinds.get(record.kind) or Webservice._kinds.get(LOCAL, Webservice)
    service = cls.__new__(cls)
    service.workspace = workspace
    service.name = record.name
    service._backend = workspace._backend
    service._record = record
    service._folder = proc.endpoint_dir(workspace.name, record.name)
    return service
