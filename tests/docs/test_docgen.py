"""The documentation's generated sections (tools/docgen.py) hold what the code holds."""

from __future__ import annotations

import re

import pytest
from tools import docgen


@pytest.mark.one_database
def test_the_cli_reference_names_every_command_and_option() -> None:
    page = docgen.cli_reference()
    paths = [path for path, _ in docgen._commands()]
    assert len(paths) > 50
    for path in paths:
        assert f"`{path}`" in page, path
    run_list = page.split("`atelier run list`", 1)[1].split("\n#", 1)[0]
    assert "`--order-by`" in run_list and "`-o`" in run_list


@pytest.mark.one_database
def test_the_rest_reference_lists_every_route() -> None:
    document = docgen.openapi_document()
    page = docgen.rest_reference()
    for path, operations in document["paths"].items():
        for method in operations:
            assert re.search(rf"\| {method.upper()} \| `{re.escape(path)}` \|", page), path
    files = docgen.openapi_files()
    assert {"reference/openapi/index.html", "reference/openapi/openapi.json"} <= set(files)
    assert b"cdn" not in files["reference/openapi/index.html"].lower()


def test_code_lists_become_tables_and_an_unknown_marker_fails() -> None:
    from atelier.sdk.compute.curated import CATALOGUE

    filled = docgen.fill("a\n<!-- generate: curated-environments -->\nb\n")
    assert all(f"`{name}`" in filled for name in CATALOGUE)
    assert "`atelier.azureml.core`" not in docgen.azureml_modules()  # shown as azureml.core
    assert "| `azureml.core` |" in docgen.azureml_modules()
    with pytest.raises(KeyError, match="unknown generated section 'nothing'"):
        docgen.fill("<!-- generate: nothing -->\n")
