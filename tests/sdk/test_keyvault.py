"""The workspace key vault through the SDK, on SQLite and PostgreSQL: values round-trip,
never appear in the clear, and every bad input or wrong key is a typed error."""

from __future__ import annotations

import hashlib
import io
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from atelier import Experiment, NotFoundError, ValidationError, Workspace
from atelier.azureml.core import Keyvault as AzureKeyvault
from atelier.azureml.core.keyvault import Keyvault as KeyvaultAtItsPath
from atelier.client.registry import reset_backends
from atelier.core.errors import SecretKeyError
from atelier.sdk.keyvault import Keyvault
from atelier.sdk.tracking._offline import OfflineRun
from atelier.sdk.tracking.run import Run
from atelier.sdk.tracking.runconfig import ScriptRunConfig
from atelier.storage.secretbox import KEY_FILE_NAME, new_key_text
from atelier.store.models import Base
from tests.conftest import unique
from tests.sdk.conftest import embedded_only


def _value() -> str:
    return f"pw-{uuid.uuid4().hex}"


def test_set_get_list_delete(ws: Workspace) -> None:
    vault = ws.get_default_keyvault()
    assert isinstance(vault, Keyvault)
    assert AzureKeyvault is Keyvault is KeyvaultAtItsPath
    assert vault.list_secrets() == []
    first, second = _value(), _value()
    vault.set_secret("db-password", first)
    vault.set_secrets({"api_token": second, "Empty": ""})
    assert vault.get_secret("db-password") == first
    assert vault.get_secrets(["api_token", "db-password"]) == {
        "api_token": second,
        "db-password": first,
    }
    assert vault.get_secret("Empty") == ""
    listing = vault.list_secrets()
    assert [entry["name"] for entry in listing] == ["Empty", "api_token", "db-password"]
    assert set(listing[0]) == {"name", "createdTime", "updatedTime"}
    assert first not in repr(listing) and second not in repr(listing)

    replaced = _value()
    vault.set_secret("db-password", replaced)
    assert vault.get_secret("db-password") == replaced
    entry = next(e for e in vault.list_secrets() if e["name"] == "db-password")
    before = next(e for e in listing if e["name"] == "db-password")
    assert entry["createdTime"] == before["createdTime"]
    assert entry["updatedTime"] >= before["updatedTime"]

    vault.delete_secret("db-password")
    with pytest.raises(NotFoundError, match=r"'db-password' not found.*atelier secret set"):
        vault.get_secret("db-password")
    with pytest.raises(NotFoundError, match="db-password"):
        vault.delete_secret("db-password")


def test_secrets_belong_to_their_workspace(ws: Workspace) -> None:
    other = Workspace.create(unique("ws"))
    ws.get_default_keyvault().set_secret("shared-name", "mine")
    other.get_default_keyvault().set_secret("shared-name", "theirs")
    assert ws.get_default_keyvault().get_secret("shared-name") == "mine"
    assert other.get_default_keyvault().get_secret("shared-name") == "theirs"
    other.delete()
    with pytest.raises(NotFoundError, match="workspace"):
        other.get_default_keyvault().list_secrets()
    assert ws.get_default_keyvault().get_secret("shared-name") == "mine"


@pytest.mark.parametrize(
    "name", ["", "1starts-with-digit", "has space", "dots.no", "a/b", "../x", "x" * 128, None, 3]
)
def test_bad_names_are_refused_and_nothing_is_written(ws: Workspace, name: object) -> None:
    vault = ws.get_default_keyvault()
    with pytest.raises(ValidationError, match="invalid secret name"):
        vault.set_secrets({"good": "kept-out", name: "v"})  # type: ignore[dict-item]
    with pytest.raises(ValidationError, match="invalid secret name"):
        vault.get_secret(name)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="invalid secret name"):
        vault.delete_secret(name)  # type: ignore[arg-type]
    assert vault.list_secrets() == []


def test_bad_values_and_batches_are_refused(ws: Workspace) -> None:
    vault = ws.get_default_keyvault()
    with pytest.raises(ValidationError, match="must be a string"):
        vault.set_secret("n", 42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="bytes; the limit"):
        vault.set_secret("n", "x" * (64 * 1024 + 1))
    with pytest.raises(ValidationError, match="dict"):
        vault.set_secrets([("n", "v")])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at least one"):
        vault.set_secrets({})
    with pytest.raises(ValidationError, match="list of names"):
        vault.get_secrets("n")  # type: ignore[arg-type]
    assert vault.list_secrets() == []
    vault.set_secret("present", "v")
    with pytest.raises(NotFoundError, match="'absent-1', 'absent-2' not found"):
        vault.get_secrets(["present", "absent-1", "absent-2"])


