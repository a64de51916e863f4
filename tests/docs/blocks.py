"""The fenced code blocks of a documentation page, as a test runs them.

````python``, ````bash`` and ````sh`` blocks run; a block meant to be read, not run, says so
with ````{.bash .notest}`` (rendered as bash by MkDocs); ````text`` and ````mermaid`` are
never code. Anything else is an error, so no block is skipped by a typo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
RUN = {"python": "python", "bash": "bash", "sh": "bash"}
READ_ONLY = {"text", "mermaid", "json", "yaml", "toml", "ini", "console", ""}


@dataclass(frozen=True)
class Block:
    language: str  # "python" or "bash"
    code: str
    line: int  # where the fence opens, 1-based


def page_blocks(path: Path) -> list[Block]:
    """The blocks of ``path`` that run, in page order; ``ValueError`` for a fence whose
    language is neither runnable, read-only nor marked ``.notest``."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        info = match.group(1).strip()
        line = text.count("\n", 0, match.start()) + 1
        if info.startswith("{"):
            classes = info.strip("{} ").split()
            if ".notest" not in classes:
                raise ValueError(f"{path.name}:{line}: {info!r} runs nothing; add .notest")
            continue
        if info in READ_ONLY:
            continue
        if info not in RUN:
            raise ValueError(f"{path.name}:{line}: a {info!r} block: mark it {{.{info} .notest}}")
        blocks.append(Block(RUN[info], match.group(2), line))
    return blocks
