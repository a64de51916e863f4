"""The documentation's generated parts, made from the code at build time.

A page holds a marker line ``<!-- generate: NAME -->``; the MkDocs hook
(``tools/mkdocs_hooks.py``) replaces it with ``GENERATORS[NAME]()``, so no page keeps a
hand-written copy of the CLI, the REST routes or the code's own lists.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MARKER = re.compile(r"^<!-- generate: ([a-z-]+) -->$", re.MULTILINE)


def _cell(text: object) -> str:
    """One Markdown table cell: a single line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _commands() -> Iterator[tuple[str, Any]]:
    """Every ``atelier`` command and group, depth first, sorted by name."""
    import typer.main

    from atelier.cli.main import app

    def walk(path: str, command: Any) -> Iterator[tuple[str, Any]]:
        yield path, command
        for name in sorted(getattr(command, "commands", {})):
            yield from walk(f"{path} {name}", command.commands[name])

    yield from walk("atelier", typer.main.get_command(app))


def _context(path: str, command: Any) -> Any:
    """A Click context for ``command`` (Typer brings its own Click)."""
    return type(command).context_class(command, info_name=path)


def _usage(path: str, command: Any) -> str:
    pieces = command.collect_usage_pieces(_context(path, command))
    return re.sub(r"\{(\w+)\}", lambda m: m[1].upper(), " ".join([path, *pieces]))


def _option_row(param: Any, context: Any) -> str:
    if param.param_type_name == "argument":
        names = f"`{param.name.upper()}`"
        kind = "argument" + ("" if param.required else ", optional")
    else:
        names = ", ".join(f"`{name}`" for name in [*param.opts, *param.secondary_opts])
        kind = "flag" if param.is_flag else _cell(param.display_type(context).strip("<>"))
    default = getattr(param.default, "value", param.default)
    shown = "" if default in (None, False, (), []) or callable(default) else f"`{default}`"
    return f"| {names} | {kind} | {shown} | {_cell(param.help or '')} |"


def cli_reference() -> str:
    """Every command of the ``atelier`` CLI: usage, help and options, from the Typer app."""
    out: list[str] = []
    for path, command in _commands():
        if getattr(command, "hidden", False):
            continue
        level = "#" * min(2 + path.count(" "), 4)
        out += [f"{level} `{path}`", ""]
        help_text = (command.help or "").split("\f", 1)[0].strip()
        if help_text:
            out += [help_text, ""]
        if hasattr(command, "commands"):
            names = ", ".join(f"`{name}`" for name in sorted(command.commands))
            out += [f"Commands: {names}.", ""]
            continue
        out += ["```text", _usage(path, command), "```", ""]
        params = [p for p in command.params if p.name != "help" and not p.hidden]
        if params:
            out += ["| option | kind | default | help |", "| --- | --- | --- | --- |"]
            context = _context(path, command)
            out += [_option_row(param, context) for param in params]
            out.append("")
    return "\n".join(out)


def openapi_document() -> dict[str, Any]:
    """The server's OpenAPI document, from a FastAPI app over a throwaway home."""
    from atelier.core.settings import load_settings
    from atelier.server.app import create_app

    with tempfile.TemporaryDirectory(prefix="atelier-docs-") as home:
        saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("ATELIER_")}
        try:
            document: dict[str, Any] = create_app(load_settings(home)).openapi()
        finally:
            os.environ.update(saved)
    return document


def rest_reference() -> str:
    """The REST routes from the OpenAPI document: method, path, summary and the role rule,
    grouped by tag."""
    document = openapi_document()
    by_tag: dict[str, list[tuple[str, str, str]]] = {}
    for path, operations in sorted(document["paths"].items()):
        for method, operation in operations.items():
            tag = (operation.get("tags") or ["other"])[0]
            summary = operation.get("summary") or operation.get("operationId", "")
            description = (operation.get("description") or "").split("\n\n", 1)[0]
            by_tag.setdefault(tag, []).append((method.upper(), path, description or summary))
    out = [
        f"{sum(len(rows) for rows in by_tag.values())} operations in "
        f"{len(document['paths'])} paths (OpenAPI {document['openapi']}).",
        "",
    ]
    for tag in sorted(by_tag):
        out += [f"## {tag}", "", "| method | path | what it does |", "| --- | --- | --- |"]
        out += [f"| {m} | `{p}` | {_cell(d)} |" for m, p, d in by_tag[tag]]
        out.append("")
    return "\n".join(out)


