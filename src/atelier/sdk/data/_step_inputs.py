"""Another pipeline step's output, read by a step: ``pipeline_data.as_mount()``,
``output_config.as_input()`` or, as a tabular dataset, ``output_config.read_delimited_files()``.

The producing step's run decides where the folder lands; the pipeline runner points the
consuming step's input at it when that step starts.
"""

from __future__ import annotations

from typing import Any

from atelier.core.data_names import check_input_name
from atelier.core.errors import ValidationError

__all__ = ["StepOutputInput", "delimited_format"]


class StepOutputInput:
    """Another step's output read by a step: ``pipeline_data.as_mount()``,
    ``output_config.as_input()`` or, as a tabular dataset,
    ``output_config.read_delimited_files()``."""

    def __init__(
        self,
        source: Any,
        name: str,
        mode: str,
        path_on_compute: str | None = None,
        tabular_format: dict[str, Any] | None = None,
    ) -> None:
        self.source = source
        self.name = check_input_name(name)
        self.mode = "direct" if tabular_format is not None else mode
        self.path_on_compute = path_on_compute
        self.tabular_format = tabular_format

    def as_named_input(self, name: str) -> StepOutputInput:
        return StepOutputInput(
            self.source, name, self.mode, self.path_on_compute, self.tabular_format
        )

    def as_mount(self) -> StepOutputInput:
        return StepOutputInput(self.source, self.name, "mount", None, self.tabular_format)

    def as_download(self, path_on_compute: str | None = None) -> StepOutputInput:
        return StepOutputInput(
            self.source, self.name, "download", path_on_compute, self.tabular_format
        )

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.name}"

    def __repr__(self) -> str:
        return f"StepOutputInput(name={self.name!r}, mode={self.mode!r})"


def _header(header: Any) -> str:
    if header is True:
        return "all_files_same_headers"
    if header is False:
        return "no_headers"
    return str(getattr(header, "value", header)).lower()


def delimited_format(
    include_path: bool, separator: str, header: Any, set_column_types: dict[str, Any] | None
) -> dict[str, Any]:
    """The tabular format of delimited files read from a step's output."""
    if set_column_types:
        raise ValidationError("set_column_types is not supported on a step output; cast later")
    if not isinstance(separator, str) or len(separator) != 1:
        raise ValidationError(f"separator must be one character, not {separator!r}")
    return {
        "type": "delimited",
        "separator": separator,
        "header": _header(header),
        "column_types": {},
        "include_path": bool(include_path),
        "support_multi_line": False,
        "empty_as_string": False,
        "encoding": "utf8",
        "invalid_lines": "error",
    }
