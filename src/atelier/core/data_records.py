"""Records of the data area: datastores, dataset versions, their files and lineage links."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: the datastore every workspace has, on the workspace's own blob storage (azureml's name)
DEFAULT_DATASTORE = "workspaceblobstore"


@dataclass(frozen=True, slots=True, kw_only=True)
class DatastoreRecord:
    """A named storage location. ``config`` never holds a secret; ``has_credentials`` says
    whether credentials are stored (they are only ever read by the backend itself)."""

    id: str
    name: str
    kind: str
    url: str
    config: dict[str, Any] = field(default_factory=dict)
    has_credentials: bool = False
    is_default: bool = False
    created_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DataFile:
    """One file a dataset reads: where it is, and what it was when the version was made."""

    path: str
    size: int
    mtime_ms: int
    digest: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetRecord:
    """A registered dataset version. ``definition`` is the dataset's JSON definition (its
    sources and recorded steps); ``files`` the file list recorded at registration."""

    id: str
    name: str
    version: int
    kind: str
    definition: dict[str, Any]
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    file_count: int = 0
    total_size: int = 0
    created_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInputRecord:
    """A dataset a run consumed, under the name the script asks for it by."""

    run_id: str
    name: str
    mode: str
    dataset_id: str | None = None
    dataset_name: str | None = None
    dataset_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelDatasetRecord:
    """A dataset version behind a model version, with the role it played."""

    model_name: str
    model_version: int
    scenario: str
    dataset_id: str
    dataset_name: str
    dataset_version: int