def curated_environments() -> str:
    """The curated environment names Atelier knows, with what each installs."""
    from atelier.sdk.compute.curated import CATALOGUE, CURATED_PREFIXES

    out = ["| curated name | Python | pip packages |", "| --- | --- | --- |"]
    for name, (python, pip) in sorted(CATALOGUE.items()):
        out.append(f"| `{name}` | {python} | {_cell(', '.join(pip) or '(none)')} |")
    prefixes = " and ".join(f"`{p}`" for p in CURATED_PREFIXES)
    out += ["", f"Names starting with {prefixes} are reserved for this catalogue."]
    return "\n".join(out)


def azureml_modules() -> str:
    """Every ``atelier.azureml`` module and the public names it offers, i.e. what an
    ``azureml.…`` import finds after the one-line rewrite."""
    import atelier.azureml as root

    out = ["| azureml module | names |", "| --- | --- |"]
    names = [root.__name__] + [
        info.name for info in pkgutil.walk_packages(root.__path__, f"{root.__name__}.")
    ]
    for name in sorted(names):
        module = importlib.import_module(name)
        public = getattr(module, "__all__", None)
        if public is None:
            public = [
                n
                for n, value in vars(module).items()
                if not n.startswith("_") and getattr(value, "__module__", "").startswith("atelier")
            ]
        if public:
            shown = name.removeprefix("atelier.")
            out.append(f"| `{shown}` | {_cell(', '.join(sorted(public)))} |")
    return "\n".join(out)


def exit_codes() -> str:
    """The CLI's exit codes and the error classes behind each."""
    from atelier.core.errors import EXIT_CODES

    out = ["| exit code | meaning | errors |", "| --- | --- | --- |"]
    for code, (meaning, classes) in sorted(EXIT_CODES.items()):
        names = ", ".join(f"`{c.__name__}`" for c in classes)
        out.append(f"| {code} | {_cell(meaning)} | {names} |")
    return "\n".join(out)


def changelog() -> str:
    """CHANGELOG.md at the repository's root, where release tooling expects it."""
    return (Path(__file__).resolve().parents[1] / "CHANGELOG.md").read_text(encoding="utf-8")


GENERATORS: dict[str, Callable[[], str]] = {
    "changelog": changelog,
    "cli-reference": cli_reference,
    "rest-reference": rest_reference,
    "curated-environments": curated_environments,
    "azureml-modules": azureml_modules,
    "exit-codes": exit_codes,
}


def fill(markdown: str) -> str:
    """``markdown`` with each marker replaced by its generated text; an unknown marker is a
    ``KeyError`` naming it (the build fails rather than publish a hole)."""

    def generate(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise KeyError(f"unknown generated section {name!r}; known: {sorted(GENERATORS)}")
        return GENERATORS[name]()

    return MARKER.sub(generate, markdown)


def openapi_files() -> dict[str, bytes]:
    """``reference/openapi/``: the OpenAPI document and an offline Swagger UI page over it,
    with the viewer's files from the package (no CDN), by path in the site."""
    from fastapi.openapi.docs import get_swagger_ui_html

    from atelier.server.docs_assets import ASSET_TYPES, ASSETS

    page = get_swagger_ui_html(
        openapi_url="openapi.json",
        title="Atelier REST API",
        swagger_js_url="swagger-ui-bundle.js",
        swagger_css_url="swagger-ui.css",
        swagger_favicon_url="favicon-32x32.png",
    )
    files = {name: (ASSETS / name).read_bytes() for name in ASSET_TYPES}
    files["openapi.json"] = json.dumps(openapi_document(), indent=1).encode()
    files["index.html"] = bytes(page.body)
    return {f"reference/openapi/{name}": content for name, content in files.items()}
