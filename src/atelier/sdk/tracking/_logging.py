"""The logging half of ``Run``: metrics of every kind, read back as azureml returns them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import AlreadyExistsError, InvalidStateError, ValidationError
from atelier.core.metric_values import check_list, check_row, check_table
from atelier.core.names import check_metric_name, check_number
from atelier.core.typed_metrics import check_text, check_typed, refuse_collection
from atelier.sdk.tracking._writer import MetricWriter, flush_all

if TYPE_CHECKING:
    from atelier.client.backend import Backend

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class LoggingMixin:
    """Needs ``_backend``, ``_workspace_name``, ``id``, ``_writer`` and ``_ended`` from Run."""

    _backend: Backend
    _workspace_name: str
    _ended: bool
    _checked_names: set[str]

    @property
    def id(self) -> str:
        raise NotImplementedError

    @property
    def _writer(self) -> MetricWriter:
        raise NotImplementedError

    def _require_open(self) -> None:
        if self._ended:
            raise InvalidStateError(
                f"run {self.id!r} has ended; it no longer accepts metrics. "
                "Start a new run with experiment.start_logging()"
            )
        if self._writer.error is not None:
            self._writer.flush()

    def _name(self, name: str) -> str:
        if name not in self._checked_names:
            check_metric_name(name)
            self._checked_names.add(name)
        return name

    def log(
        self, name: str, value: float | str | bool, description: str = "", step: int | None = None
    ) -> None:
        """Log a number, a string or a bool; logging a name again extends its series
        (``step`` defaults to the next index; strings and bools read back as text). NaN and
        infinities are stored as logged. Raises ``UserErrorException`` (a
        ``ValidationError``) for lists, ranges, generators and other collections (use
        ``log_list``)."""
        self._require_open()
        if type(value) is not float:
            if isinstance(value, str | bool):
                self._writer.add_document(self._name(name), "text", check_text(name, value))
                return
            value = check_number(name, refuse_collection(name, value))
        if step is not None and (type(step) is not int or step < 0):
            raise ValidationError(f"step of {name!r} must be a whole number >= 0, not {step!r}")
        self._writer.add_scalar(self._name(name), value, step)

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        """Log a list of numbers or strings under one name (a later call replaces it)."""
        self._require_open()
        self._writer.add_document(self._name(name), "list", check_list(name, value))

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Append a row to the table ``name``: ``run.log_row("epochs", epoch=1, loss=0.3)``."""
        self._require_open()
        self._writer.add_document(self._name(name), "row", check_row(name, kwargs))

    def log_table(self, name: str, value: dict[str, Any], description: str = "") -> None:
        """Log a table as a dict of equally long column lists (a later call replaces it)."""
        self._require_open()
        self._writer.add_document(self._name(name), "table", check_table(name, value))

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        """Log azureml's confusion matrix document: ``{"schema_type": "confusion_matrix",
        "schema_version": "1.0.0", "data": {"class_labels": [...], "matrix": [[...]]}}``."""
        self._log_typed("confusion_matrix", name, value)

    def log_accuracy_table(self, name: str, value: Any, description: str = "") -> None:
        """Log azureml's accuracy table document (``probability_tables``,
        ``percentile_tables``, the thresholds and ``class_labels`` in ``data``)."""
        self._log_typed("accuracy_table", name, value)

    def log_residuals(self, name: str, value: Any, description: str = "") -> None:
        """Log azureml's residuals histogram: ``data`` with ``bin_edges``, ``bin_counts``."""
        self._log_typed("residuals", name, value)

    def log_predictions(self, name: str, value: Any, description: str = "") -> None:
        """Log azureml's predictions document: ``data`` with ``bin_averages``,
        ``bin_errors``, ``bin_counts`` and ``bin_edges``."""
        self._log_typed("predictions", name, value)

    def _log_typed(self, schema_type: str, name: str, value: Any) -> None:
        self._require_open()
        self._writer.add_document(self._name(name), "typed", check_typed(schema_type, name, value))

    def log_image(
        self, name: str, path: str | Path | None = None, plot: Any = None, description: str = ""
    ) -> str:
        """Store a PNG (from ``path`` or a matplotlib ``plot``) as a file of the run under
        ``images/`` and log its name; returns that file name."""
        self._require_open()
        self._name(name)
        if (path is None) == (plot is None):
            raise ValidationError("log_image needs exactly one of path= or plot=")
        if plot is not None:
            buffer = io.BytesIO()
            savefig = getattr(plot, "savefig", None)
            if savefig is None:
                raise ValidationError("plot must be a matplotlib figure or pyplot")
            savefig(buffer, format="png")
            data = buffer.getvalue()
        else:
            image = Path(path)  # type: ignore[arg-type]
            if not image.is_file():
                raise ValidationError(f"image {image} does not exist or is not a file")
            data = image.read_bytes()
        if not data.startswith(_PNG_MAGIC):
            raise ValidationError(f"image for {name!r} is not a PNG; save it as PNG first")
        artifact = self._store_image(name, data)
        self._writer.add_document(name, "image", artifact)
        return artifact

    def _store_image(self, name: str, data: bytes) -> str:
        base = f"images/{name}"
        for attempt in range(10_000):
            candidate = f"{base}.png" if attempt == 0 else f"{base}_{attempt}.png"
            try:
                self._backend.artifacts.upload(
                    self._workspace_name, self.id, candidate, io.BytesIO(data)
                )
            except AlreadyExistsError:
                continue
            return candidate
        raise AlreadyExistsError(f"too many images named {name!r} in run {self.id!r}")

    def flush(self) -> None:
        """Write buffered metrics now (reads and status changes do this for you)."""
        self._writer.flush()

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type: str | None = None,
        populate: bool = False,
    ) -> dict[str, Any]:
        """Metrics by name: a number, a list for a series or list, a dict of columns for rows
        and tables, a file name for images. With ``recursive``: ``{run_id: {name: value}}``
        for this run and all its descendants."""
        flush_all()
        self._writer.flush()
        if not recursive:
            return self._backend.metrics.get(self._workspace_name, [self.id], name)[self.id]
        ids = [self.id] + [
            r.run_id
            for r in self._backend.runs.children(self._workspace_name, self.id, True)
            if run_type is None or r.run_type == run_type
        ]
        return self._backend.metrics.get(self._workspace_name, ids, name)

    def get_metric_history(self, name: str) -> dict[str, list[Any]]:
        """A scalar series as columns ``steps``, ``values`` and ``timestamps_ms``."""
        self._writer.flush()
        return self._backend.metrics.history(self._workspace_name, self.id, name)
