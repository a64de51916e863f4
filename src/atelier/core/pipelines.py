"""Pipeline facts shared by the SDK (which builds and runs pipelines) and the server (which
starts runs of published ones): placeholder spellings, the run definition's shape, and
how submitted parameter values meet the declared ones. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atelier.core.errors import PipelineValidationError, UndeclaredParameterError

PARAMETER_PREFIX = "PipelineParameter:"
PIPELINE_RUN_TYPE = "azureml.PipelineRun"
STEP_RUN_TYPE = "azureml.StepRun"
#: a sweep's parent run (a HyperDriveStep's step run is one)
HYPERDRIVE_RUN_TYPE = "hyperdrive"
#: run properties: which step a child run is, its reuse key, and what a reused step reused
STEP_NAME = "azureml.pipeline.step_name"
REUSE_KEY = "azureml.pipeline.reuse_key"
REUSED_RUN = "azureml.reusedrunid"
REUSED_PIPELINE_RUN = "azureml.reusedpipelinerunid"
#: a run property naming where a step's outputs are when not where its definition put them
#: (a HyperDriveStep's are its best trial's): JSON ``{output: [datastore, path]}``
OUTPUT_LOCATIONS = "azureml.pipeline.output_locations"
#: a run property naming the outputs a run wrote no file to (JSON list): they exist, empty
EMPTY_OUTPUTS = "azureml.outputs.empty"
PUBLISHED_PIPELINE = "azureml.pipelineid"
PIPELINE_ENDPOINT = "azureml.pipelineendpointid"
ACTIVE = "Active"
DISABLED = "Disabled"


def _convert(default: Any, value: Any) -> Any:
    if isinstance(default, bool):
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ValueError(value)
    if isinstance(default, int):
        return int(str(value))
    if isinstance(default, float):
        return float(str(value))
    return str(value)


def _coerce(name: str, default: Any, value: Any) -> Any:
    """``value`` as the type of the parameter's default (a REST call sends text)."""
    if default is None or type(value) is type(default):
        return value
    try:
        return _convert(default, value)
    except ValueError as exc:
        raise PipelineValidationError(
            f"pipeline parameter {name!r} takes a {type(default).__name__} "
            f"(default {default!r}), not {value!r}"
        ) from exc


def resolve_parameters(declared: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    """The value of every declared parameter: the given one (coerced to the default's type)
    or the default. A name the pipeline does not declare is ``UndeclaredParameterError``."""
    if given is not None and not isinstance(given, dict):
        raise PipelineValidationError("pipeline_parameters must be a mapping of name to value")
    given = dict(given or {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise UndeclaredParameterError(
            f"pipeline parameter(s) {unknown} are not declared by this pipeline "
            f"(declared: {known}); add a PipelineParameter to a step's arguments or drop them"
        )
    return {
        name: _coerce(name, default, given[name]) if name in given else default
        for name, default in declared.items()
    }


def run_definition(
    graph: dict[str, Any],
    parameters: dict[str, Any] | None,
    *,
    regenerate_outputs: bool = False,
    continue_on_step_failure: bool = False,
) -> dict[str, Any]:
    """What a pipeline run records: its graph, the parameter values, and how to run it."""
    return {
        "graph": graph,
        "parameters": resolve_parameters(graph.get("parameters") or {}, parameters),
        "regenerate_outputs": bool(regenerate_outputs),
        "continue_on_step_failure": bool(continue_on_step_failure),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishedPipelineRecord:
    """A published pipeline: its graph frozen, runnable by id; ``status`` Active or Disabled."""

    id: str
    name: str
    description: str
    version: str
    status: str
    continue_on_step_failure: bool
    graph: dict[str, Any]
    created_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineEndpointRecord:
    """A named, versioned front for published pipelines: ``versions`` maps each version
    number (as text) to a published pipeline id; submissions go to ``default_version``."""

    id: str
    name: str
    description: str
    status: str
    default_version: int
    versions: dict[str, str]
    created_ms: int


def check_pipeline_name(name: object, what: str = "pipeline") -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise PipelineValidationError(f"a {what} needs a name of 1 to 255 characters")
    return name.strip()
