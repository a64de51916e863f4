"""``atelier pipeline``: publish a pipeline from a file, run it with parameters, show it."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import Atelier, assert_one_line_error

BUILD = """
from pathlib import Path
from atelier.azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from atelier.azureml.pipeline.steps import PythonScriptStep

def build(ws):
    out = PipelineData("out")
    who = PipelineParameter("who", "world")
    step = PythonScriptStep(
        "hello.py", name="hello", arguments=["--out", out, "--who", who],
        outputs=[out], source_directory=str(Path(__file__).parent / "steps"),
    )
    return Pipeline(ws, [step])
"""

HELLO = """
import argparse, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--out")
parser.add_argument("--who")
args = parser.parse_args()
pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
pathlib.Path(args.out, "hello.txt").write_text(args.who)
print("hello", args.who)
"""


def test_publish_run_list_and_show(atelier: Atelier, cli_cwd: Path) -> None:
    (cli_cwd / "steps").mkdir()
    (cli_cwd / "steps" / "hello.py").write_text(HELLO)
    (cli_cwd / "hello_pipeline.py").write_text(BUILD)
    assert atelier("workspace", "create", "lab").code == 0
    published = atelier(
        "pipeline", "publish", "hello_pipeline.py", "--name", "hello", "-w", "lab",
        "--endpoint", "hello-ep", "-o", "json",
    ).json()  # fmt: skip
    assert published["parameters"] == {"who": "world"}
    listing = atelier("pipeline", "list", "-w", "lab", "-o", "json").json()
    assert [p["name"] for p in listing["published"]] == ["hello"]
    assert [e["name"] for e in listing["endpoints"]] == ["hello-ep"]

    ran = atelier(
        "pipeline", "run", "hello", "-e", "cli-pipes", "-w", "lab", "--param", "who=cli", "--wait"
    )
    assert ran.code == 0, ran.stderr
    assert "hello cli" in ran.stdout
    run_id = ran.stdout.split()[2]
    shown = atelier("pipeline", "show", run_id, "-w", "lab", "-o", "json").json()
    assert shown["run"]["status"] == "Completed"
    assert [s["step"] for s in shown["steps"]] == ["hello"]
    table = atelier("pipeline", "show", run_id, "-w", "lab")
    assert "hello" in table.stdout

    again = atelier("pipeline", "run", "hello-ep", "-e", "cli-pipes", "-w", "lab", "-p", "who=cli")
    assert again.code == 0, again.stderr


def test_bad_input(atelier: Atelier, cli_cwd: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    assert_one_line_error(
        atelier("pipeline", "run", "nothing", "-e", "x", "-w", "lab"), 3, "no active published"
    )
    assert_one_line_error(
        atelier("pipeline", "publish", "missing.py", "--name", "n", "-w", "lab"), 3, "missing.py"
    )
    (cli_cwd / "empty.py").write_text("x = 1\n")
    assert_one_line_error(
        atelier("pipeline", "publish", "empty.py", "--name", "n", "-w", "lab"), 2, "build(ws)"
    )
