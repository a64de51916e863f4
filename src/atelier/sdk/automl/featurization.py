"""Featurization and data guardrails: from a training frame to a numeric matrix.

``featurization="auto"`` imputes missing values (median for numbers, most frequent for
categories), one-hot encodes categories (rare ones pooled), expands date-times into
calendar parts and drops columns that look like identifiers (almost every value unique
text). ``"off"`` takes numeric columns as they are. A :class:`FeaturizationConfig` sets
column purposes and drops columns, with Azure's names.

The featurizer is a scikit-learn ``ColumnTransformer`` over column *positions*, so the
fitted model scores a pandas frame or a plain array of rows (the no-code deployment
sends arrays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from atelier.core.errors import ValidationError

__all__ = ["FeaturizationConfig", "Guardrail", "build_featurizer"]

#: Azure's feature types for ``add_column_purpose``
FEATURE_TYPES = ("Numeric", "Categorical", "DateTime", "Ignore", "CategoricalHash", "Text")
_MAX_CATEGORIES = 30
#: a text column whose share of distinct values is above this is an identifier, not a feature
_ID_SHARE = 0.95
#: a column of mostly distinct values averaging this many words is text (TF-IDF)
_TEXT_WORDS = 3
_TEXT_FEATURES = 300


class FeaturizationConfig:
    """Azure's ``FeaturizationConfig``: per-column purposes, dropped columns, blocked
    transformers (recorded), transformer parameters (the imputer's strategy)."""

    def __init__(
        self,
        blocked_transformers: list[str] | None = None,
        column_purposes: dict[str, str] | None = None,
        transformer_params: dict[str, list[tuple[list[str], dict[str, Any]]]] | None = None,
        drop_columns: list[str] | None = None,
        dataset_language: str | None = None,
        prediction_transform_type: dict[str, str] | None = None,
    ) -> None:
        del dataset_language, prediction_transform_type
        self.blocked_transformers = list(blocked_transformers or [])
        self.column_purposes: dict[str, str] = {}
        for column, purpose in (column_purposes or {}).items():
            self.add_column_purpose(column, purpose)
        self.transformer_params = dict(transformer_params or {})
        self.drop_columns = list(drop_columns or [])

    def add_column_purpose(self, column_name: str, feature_type: str) -> None:
        if feature_type not in FEATURE_TYPES:
            raise ValidationError(
                f"feature type {feature_type!r} of column {column_name!r} must be one of "
                f"{', '.join(FEATURE_TYPES)}"
            )
        self.column_purposes[column_name] = feature_type

    def add_drop_columns(self, drop_columns: str | list[str]) -> None:
        self.drop_columns.extend([drop_columns] if isinstance(drop_columns, str) else drop_columns)

    def add_blocked_transformers(self, transformers: str | list[str]) -> None:
        self.blocked_transformers.extend(
            [transformers] if isinstance(transformers, str) else transformers
        )

    def add_transformer_params(
        self, transformer: str, cols: list[str], params: dict[str, Any]
    ) -> None:
        self.transformer_params.setdefault(transformer, []).append((list(cols), dict(params)))

    def _imputer_strategy(self, column: str) -> str | None:
        for columns, params in self.transformer_params.get("Imputer", []):
            if column in columns:
                return str(params.get("strategy", "median"))
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocked_transformers": self.blocked_transformers,
            "column_purposes": self.column_purposes,
            "drop_columns": self.drop_columns,
        }


@dataclass
class Guardrail:
    """One of Azure's data guardrails, as shown in the run's details."""

    type: str
    result: str  # Passed | Done | Alerted
    description: str

    def to_dict(self) -> dict[str, str]:
        return {"type": self.type, "result": self.result, "description": self.description}


@dataclass
class Plan:
    """What the featurizer does with each column (positions in the training frame)."""

    numeric: list[int] = field(default_factory=list)
    categorical: list[int] = field(default_factory=list)
    datetime: list[int] = field(default_factory=list)
    text: list[int] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    strategies: dict[int, str] = field(default_factory=dict)


def _is_text(series: Any) -> bool:
    """Free text rather than categories: mostly distinct values of several words."""
    values = series.dropna().astype(str)
    if len(values) < 20 or values.nunique() / len(values) < 0.5:
        return False
    return bool(values.str.split().str.len().mean() >= _TEXT_WORDS)


