"""What tabular and file datasets share: a JSON definition (sources, format, recorded
steps), lazy evaluation, registration as immutable versions, and use as a run input."""

from __future__ import annotations

import copy
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from atelier.client import data_files
from atelier.core.data_names import check_dataset_name
from atelier.core.data_records import DatasetRecord
from atelier.core.errors import ValidationError
from atelier.core.timeutil import ms_to_iso
from atelier.sdk.data._inputs import DatasetConsumptionConfig
from atelier.sdk.data.datastore import DataPath, Datastore

if TYPE_CHECKING:
    from atelier.client.backend import Backend
    from atelier.client.data_files import ResolvedFile
    from atelier.sdk.models.model import Model
    from atelier.sdk.tracking.run import Run
    from atelier.sdk.workspace import Workspace


def sources_from(path: Any) -> tuple[list[dict[str, Any]], Workspace | None]:
    """Dataset sources from azureml's path forms: a ``DataPath``, a ``(datastore,
    'relative/path')`` tuple, a local path or ``file://`` URL (globs allowed), or a list."""
    items = path if isinstance(path, list) else [path]
    if not items:
        raise ValidationError("give at least one path")
    sources: list[dict[str, Any]] = []
    workspace: Workspace | None = None
    for given in items:
        item = given
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Datastore):
            item = DataPath(item[0], str(item[1]))
        if isinstance(item, DataPath):
            if workspace is not None and workspace != item.datastore.workspace:
                raise ValidationError("all paths of a dataset must be in one workspace")
            workspace = item.datastore.workspace
            sources.append(
                {"datastore": item.datastore.name, "path": item.path_on_datastore or "**"}
            )
        elif isinstance(item, str | os.PathLike):
            text = str(item)
            if "://" in text and not text.startswith("file://"):
                raise ValidationError(
                    f"{text!r} is a URL of a storage service: register it as a datastore "
                    "(Datastore.register(ws, name, url, credentials)) and pass "
                    "(datastore, 'relative/path')"
                )
            local = os.path.abspath(Path(text.removeprefix("file://")).expanduser())  # noqa: PTH100 - keeps links
            sources.append({"local": local})
        else:
            raise ValidationError(
                f"a dataset path must be a DataPath, a (datastore, 'path') tuple, a local path "
                f"or a list of those, not {type(item).__name__}"
            )
    return sources, workspace


def _check_count(what: str, count: object) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValidationError(f"{what} takes a whole number >= 0, not {count!r}")
    return count


