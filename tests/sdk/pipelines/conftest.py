from __future__ import annotations

from pathlib import Path

import pytest

PREPARE = """
import argparse, os, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--out")
parser.add_argument("--rows", type=int)
args = parser.parse_args()
pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
rows = "\\n".join(f"{i},{i * 2}" for i in range(args.rows))
pathlib.Path(args.out, "data.csv").write_text("x,y\\n" + rows + "\\n")
print("prepared", args.rows, "rows")
"""

TRAIN = """
import argparse, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--data")
parser.add_argument("--model")
args = parser.parse_args()
lines = pathlib.Path(args.data, "data.csv").read_text().splitlines()[1:]
pathlib.Path(args.model).mkdir(parents=True, exist_ok=True)
pathlib.Path(args.model, "model.txt").write_text(f"trained on {len(lines)} rows\\n")
print("trained on", len(lines), "rows")
"""

FAIL = """
import sys
print("about to fail", file=sys.stderr)
sys.exit(3)
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "prepare.py").write_text(PREPARE)
    (folder / "train.py").write_text(TRAIN)
    (folder / "fail.py").write_text(FAIL)
    return folder
