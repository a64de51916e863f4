"""One contract for every datastore kind: a local folder, S3 (moto) and Azure Blob (Azurite)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from atelier import (
    AlreadyExistsError,
    ConflictError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    ValidationError,
    Workspace,
)
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.data.datastore import Datastore
from tests.helpers.object_stores import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    Endpoint,
    azurite,
    free_port,
    moto_s3,
)
from tests.sdk.conftest import embedded_only

__all__ = ["azurite", "moto_s3"]  # session fixtures used below


@pytest.fixture
def database() -> str:
    """Datastore behaviour does not depend on the metadata database: SQLite is enough."""
    return "sqlite"


def _tree(root: Path) -> Path:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.csv").write_text("x,y\n1,2\n")
    (root / "b.txt").write_text("hello\n")
    (root / "sub" / "c.csv").write_text("x,y\n3,4\n")
    (root / "sub" / "deeper" / "d.csv").write_text("x,y\n5,6\n")
    return root


class DatastoreContract:
    """What every datastore kind does; subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def store(self, ws: Workspace) -> Datastore:
        raise NotImplementedError

    def test_upload_list_and_download_round_trip(self, store: Datastore, tmp_path: Path) -> None:
        source = _tree(tmp_path / "src")
        store.upload(source, target_path="data", show_progress=False)
        assert store.list_files("data/**") == [
            "data/a.csv",
            "data/b.txt",
            "data/sub/c.csv",
            "data/sub/deeper/d.csv",
        ]
        assert store.list_files("data/**/*.csv") == [
            "data/a.csv",
            "data/sub/c.csv",
            "data/sub/deeper/d.csv",
        ]
        assert store.list_files("data/*.csv") == ["data/a.csv"]
        count = store.download(tmp_path / "out", prefix="data/sub", show_progress=True)
        assert count == 2
        assert (tmp_path / "out" / "data" / "sub" / "deeper" / "d.csv").read_text() == "x,y\n5,6\n"

    def test_overwrite_false_keeps_existing_files(self, store: Datastore, tmp_path: Path) -> None:
        one = tmp_path / "one.txt"
        one.write_text("first")
        store.upload_files([one], target_path="keep", show_progress=False)
        one.write_text("second")
        store.upload_files([one], target_path="keep", show_progress=False)
        store.download(tmp_path / "a", prefix="keep", show_progress=False)
        assert (tmp_path / "a" / "keep" / "one.txt").read_text() == "first"
        store.upload_files([one], target_path="keep", overwrite=True, show_progress=False)
        store.download(tmp_path / "b", prefix="keep", show_progress=False)
        assert (tmp_path / "b" / "keep" / "one.txt").read_text() == "second"

    def test_upload_files_keeps_paths_below_relative_root(
        self, store: Datastore, tmp_path: Path
    ) -> None:
        source = _tree(tmp_path / "src")
        store.upload_files(
            [source / "sub" / "c.csv", source / "a.csv"],
            relative_root=source,
            target_path="rel",
            show_progress=False,
        )
        assert store.list_files("rel") == ["rel/a.csv", "rel/sub/c.csv"]

    def test_an_interrupted_upload_leaves_nothing_visible(
        self, store: Datastore, tmp_path: Path
    ) -> None:
        source = _tree(tmp_path / "src")
        files = [(f"half/{p.name}", p) for p in sorted(source.rglob("*.csv"))]

        def interrupt(done: int, total: int, current: str) -> None:
            if current.endswith("c.csv"):
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            store._files().upload_files(files, progress=interrupt)
        assert store.list_files("half") == []
        assert store.list_files("**") == []  # the staging area is never listed

    def test_paths_that_match_nothing_or_escape_are_refused(
        self, store: Datastore, tmp_path: Path
    ) -> None:
        assert store.list_files("nothing/**") == []
        with pytest.raises(NotFoundError, match="no files below 'nothing'"):
            store.download(tmp_path / "x", prefix="nothing", show_progress=False)
        with pytest.raises(ValidationError, match="escapes"):
            store.list_files("../outside")

    @pytest.mark.slow  # reads tables from each store kind
    def test_datasets_read_and_version_the_datastore_files(
        self, store: Datastore, ws: Workspace, tmp_path: Path
    ) -> None:
        store.upload(_tree(tmp_path / "src"), "data", show_progress=False)
        table = Dataset.Tabular.from_delimited_files((store, "data/**/*.csv"), include_path=True)
        frame = table.to_pandas_dataframe()
        assert frame["x"].tolist() == [1, 3, 5]
        assert frame["Path"].tolist() == ["a.csv", "sub/c.csv", "sub/deeper/d.csv"]
        files = Dataset.File.from_files(store.path("data/sub"))
        assert files.to_path() == ["/c.csv", "/deeper/d.csv"]
        version = files.register(ws, f"sub-{store.name}")
        written = version.download(tmp_path / "dl")
        assert Path(written[1]).read_text() == "x,y\n5,6\n"
        changed = tmp_path / "c.csv"
        changed.write_text("x,y\n30,40\n")
        store.upload_files([changed], target_path="data/sub", overwrite=True, show_progress=False)
        with pytest.raises(InvalidStateError, match=r"changed since it was registered"):
            version.to_path()

    def test_listing_and_errors_never_show_credentials(self, store: Datastore) -> None:
        text = repr(store.serialize()) + repr(store)
        assert AZURITE_KEY not in text
        assert "secret-key" not in text

    def test_register_twice_needs_overwrite_and_unregister_forgets(
        self, store: Datastore, ws: Workspace
    ) -> None:
        assert store.name in ws.datastores
        assert Datastore.get(ws, store.name) == store
        store.unregister()
        with pytest.raises(NotFoundError, match="atelier datastore list"):
            Datastore.get(ws, store.name)


