"""MkDocs hooks (``hooks:`` in mkdocs.yml): fill each page's generated sections from the
code (tools/docgen.py) and add the OpenAPI document with its offline viewer to the site."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import docgen


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for path, content in docgen.openapi_files().items():
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return docgen.fill(markdown)
