"""From step objects to the pipeline's graph: what ``Pipeline.validate()`` finds wrong,
and the JSON graph a pipeline run (or a published pipeline) carries.

In the graph each step is a run definition whose arguments hold placeholders: inputs and
outputs as for a single run (``DatasetConsumptionConfig:<name>``,
``OutputFileDatasetConfig:<name>``) and parameters as ``PipelineParameter:<name>``. An
input read from another step names that step and output; the runner points it at the
producing run's folder when the step starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import (
    AtelierError,
    DuplicateOutputError,
    MissingProducerError,
    MissingScriptError,
    PipelineCycleError,
    PipelineValidationError,
)
from atelier.core.names import check_relative_path
from atelier.core.paths import safe_join
from atelier.sdk.data._inputs import OUTPUT_PREFIX, DatasetConsumptionConfig
from atelier.sdk.data._step_inputs import StepOutputInput
from atelier.sdk.data.data_reference import INPUT_PREFIX, DataReference
from atelier.sdk.pipelines._data import PipelineData, PipelineParameter
from atelier.sdk.pipelines.steps import PipelineStep, producer_of
from atelier.sdk.tracking import _snapshot

if TYPE_CHECKING:
    from atelier.sdk.workspace import Workspace


def closure(steps: list[PipelineStep], resolve: bool) -> list[PipelineStep]:
    """The steps, plus (with ``resolve``) every step producing data they read."""
    found: list[PipelineStep] = []
    pending = list(steps)
    while pending:
        step = pending.pop(0)
        if not isinstance(step, PipelineStep):
            raise PipelineValidationError(
                f"a pipeline takes steps (PythonScriptStep ...), not {type(step).__name__}"
            )
        if any(step is s for s in found):
            continue
        found.append(step)
        if resolve:
            for item in step.all_inputs():
                producer = producer_of(_source(item))
                if producer is not None and not any(producer is s for s in found + pending):
                    pending.append(producer)
    return found


def _source(item: Any) -> Any:
    return item.source if isinstance(item, StepOutputInput) else item


def _producers(steps: list[PipelineStep]) -> tuple[dict[int, PipelineStep], list[str]]:
    by_object: dict[int, PipelineStep] = {}
    problems: list[str] = []
    by_name: dict[str, str] = {}
    for step in steps:
        for output in step.all_outputs():
            earlier = by_object.get(id(output))
            if earlier is not None:
                problems.append(
                    f"output {output.name!r} is written by both step {earlier.name!r} and "
                    f"step {step.name!r}; give each step its own output"
                )
                continue
            by_object[id(output)] = step
            if output.name in by_name:
                problems.append(
                    f"steps {by_name[output.name]!r} and {step.name!r} both write an output "
                    f"named {output.name!r}; rename one"
                )
            by_name[output.name] = step.name
    return by_object, problems


def _order(steps: list[PipelineStep], upstream: dict[str, set[str]]) -> list[str] | None:
    """Step names, producers first; None when the steps depend on each other in a circle."""
    done: list[str] = []
    remaining = {s.name: set(upstream[s.name]) for s in steps}
    while remaining:
        ready = sorted(name for name, needs in remaining.items() if not needs - set(done))
        if not ready:
            return None
        done.extend(ready)
        for name in ready:
            del remaining[name]
    return done


def problems(
    steps: list[PipelineStep], default_source: str | None
) -> list[PipelineValidationError]:
    """Everything wrong with these steps as one pipeline, each a typed error."""
    found: list[PipelineValidationError] = []
    names = [s.name for s in steps]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        found.append(PipelineValidationError(f"step names {duplicates} are used twice; rename"))
    for step in steps:
        error = _script_problem(step, default_source)
        if error is not None:
            found.append(MissingScriptError(error))
        found.extend(_name_clashes(step))
    producers, output_problems = _producers(steps)
    found.extend(DuplicateOutputError(p) for p in output_problems)
    upstream: dict[str, set[str]] = {s.name: set() for s in steps}
    for step in steps:
        for item in step.all_inputs():
            source = _source(item)
            if not isinstance(source, PipelineData) and not isinstance(item, StepOutputInput):
                continue
            producer = producers.get(id(source))
            if producer is None:
                found.append(
                    MissingProducerError(
                        f"step {step.name!r} reads {source.name!r}, which no step of the "
                        "pipeline writes; add the producing step or list the data in its outputs"
                    )
                )
            elif producer is not step:
                upstream[step.name].add(producer.name)
            else:
                found.append(PipelineCycleError(f"step {step.name!r} reads its own output"))
    if not duplicates and _order(steps, upstream) is None:
        found.append(
            PipelineCycleError(
                "the steps depend on each other in a cycle: "
                + ", ".join(sorted(n for n, ups in upstream.items() if ups))
            )
        )
    found.extend(_parameter_problems(steps))
    return found


def _name_clashes(step: PipelineStep) -> list[PipelineValidationError]:
    """A step's inputs and outputs are placeholders by name: no two may share one."""
    names = [_input_name(i) for i in step.all_inputs()] + [o.name for o in step.all_outputs()]
    twice = sorted({n for n in names if names.count(n) > 1})
    if not twice:
        return []
    return [
        PipelineValidationError(
            f"step {step.name!r} has more than one input or output named {twice}; "
            "rename one (as_named_input / as_input(name))"
        )
    ]