def test_a_wrong_key_is_a_clear_error_and_listing_still_works(
    ws: Workspace, home: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    embedded_only(backend, "the key file of the embedded store's home")
    ws.get_default_keyvault().set_secret("token", "abc")
    assert (home / KEY_FILE_NAME).exists()
    monkeypatch.setenv("ATELIER_SECRET_KEY", new_key_text())
    reset_backends()
    vault = Workspace.get(ws.name).get_default_keyvault()
    with pytest.raises(SecretKeyError, match=r"encrypted with secret key .* ATELIER_SECRET_KEY"):
        vault.get_secret("token")
    assert [entry["name"] for entry in vault.list_secrets()] == ["token"]
    vault.set_secret("token", "new")  # setting it again under the new key recovers it
    assert vault.get_secret("token") == "new"


def test_a_key_file_with_loose_permissions_is_refused(
    ws: Workspace, home: Path, backend: str
) -> None:
    embedded_only(backend, "the key file of the embedded store's home")
    ws.get_default_keyvault().set_secret("token", "abc")
    (home / KEY_FILE_NAME).chmod(0o644)
    reset_backends()
    vault = Workspace.get(ws.name).get_default_keyvault()
    with pytest.raises(SecretKeyError, match="chmod 600"):
        vault.get_secret("token")
    with pytest.raises(SecretKeyError, match="chmod 600"):
        vault.set_secret("other", "x")
    assert [entry["name"] for entry in vault.list_secrets()] == ["token"]


def test_values_are_never_stored_in_the_clear(
    ws: Workspace, store_database: Any, store_homes: list[Path]
) -> None:
    value = _value()
    ws.get_default_keyvault().set_secret("db-password", value)
    rows = _stored_rows(store_database)
    assert any("db-password" in row for row in rows["secrets"])  # the secret's row is read
    for table, row in ((table, row) for table, found in rows.items() for row in found):
        assert value not in repr(row), table
        assert value.encode() not in b"".join(cell for cell in row if isinstance(cell, bytes))
    files = _stored_files(store_homes)
    for path in files:
        assert value.encode() not in path.read_bytes(), path


def _stored_rows(store_database: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the variant's database, by table name."""
    with store_database.session() as session:
        return {
            table.name: [tuple(row) for row in session.execute(select(table))]
            for table in Base.metadata.sorted_tables
        }


def _stored_files(store_homes: list[Path]) -> list[Path]:
    """The files of the variant's homes; among them the secret key that sealed the values
    (so a check over them looks where the data is)."""
    files = [found for home in store_homes for found in home.rglob("*") if found.is_file()]
    assert KEY_FILE_NAME in {path.name for path in files}, store_homes
    return files


def test_a_run_reads_secrets_through_its_context(ws: Workspace) -> None:
    ws.get_default_keyvault().set_secrets({"a": "1", "b": "2"})
    with Experiment(ws, "uses-secrets").start_logging() as run:
        assert run.get_secret("a") == "1"
        assert run.get_secrets(["a", "b"]) == {"a": "1", "b": "2"}
        with pytest.raises(NotFoundError):
            run.get_secret("c")


def test_an_offline_run_reads_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ATELIER_RUN_ID", raising=False)
    run = Run.get_context()
    assert isinstance(run, OfflineRun)
    monkeypatch.setenv("DB_PASSWORD", "from-env")
    assert run.get_secret("DB_PASSWORD") == "from-env"
    assert run.get_secrets(["DB_PASSWORD"]) == {"DB_PASSWORD": "from-env"}
    monkeypatch.delenv("DB_PASSWORD")
    with pytest.raises(NotFoundError, match=r"offline run.*environment"):
        run.get_secret("DB_PASSWORD")
    with pytest.raises(ValidationError):
        run.get_secret("bad name")


USES_SECRET = """
    import hashlib, sys
    from atelier import Run
    run = Run.get_context()
    value = run.get_secret("db-password")
    both = run.get_secrets(["db-password", "api-token"])
    ok = hashlib.sha256(value.encode()).hexdigest() == sys.argv[1] and both["db-password"] == value
    run.log("secret_ok", 1.0 if ok else 0.0)
    print("used the secret", flush=True)
"""


def test_a_submitted_run_uses_a_secret_that_leaks_nowhere(
    ws: Workspace, tmp_path: Path, store_database: Any, store_homes: list[Path]
) -> None:
    value, token = _value(), _value()
    ws.get_default_keyvault().set_secrets({"db-password": value, "api-token": token})
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "train.py").write_text(textwrap.dedent(USES_SECRET))
    digest = hashlib.sha256(value.encode()).hexdigest()
    config = ScriptRunConfig(source_directory=folder, script="train.py", arguments=[digest])
    run = Experiment(ws, "secret-jobs").submit(config)
    details = run.wait_for_completion(raise_on_error=True)
    assert run.get_metrics()["secret_ok"] == 1.0
    log = io.StringIO()
    run.stream_logs(out=log, follow=False)
    assert "used the secret" in log.getvalue()
    downloaded = run.download_files(output_directory=tmp_path / "files")
    assert downloaded
    seen = [log.getvalue(), repr(details), repr(run.get_details()), repr(run.get_metrics())]
    runs = list(Run.list(Experiment(ws, "secret-jobs")))
    assert [r.id for r in runs] == [run.id]
    seen += [repr(r.get_details()) for r in runs]
    seen.append(repr(ws.get_default_keyvault().list_secrets()))
    seen += [path.read_text(errors="replace") for path in downloaded]
    for text in seen:
        assert value not in text and token not in text
    rows = _stored_rows(store_database)
    assert {"api-token", "db-password"} <= {row_name for row in rows["secrets"] for row_name in row}
    for table, row in ((table, row) for table, found in rows.items() for row in found):
        assert value not in repr(row) and token not in repr(row), table
    for path in _stored_files(store_homes):
        data = path.read_bytes()
        assert value.encode() not in data and token.encode() not in data, path


def test_concurrent_sets_of_a_new_name_all_succeed(ws: Workspace) -> None:
    from concurrent.futures import ThreadPoolExecutor

    vault = ws.get_default_keyvault()
    values = [f"v{i}" for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda value: vault.set_secret("raced", value), values))
    assert vault.get_secret("raced") in values
    assert [entry["name"] for entry in vault.list_secrets()] == ["raced"]
