"""``ParallelRunConfig``: azureml's arguments and defaults, and a typed error for each
value that cannot work, before anything runs."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from atelier.core.errors import EntryScriptError, NotFoundError, ValidationError
from atelier.sdk.compute.environment import Environment
from atelier.sdk.parallel_run import ParallelRunConfig
from atelier.sdk.parallel_run._sizes import bytes_per_batch, files_per_batch

GOOD = "def init():\n    pass\n\ndef run(mini_batch):\n    return mini_batch\n"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    (tmp_path / "score.py").write_text(GOOD)
    return tmp_path


def _config(source: Path, **changes: Any) -> ParallelRunConfig:
    arguments: dict[str, Any] = {
        "environment": Environment("batch"),
        "entry_script": "score.py",
        "error_threshold": 10,
        "output_action": "append_row",
        "compute_target": "local",
        "node_count": 1,
        "source_directory": str(source),
    }
    return ParallelRunConfig(**{**arguments, **changes})


def test_arguments_and_defaults_are_azuremls(source: Path) -> None:
    parameters = inspect.signature(ParallelRunConfig).parameters
    assert list(parameters)[:6] == [
        "environment",
        "entry_script",
        "error_threshold",
        "output_action",
        "compute_target",
        "node_count",
    ]
    defaults = {n: p.default for n, p in parameters.items() if p.default is not p.empty}
    assert defaults == {
        "process_count_per_node": None,
        "mini_batch_size": None,
        "source_directory": None,
        "description": None,
        "logging_level": "INFO",
        "run_invocation_timeout": 60,
        "run_max_try": 3,
        "append_row_file_name": None,
        "allowed_failed_count": None,
        "allowed_failed_percent": None,
        "partition_keys": None,
        "environment_variables": None,
    }
    config = _config(source)
    assert config.append_row_file_name == "parallel_run_step.txt"
    assert config.to_dict()["mini_batch_size"] is None
    # without a source directory, the entry script's own folder is the source
    alone = _config(source, source_directory=None, entry_script=str(source / "score.py"))
    assert (alone.source_directory, alone.entry_script) == (str(source), "score.py")


def test_mini_batch_sizes_read_as_azureml_reads_them(source: Path) -> None:
    assert files_per_batch(None) == 10
    assert bytes_per_batch(None) == 1024 * 1024
    assert files_per_batch(_config(source, mini_batch_size=5).mini_batch_size) == 5
    assert bytes_per_batch(_config(source, mini_batch_size="2MB").mini_batch_size) == 2 << 20
    assert bytes_per_batch("512kb") == 512 * 1024
    with pytest.raises(ValidationError, match="only a TabularDataset"):
        files_per_batch("1MB")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"error_threshold": -2}, "error_threshold must be a whole number in"),
        ({"error_threshold": "5"}, "error_threshold"),
        ({"output_action": "append_rows"}, "output_action must be"),
        ({"node_count": 0}, "node_count"),
        ({"process_count_per_node": 0}, "process_count_per_node"),
        ({"mini_batch_size": "ten"}, "mini_batch_size 'ten' is neither"),
        ({"mini_batch_size": 0}, "mini_batch_size 0 is neither"),
        ({"mini_batch_size": 1.5}, "mini_batch_size must be"),
        ({"logging_level": "LOUD"}, "logging_level must be one of"),
        ({"run_invocation_timeout": 0}, "run_invocation_timeout"),
        ({"run_max_try": 0}, "run_max_try"),
        ({"append_row_file_name": "../x.txt"}, "plain file name"),
        (
            {"append_row_file_name": "x.txt", "output_action": "summary_only"},
            "only used with output_action='append_row'",
        ),
        ({"allowed_failed_count": -3}, "allowed_failed_count"),
        ({"allowed_failed_percent": 101}, r"allowed_failed_percent must be a number in \[0, 100\]"),
        ({"partition_keys": ["a"], "mini_batch_size": "1MB"}, "either partition_keys or"),
        ({"partition_keys": "a"}, "partition_keys must be a non-empty list"),
        ({"environment": None}, "environment must be an atelier Environment"),
        ({"compute_target": 3}, "compute_target must be"),
        ({"environment_variables": {"A": 1}}, "environment_variables"),
        ({"entry_script": "../score.py"}, "must be a path inside source_directory"),
    ],
)
def test_bad_values_are_refused(source: Path, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _config(source, **changes)


def test_an_entry_script_without_run_is_refused_before_anything_runs(source: Path) -> None:
    (source / "no_run.py").write_text("def init():\n    pass\n\ndef score(batch):\n    return []\n")
    with pytest.raises(EntryScriptError, match=r"does not define run\(\)"):
        _config(source, entry_script="no_run.py")
    (source / "broken.py").write_text("def init(:\n")
    with pytest.raises(EntryScriptError, match="is not valid Python"):
        _config(source, entry_script="broken.py")
    with pytest.raises(EntryScriptError, match="not found"):
        _config(source, entry_script="missing.py")
    with pytest.raises(NotFoundError, match="source_directory"):
        _config(source, source_directory=str(source / "nowhere"))
    # names defined by import or under a module-level guard count
    (source / "imported.py").write_text(
        "from helpers import init\ntry:\n    from fast import run\nexcept ImportError:\n"
        "    def run(mini_batch):\n        return []\n"
    )
    assert _config(source, entry_script="imported.py").entry_script == "imported.py"


def test_save_to_yaml_writes_what_load_yaml_reads(source: Path, tmp_path: Path) -> None:
    config = _config(source, mini_batch_size="2MB", run_max_try=5, description="nightly")
    path = tmp_path / "prs.yml"
    config.save_to_yaml(path)
    text = path.read_text()
    assert "mini_batch_size: 2MB" in text
    assert "run_max_try: 5" in text
    assert "name: batch" in text


def test_workers_load_with_the_serving_loader_once_per_process(tmp_path: Path) -> None:
    from atelier.sdk.parallel_run._entry import load_entry_script
    from atelier.serving.entry import load_entry_script as load_for_serving

    script = tmp_path / "count.py"
    script.write_text("LOADS = []\nLOADS.append(1)\n" + GOOD)
    batch = load_entry_script(script, tmp_path)
    assert batch.__name__.startswith("_atelier_batch_count_")
    assert load_entry_script(script, tmp_path) is batch  # the module the driver forked with
    served = load_for_serving(script, tmp_path).module
    assert served is not batch and served.__name__.startswith("_atelier_entry_count_")
    assert batch.LOADS == [1] and served.LOADS == [1]
    (tmp_path / "half.py").write_text("def run(mini_batch):\n    return []\n")
    with pytest.raises(EntryScriptError, match=r"does not define init\(\); a batch-scoring"):
        load_entry_script(tmp_path / "half.py", tmp_path)
