"""The CLI starts without the heavy parts: they load only when a command needs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("sqlalchemy", "alembic", "fastapi", "ray")
#: what a run's script does not need, loaded by the functions that use them: each costs
#: every script and CLI call CPU at start (httpx alone brings ssl, email, rich, pygments, click)
DEFERRED = ("httpx", "rich", "pygments", "click", "pathspec", "yaml", "importlib.metadata", "ssl")
#: the CLI needs rich and click (typer draws its help with them), not the others
CLI_DEFERRED = ("httpx", "pathspec", "yaml", "importlib.metadata", "ssl")


def _among(names: tuple[str, ...], modules: list[str]) -> list[str]:
    """The modules that are one of ``names`` or inside one of them."""
    return sorted(m for m in modules if any(m == n or m.startswith(f"{n}.") for n in names))


def _imported_modules(*python_args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run Python with ``-X importtime`` and return the top-level packages it imported."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", *python_args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    names = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in completed.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return completed, names


HELP = [
    (["--help"], ["workspace", "experiment", "run", "environment", "compute"]),
    (["run", "submit", "--help"], ["--source-dir", "--no-follow", "--runconfig"]),
    (["environment", "--help"], ["register", "build"]),
    (["compute", "--help"], ["create", "attach", "update"]),
    (["workspace", "--help"], ["create", "list", "show", "delete"]),
    (["run", "list", "--help"], ["--experiment", "--order-by", "--include-children"]),
]

#: in one interpreter: import the CLI, then print each help in turn (as the script does,
#: exiting through SystemExit), and report the heavy modules loaded after each step
PROBE = """
import contextlib, io, json, sys
import atelier
light = list(sys.modules)
from atelier.cli.main import app, main
cli = list(sys.modules)
heavy = lambda: [m for m in {heavy!r} if m in sys.modules]
steps = [{{"args": None, "heavy": heavy(), "code": 0, "out": "", "light": light, "cli": cli}}]
for args in {helps!r}:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            app(args, prog_name="atelier")
        except SystemExit as exit_:
            code = exit_.code
    steps.append({{"args": args, "heavy": heavy(), "code": code, "out": out.getvalue()}})
print(json.dumps(steps))
"""


def test_importing_the_cli_and_its_help_load_no_heavy_module(cli_home: Path) -> None:
    code = PROBE.format(heavy=HEAVY, helps=[args for args, _ in HELP])
    completed, imported = _imported_modules("-c", code)
    assert completed.returncode == 0, completed.stderr
    assert "typer" in imported  # the probe sees imports at all
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))
    steps = json.loads(completed.stdout)
    assert [step["args"] for step in steps] == [None, *(args for args, _ in HELP)]
    assert "atelier.sdk.tracking.run" in steps[0]["light"]  # the probe sees modules at all
    assert _among(DEFERRED, steps[0]["light"]) == []
    assert _among(CLI_DEFERRED, steps[0]["cli"]) == []
    for step, (_, expected) in zip(steps[1:], HELP, strict=True):
        assert (step["code"], step["heavy"]) == (0, []), step
        for word in expected:
            assert word in step["out"], (step["args"], word)


def test_a_command_does_load_the_store(cli_home: Path) -> None:
    """The guard above is not vacuous: running a real command imports SQLAlchemy."""
    completed, imported = _imported_modules(
        "-m", "atelier.cli.main", "workspace", "show", "no-such-workspace"
    )
    assert completed.returncode == 3
    assert "sqlalchemy" in imported
    assert (cli_home / "atelier.db").is_file()


#: ``import atelier`` as if one module on its path (atelier.core.status) began with
#: ``import httpx``: a finder runs that import just before the module's own code
INJECTED = """
import importlib.machinery, json, sys

class AddImport(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "atelier.core.status":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        original = spec.loader.exec_module
        def exec_module(module):
            import httpx
            original(module)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, AddImport)
import atelier
print(json.dumps(list(sys.modules)))
"""


def test_the_light_import_guard_sees_a_module_that_imports_httpx_at_its_top() -> None:
    """The guard above is not vacuous: an ``import httpx`` on the path is caught."""
    completed = subprocess.run(
        [sys.executable, "-c", INJECTED], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    caught = _among(DEFERRED, json.loads(completed.stdout))
    assert {"httpx", "ssl", "rich", "click"} <= set(caught), caught


#: call the CLI as the ``atelier`` script does, then print the ``atelier.cli`` modules loaded
CALL = """
import json, sys
from atelier.cli.main import main
sys.argv[0] = "atelier"  # the name the script has, which completion's variable follows
try:
    main()
except SystemExit as exit_:
    code = exit_.code
print(json.dumps([code, sorted(m for m in sys.modules if m.startswith("atelier.cli."))]))
"""


def _cli_modules_loaded(*args: str, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """Run the CLI with ``args`` in a new interpreter; return what it printed (before the
    probe's own line) and the ``atelier.cli`` modules it imported."""
    completed = subprocess.run(
        [sys.executable, "-c", CALL, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    *printed, last = completed.stdout.splitlines()
    code, modules = json.loads(last)
    assert code in (0, None), completed.stderr[-2000:]
    return "\n".join(printed), set(modules)


def test_a_call_that_names_a_command_loads_only_that_command(cli_home: Path) -> None:
    from atelier.cli.main import COMMANDS

    every = {module for module, _ in COMMANDS.values()}
    out, loaded = _cli_modules_loaded("workspace", "--help")
    assert {"atelier.cli.workspace", "atelier.cli.member"} <= loaded
    assert "member" in out  # the workspace group keeps its own sub-command
    assert loaded & every == {"atelier.cli.workspace"}, sorted(loaded & every)
    # help at the root lists every command, so it loads them all
    out, loaded = _cli_modules_loaded("--help")
    assert every <= loaded, sorted(every - loaded)
    for name in COMMANDS:
        assert name in out, name


def test_shell_completion_sees_every_command(cli_home: Path) -> None:
    """Completion runs the script with the words typed so far in its environment, whatever
    its own arguments: it always builds the whole tree."""
    env = {**os.environ, "_ATELIER_COMPLETE": "complete_bash", "COMP_CWORD": "1"}
    out, loaded = _cli_modules_loaded(env={**env, "COMP_WORDS": "atelier wor"})
    assert "workspace" in out.split()
    out, loaded = _cli_modules_loaded("run", env={**env, "COMP_WORDS": "atelier mod"})
    assert "model" in out.split()
    assert "atelier.cli.model" in loaded
