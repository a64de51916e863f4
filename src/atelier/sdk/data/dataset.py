"""``Dataset``: create, register and find datasets, with azureml-core's names.

``Dataset.Tabular.from_delimited_files(path)`` and ``Dataset.File.from_files(path)``
describe data; ``ds.register(ws, name)`` makes an immutable version;
``Dataset.get_by_name(ws, name, version='latest')`` finds it again.
"""

from __future__ import annotations

import builtins
import io
import uuid
from typing import TYPE_CHECKING, Any

from atelier.core.data_records import DatasetRecord
from atelier.core.errors import ValidationError
from atelier.sdk.data._dataset_base import AbstractDataset, sources_from
from atelier.sdk.data._tabular_read import HEADER_MODES, arrow_type
from atelier.sdk.data.datastore import DataPath, Datastore
from atelier.sdk.data.file_dataset import FileDataset
from atelier.sdk.data.tabular_dataset import TabularDataset

if TYPE_CHECKING:
    import pandas as pd

    from atelier.sdk.workspace import Workspace


class DataType:
    """Column types for ``set_column_types`` (azureml's ``DataType.to_long()`` and friends)."""

    def __init__(self, name: str) -> None:
        arrow_type(name)
        self.name = name

    @staticmethod
    def to_string() -> DataType:
        return DataType("string")

    @staticmethod
    def to_long() -> DataType:
        return DataType("long")

    @staticmethod
    def to_float(decimal_mark: str = ".") -> DataType:
        del decimal_mark
        return DataType("float")

    @staticmethod
    def to_bool() -> DataType:
        return DataType("bool")

    @staticmethod
    def to_datetime(formats: Any = None) -> DataType:
        del formats  # ISO 8601 is read; other formats need a step of their own
        return DataType("datetime")

    def __repr__(self) -> str:
        return f"DataType({self.name!r})"


def _column_types(types: dict[str, Any] | None) -> dict[str, str]:
    if types is None:
        return {}
    if not isinstance(types, dict):
        raise ValidationError("set_column_types must be a dict of column name to DataType")
    clean = {}
    for column, kind in types.items():
        name = kind.name if isinstance(kind, DataType) else str(kind)
        arrow_type(name)
        clean[str(column)] = name
    return clean


def _header(header: Any) -> str:
    if header is True:
        return "all_files_same_headers"
    if header is False:
        return "no_headers"
    text = str(getattr(header, "value", header)).lower()
    if text not in HEADER_MODES:
        raise ValidationError(
            f"header must be True, False or one of {HEADER_MODES}, not {header!r}"
        )
    return text


def _tabular(path: Any, fmt: dict[str, Any], validate: bool) -> TabularDataset:
    sources, workspace = sources_from(path)
    dataset = TabularDataset(
        {"kind": "tabular", "sources": sources, "format": fmt, "steps": []}, workspace
    )
    if validate:
        dataset.take(5).to_arrow(on_error="fail" if fmt.get("column_types") else "null")
    return dataset


