"""What a shell sees of ``atelier``: exit code, stdout, stderr, and checks on them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Result:
    """What a shell sees of one ``atelier`` invocation."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.code == 0, self.stderr
        return json.loads(self.stdout)

    @property
    def error_lines(self) -> list[str]:
        return self.stderr.splitlines()


Atelier = Callable[..., Result]


def assert_one_line_error(result: Result, code: int, *fragments: str) -> None:
    """The shell got exit ``code`` and exactly ``error: ...`` on stderr, without a traceback."""
    assert result.code == code, (result.code, result.stdout, result.stderr)
    assert len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
