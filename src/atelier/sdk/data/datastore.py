"""``Datastore``: a named storage location of a workspace, with azureml-core's names.

Every workspace has a default datastore, ``workspaceblobstore``, on the workspace's own
blob storage. Register more: a local folder, S3-compatible storage, Azure Blob Storage,
Google Cloud Storage, or any of them from a URL with ``Datastore.register``. Credentials
are stored encrypted and never appear in listings, logs or errors.
"""

from __future__ import annotations

import builtins
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.data_names import check_datastore_name, normalize_datastore_url
from atelier.core.data_records import DatastoreRecord
from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.paths import folder_files
from atelier.core.timeutil import ms_to_iso
from atelier.sdk.data.data_reference import DataReference

if TYPE_CHECKING:
    from atelier.client.backend import DataProgress, DatastoreFilesAPI
    from atelier.sdk.workspace import Workspace

#: azureml's type names for each kind
DATASTORE_TYPES = {
    "local": "LocalFolder",
    "s3": "S3",
    "azure_blob": "AzureBlob",
    "gcs": "GoogleCloudStorage",
}


@contextlib.contextmanager
def progress_bar(show: bool, description: str) -> Iterator[DataProgress | None]:
    """A rich progress bar fed by a ``(done, total, current)`` callback, or nothing."""
    if not show:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int, current: str) -> None:
            bar.update(task, completed=done, total=total or None, description=description)

        yield update


class DataPath:
    """A path on a datastore (``datastore.path('folder/**')``), usable as a dataset source."""

    def __init__(self, datastore: Datastore, path_on_datastore: str | None = None) -> None:
        self.datastore = datastore
        self.path_on_datastore = (path_on_datastore or "").strip("/")

    @property
    def datastore_name(self) -> str:
        return self.datastore.name

    def as_mount(self, path_on_compute: str | None = None) -> DataReference:
        """These files as a run's input, mounted read-only: in ``arguments`` it becomes
        their local folder, ``path_on_compute`` when given (a relative path is below the
        run's working directory)."""
        return DataReference(self.datastore, None, self.path_on_datastore, "mount",
                             path_on_compute)  # fmt: skip

    def as_download(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        """These files as a run's input, downloaded before the script starts (to
        ``path_on_compute`` when given)."""
        return DataReference(self.datastore, None, self.path_on_datastore, "download",
                             path_on_compute, overwrite)  # fmt: skip

    def __repr__(self) -> str:
        return f"DataPath(datastore={self.datastore.name!r}, path={self.path_on_datastore!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DataPath)
            and other.datastore.name == self.datastore.name
            and other.path_on_datastore == self.path_on_datastore
        )

    def __hash__(self) -> int:
        return hash((self.datastore.name, self.path_on_datastore))


