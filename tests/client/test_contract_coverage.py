"""Every client protocol has a contract class, and both backends run every contract class."""

from __future__ import annotations

import inspect

from atelier.client import api
from tests.client import test_embedded, test_http
from tests.client.abstract import assets, automation, endpoints, tracking

#: protocols tested inside another protocol's contract (a datastore's files come from it)
COVERED_BY = {"DatastoreFilesAPI": "DatastoreContract", "EndpointReportingAPI": "ReportingContract"}
#: protocols only an in-process backend has (a scheduler runs beside its database)
EMBEDDED_ONLY = {"SchedulingContract"}


def _contracts() -> set[str]:
    return {
        name
        for module in (tracking, assets, endpoints, automation)
        for name, _ in inspect.getmembers(module, inspect.isclass)
        if name.endswith("Contract")
    }


def test_every_protocol_has_a_contract_class() -> None:
    protocols = [name for name in api.__all__ if name.endswith("API")]
    expected = {COVERED_BY.get(name, name.removesuffix("API") + "Contract") for name in protocols}
    assert len(protocols) == 20
    assert expected <= _contracts()


def test_both_backends_run_every_contract_class() -> None:
    for module, exempt in ((test_embedded, set()), (test_http, EMBEDDED_ONLY)):
        opted_in = {
            base.__name__
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if cls.__name__.startswith("Test")
            for base in cls.__mro__[1:]
        }
        assert _contracts() - exempt <= opted_in, module.__name__
