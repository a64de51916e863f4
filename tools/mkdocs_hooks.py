"""MkDocs hooks (``hooks:`` in mkdocs.yml): fill each page's generated sections from the
code (tools/docgen.py) and write the OpenAPI document with its offline viewer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import docgen  # noqa: E402


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return docgen.fill(markdown)


def on_post_build(config: Any, **kwargs: Any) -> None:
    docgen.write_openapi(Path(config["site_dir"]))
