"""The error tree: one module holds every class, one table maps codes back to classes,
and each exit code means one thing."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from atelier import AtelierError, NotFoundError, RunFailedError
from atelier.client.http.transport import error_from
from atelier.core.errors import ERRORS_BY_CODE, EXIT_CODES, WebserviceError
from atelier.server.problems import problem, status_of, wire_code

# Imports every atelier module (those whose optional dependencies are missing excepted)
# in a fresh interpreter, then prints every AtelierError subclass that exists.
_WALK = """
import importlib, json, pkgutil, sys
import atelier
from atelier.core.errors import AtelierError

skipped = []
for info in pkgutil.walk_packages(atelier.__path__, "atelier."):
    if info.name.startswith("atelier.store.migrations."):
        continue  # Alembic's scripts, which only run inside Alembic
    try:
        importlib.import_module(info.name)
    except ImportError as exc:
        if (exc.name or "").split(".")[0] == "atelier":
            raise
        skipped.append(info.name)
found, pending = [], [AtelierError]
while pending:
    cls = pending.pop()
    found.append([cls.__module__, cls.__qualname__, cls.code])
    pending.extend(cls.__subclasses__())
json.dump({"found": found, "skipped": skipped}, sys.stdout)
"""


def _every_error_class() -> list[list[str]]:
    completed = subprocess.run(
        [sys.executable, "-c", _WALK], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr
    found: list[list[str]] = json.loads(completed.stdout)["found"]
    return found


def test_every_error_class_is_in_the_table_and_in_core_errors() -> None:
    found = _every_error_class()
    assert len(found) >= len(ERRORS_BY_CODE)
    outside = [entry for entry in found if entry[0] != "atelier.core.errors"]
    assert not outside, f"error classes outside atelier.core.errors: {outside}"
    missing = [entry for entry in found if entry[2] not in ERRORS_BY_CODE]
    assert not missing, f"error classes missing from ERRORS_BY_CODE: {missing}"
    assert {qualname for _, qualname, _ in found} == {
        cls.__qualname__ for cls in ERRORS_BY_CODE.values()
    }


def test_codes_are_unique_and_name_their_class() -> None:
    classes = list(ERRORS_BY_CODE.values())
    assert len({cls.code for cls in classes}) == len(classes)
    assert all(ERRORS_BY_CODE[cls.code] is cls for cls in classes)


def _declarer(cls: type[AtelierError]) -> type[AtelierError]:
    """The class in ``cls``'s MRO whose own body sets the ``exit_code`` it has."""
    for base in cls.__mro__:
        if "exit_code" in vars(base):
            assert issubclass(base, AtelierError)
            return base
    raise AssertionError(f"{cls} has no exit_code")


def test_each_exit_code_means_one_thing() -> None:
    """Every class has an exit code listed in EXIT_CODES, set by a class listed under that
    code (so a class sharing a code either inherits it or is named there on purpose), and
    no class is listed under two codes."""
    listed = [cls for _, setters in EXIT_CODES.values() for cls in setters]
    assert len(listed) == len(set(listed))
    for code, (meaning, setters) in EXIT_CODES.items():
        assert meaning
        assert all(vars(cls).get("exit_code") == code for cls in setters), (code, setters)
    for cls in ERRORS_BY_CODE.values():
        assert cls.exit_code in EXIT_CODES, cls
        assert _declarer(cls) in EXIT_CODES[cls.exit_code][1], cls


def test_a_run_failure_and_a_web_service_failure_exit_differently() -> None:
    assert RunFailedError.exit_code != WebserviceError.exit_code


def _through_the_wire(exc: AtelierError) -> AtelierError:
    """What the HTTP client raises for ``exc`` answered by the server's problem handler."""
    status, title = status_of(exc)
    answer = problem(status, title, exc.message, wire_code(exc))
    response = httpx.Response(
        answer.status_code, content=bytes(answer.body), headers=dict(answer.headers)
    )
    return error_from(response)


@pytest.mark.parametrize("cls", list(ERRORS_BY_CODE.values()), ids=list(ERRORS_BY_CODE))
def test_each_code_comes_back_as_its_class(cls: type[AtelierError]) -> None:
    back = _through_the_wire(cls("what was wrong; what to do"))
    assert type(back) is cls
    assert back.message == "what was wrong; what to do"


def test_an_unlisted_subclass_travels_as_its_nearest_listed_ancestor() -> None:
    class PluginNotFoundError(NotFoundError):
        code = "plugin_not_found"

    back = _through_the_wire(PluginNotFoundError("no plugin 'x'"))
    assert type(back) is NotFoundError
