"""How a local endpoint's deployment runs: ``LocalWebservice.deploy_configuration()``."""

from __future__ import annotations

from typing import Any

from atelier.core.errors import ValidationError


def _whole(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValidationError(f"{name} must be a whole number >= {low}; got {value!r}")
    return value


class LocalWebserviceDeploymentConfiguration:
    """How a local endpoint runs: its port (0 = any free one), replicas, autoscaling, keys
    and model data collection.

    ``workers`` is the number of replicas when ``num_replicas`` is not given (each replica
    is one scoring process). With ``autoscale_enabled`` the replicas vary between
    ``autoscale_min_replicas`` and ``autoscale_max_replicas`` to keep about
    ``autoscale_target_in_flight`` requests in flight per replica."""

    def __init__(
        self,
        port: int | None = None,
        workers: int = 1,
        num_replicas: int | None = None,
        autoscale_enabled: bool = False,
        autoscale_min_replicas: int = 1,
        autoscale_max_replicas: int = 4,
        autoscale_target_in_flight: float = 4.0,
        auth_enabled: bool = True,
        collect_model_data: bool = False,
        max_request_bytes: int = 10 * 1024 * 1024,
        scoring_timeout_ms: int = 60_000,
    ) -> None:
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535
        ):
            raise ValidationError(f"port must be 0-65535, or None for a free port; got {port!r}")
        self.port = port or 0
        self.workers = _whole("workers", workers, 1)
        self.num_replicas = _whole("num_replicas", num_replicas or workers, 1)
        self.autoscale_enabled = bool(autoscale_enabled)
        self.autoscale_min_replicas = _whole("autoscale_min_replicas", autoscale_min_replicas, 1)
        self.autoscale_max_replicas = _whole("autoscale_max_replicas", autoscale_max_replicas, 1)
        if self.autoscale_max_replicas < self.autoscale_min_replicas:
            raise ValidationError("autoscale_max_replicas must be >= autoscale_min_replicas")
        if (
            not isinstance(autoscale_target_in_flight, int | float)
            or autoscale_target_in_flight <= 0
        ):
            raise ValidationError("autoscale_target_in_flight must be a number > 0")
        self.autoscale_target_in_flight = float(autoscale_target_in_flight)
        self.auth_enabled = bool(auth_enabled)
        self.collect_model_data = bool(collect_model_data)
        self.max_request_bytes = _whole("max_request_bytes", max_request_bytes, 1)
        self.scoring_timeout_ms = _whole("scoring_timeout_ms", scoring_timeout_ms, 1)

    def deployment_settings(self) -> dict[str, Any]:
        """What each replica of a deployment needs (part of its spec)."""
        return {
            "num_replicas": self.num_replicas,
            "autoscale_enabled": self.autoscale_enabled,
            "autoscale_min_replicas": self.autoscale_min_replicas,
            "autoscale_max_replicas": self.autoscale_max_replicas,
            "autoscale_target_in_flight": self.autoscale_target_in_flight,
            "collect_model_data": self.collect_model_data,
            "max_body_bytes": self.max_request_bytes,
            "timeout_seconds": self.scoring_timeout_ms / 1000,
        }

    def __repr__(self) -> str:
        return (
            f"LocalWebserviceDeploymentConfiguration(port={self.port}, "
            f"num_replicas={self.num_replicas}, autoscale_enabled={self.autoscale_enabled})"
        )


SETTING_KEYS = (
    "num_replicas",
    "autoscale_enabled",
    "autoscale_min_replicas",
    "autoscale_max_replicas",
    "autoscale_target_in_flight",
    "collect_model_data",
    "max_body_bytes",
    "timeout_seconds",
)