class Datastore:
    """A registered datastore. ``Datastore(ws, name)`` (or ``Datastore.get``) opens one;
    ``NotFoundError`` if the workspace has none of that name."""

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        *,
        _record: DatastoreRecord | None = None,
    ) -> None:
        self.workspace = workspace
        self._backend = workspace._backend
        if _record is None:
            _record = (
                self._backend.datastores.get_default(workspace.name)
                if name is None
                else self._backend.datastores.get(workspace.name, name)
            )
        self._record = _record

    # --- what it is ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._record.name

    @property
    def kind(self) -> str:
        return self._record.kind

    @property
    def datastore_type(self) -> str:
        return DATASTORE_TYPES.get(self._record.kind, self._record.kind)

    @property
    def url(self) -> str:
        return self._record.url

    @property
    def is_default(self) -> bool:
        return self._record.is_default

    @property
    def container_name(self) -> str | None:
        """The bucket or container (object stores)."""
        if "://" not in self.url:
            return None
        return self.url.split("://", 1)[1].split("/", 1)[0]

    @property
    def account_name(self) -> str | None:
        value = self._record.config.get("account_name")
        return str(value) if value else None

    @property
    def endpoint(self) -> str | None:
        value = self._record.config.get("endpoint") or self._record.config.get("endpoint_url")
        return str(value) if value else None

    def serialize(self) -> dict[str, Any]:
        """The datastore as JSON-ready data; credentials are never included."""
        return {
            "name": self.name,
            "datastoreType": self.datastore_type,
            "kind": self.kind,
            "url": self.url,
            "isDefault": self.is_default,
            "hasCredentials": self._record.has_credentials,
            "config": {k: v for k, v in self._record.config.items() if k != "managed"},
            "createdTime": ms_to_iso(self._record.created_ms),
        }

    def __repr__(self) -> str:
        return f"Datastore(name={self.name!r}, type={self.datastore_type!r}, url={self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Datastore) and other._record.id == self._record.id

    def __hash__(self) -> int:
        return hash(self._record.id)

    # --- finding --------------------------------------------------------------------------
    @staticmethod
    def get(workspace: Workspace, datastore_name: str) -> Datastore:
        return Datastore(workspace, datastore_name)

    @staticmethod
    def get_default(workspace: Workspace) -> Datastore:
        return Datastore(workspace)

    @staticmethod
    def list(workspace: Workspace) -> builtins.list[Datastore]:
        records = workspace._backend.datastores.list(workspace.name)
        return [Datastore(workspace, _record=r) for r in records]

    # --- registering ------------------------------------------------------------------------
    @staticmethod
    def _register(
        workspace: Workspace,
        name: str,
        kind: str,
        url: str,
        config: dict[str, Any],
        credentials: dict[str, str | None],
        overwrite: bool,
        validate: bool,
    ) -> Datastore:
        check_datastore_name(name)
        clean = {k: str(v) for k, v in credentials.items() if v}
        record = workspace._backend.datastores.register(
            workspace.name,
            name,
            kind=kind,
            url=url,
            config={k: v for k, v in config.items() if v is not None},
            credentials=clean,
            overwrite=overwrite,
            validate=validate,
        )
        return Datastore(workspace, _record=record)

    @staticmethod
    def register(
        workspace: Workspace,
        datastore_name: str,
        url: str,
        credentials: dict[str, str] | None = None,
        overwrite: bool = False,
        validate: bool = True,
        **config: Any,
    ) -> Datastore:
        """Register any supported URL: a folder path or ``file://`` (embedded mode only),
        ``s3://bucket/prefix``, ``az://container/prefix``, ``gs://bucket/prefix``.

        ``credentials`` holds the kind's secrets (``access_key_id``/``secret_access_key``,
        ``account_key`` or ``sas_token``, ``service_account_json``); ``config`` the rest
        (``endpoint_url``, ``account_name``, ``endpoint``, ``region``, ``project``).
        With ``validate`` the location is checked now: wrong credentials raise
        ``PermissionDeniedError``, an unreachable endpoint ``StorageError``.
        """
        kind, clean_url = normalize_datastore_url(url)
        return Datastore._register(
            workspace, datastore_name, kind, clean_url, config, dict(credentials or {}),
            overwrite, validate,
        )  # fmt: skip

    @staticmethod
    def register_local(
        workspace: Workspace, datastore_name: str, path: str | Path, overwrite: bool = False
    ) -> Datastore:
        """A folder on this machine (embedded mode only); created if missing."""
        folder = str(Path(path).expanduser().resolve())
        return Datastore._register(
            workspace, datastore_name, "local", folder, {}, {}, overwrite, True
        )

    @staticmethod
    def register_s3(
        workspace: Workspace,
        datastore_name: str,
        bucket_name: str,
        prefix: str = "",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        session_token: str | None = None,
        create_if_not_exists: bool = False,
        overwrite: bool = False,
        validate: bool = True,
    ) -> Datastore:
        """An S3 bucket (or an S3-compatible service at ``endpoint_url``)."""
        url = f"s3://{bucket_name}/{prefix.strip('/')}".rstrip("/")
        return Datastore._register(
            workspace,
            datastore_name,
            "s3",
            url,
            {
                "endpoint_url": endpoint_url,
                "region": region,
                "create_if_not_exists": create_if_not_exists or None,
            },
            {
                "access_key_id": access_key_id,
                "secret_access_key": secret_access_key,
                "session_token": session_token,
            },
            overwrite,
            validate,
        )

    @staticmethod
    def register_azure_blob_container(
        workspace: Workspace,
        datastore_name: str,
        container_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
        blob_cache_timeout: int | None = None,
        grant_workspace_access: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
    ) -> Datastore:
        """An Azure Blob Storage container. ``endpoint`` is either azureml's suffix
        (``core.windows.net``) or a full blob endpoint URL, so a self-hosted or emulated
        service works (Azurite: ``http://127.0.0.1:10000/devstoreaccount1``)."""
        del blob_cache_timeout, grant_workspace_access, subscription_id, resource_group
        if not account_key and not sas_token:
            raise ValidationError(
                f"datastore {datastore_name!r}: give account_key= or sas_token= for the "
                f"storage account {account_name!r}"
            )
        if endpoint and "://" not in endpoint:
            endpoint = f"{protocol or 'https'}://{account_name}.blob.{endpoint}"
        return Datastore._register(
            workspace,
            datastore_name,
            "azure_blob",
            f"az://{container_name}",
            {
                "account_name": account_name,
                "endpoint": endpoint,
                "create_if_not_exists": create_if_not_exists or None,
            },
            {"account_key": account_key, "sas_token": sas_token},
            overwrite,
            not skip_validation,
        )

    @staticmethod
    def register_gcs(
        workspace: Workspace,
        datastore_name: str,
        bucket_name: str,
        prefix: str = "",
        project: str | None = None,
        service_account_json: str | None = None,
        endpoint_url: str | None = None,
        overwrite: bool = False,
        validate: bool = True,
    ) -> Datastore:
        """A Google Cloud Storage bucket; ``service_account_json`` is the key file's text."""
        if service_account_json is not None:
            _check_service_account(datastore_name, service_account_json)
        url = f"gs://{bucket_name}/{prefix.strip('/')}".rstrip("/")
        return Datastore._register(
            workspace,
            datastore_name,
            "gcs",
            url,
            {"project": project, "endpoint_url": endpoint_url},
            {"service_account_json": service_account_json},
            overwrite,
            validate,
        )

    def unregister(self) -> None:
        """Forget the datastore; its files stay where they are."""
        self._backend.datastores.unregister(self.workspace.name, self.name)

    def set_as_default(self) -> None:
        self._record = self._backend.datastores.set_default(self.workspace.name, self.name)

    # --- files ----------------------------------------------------------------------------
    def _files(self) -> DatastoreFilesAPI:
        return self._backend.datastores.files(self.workspace.name, self.name)

    def as_mount(self, path_on_compute: str | None = None) -> DataReference:
        """The whole datastore as a run's input, mounted read-only (at ``path_on_compute``
        when given; azureml's takes no argument, its ``DataReference`` does)."""
        return DataReference(self, mode="mount", path_on_compute=path_on_compute)

    def as_download(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        """The whole datastore as a run's input, downloaded before the script starts."""
        del overwrite
        return DataReference(self, mode="download", path_on_compute=path_on_compute)

    def path(self, path: str | None = None, data_reference_name: str | None = None) -> DataPath:
        """A path (or glob, ``'folder/**/*.csv'``) on this datastore, for datasets."""
        del data_reference_name
        return DataPath(self, path)

    def upload(
        self,
        src_dir: str | Path,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataPath:
        """Upload every file below ``src_dir`` to ``target_path``. Without ``overwrite``
        files already there are kept. Nothing becomes visible until every file is
        written, so an interrupted upload leaves no partial result."""
        found = folder_files(Path(src_dir))
        prefix = (target_path or "").strip("/")
        files = [(f"{prefix}/{rel}" if prefix else rel, path) for rel, path in found]
        self._upload(files, overwrite, show_progress)
        return DataPath(self, prefix)

    def upload_files(
        self,
        files: builtins.list[str | Path],
        relative_root: str | Path | None = None,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataPath:
        """Upload the given files; paths keep their part below ``relative_root`` (default:
        just the file name) under ``target_path``."""
        prefix = (target_path or "").strip("/")
        root = Path(relative_root).resolve() if relative_root is not None else None
        planned: builtins.list[tuple[str, Path]] = []
        for item in files:
            local = Path(item)
            if not local.is_file():
                raise NotFoundError(f"{local} is not a file; give existing files to upload")
            if root is not None:
                try:
                    rel = local.resolve().relative_to(root).as_posix()
                except ValueError:
                    raise ValidationError(f"{local} is not below relative_root {root}") from None
            else:
                rel = local.name
            planned.append((f"{prefix}/{rel}" if prefix else rel, local))
        self._upload(planned, overwrite, show_progress)
        return DataPath(self, prefix)

    def _upload(
        self, files: builtins.list[tuple[str, Path]], overwrite: bool, show_progress: bool
    ) -> builtins.list[str]:
        with progress_bar(show_progress, f"uploading to {self.name}") as progress:
            return self._files().upload_files(files, overwrite=overwrite, progress=progress)

    def download(
        self,
        target_path: str | Path,
        prefix: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> int:
        """Download the files below ``prefix`` (all by default) into ``target_path``,
        keeping their paths; return how many were written."""
        files = self._files()
        wanted = [f.path for f in files.list_files((prefix or "").strip("/") or "**")]
        if prefix and not wanted:
            raise NotFoundError(f"datastore {self.name!r} has no files below {prefix!r}")
        with progress_bar(show_progress, f"downloading from {self.name}") as progress:
            written = files.download(wanted, Path(target_path), overwrite, progress)
        return len(written)

    def list_files(self, pattern: str = "**") -> builtins.list[str]:
        """Paths of the files matching ``pattern``, relative to the datastore."""
        return [f.path for f in self._files().list_files(pattern)]


def _check_service_account(name: str, text: str) -> None:
    try:
        data = json.loads(text)
    except ValueError:
        raise ValidationError(
            f"datastore {name!r}: service_account_json is not JSON; pass the key file's text"
        ) from None
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise ValidationError(
            f"datastore {name!r}: service_account_json is not a service account key "
            "(its 'type' must be 'service_account')"
        )
