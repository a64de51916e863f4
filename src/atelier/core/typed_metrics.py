"""azureml's typed metrics: confusion matrices, accuracy tables, residuals and predictions
as JSON documents (``{"schema_type", "schema_version", "data"}``), and text values.

``run.log_confusion_matrix(name, value)`` and its three siblings take azureml's document (a
dict, or its JSON text); the check here keeps the shape azureml's Studio charts read, so
a document logged here reads back the same from ``get_metrics()``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from atelier.core.errors import ValidationError

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_TEXT_CHARS = 4096

#: schema type -> (schema version azureml writes, keys its ``data`` must hold)
SCHEMAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "confusion_matrix": ("1.0.0", ("class_labels", "matrix")),
    "accuracy_table": (
        "1.0.1",
        (
            "probability_tables",
            "percentile_tables",
            "probability_thresholds",
            "percentile_thresholds",
            "class_labels",
        ),
    ),
    "residuals": ("1.0.0", ("bin_edges", "bin_counts")),
    "predictions": ("1.0.0", ("bin_averages", "bin_errors", "bin_counts", "bin_edges")),
}


def check_text(name: str, value: object) -> str | bool:
    """A text or flag value of ``run.log`` (a series of them reads back as a list)."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ValidationError(f"metric {name!r}: a text value must be a string or a bool")
    if len(value) > MAX_TEXT_CHARS:
        raise ValidationError(
            f"metric {name!r} is {len(value)} characters; a text metric holds at most "
            f"{MAX_TEXT_CHARS}: upload longer text as a file with run.upload_file()"
        )
    return value


def _finite(name: str, value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"metric {name!r} holds {value!r}; only finite numbers")
    if isinstance(value, list):
        for item in value:
            _finite(name, item)
    elif isinstance(value, dict):
        for item in value.values():
            _finite(name, item)


def check_typed(schema_type: str, name: str, value: object) -> dict[str, Any]:
    """azureml's document for ``schema_type``, checked: a dict (or JSON text) with
    ``schema_type`` (this one, filled in when missing), ``schema_version`` and a ``data``
    dict holding the keys that type needs. ``ValidationError`` says what is missing."""
    version, keys = SCHEMAS[schema_type]
    method = f"log_{schema_type}"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValidationError(
                f"{method}({name!r}): the value is not valid JSON ({exc})"
            ) from exc
    if not isinstance(value, dict):
        fields = ", ".join(f"{key!r}: ..." for key in keys)
        raise ValidationError(
            f"{method}({name!r}) takes a dict like {{'schema_type': '{schema_type}', "
            f"'schema_version': '{version}', 'data': {{{fields}}}}}"
        )
    given_type = value.get("schema_type", schema_type)
    if given_type != schema_type:
        raise ValidationError(
            f"{method}({name!r}) got a document of schema_type {given_type!r}; use "
            f"run.log_{given_type}() for it, or set schema_type to {schema_type!r}"
        )
    data = value.get("data")
    if not isinstance(data, dict):
        raise ValidationError(f"{method}({name!r}): the document needs a 'data' dict")
    missing = [key for key in keys if key not in data]
    if missing:
        raise ValidationError(
            f"{method}({name!r}): 'data' lacks {', '.join(missing)}; a {schema_type} holds "
            f"{', '.join(keys)}"
        )
    document = {
        "schema_type": schema_type,
        "schema_version": str(value.get("schema_version") or version),
        "data": data,
    }
    try:
        size = len(json.dumps(document, allow_nan=False))
    except (TypeError, ValueError) as exc:
        _finite(name, data)
        raise ValidationError(f"{method}({name!r}): the document is not JSON ({exc})") from exc
    if size > MAX_DOCUMENT_BYTES:
        raise ValidationError(
            f"{method}({name!r}) is {size} bytes of JSON; the limit is {MAX_DOCUMENT_BYTES}"
        )
    return document


def check_document(name: str, value: object) -> dict[str, Any]:
    """A typed document as it arrives from a client: its own ``schema_type`` names it."""
    schema_type = value.get("schema_type") if isinstance(value, dict) else None
    if schema_type not in SCHEMAS:
        raise ValidationError(
            f"metric {name!r}: schema_type must be one of {', '.join(SCHEMAS)}, not {schema_type!r}"
        )
    return check_typed(str(schema_type), name, value)


def refuse_collection(name: str, value: Any) -> Any:
    """``value`` unless it is a list, range, generator or other collection, which azureml's
    ``run.log`` refuses too: those go to ``log_list`` (or ``log_table``)."""
    if isinstance(value, str | bytes) or not (
        hasattr(value, "__iter__") or hasattr(value, "__next__")
    ):
        return value
    if getattr(value, "ndim", None) == 0:  # a numpy scalar is a number, not a collection
        return value
    raise ValidationError(
        f"run.log({name!r}) takes one number, string or bool, not a {type(value).__name__}; "
        f"log a sequence of values with run.log_list({name!r}, values) (or each value with "
        "its own run.log call)"
    )