class TabularDatasetFactory:
    """``Dataset.Tabular``: tabular datasets from files, SQL or a pandas DataFrame."""

    @staticmethod
    def from_delimited_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        infer_column_types: bool = True,
        set_column_types: dict[str, Any] | None = None,
        separator: str = ",",
        header: Any = True,
        partition_format: str | None = None,
        support_multi_line: bool = False,
        empty_as_string: bool = False,
        encoding: str = "utf8",
        invalid_lines: str = "error",
    ) -> TabularDataset:
        """CSV (or any ``separator``) files. ``header``: True (all files have the same
        header), False, or azureml's 'only_first_file_has_headers'. ``invalid_lines='drop'``
        skips lines with the wrong number of fields. With ``validate`` the first rows are
        read now, so a bad path or malformed file fails here."""
        del infer_column_types, partition_format
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValidationError(f"separator must be one character, not {separator!r}")
        if invalid_lines not in ("error", "drop"):
            raise ValidationError("invalid_lines must be 'error' or 'drop'")
        fmt = {
            "type": "delimited",
            "separator": separator,
            "header": _header(header),
            "column_types": _column_types(set_column_types),
            "include_path": bool(include_path),
            "support_multi_line": bool(support_multi_line),
            "empty_as_string": bool(empty_as_string),
            "encoding": encoding,
            "invalid_lines": invalid_lines,
        }
        return _tabular(path, fmt, validate)

    @staticmethod
    def from_parquet_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: dict[str, Any] | None = None,
        partition_format: str | None = None,
    ) -> TabularDataset:
        del partition_format
        fmt = {
            "type": "parquet",
            "column_types": _column_types(set_column_types),
            "include_path": bool(include_path),
        }
        return _tabular(path, fmt, validate)

    @staticmethod
    def from_json_lines_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: dict[str, Any] | None = None,
        partition_format: str | None = None,
        invalid_lines: str = "error",
        encoding: str = "utf8",
    ) -> TabularDataset:
        del partition_format
        fmt = {
            "type": "json_lines",
            "column_types": _column_types(set_column_types),
            "include_path": bool(include_path),
            "invalid_lines": invalid_lines,
            "encoding": encoding,
        }
        return _tabular(path, fmt, validate)

    @staticmethod
    def from_sql_query(
        query: str,
        connection_url: str | None = None,
        validate: bool = True,
        set_column_types: dict[str, Any] | None = None,
        query_timeout: int = 30,
    ) -> TabularDataset:
        """The result of ``query`` on the database at ``connection_url`` (a SQLAlchemy URL
        such as ``sqlite:////path/db.sqlite`` or ``postgresql://user@host/db``)."""
        del query_timeout
        if not isinstance(query, str) or not query.strip():
            raise ValidationError("from_sql_query needs a query")
        if not isinstance(connection_url, str) or "://" not in connection_url:
            raise ValidationError(
                "from_sql_query needs connection_url, a SQLAlchemy URL like "
                "'postgresql://user@host/db' or 'sqlite:////path/to.db'"
            )
        fmt = {
            "type": "sql",
            "query": query,
            "connection_url": connection_url,
            "column_types": _column_types(set_column_types),
        }
        dataset = TabularDataset({"kind": "tabular", "sources": [], "format": fmt, "steps": []})
        if validate:
            dataset.to_arrow(on_error="fail")
        return dataset

    @staticmethod
    def register_pandas_dataframe(
        dataframe: pd.DataFrame,
        target: Any,
        name: str,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
        show_progress: bool = True,
    ) -> TabularDataset:
        """Write ``dataframe`` as Parquet below ``target`` (a ``DataPath`` or a
        ``(datastore, 'folder')`` tuple) and register it as the next version of ``name``."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        del show_progress
        if not isinstance(dataframe, pd.DataFrame):
            raise ValidationError("register_pandas_dataframe takes a pandas DataFrame")
        if isinstance(target, Datastore):
            target = DataPath(target, "")
        if isinstance(target, tuple) and len(target) == 2 and isinstance(target[0], Datastore):
            target = DataPath(target[0], str(target[1]))
        if not isinstance(target, DataPath):
            raise ValidationError("target must be a DataPath or a (datastore, 'folder') tuple")
        folder = f"{target.path_on_datastore}/{name}/{uuid.uuid4().hex}".strip("/")
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(dataframe, preserve_index=False), buffer)
        target.datastore._files().write_bytes(f"{folder}/part-00000.parquet", buffer.getvalue())
        dataset = TabularDatasetFactory.from_parquet_files(DataPath(target.datastore, folder))
        return dataset.register(
            target.datastore.workspace, name, description, tags, create_new_version=True
        )


class FileDatasetFactory:
    """``Dataset.File``: file datasets."""

    @staticmethod
    def from_files(
        path: Any, validate: bool = True, partition_format: str | None = None
    ) -> FileDataset:
        """Files from a ``DataPath``, ``(datastore, 'glob/**')`` tuple, local path or a list;
        with ``validate`` a path matching nothing fails now."""
        del partition_format
        return FileDataset._from_path(path, validate)


def _wrap(workspace: Workspace, record: DatasetRecord) -> AbstractDataset:
    cls: type[AbstractDataset] = TabularDataset if record.kind == "tabular" else FileDataset
    return cls(dict(record.definition), workspace, _registration=record)


class Dataset:
    """Entry point to datasets, as ``azureml.core.Dataset``."""

    Tabular = TabularDatasetFactory
    File = FileDatasetFactory

    @staticmethod
    def get_by_name(
        workspace: Workspace, name: str, version: int | str = "latest", **kwargs: Any
    ) -> AbstractDataset:
        """The registered dataset ``name`` at ``version`` ('latest' or a number);
        ``NotFoundError`` for an unknown name or version."""
        del kwargs
        number = None if version in ("latest", None) else version
        record = workspace._backend.datasets.get(workspace.name, name, number)  # type: ignore[arg-type]
        return _wrap(workspace, record)

    @staticmethod
    def get_by_id(workspace: Workspace, id: str, **kwargs: Any) -> AbstractDataset:
        del kwargs
        return _wrap(workspace, workspace._backend.datasets.get_by_id(workspace.name, id))

    @staticmethod
    def list(workspace: Workspace) -> builtins.list[AbstractDataset]:
        """The latest version of every registered dataset."""
        return [_wrap(workspace, r) for r in workspace._backend.datasets.list(workspace.name)]

    @staticmethod
    def get_all(workspace: Workspace) -> dict[str, AbstractDataset]:
        return {ds.name or "": ds for ds in Dataset.list(workspace)}