class TestLocalDatastore(DatastoreContract):
    @pytest.fixture(autouse=True)
    def _embedded_only(self, backend: str) -> None:
        """Skipped over HTTP before a workspace is made there (or the server started)."""
        embedded_only(backend, REFUSED_ON_A_SERVER)

    @pytest.fixture
    def store(self, ws: Workspace, tmp_path: Path) -> Datastore:
        return Datastore.register_local(ws, "local_store", tmp_path / "store")


class TestS3Datastore(DatastoreContract):
    @pytest.fixture
    def store(self, ws: Workspace, moto_s3: Endpoint) -> Datastore:
        return Datastore.register_s3(
            ws,
            "s3_store",
            bucket_name=f"bucket-{uuid.uuid4().hex[:8]}",
            prefix="root",
            access_key_id="testing",
            secret_access_key="secret-key",
            endpoint_url=moto_s3.url,
            create_if_not_exists=True,
        )

    def test_the_generic_register_takes_a_url(
        self, store: Datastore, ws: Workspace, moto_s3: Endpoint, tmp_path: Path
    ) -> None:
        store.upload(_tree(tmp_path / "src"), "shared", show_progress=False)
        same = Datastore.register(
            ws,
            "by_url",
            f"s3://{store.container_name}/root/shared",
            credentials={"access_key_id": "testing", "secret_access_key": "secret-key"},
            endpoint_url=moto_s3.url,
        )
        assert same.datastore_type == "S3"
        assert same.list_files("*.csv") == ["a.csv"]


class TestAzureBlobDatastore(DatastoreContract):
    @pytest.fixture
    def store(self, ws: Workspace, azurite: Endpoint) -> Datastore:
        return Datastore.register_azure_blob_container(
            ws,
            "azure_store",
            container_name=f"container-{uuid.uuid4().hex[:8]}",
            account_name=AZURITE_ACCOUNT,
            account_key=AZURITE_KEY,
            endpoint=azurite.url,
            create_if_not_exists=True,
        )

    def test_wrong_key_names_the_datastore_never_the_secret(
        self, ws: Workspace, azurite: Endpoint
    ) -> None:
        wrong = "d3Jvbmcta2V5LXRoYXQtaXMtbm90LXRoZS1yZWFsLW9uZQ=="
        with pytest.raises(PermissionDeniedError) as caught:
            Datastore.register_azure_blob_container(
                ws,
                "wrong_key",
                container_name="whatever",
                account_name=AZURITE_ACCOUNT,
                account_key=wrong,
                endpoint=azurite.url,
            )
        assert "datastore 'wrong_key'" in caught.value.message
        assert wrong not in caught.value.message
        with pytest.raises(NotFoundError):
            Datastore.get(ws, "wrong_key")


# --- registration rules (no storage service needed) --------------------------------------
REFUSED_ON_A_SERVER = (
    "a server refuses local datastores (tests/server/test_data_routes.py); the S3 and "
    "Azure classes run the contract over HTTP"
)


def _elsewhere(ws: Workspace, backend: str, name: str, folder: Path, **kwargs: bool) -> Datastore:
    """A datastore needing no storage service: a local folder, or over HTTP (where a
    server refuses local folders) an unvalidated GCS bucket whose prefix is the folder's name."""
    if backend == "embedded":
        return Datastore.register_local(ws, name, folder, **kwargs)
    return Datastore.register_gcs(ws, name, "bucket", prefix=folder.name, validate=False, **kwargs)


def test_every_workspace_has_a_default_datastore(
    ws: Workspace, tmp_path: Path, backend: str
) -> None:
    default = ws.get_default_datastore()
    assert default.name == "workspaceblobstore"
    assert default.is_default
    other = _elsewhere(ws, backend, "mine", tmp_path / "mine")
    ws.set_default_datastore("mine")
    assert ws.get_default_datastore() == other
    assert not Datastore.get(ws, "workspaceblobstore").is_default
    with pytest.raises(ConflictError, match="default"):
        Datastore.get(ws, "mine").unregister()
    with pytest.raises(NotFoundError):
        ws.set_default_datastore("absent")


def test_the_default_datastore_stores_files(ws: Workspace, tmp_path: Path) -> None:
    source = _tree(tmp_path / "src")
    store = ws.get_default_datastore()
    store.upload(source, "x", show_progress=False)
    assert len(store.list_files("x/**")) == 4


