"""Pipeline speed: a 10-step chain, first run and resubmitted unchanged.

Anchor, measured in the same run on the same machine: the same 10 trivial scripts run one
after another with ``Experiment.submit`` (each waited for before the next).
Targets: the unchanged chain resubmitted reuses every step and completes in < 2 s; the
first run of the chain takes <= 1.5x the anchor.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

STEPS = 10
STEP = """
import pathlib, sys
source, target = sys.argv[1], sys.argv[2]
pathlib.Path(target).mkdir(parents=True, exist_ok=True)
count = 0
if source != "-":
    count = int(next(pathlib.Path(source).rglob("n.txt")).read_text())
pathlib.Path(target, "n.txt").write_text(str(count + 1))
"""


def _source() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench-pipe-"))
    (folder / "step.py").write_text(STEP)
    return folder


def _chain(ws: Any, source: Path) -> Any:
    from atelier.azureml.pipeline.core import Pipeline, PipelineData
    from atelier.azureml.pipeline.steps import PythonScriptStep

    steps, previous = [], None
    for index in range(STEPS):
        out = PipelineData(f"out{index}")
        steps.append(
            PythonScriptStep(
                "step.py", name=f"step{index}", source_directory=source,
                arguments=[previous if previous is not None else "-", out],
                inputs=[previous] if previous is not None else [], outputs=[out],
            )
        )  # fmt: skip
        previous = out
    return Pipeline(ws, steps)


def _sequential(ws: Any, source: Path) -> float:
    from atelier import Experiment, ScriptRunConfig

    exp = Experiment(ws, "bench-sequential")
    folder = Path(tempfile.mkdtemp(prefix="bench-seq-"))
    start = time.perf_counter()
    previous = "-"
    for index in range(STEPS):
        target = str(folder / f"out{index}")
        run = exp.submit(ScriptRunConfig(source, "step.py", arguments=[previous, target]))
        run.wait_for_completion()
        previous = target
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    os.environ["ATELIER_HOME"] = tempfile.mkdtemp(prefix="atelier-bench-")
    from atelier import Experiment, Workspace

    ws = Workspace.create("bench-pipelines", exist_ok=True)
    source = _source()
    # warm the agent and the environment cache so both sides start equal
    _sequential(ws, source)
    sequential = _sequential(ws, source)
    exp = Experiment(ws, "bench-pipeline")
    pipeline = _chain(ws, source)
    start = time.perf_counter()
    first = exp.submit(pipeline)
    first.wait_for_completion(show_output=False)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    again = exp.submit(pipeline)
    again.wait_for_completion(show_output=False)
    reused_s = time.perf_counter() - start
    reused = sum(1 for s in again.get_steps() if s.reused_run_id)
    result = {
        "sequential_10_submits_s": round(sequential, 3),
        "pipeline_first_run_s": round(first_s, 3),
        "first_run_ratio": round(first_s / sequential, 3),
        "first_run_target": "<= 1.5",
        "resubmit_fully_reused_s": round(reused_s, 3),
        "resubmit_steps_reused": f"{reused}/{STEPS}",
        "resubmit_target_s": "< 2",
    }
    print(f"10-step chain, first run: {first_s:.2f} s vs 10 sequential submits: "
          f"{sequential:.2f} s -> ratio {first_s / sequential:.2f} (target <= 1.5)")  # fmt: skip
    print(f"resubmitted unchanged: {reused}/{STEPS} steps reused, completed in {reused_s:.2f} s "
          "(target < 2 s)")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
