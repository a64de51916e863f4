"""The batch-scoring driver that runs inside a ParallelRunStep's run.

``python -m atelier.sdk.parallel_run.driver --config FILE --input VALUE... [--output DIR]
[-- ARGUMENTS...]`` cuts the inputs into mini-batches, scores them with the entry script
in ``process_count_per_node`` processes on this machine (or ``node_count`` ×
``process_count_per_node`` Ray actors when it runs as a Ray job, i.e. on an AmlCompute
target),
logs its progress as run metrics (``mini_batches_completed``, ``mini_batches_failed``,
``items_processed``, ``progress_percent``) about once a second, and writes the
``append_row`` file in input order plus ``logs/parallel_run_summary.json``.

ARGUMENTS after ``--`` are the entry script's own: it sees them in ``sys.argv``.
Exit code 0 when every mini-batch was scored within the limits, 1 otherwise (the last
line on stderr says why).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from atelier.core.errors import AtelierError, ValidationError
from atelier.sdk.parallel_run import _plan
from atelier.sdk.parallel_run._scheduler import Limits, Progress, Scheduler
from atelier.sdk.parallel_run._worker import WorkerSetup, preloaded

SUMMARY_FILE = "parallel_run_summary.json"
_log = logging.getLogger("atelier.parallel_run")


def _arguments(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    own, user = (argv, [])
    if "--" in argv:
        at = argv.index("--")
        own, user = argv[:at], argv[at + 1 :]
    parser = argparse.ArgumentParser(prog="atelier.sdk.parallel_run.driver")
    parser.add_argument("--config", required=True, help="the step's configuration (JSON)")
    parser.add_argument("--input", action="append", default=[], help="each input, in order")
    parser.add_argument("--output", default=None, help="the output folder (default ./outputs)")
    return parser.parse_args(own), user


def _context_run() -> Any:
    if not os.environ.get("ATELIER_RUN_ID"):
        return None
    from atelier.sdk.tracking.run import Run

    return Run.get_context()


def _resolve(config: dict[str, Any], values: list[str], run: Any, work: Path) -> _plan.Plan:
    declared = config.get("inputs") or []
    if len(declared) != len(values) or not declared:
        raise ValidationError(
            f"the configuration names {len(declared)} input(s) but {len(values)} were given"
        )
    named = run.input_datasets if run is not None else {}
    plan = _plan.Plan()
    for index, (entry, value) in enumerate(zip(declared, values, strict=True)):
        source = named.get(entry["name"], value)
        if entry["kind"] == "file":
            folder = Path(str(source))
            if not folder.is_dir():
                raise ValidationError(f"input {entry['name']!r}: {folder} is not a folder")
            _plan.add_files(
                plan,
                _plan.local_files(folder),
                config.get("mini_batch_size"),
                bool(config.get("partition_keys")),
            )
        else:
            table = _table(source)
            _plan.add_table(
                plan,
                table,
                work / f"input-{index}.arrow",
                config.get("mini_batch_size"),
                config.get("partition_keys"),
            )
    return plan


def _table(source: Any) -> Any:
    if hasattr(source, "to_arrow"):
        return source.to_arrow()
    import pyarrow.parquet as pq

    path = Path(str(source))
    if not path.is_file():
        raise ValidationError(f"tabular input {source!r} is neither a dataset nor a Parquet file")
    return pq.read_table(path)


def _reporter(run: Any) -> Any:
    def report(progress: Progress) -> None:
        settled = progress.succeeded_batches + progress.failed_batches
        percent = 100.0 * settled / max(1, progress.total_batches)
        _log.info(
            "progress: %d/%d mini-batches (%.0f%%), %d failed, %d items scored",
            settled,
            progress.total_batches,
            percent,
            progress.failed_batches,
            progress.processed_items,
        )
        if run is not None:
            run.log("mini_batches_completed", float(progress.succeeded_batches))
            run.log("mini_batches_failed", float(progress.failed_batches))
            run.log("items_processed", float(progress.processed_items))
            run.log("progress_percent", round(percent, 2))
            run.flush()

    return report


def on_ray(config: dict[str, Any]) -> bool:
    """Whether mini-batches go to Ray actors: inside a Ray job (a run on an AmlCompute
    target, for whose driver Ray sets this variable) unless ``backend`` says otherwise."""
    default = "ray" if "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ else "local"
    return (config.get("backend") or default) == "ray"


def _workers(config: dict[str, Any], setup: WorkerSetup) -> Any:
    per_node = int(config.get("process_count_per_node") or os.cpu_count() or 1)
    if on_ray(config):
        from atelier.sdk.parallel_run._ray import RayWorkers

        return RayWorkers(int(config.get("node_count") or 1) * per_node, setup)
    from atelier.sdk.parallel_run._local import LocalWorkers

    return LocalWorkers(per_node, setup)


def execute(
    config: dict[str, Any], inputs: list[str], output: Path, arguments: list[str]
) -> dict[str, Any]:
    """Score every input; return the summary. Raises ``AtelierError`` subclasses."""
    run = _context_run()
    output.mkdir(parents=True, exist_ok=True)
    append_row = config["output_action"] == "append_row"
    final = output / str(config.get("append_row_file_name") or "parallel_run_step.txt")
    partial = output / f".{final.name}.partial"
    # in the run's folder: on a Ray cluster every node reads the inputs' Arrow files there
    work = Path(tempfile.mkdtemp(prefix=".atelier-parallel-run-", dir=Path.cwd()))
    try:
        plan = _resolve(config, inputs, run, work)
        _log.info("%d items in %d mini-batches", plan.items, len(plan.tasks))
        setup = WorkerSetup(
            entry_script=config["entry_script"],
            source_directory=str(Path(config.get("source_directory") or ".").resolve()),
            arrow_files=tuple(plan.arrow_files),
            append_row=append_row,
            output_dir=str(output.resolve()),
            arguments=tuple(arguments),
        )
        limits = Limits(
            run_max_try=int(config.get("run_max_try") or 3),
            run_invocation_timeout=float(config.get("run_invocation_timeout") or 60),
            error_threshold=int(config.get("error_threshold", -1)),
            allowed_failed_count=config.get("allowed_failed_count"),
            allowed_failed_percent=config.get("allowed_failed_percent"),
        )
        scheduler = Scheduler(
            _workers(config, setup), plan.tasks, plan.sizes, limits, _log.warning, _reporter(run)
        )
        # local workers are forked: the entry script's imports are done once, here
        with preloaded(setup) if not on_ray(config) else contextlib.nullcontext():
            if append_row:
                with partial.open("wb") as sink:
                    progress = scheduler.run(sink)
                partial.replace(final)
            else:
                progress = scheduler.run(None)
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    summary = progress.as_dict()
    if run is not None:
        for name in ("total_mini_batches", "failed_items", "retries", "elapsed_seconds"):
            run.log(name, float(summary[name]))
    return summary


def main(argv: list[str] | None = None) -> int:
    args, user_arguments = _arguments(sys.argv[1:] if argv is None else argv)
    config = json.loads(Path(args.config).read_text(encoding="utf-8"))
    level = str(config.get("logging_level") or "INFO")
    # the driver's own logger only: the libraries' loggers (httpx ...) stay quiet
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[parallel_run] %(message)s"))
    _log.addHandler(handler)
    _log.setLevel(level)
    _log.propagate = False
    output = Path(args.output) if args.output else Path("outputs")
    try:
        summary = execute(config, args.input, output, user_arguments)
    except AtelierError as exc:
        text = str(exc)
        print(text, file=sys.stderr)
        # the run's error is the last line on stderr: make it the short reason
        print(f"{type(exc).__name__}: {text.splitlines()[0]}", file=sys.stderr, flush=True)
        return 1
    Path("logs").mkdir(exist_ok=True)
    (Path("logs") / SUMMARY_FILE).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    _log.info("done: %s", json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
