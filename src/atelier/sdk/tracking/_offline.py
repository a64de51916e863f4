"""The run ``Run.get_context()`` returns outside Atelier: it prints and keeps what is logged."""

from __future__ import annotations

import os
import uuid
from typing import Any

from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.metric_values import check_list, check_row, check_table
from atelier.core.names import check_metric_name, check_number
from atelier.core.secrets import check_secret_name
from atelier.core.typed_metrics import check_text, check_typed, refuse_collection


class OfflineRun:
    """Logs to standard output and memory, so a script runs unchanged outside the platform."""

    def __init__(self) -> None:
        self.id = f"OfflineRun_{uuid.uuid4()}"
        self._metrics: dict[str, Any] = {}
        self._tags: dict[str, str] = {}
        self._properties: dict[str, str] = {}

    def _say(self, what: str) -> None:
        print(f"[atelier offline run] {what}", flush=True)

    def log(
        self, name: str, value: float | str | bool, description: str = "", step: int | None = None
    ) -> None:
        """As ``Run.log``: numbers, strings and bools; lists and generators are refused."""
        check_metric_name(name)
        logged: float | str | bool
        if isinstance(value, str | bool):
            logged = check_text(name, value)
        else:
            logged = check_number(name, refuse_collection(name, value))
        self._say(f"log {name} = {logged}" + (f" (step {step})" if step is not None else ""))
        previous = self._metrics.get(name)
        if previous is None:
            self._metrics[name] = logged
        elif isinstance(previous, list):
            previous.append(logged)
        else:
            self._metrics[name] = [previous, logged]

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        self._log_typed("confusion_matrix", name, value)

    def log_accuracy_table(self, name: str, value: Any, description: str = "") -> None:
        self._log_typed("accuracy_table", name, value)

    def log_residuals(self, name: str, value: Any, description: str = "") -> None:
        self._log_typed("residuals", name, value)

    def log_predictions(self, name: str, value: Any, description: str = "") -> None:
        self._log_typed("predictions", name, value)

    def _log_typed(self, schema_type: str, name: str, value: Any) -> None:
        self._metrics[check_metric_name(name)] = check_typed(schema_type, name, value)
        self._say(f"log_{schema_type} {name}")

    def child_run(
        self, name: str | None = None, run_id: str | None = None, outputs: str | None = None
    ) -> OfflineRun:
        """Another offline run (azureml's offline runs nest the same way)."""
        del outputs
        child = OfflineRun()
        if run_id is not None:
            child.id = run_id
        self._say(f"child_run {name or child.id}")
        return child

    def __enter__(self) -> OfflineRun:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.fail() if exc_info[0] is not None else self.complete()

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        self._metrics[check_metric_name(name)] = check_list(name, value)
        self._say(f"log_list {name} = {self._metrics[name]}")

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        row = check_row(check_metric_name(name), kwargs)
        table = self._metrics.setdefault(name, {})
        for column, cell in row.items():
            table.setdefault(column, []).append(cell)
        self._say(f"log_row {name} {row}")

    def log_table(self, name: str, value: dict[str, Any], description: str = "") -> None:
        self._metrics[check_metric_name(name)] = check_table(name, value)
        self._say(f"log_table {name} with columns {list(value)}")

    def log_image(
        self, name: str, path: Any = None, plot: Any = None, description: str = ""
    ) -> None:
        self._say(f"log_image {name} (not stored offline)")

    def tag(self, key: str, value: Any = None) -> None:
        self._tags[key] = "" if value is None else str(value)
        self._say(f"tag {key} = {self._tags[key]}")

    def set_tags(self, tags: dict[str, Any]) -> None:
        for key, value in tags.items():
            self.tag(key, value)

    def get_tags(self) -> dict[str, str]:
        return dict(self._tags)

    def add_properties(self, properties: dict[str, Any]) -> None:
        self._properties.update({k: str(v) for k, v in properties.items()})

    def get_properties(self) -> dict[str, str]:
        return dict(self._properties)

    def get_metrics(self, name: str | None = None, recursive: bool = False) -> dict[str, Any]:
        if name is not None:
            return {name: self._metrics[name]} if name in self._metrics else {}
        return dict(self._metrics)

    def upload_file(self, name: str, path_or_stream: Any) -> None:
        self._say(f"upload_file {name} (not stored offline)")

    def flush(self) -> None:
        """Nothing is buffered offline."""

    def complete(self) -> None:
        self._say("complete")

    def fail(self, error_details: Any = None, error_code: str | None = None) -> None:
        self._say(f"fail: {error_details}")

    def get_status(self) -> str:
        return "Running"

    def get_secret(self, name: str) -> str:
        """Outside Atelier there is no key vault: the secret is read from the environment
        variable of that name, or of its shell spelling (upper case, '-' as '_'), so
        ``get_secret("db-password")`` under ``DB_PASSWORD=... python train.py`` works."""
        check_secret_name(name)
        variable = name.upper().replace("-", "_")
        for candidate in (name, variable):
            value = os.environ.get(candidate)
            if value is not None:
                return value
        raise NotFoundError(
            f"secret {name!r} is not available: this is an offline run (not started by "
            f"Atelier), which reads secrets from environment variables; set {variable} in "
            "the environment or submit the script as a run"
        )

    def get_secrets(self, secrets: list[str]) -> dict[str, str]:
        """Each secret from the environment variable of that name (see ``get_secret``)."""
        if isinstance(secrets, str):
            raise ValidationError("get_secrets takes a list of names; use get_secret for one")
        return {name: self.get_secret(name) for name in secrets}
