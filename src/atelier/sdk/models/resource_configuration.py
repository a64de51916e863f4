"""``ResourceConfiguration``: the CPU, memory and GPU a registered model asks for when it
is deployed (azureml's shape, kept with the model as a sizing hint)."""

from __future__ import annotations

from typing import Any

from atelier.core.errors import ValidationError


def _amount(name: str, value: object, whole: bool) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (isinstance(value, int) or not whole)
        and value >= 0
    ):
        return value
    kind = "a whole number" if whole else "a number"
    raise ValidationError(f"ResourceConfiguration {name} must be {kind} >= 0, not {value!r}")


class ResourceConfiguration:
    """``ResourceConfiguration(cpu=1, memory_in_gb=0.5, gpu=0)``; each may be None."""

    def __init__(
        self, cpu: float | None = None, memory_in_gb: float | None = None, gpu: int | None = None
    ) -> None:
        self.cpu = _amount("cpu", cpu, whole=False)
        self.memory_in_gb = _amount("memory_in_gb", memory_in_gb, whole=False)
        self.gpu = _amount("gpu", gpu, whole=True)

    def serialize(self) -> dict[str, Any]:
        """azureml's JSON keys: ``cpu``, ``memoryInGB``, ``gpu``."""
        return {"cpu": self.cpu, "memoryInGB": self.memory_in_gb, "gpu": self.gpu}

    @staticmethod
    def deserialize(payload: dict[str, Any]) -> ResourceConfiguration:
        if not isinstance(payload, dict):
            raise ValidationError("a resource configuration must be a dict")
        return ResourceConfiguration(
            payload.get("cpu"), payload.get("memoryInGB"), payload.get("gpu")
        )

    def _validate_configuration(self) -> None:
        """azureml's check: at least one amount is given."""
        if self.cpu is None and self.memory_in_gb is None and self.gpu is None:
            raise ValidationError(
                "a ResourceConfiguration needs at least one of cpu, memory_in_gb, gpu"
            )

    def __repr__(self) -> str:
        return (
            f"ResourceConfiguration(cpu={self.cpu}, memory_in_gb={self.memory_in_gb}, "
            f"gpu={self.gpu})"
        )
