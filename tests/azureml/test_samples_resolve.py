"""The Measure of azureml porting: every azureml name the sample scripts in
``tests/azureml_samples`` import, and every attribute they take from an imported class or
module, resolves under ``atelier.azureml``."""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "azureml_samples"


@dataclass(frozen=True)
class Use:
    script: str
    line: int
    module: str
    name: str | None  # None: the module itself
    attribute: str | None = None

    def __str__(self) -> str:
        what = self.module + (f".{self.name}" if self.name else "")
        what += f".{self.attribute}" if self.attribute else ""
        return f"{self.script}:{self.line}: {what}"


def _uses(path: Path) -> list[Use]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    uses: list[Use] = []
    bound: dict[str, tuple[str, str | None]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "azureml":
            for alias in node.names:
                uses.append(Use(path.name, node.lineno, node.module or "", alias.name))
                bound[alias.asname or alias.name] = (node.module or "", alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "azureml":
                    uses.append(Use(path.name, node.lineno, alias.name, None))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
        ):
            module, name = bound[node.value.id]
            uses.append(Use(path.name, node.lineno, module, name, node.attr))
    return uses


def _all_uses() -> list[Use]:
    scripts = sorted(SAMPLES.glob("*.py"))
    assert scripts, f"no sample scripts in {SAMPLES}"
    return [use for script in scripts for use in _uses(script)]


def _resolves(use: Use) -> bool:
    try:
        target: object = importlib.import_module("atelier." + use.module)
    except ModuleNotFoundError:
        return False
    for part in (use.name, use.attribute):
        if part is None:
            continue
        if not hasattr(target, part):
            try:  # a submodule imported by name: from azureml.core import webservice
                target = importlib.import_module(f"atelier.{use.module}.{part}")
                continue
            except ModuleNotFoundError:
                return False
        target = getattr(target, part)
    return True


def test_the_samples_use_many_azureml_names() -> None:
    uses = _all_uses()
    assert len({(u.module, u.name) for u in uses}) >= 35
    assert len({(u.module, u.name, u.attribute) for u in uses if u.attribute}) >= 15


def test_every_azureml_name_of_the_samples_resolves_under_atelier() -> None:
    missing = [str(use) for use in _all_uses() if not _resolves(use)]
    assert not missing, "names that do not resolve under atelier.azureml:\n" + "\n".join(missing)


def test_a_name_azureml_never_had_does_not_resolve(tmp_path: Path) -> None:
    script = tmp_path / "bad.py"
    script.write_text("from azureml.core import NoSuchThing\nfrom azureml.nope import X\n")
    assert [_resolves(use) for use in _uses(script)] == [False, False]


@pytest.mark.parametrize("script", sorted(p.name for p in SAMPLES.glob("*.py")))
def test_each_sample_is_valid_python(script: str) -> None:
    compile((SAMPLES / script).read_text(encoding="utf-8"), script, "exec")
