"""The batch-scoring driver on this machine: ordering, retries, time limits, failure limits.

These call the driver's ``execute`` in the test's process (its workers are real child
processes); running it inside a submitted run is tested in tests/execution.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from atelier.core.errors import EntryScriptError, RunFailedError
from atelier.sdk.parallel_run.driver import execute, main


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"x": range(40), "group": [i % 3 for i in range(40)]}).to_parquet("t.parquet")
    (tmp_path / "src").mkdir()
    return tmp_path


def _config(folder: Path, body: str, **settings: Any) -> dict[str, Any]:
    (folder / "src" / "score.py").write_text(textwrap.dedent(body))
    base = {
        "entry_script": "score.py",
        "source_directory": str(folder / "src"),
        "output_action": "append_row",
        "mini_batch_size": "80",  # bytes: 5 rows of two int64 columns
        "error_threshold": -1,
        "process_count_per_node": 2,
        "run_max_try": 3,
        "run_invocation_timeout": 60,
        "inputs": [{"name": "t", "kind": "tabular"}],
    }
    return {**base, **settings}


def _lines(folder: Path, name: str = "parallel_run_step.txt") -> list[str]:
    return (folder / "out" / name).read_text().splitlines()


def test_rows_come_out_in_input_order_although_batches_finish_out_of_order(folder: Path) -> None:
    config = _config(
        folder,
        """
        import time
        def init():
            pass
        def run(mini_batch):
            # the first mini-batches are the slowest
            time.sleep(max(0.0, 0.2 - 0.02 * int(mini_batch["x"].iloc[0])))
            return mini_batch.assign(y=mini_batch["x"] * 10)[["x", "y"]]
        """,
    )
    summary = execute(config, ["t.parquet"], folder / "out", [])
    assert _lines(folder) == [f"{i} {i * 10}" for i in range(40)]
    assert summary["total_mini_batches"] == 8
    assert summary["processed_items"] == 40
    assert summary["failed_items"] == 0


def test_a_failed_mini_batch_is_retried_in_another_try(folder: Path) -> None:
    config = _config(
        folder,
        f"""
        from pathlib import Path
        def init():
            pass
        def run(mini_batch):
            first = int(mini_batch["x"].iloc[0])
            marker = Path({str(folder)!r}) / f"tried-{{first}}"
            if first in (5, 20) and not marker.exists():
                marker.touch()
                raise RuntimeError("flaky")
            if first == 10 and not marker.exists():
                marker.touch()
                import os
                os._exit(3)  # the whole process dies: a new one takes over
            return list(mini_batch["x"])
        """,
    )
    summary = execute(config, ["t.parquet"], folder / "out", [])
    assert _lines(folder) == [str(i) for i in range(40)]
    assert summary["retries"] == 3
    assert summary["failed_mini_batches"] == 0


ALWAYS_FAILS = """
    def init():
        pass
    def run(mini_batch):
        if 13 in set(mini_batch["x"]):
            raise ValueError("row 13 is poison")
        return list(mini_batch["x"])
"""


def test_a_mini_batch_that_always_fails_is_skipped_under_no_threshold(folder: Path) -> None:
    config = _config(folder, ALWAYS_FAILS, error_threshold=-1, run_max_try=2)
    summary = execute(config, ["t.parquet"], folder / "out", [])
    assert _lines(folder) == [str(i) for i in range(40) if not 10 <= i < 15]
    assert summary["failed_mini_batches"] == 1
    assert summary["failed_items"] == 5
    assert summary["retries"] == 1


def test_failures_past_error_threshold_stop_the_step_and_leave_no_output(folder: Path) -> None:
    config = _config(folder, ALWAYS_FAILS, error_threshold=4, run_max_try=2)
    with pytest.raises(RunFailedError, match="5 items failed, more than error_threshold=4"):
        execute(config, ["t.parquet"], folder / "out", [])
    assert list((folder / "out").iterdir()) == []
    config = _config(folder, ALWAYS_FAILS, allowed_failed_count=0, run_max_try=1)
    with pytest.raises(RunFailedError, match="allowed_failed_count=0"):
        execute(config, ["t.parquet"], folder / "out", [])


def test_a_mini_batch_past_run_invocation_timeout_is_stopped(folder: Path) -> None:
    config = _config(
        folder,
        """
        import time
        def init():
            pass
        def run(mini_batch):
            if 0 in set(mini_batch["x"]):
                time.sleep(600)
            return list(mini_batch["x"])
        """,
        run_invocation_timeout=1,
        run_max_try=1,
    )
    summary = execute(config, ["t.parquet"], folder / "out", [])
    assert _lines(folder) == [str(i) for i in range(5, 40)]
    assert summary["failed_mini_batches"] == 1


def test_fewer_results_than_items_count_as_failed_items(folder: Path) -> None:
    config = _config(
        folder,
        """
        def init():
            pass
        def run(mini_batch):
            return list(mini_batch["x"])[:-1]
        """,
        output_action="summary_only",
    )
    summary = execute(config, ["t.parquet"], folder / "out", [])
    assert summary["failed_items"] == 8
    assert summary["processed_items"] == 32
    assert not (folder / "out" / "parallel_run_step.txt").exists()


def test_init_that_raises_fails_the_step_with_its_traceback(folder: Path) -> None:
    config = _config(
        folder,
        """
        def init():
            raise FileNotFoundError("model.pkl is missing")
        def run(mini_batch):
            return []
        """,
    )
    with pytest.raises(EntryScriptError, match=r"model\.pkl is missing"):
        execute(config, ["t.parquet"], folder / "out", [])


def test_partitions_and_arguments_and_file_inputs(folder: Path) -> None:
    config = _config(
        folder,
        """
        import sys
        def init():
            global label
            label = sys.argv[sys.argv.index("--label") + 1]
        def run(mini_batch):
            return [f"{label} {mini_batch['group'].iloc[0]} {len(mini_batch)}"]
        """,
        mini_batch_size=None,
        partition_keys=["group"],
        append_row_file_name="groups.txt",
    )
    execute(config, ["t.parquet"], folder / "out", ["--label", "g"])
    assert _lines(folder, "groups.txt") == ["g 0 14", "g 1 13", "g 2 13"]
    images = folder / "images"
    (images / "b").mkdir(parents=True)
    for name in ("a1", "a2", "b/c3", "a4"):
        (images / name).write_text(name)
    config = _config(
        folder,
        """
        from pathlib import Path
        def init():
            pass
        def run(mini_batch):
            return [Path(p).read_text() for p in mini_batch]
        """,
        mini_batch_size="3",
        inputs=[{"name": "images", "kind": "file"}],
    )
    summary = execute(config, [str(images)], folder / "out", [])
    assert _lines(folder) == ["a1", "a2", "a4", "b/c3"]
    assert summary["total_mini_batches"] == 2


def test_main_exits_1_with_the_reason_last_on_stderr(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(folder, ALWAYS_FAILS, error_threshold=0, run_max_try=1)
    (folder / "c.json").write_text(json.dumps(config))
    assert main(["--config", "c.json", "--input", "t.parquet", "--output", "out"]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("RunFailedError: batch scoring stopped: 5 items failed")