def _check_fraction(what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationError(f"{what} must be a number between 0 and 1, not {value!r}")
    return float(value)


def _seed(seed: object) -> int:
    if seed is None:
        return uuid.uuid4().int % (2**31)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValidationError(f"seed must be a whole number, not {seed!r}")
    return seed


class AbstractDataset:
    """A dataset: lazy, immutable once registered. Transformations return new datasets
    whose steps run when data is read."""

    _kind = "abstract"

    def __init__(
        self,
        definition: dict[str, Any],
        workspace: Workspace | None = None,
        *,
        _registration: DatasetRecord | None = None,
        _basis: DatasetRecord | None = None,
    ) -> None:
        self._definition = definition
        self._workspace = workspace
        self._registration = _registration
        self._basis = _basis if _basis is not None else _registration

    # --- what it is -------------------------------------------------------------------
    @property
    def name(self) -> str | None:
        return None if self._registration is None else self._registration.name

    @property
    def version(self) -> int | None:
        return None if self._registration is None else self._registration.version

    @property
    def id(self) -> str | None:
        return None if self._registration is None else self._registration.id

    @property
    def description(self) -> str | None:
        return None if self._registration is None else self._registration.description

    @property
    def tags(self) -> dict[str, str]:
        return {} if self._registration is None else dict(self._registration.tags)

    @property
    def workspace(self) -> Workspace | None:
        return self._workspace

    @property
    def definition(self) -> dict[str, Any]:
        """A copy of the JSON definition: sources, format and recorded steps."""
        return copy.deepcopy(self._definition)

    def serialize(self) -> dict[str, Any]:
        record = self._registration
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "kind": self._kind,
            "description": self.description,
            "tags": self.tags,
            "fileCount": None if record is None else record.file_count,
            "totalSize": None if record is None else record.total_size,
            "createdTime": None if record is None else ms_to_iso(record.created_ms),
            "sources": self._definition.get("sources", []),
            "steps": [s["op"] for s in self._definition.get("steps", [])],
        }

    def __repr__(self) -> str:
        where = f"name={self.name!r}, version={self.version}" if self.name else "unregistered"
        sources = ", ".join(data_files.describe(s) for s in self._definition.get("sources", []))
        return f"{type(self).__name__}({where}, sources=[{sources}])"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, AbstractDataset)
            and type(other) is type(self)
            and other._definition == self._definition
            and other.id == self.id
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    # --- evaluation -------------------------------------------------------------------
    def _with_step(self, op: str, **arguments: Any) -> Self:
        definition = copy.deepcopy(self._definition)
        definition.setdefault("steps", []).append({"op": op, **arguments})
        return self._derived(definition)

    def _derived(self, definition: dict[str, Any]) -> Self:
        return type(self)(definition, self._workspace, _basis=self._basis)

    def _backend(self) -> Backend | None:
        return None if self._workspace is None else self._workspace._backend

    def _label(self) -> str:
        basis = self._basis
        return "the dataset" if basis is None else f"dataset {basis.name!r} version {basis.version}"

    def _source_files(self) -> list[ResolvedFile]:
        """The source files as they are now; for a registered version exactly its recorded
        files, refused if one is gone or changed."""
        sources = self._definition.get("sources", [])
        if not sources:
            return []
        workspace = None if self._workspace is None else self._workspace.name
        found = data_files.resolve(self._backend(), workspace, sources)
        basis = self._basis
        if basis is None or self._workspace is None:
            return found
        recorded = self._workspace._backend.datasets.files(self._workspace.name, basis.id)
        return data_files.select_recorded(self._label(), found, recorded)

    # --- versions ---------------------------------------------------------------------
    def register(
        self,
        workspace: Workspace,
        name: str,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
        create_new_version: bool = False,
    ) -> Self:
        """Register this dataset as version 1 of ``name`` (or, with ``create_new_version``,
        its next version). The version records every source file with its size,
        modification time and content hash; reading it later fails if one changed.
        ``AlreadyExistsError`` if the name is taken and ``create_new_version`` is False.
        """
        check_dataset_name(name)
        if self._workspace is not None and self._workspace != workspace:
            raise ValidationError(
                f"this dataset reads datastores of workspace {self._workspace.name!r}; "
                f"register it there, not in {workspace.name!r}"
            )
        if tags is not None and not isinstance(tags, dict):
            raise ValidationError("tags must be a dict of names to values")
        self._workspace = workspace
        files = self._source_files()
        digests = data_files.digests(files)
        definition = copy.deepcopy(self._definition)
        definition["datastores"] = sorted(
            {s["datastore"] for s in definition.get("sources", []) if "datastore" in s}
        )
        record = workspace._backend.datasets.register(
            workspace.name,
            name,
            kind=self._kind,
            definition=definition,
            files=[f.as_record(d) for f, d in zip(files, digests, strict=True)],
            description=description or "",
            tags=dict(tags or {}),
            create_new_version=create_new_version,
        )
        return type(self)(definition, workspace, _registration=record)

    # --- run inputs ---------------------------------------------------------------------
    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        """This dataset as a run's input ``name``: ``Run.get_context().input_datasets[name]``
        inside the script. File datasets are downloaded unless ``.as_mount()`` is asked."""
        return DatasetConsumptionConfig(name, self)

    # --- lineage -------------------------------------------------------------------------
    def get_models(self) -> list[Model]:
        """The model versions registered with this dataset version among their datasets."""
        return self._lineage_workspace()._models_using(self.id or "")

    def get_runs(self) -> list[Run]:
        """The runs that consumed this dataset version as an input."""
        return self._lineage_workspace()._runs_using(self.id or "")

    def _lineage_workspace(self) -> Workspace:
        # lineage answers with models and runs, which sit above data: the workspace (which
        # imports them all) builds them, so this module does not import upward
        if self.id is None or self.workspace is None:
            raise ValidationError(
                "only a registered dataset version has lineage; register it first"
            )
        return self.workspace
