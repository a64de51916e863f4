"""Input and output schema decorators for an entry script's ``run``.

Shaped like the ``inference_schema`` package that azureml entry scripts use::

    from atelier.serving.schema import StandardPythonParameterType, input_schema, output_schema

    @input_schema("data", StandardPythonParameterType([[1.0, 2.0]]))
    @input_schema("scale", StandardPythonParameterType(1.0))
    @output_schema(StandardPythonParameterType([3.0]))
    def run(data, scale):
        ...

Each decorator records a *sample*; nothing wraps ``run``. When ``run`` carries input
schemas, the scoring runtime reads the JSON body as an object, passes each named member
as a keyword argument (converted by its parameter type) and describes the body in
``/swagger.json`` with a JSON schema derived from the samples' Python types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "NumpyParameterType",
    "ParameterType",
    "StandardPythonParameterType",
    "input_schema",
    "input_schemas_of",
    "json_schema_of",
    "output_schema",
    "output_schema_of",
]

_INPUTS = "__atelier_input_schema__"
_OUTPUT = "__atelier_output_schema__"

F = TypeVar("F", bound=Callable[..., Any])


class ParameterType:
    """A sample value that describes one parameter; subclasses convert incoming JSON."""

    def __init__(self, sample_input: Any) -> None:
        self.sample_input = sample_input

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of values shaped like the sample."""
        schema = json_schema_of(self.sample_input)
        schema["example"] = self.sample_example()
        return schema

    def sample_example(self) -> Any:
        """The sample as JSON-ready data."""
        return self.sample_input

    def deserialize(self, value: Any) -> Any:
        """The value handed to ``run`` for the decoded JSON ``value``."""
        return value


class StandardPythonParameterType(ParameterType):
    """A plain Python sample: ``bool``, ``int``, ``float``, ``str``, ``None``, lists, dicts."""


class NumpyParameterType(ParameterType):
    """A NumPy array sample; incoming nested lists become arrays of the sample's dtype.

    NumPy is imported only when a request is converted, so the runtime does not need it
    unless the entry script uses this type.
    """

    def sample_example(self) -> Any:
        return self.sample_input.tolist()

    def json_schema(self) -> dict[str, Any]:
        schema = json_schema_of(self.sample_example())
        schema["example"] = self.sample_example()
        return schema

    def deserialize(self, value: Any) -> Any:
        import numpy as np

        return np.asarray(value, dtype=self.sample_input.dtype)


def input_schema(name: str, parameter_type: ParameterType) -> Callable[[F], F]:
    """Record that ``run`` takes ``name``, shaped like ``parameter_type``'s sample."""
    if not isinstance(parameter_type, ParameterType):
        raise TypeError(
            f"input_schema({name!r}, ...) needs a ParameterType such as "
            "StandardPythonParameterType(sample)"
        )

    def decorate(function: F) -> F:
        schemas: dict[str, ParameterType] = dict(getattr(function, _INPUTS, {}))
        schemas[name] = parameter_type
        setattr(function, _INPUTS, schemas)
        return function

    return decorate


def output_schema(parameter_type: ParameterType) -> Callable[[F], F]:
    """Record that ``run`` returns values shaped like ``parameter_type``'s sample."""
    if not isinstance(parameter_type, ParameterType):
        raise TypeError(
            "output_schema(...) needs a ParameterType such as StandardPythonParameterType"
        )

    def decorate(function: F) -> F:
        setattr(function, _OUTPUT, parameter_type)
        return function

    return decorate


def input_schemas_of(function: Callable[..., Any]) -> dict[str, ParameterType]:
    """The input schemas recorded on ``function``, by parameter name (empty if none)."""
    schemas: dict[str, ParameterType] = getattr(function, _INPUTS, {})
    # Decorators apply bottom-up; report the parameters in the order they are written.
    return dict(reversed(list(schemas.items())))


def output_schema_of(function: Callable[..., Any]) -> ParameterType | None:
    """The output schema recorded on ``function``, or ``None``."""
    schema: ParameterType | None = getattr(function, _OUTPUT, None)
    return schema


def json_schema_of(sample: Any) -> dict[str, Any]:
    """A JSON schema for values with the same Python types as ``sample``."""
    if sample is None:
        return {"type": "null"}
    if isinstance(sample, bool):
        return {"type": "boolean"}
    if isinstance(sample, int):
        return {"type": "integer"}
    if isinstance(sample, float):
        return {"type": "number"}
    if isinstance(sample, str):
        return {"type": "string"}
    if isinstance(sample, list | tuple):
        schema: dict[str, Any] = {"type": "array"}
        if sample:
            schema["items"] = json_schema_of(sample[0])
        return schema
    if isinstance(sample, dict):
        return {
            "type": "object",
            "properties": {str(key): json_schema_of(value) for key, value in sample.items()},
        }
    return {}