def test_a_name_is_registered_once_unless_overwritten(
    ws: Workspace, tmp_path: Path, backend: str
) -> None:
    _elsewhere(ws, backend, "dup", tmp_path / "one")
    with pytest.raises(AlreadyExistsError, match="overwrite=True"):
        _elsewhere(ws, backend, "dup", tmp_path / "two")
    replaced = _elsewhere(ws, backend, "dup", tmp_path / "two", overwrite=True)
    assert replaced.url.endswith("two")
    with pytest.raises(ValidationError, match="invalid datastore name"):
        _elsewhere(ws, backend, "bad name!", tmp_path)
    with pytest.raises(ValidationError, match="unknown scheme"):
        Datastore.register(ws, "ftp", "ftp://host/x")


def test_unreachable_endpoint_says_so(ws: Workspace) -> None:
    port = free_port()
    with pytest.raises(StorageError, match=r"datastore 'gone': cannot reach"):
        Datastore.register_s3(
            ws,
            "gone",
            bucket_name="b",
            access_key_id="k",
            secret_access_key="never-shown",
            endpoint_url=f"http://127.0.0.1:{port}",
        )


def test_gcs_registration_is_validated(ws: Workspace) -> None:
    with pytest.raises(ValidationError, match="not JSON"):
        Datastore.register_gcs(ws, "gcs", "bucket", service_account_json="nope")
    with pytest.raises(ValidationError, match="service_account"):
        Datastore.register_gcs(ws, "gcs", "bucket", service_account_json='{"type": "user"}')
    store = Datastore.register_gcs(ws, "gcs", "bucket", prefix="p", project="x", validate=False)
    assert (store.datastore_type, store.url) == ("GoogleCloudStorage", "gs://bucket/p")


def test_azure_needs_a_key_or_token(ws: Workspace) -> None:
    with pytest.raises(ValidationError, match="account_key= or sas_token="):
        Datastore.register_azure_blob_container(ws, "az", "c", "acct")


def test_server_mode_refuses_local_datastores() -> None:
    from atelier.services.datastores import check_location

    with pytest.raises(PermissionDeniedError, match="embedded mode"):
        check_location("local", "/etc", server_mode=True, protected=[])
    with pytest.raises(PermissionDeniedError, match="server's own storage"):
        check_location("s3", "s3://srv/blobs/x", server_mode=True, protected=["s3://srv/blobs"])
    check_location("s3", "s3://other/x", server_mode=True, protected=["s3://srv/blobs"])
    check_location("local", "/anywhere", server_mode=False, protected=[])


def test_credentials_live_in_the_key_vault_and_leave_with_the_datastore(
    ws: Workspace, store_database: Any
) -> None:
    key = '{"type": "service_account", "private_key": "very-private"}'
    store = Datastore.register_gcs(
        ws, "gcs", "bucket", project="p", service_account_json=key, validate=False
    )
    assert store.serialize()["hasCredentials"] is True
    assert "very-private" not in repr(store.serialize())
    vault = ws._backend.secrets
    # kept sealed in the key vault's table, but only the backend itself reads them back
    assert vault.list(ws.name) == []
    with pytest.raises(NotFoundError):
        vault.get(ws.name, ["datastore-gcs"])
    assert "very-private" not in repr(Datastore.get(ws, "gcs").serialize())
    assert Datastore.get(ws, "gcs").serialize()["hasCredentials"] is True
    assert _sealed_secrets(store_database, ws.name) == 1
    store.unregister()
    assert vault.list(ws.name) == []
    assert _sealed_secrets(store_database, ws.name) == 0


def _sealed_secrets(database: Any, workspace: str) -> int:
    query = (
        "SELECT count(*) FROM secrets s JOIN workspaces w ON s.workspace_id = w.id "
        "WHERE w.name = :w"
    )
    with database.session() as session:
        return int(session.execute(text(query), {"w": workspace}).scalar_one())


KILLED_UPLOAD = """
import os, sys, time
from atelier import Workspace
from atelier.sdk.data.datastore import Datastore
ws = Workspace.get(sys.argv[1])
store = Datastore.get(ws, "killme")
files = [(f"big/{i}.bin", __import__("pathlib").Path(sys.argv[2]) / f"{i}.bin") for i in range(4)]
def slow(done, total, current):
    if current.endswith("2.bin"):
        print("half-way", flush=True)
        time.sleep(60)
store._files().upload_files(files, progress=slow)
"""


def test_a_killed_upload_leaves_nothing_visible(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import subprocess
    import sys

    embedded_only(
        backend, REFUSED_ON_A_SERVER + " (a cut-off upload to a server: test_data_routes)"
    )
    ws: Workspace = request.getfixturevalue("ws")  # skipped over HTTP before it is made there
    store = Datastore.register_local(ws, "killme", tmp_path / "store")
    source = tmp_path / "src"
    source.mkdir()
    for index in range(4):
        (source / f"{index}.bin").write_bytes(bytes([index]) * 100_000)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_UPLOAD, ws.name, str(source)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "half-way"
    child.kill()
    child.wait(timeout=30)
    child.stdout.close()
    assert store.list_files("**") == []  # staged files stay hidden
    assert any((tmp_path / "store" / ".atelier-staging").rglob("*.bin"))