def _input_name(item: Any) -> str:
    name: str = item.data_reference_name if isinstance(item, DataReference) else item.name
    return name


def _parameter_problems(steps: list[PipelineStep]) -> list[PipelineValidationError]:
    found: list[PipelineValidationError] = []
    declared: dict[str, Any] = {}
    for step in steps:
        for parameter in step.parameters():
            if parameter.name in declared and declared[parameter.name] != parameter.default_value:
                found.append(
                    PipelineValidationError(
                        f"pipeline parameter {parameter.name!r} is declared twice with different "
                        "defaults; use one PipelineParameter object"
                    )
                )
            declared[parameter.name] = parameter.default_value
    return found


def _script_problem(step: PipelineStep, default_source: str | None) -> str | None:
    source = step.resolved_source_directory(default_source)
    if not source.is_dir():
        return f"step {step.name!r}: source_directory {source} does not exist or is not a folder"
    if step.script_name:
        try:
            script = check_relative_path(step.script_name, what="script")
        except AtelierError as exc:
            return f"step {step.name!r}: {exc.message}"
        if not safe_join(source, script).is_file():
            return f"step {step.name!r}: script {script!r} not found in {source}"
    return None


def raise_problems(found: list[PipelineValidationError]) -> None:
    if found:
        first = found[0]
        message = "; ".join(p.message for p in found)
        raise type(first)(f"the pipeline is not valid: {message}", [p.message for p in found])


# --- the graph ------------------------------------------------------------------------
def _argument(item: Any, inputs: dict[int, str], outputs: dict[int, str]) -> str:
    if isinstance(item, PipelineParameter):
        return str(item)
    if id(item) in outputs:
        return f"{OUTPUT_PREFIX}{outputs[id(item)]}"
    if id(item) in inputs:
        return f"{INPUT_PREFIX}{inputs[id(item)]}"
    return str(item)


def _input_entry(item: Any, producers: dict[int, PipelineStep]) -> dict[str, Any]:
    if isinstance(item, DataReference | DatasetConsumptionConfig):
        return {**item.to_input(), "source": None}
    if isinstance(item, PipelineData):
        item = item.as_mount()
    assert isinstance(item, StepOutputInput)
    producer = producers[id(item.source)]
    return {
        "name": item.name,
        "mode": item.mode,
        "kind": "tabular" if item.tabular_format is not None else "file",
        "dataset_id": None,
        "format": item.tabular_format,
        "path_on_compute": item.path_on_compute,
        "source": {"step": producer.name, "output": item.source.name},
    }


def _output_entry(item: Any) -> dict[str, Any]:
    if isinstance(item, PipelineData):
        return {
            "name": item.name,
            "datastore": item.datastore.name if item.datastore is not None else None,
            "destination": None,
            "source": None,
            "overwrite": item.overwrite,
            "register": None,
        }
    entry: dict[str, Any] = {**item.to_output(), "datastore": None}
    return entry


def build(
    workspace: Workspace,
    steps: list[PipelineStep],
    default_source: str | None,
    description: str | None,
) -> dict[str, Any]:
    """The graph: steps in run order with their definitions, snapshots stored."""
    raise_problems(problems(steps, default_source))
    backend = workspace._backend
    producers, _ = _producers(steps)
    snapshots: dict[Path, str] = {}
    kinds: dict[str, str] = {}
    built: list[dict[str, Any]] = []
    parameters: dict[str, Any] = {}
    for step in steps:
        source = step.resolved_source_directory(default_source).resolve()
        if source not in snapshots:
            files = _snapshot.collect(source)
            snapshots[source] = backend.snapshots.create(workspace.name, files).id
        if step.compute_target not in kinds:
            kinds[step.compute_target] = backend.compute.get(
                workspace.name, step.compute_target
            ).kind
        outputs = step.all_outputs()
        inputs = step.all_inputs()
        output_names = {id(o): o.name for o in outputs}
        input_names = {id(i): _input_name(i) for i in inputs}
        for parameter in step.parameters():
            parameters[parameter.name] = parameter.default_value
        definition = step.runconfig.to_dict()
        variables = dict(definition.get("environment_variables") or {})
        for key, value in step.params.items():
            variables[f"AML_PARAMETER_{key}"] = str(value)
        definition.update(
            script=step.script_name,
            command=step.command,
            arguments=[_argument(a, input_names, output_names) for a in step.arguments],
            target=step.compute_target,
            environment_variables=variables,
            inputs=[_input_entry(i, producers) for i in inputs],
            outputs=[_output_entry(o) for o in outputs],
        )
        upstream = sorted({e["source"]["step"] for e in definition["inputs"] if e["source"]})
        built.append(
            {
                "name": step.name,
                "kind": step.kind,
                "snapshot_id": snapshots[source],
                "compute_kind": kinds[step.compute_target],
                "allow_reuse": step.allow_reuse,
                "upstream": upstream,
                "definition": definition,
                **step.graph_extra(workspace, step.compute_target),
            }
        )
    order = _order(steps, {s["name"]: set(s["upstream"]) for s in built}) or []
    built.sort(key=lambda s: order.index(s["name"]))
    return {"description": description or "", "steps": built, "parameters": parameters}