def _plan(frame: Any, featurization: str | FeaturizationConfig) -> Plan:
    import pandas as pd

    config = featurization if isinstance(featurization, FeaturizationConfig) else None
    purposes = config.column_purposes if config else {}
    drops = set(config.drop_columns) if config else set()
    plan = Plan()
    rows = max(len(frame), 1)
    for position, column in enumerate(frame.columns):
        series = frame[column]
        purpose = purposes.get(column)
        numeric = pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
        if column in drops or purpose == "Ignore" or series.isna().all():
            plan.dropped.append(str(column))
        elif featurization == "off":
            if not numeric:
                raise ValidationError(
                    f"column {column!r} is not numeric; featurization='off' needs numeric "
                    "columns only (use featurization='auto' to encode it)"
                )
            plan.numeric.append(position)
        elif purpose == "DateTime" or (
            purpose is None and pd.api.types.is_datetime64_any_dtype(series)
        ):
            plan.datetime.append(position)
        elif purpose == "Numeric" or (purpose is None and numeric):
            plan.numeric.append(position)
            if config and (strategy := config._imputer_strategy(str(column))):
                plan.strategies[position] = strategy
        elif purpose == "Text" or (purpose is None and _is_text(series)):
            plan.text.append(position)
        elif purpose is None and series.nunique() / rows > _ID_SHARE and rows >= 20:
            plan.dropped.append(str(column))  # an identifier: every row its own value
        else:
            plan.categorical.append(position)
    if not (plan.numeric or plan.categorical or plan.datetime or plan.text):
        raise ValidationError("no column is left to learn from once the label is set apart")
    return plan


def build_featurizer(
    frame: Any, featurization: str | FeaturizationConfig
) -> tuple[Any, list[Guardrail]]:
    """An unfitted featurizer (a ``ColumnTransformer`` over column positions) for
    ``frame`` (the features, label removed), and the guardrails it answers to."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from atelier.sdk.automl._estimators import ColumnsByPosition, DateTimeFeatures, TextColumn

    plan = _plan(frame, featurization)
    parts: list[tuple[str, Any, list[int] | int]] = []
    by_strategy: dict[str, list[int]] = {}
    for position in plan.numeric:
        by_strategy.setdefault(plan.strategies.get(position, "median"), []).append(position)
    for strategy, columns in sorted(by_strategy.items()):
        imputer = SimpleImputer(strategy=strategy, keep_empty_features=True)
        parts.append((f"numeric_{strategy}", imputer, columns))
    if plan.categorical:
        encoder = make_pipeline(
            SimpleImputer(strategy="constant", fill_value="__missing__"),
            OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                max_categories=_MAX_CATEGORIES,
                sparse_output=False,
            ),
        )
        parts.append(("categorical", encoder, plan.categorical))
    if plan.datetime:
        datetime = make_pipeline(DateTimeFeatures(), SimpleImputer(strategy="median"))
        parts.append(("datetime", datetime, plan.datetime))
    for position in plan.text:  # one column each: the vectorizer reads one column of strings
        words = make_pipeline(
            TextColumn(), TfidfVectorizer(max_features=_TEXT_FEATURES, sublinear_tf=True)
        )
        parts.append((f"text_{position}", words, position))
    columns = ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)
    featurizer = Pipeline([("positions", ColumnsByPosition()), ("columns", columns)])
    return featurizer, _featurization_guardrails(frame, plan)


def _featurization_guardrails(frame: Any, plan: Plan) -> list[Guardrail]:
    missing = [str(c) for c in frame.columns if frame[c].isna().any()]
    wide = [str(frame.columns[p]) for p in plan.categorical if frame.iloc[:, p].nunique() > 30]
    return [
        Guardrail(
            "Missing feature values imputation",
            "Done" if missing else "Passed",
            f"imputed missing values in {', '.join(missing)}"
            if missing
            else "no missing feature values were found in the training data",
        ),
        Guardrail(
            "High cardinality feature detection",
            "Done" if (wide or plan.dropped) else "Passed",
            (
                f"pooled rare categories of {', '.join(wide) or '-'}; "
                f"dropped {', '.join(plan.dropped) or '-'}"
            )
            if (wide or plan.dropped)
            else "no high cardinality features were detected",
        ),
    ]
