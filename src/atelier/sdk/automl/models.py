"""The model families AutoML searches, by Azure's names, each a scikit-learn estimator.

``LightGBM`` is LightGBM's own estimator when the ``lightgbm`` package is installed, else
scikit-learn's ``HistGradientBoosting*`` (the same histogram gradient boosting);
``XGBoostClassifier`` / ``XGBoostRegressor`` exist only when ``xgboost`` is installed.
Each family has a search space (Optuna, define-by-run) and a default point that is tried
first. scikit-learn is imported by the functions only.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atelier.core.errors import ValidationError

__all__ = ["MODELS", "ModelFamily", "check_models", "families_for"]

Space = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class ModelFamily:
    """One Azure model name: how to build it, its space, whether it wants scaled inputs."""

    name: str
    tasks: tuple[str, ...]
    build: Callable[[str, dict[str, Any], int, int], Any]
    space: Space
    defaults: dict[str, Any]
    scaled: bool = False
    #: position in the first, default-configuration pass (lower first)
    order: int = 50


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _classifier(task: str) -> bool:
    return task == "classification"


# --- builders: (task, params, seed, cores) -> estimator ------------------------------------
def _linear(task: str, p: dict[str, Any], seed: int, cores: int) -> Any:
    from sklearn.linear_model import ElasticNet, LogisticRegression

    if _classifier(task):
        return LogisticRegression(C=p["C"], max_iter=2000, random_state=seed)
    return ElasticNet(alpha=p["alpha"], l1_ratio=p["l1_ratio"], max_iter=5000, random_state=seed)


def _lasso_lars(task: str, p: dict[str, Any], seed: int, cores: int) -> Any:
    from sklearn.linear_model import LassoLars

    return LassoLars(alpha=p["alpha"], random_state=seed)


def _sgd(task: str, p: dict[str, Any], seed: int, cores: int) -> Any:
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    if _classifier(task):
        return SGDClassifier(loss="log_loss", alpha=p["alpha"], random_state=seed)
    return SGDRegressor(alpha=p["alpha"], random_state=seed)


def _knn(task: str, p: dict[str, Any], seed: int, cores: int) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsClassifier if _classifier(task) else KNeighborsRegressor
    return cls(n_neighbors=p["n_neighbors"], weights=p["weights"], n_jobs=cores)


def _tree(task: str, p: dict[str, Any], seed: int, cores: int) -> Any:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    cls = DecisionTreeClassifier if _classifier(task) else DecisionTreeRegressor
    return cls(max_depth=p["max_depth"], min_samples_leaf=p["min_samples_leaf"], random_state=seed)


def _forest(extra: bool) -> Callable[[str, dict[str, Any], int, int], Any]:
    def build(task: str, p: dict[str, Any], seed: int, cores: int) -> Any:
        from sklearn import ensemble

        kind = "ExtraTrees" if extra else "RandomForest"
        cls = getattr(ensemble, kind + ("Classifier" if _classifier(task) else "Regressor"))
        return cls(
            n_estimators=p["n_estimators"],
            max_features=p["max_features"],
            min_samples_leaf=p["min_samples_leaf"],
            n_jobs=cores,
            random_state=seed,
        )

    return build


def _gradient_boosting(task: str, p: dict[str, Any], seed: int, cores: int) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    cls = GradientBoostingClassifier if _classifier(task) else GradientBoostingRegressor
    return cls(
        n_estimators=p["n_estimators"],
        learning_rate=p["learning_rate"],
        max_depth=p["max_depth"],
        subsample=p["subsample"],
        random_state=seed,
    )


def _lightgbm(task: str, p: dict[str, Any], seed: int, cores: int) -> Any:
    if _installed("lightgbm"):
        import lightgbm

        cls = lightgbm.LGBMClassifier if _classifier(task) else lightgbm.LGBMRegressor
        return cls(
            n_estimators=p["max_iter"],
            learning_rate=p["learning_rate"],
            num_leaves=p["max_leaf_nodes"],
            min_child_samples=p["min_samples_leaf"],
            reg_lambda=p["l2_regularization"],
            n_jobs=cores,
            random_state=seed,
            verbose=-1,
        )
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if _classifier(task) else HistGradientBoostingRegressor
    return cls(
        max_iter=p["max_iter"],
        learning_rate=p["learning_rate"],
        max_leaf_nodes=p["max_leaf_nodes"],
        min_samples_leaf=p["min_samples_leaf"],
        l2_regularization=p["l2_regularization"],
        early_stopping=p["max_iter"] > 100,
        n_iter_no_change=20,
        random_state=seed,
    )


def _xgboost(task: str, p: dict[str, Any], seed: int, cores: int) -> Any:
    import xgboost

    from atelier.sdk.automl._estimators import LabelEncoded

    cls = xgboost.XGBClassifier if _classifier(task) else xgboost.XGBRegressor
    model = cls(
        n_estimators=p["n_estimators"],
        learning_rate=p["learning_rate"],
        max_depth=p["max_depth"],
        subsample=p["subsample"],
        n_jobs=cores,
        random_state=seed,
    )
    return LabelEncoded(model) if _classifier(task) else model


def _naive_bayes(bernoulli: bool) -> Callable[[str, dict[str, Any], int, int], Any]:
    def build(task: str, p: dict[str, Any], seed: int, cores: int) -> Any:
        from sklearn.naive_bayes import BernoulliNB, MultinomialNB

        return (BernoulliNB if bernoulli else MultinomialNB)(alpha=p["alpha"])

    return build


# --- spaces: trial -> params ---------------------------------------------------------------
def _s_logistic(t: Any) -> dict[str, Any]:
    return {"C": t.suggest_float("LogisticRegression.C", 1e-3, 1e3, log=True)}


def _s_elastic(t: Any) -> dict[str, Any]:
    return {
        "alpha": t.suggest_float("ElasticNet.alpha", 1e-5, 10.0, log=True),
        "l1_ratio": t.suggest_float("ElasticNet.l1_ratio", 0.0, 1.0),
    }


def _s_alpha(name: str, low: float, high: float) -> Space:
    return lambda t: {"alpha": t.suggest_float(f"{name}.alpha", low, high, log=True)}


def _s_knn(t: Any) -> dict[str, Any]:
    return {
        "n_neighbors": t.suggest_int("KNN.n_neighbors", 1, 50, log=True),
        "weights": t.suggest_categorical("KNN.weights", ["uniform", "distance"]),
    }


def _s_tree(t: Any) -> dict[str, Any]:
    return {
        "max_depth": t.suggest_int("DecisionTree.max_depth", 2, 32, log=True),
        "min_samples_leaf": t.suggest_int("DecisionTree.min_samples_leaf", 1, 50, log=True),
    }


def _s_forest(name: str) -> Space:
    return lambda t: {
        "n_estimators": t.suggest_int(f"{name}.n_estimators", 50, 400, log=True),
        "max_features": t.suggest_float(f"{name}.max_features", 0.1, 1.0),
        "min_samples_leaf": t.suggest_int(f"{name}.min_samples_leaf", 1, 20, log=True),
    }


def _s_boosting(name: str) -> Space:
    return lambda t: {
        "n_estimators": t.suggest_int(f"{name}.n_estimators", 50, 500, log=True),
        "learning_rate": t.suggest_float(f"{name}.learning_rate", 0.01, 0.3, log=True),
        "max_depth": t.suggest_int(f"{name}.max_depth", 2, 10),
        "subsample": t.suggest_float(f"{name}.subsample", 0.5, 1.0),
    }


def _s_lightgbm(t: Any) -> dict[str, Any]:
    return {
        "max_iter": t.suggest_int("LightGBM.max_iter", 50, 1000, log=True),
        "learning_rate": t.suggest_float("LightGBM.learning_rate", 0.01, 0.3, log=True),
        "max_leaf_nodes": t.suggest_int("LightGBM.max_leaf_nodes", 4, 256, log=True),
        "min_samples_leaf": t.suggest_int("LightGBM.min_samples_leaf", 2, 100, log=True),
        "l2_regularization": t.suggest_float("LightGBM.l2_regularization", 1e-6, 10.0, log=True),
    }


_FOREST = {"n_estimators": 100, "max_features": 0.6, "min_samples_leaf": 1}
_BOOST = {"n_estimators": 100, "learning_rate": 0.1, "max_depth": 3, "subsample": 1.0}
_C, _R = ("classification",), ("regression",)
_CR = ("classification", "regression")

MODELS: dict[str, ModelFamily] = {
    family.name: family
    for family in (
        ModelFamily(
            "LightGBM",
            _CR,
            _lightgbm,
            _s_lightgbm,
            {
                "max_iter": 100,
                "learning_rate": 0.1,
                "max_leaf_nodes": 31,
                "min_samples_leaf": 20,
                "l2_regularization": 1e-6,
            },
            order=0,
        ),
        ModelFamily("LogisticRegression", _C, _linear, _s_logistic, {"C": 1.0}, True, order=1),
        ModelFamily(
            "ElasticNet", _R, _linear, _s_elastic, {"alpha": 1e-3, "l1_ratio": 0.5}, True, order=1
        ),
        ModelFamily(
            "ExtremeRandomTrees",
            _CR,
            _forest(True),
            _s_forest("ExtremeRandomTrees"),
            _FOREST,
            order=2,
        ),
        ModelFamily(
            "RandomForest", _CR, _forest(False), _s_forest("RandomForest"), _FOREST, order=3
        ),
        ModelFamily(
            "XGBoostClassifier",
            _C,
            _xgboost,
            _s_boosting("XGBoostClassifier"),
            {**_BOOST, "max_depth": 6},
            order=4,
        ),
        ModelFamily(
            "XGBoostRegressor",
            _R,
            _xgboost,
            _s_boosting("XGBoostRegressor"),
            {**_BOOST, "max_depth": 6},
            order=4,
        ),
        ModelFamily(
            "GradientBoosting", _CR, _gradient_boosting, _s_boosting("GradientBoosting"), _BOOST
        ),
        ModelFamily(
            "KNN", _CR, _knn, _s_knn, {"n_neighbors": 5, "weights": "distance"}, True, order=5
        ),
        ModelFamily(
            "DecisionTree", _CR, _tree, _s_tree, {"max_depth": 8, "min_samples_leaf": 4}, order=6
        ),
        ModelFamily("SGD", _CR, _sgd, _s_alpha("SGD", 1e-6, 1.0), {"alpha": 1e-4}, True),
        ModelFamily(
            "LassoLars", _R, _lasso_lars, _s_alpha("LassoLars", 1e-6, 1.0), {"alpha": 1e-3}, True
        ),
        ModelFamily(
            "MultinomialNaiveBayes",
            _C,
            _naive_bayes(False),
            _s_alpha("MultinomialNaiveBayes", 1e-3, 10.0),
            {"alpha": 1.0},
            True,
        ),
        ModelFamily(
            "BernoulliNaiveBayes",
            _C,
            _naive_bayes(True),
            _s_alpha("BernoulliNaiveBayes", 1e-3, 10.0),
            {"alpha": 1.0},
            True,
        ),
    )
}
#: Azure names this build knows but cannot train here (a library is missing)
_NEEDS = {"XGBoostClassifier": "xgboost", "XGBoostRegressor": "xgboost"}
#: models whose fit takes no row weights (left out when weight_column_name is given)
_NO_WEIGHTS = {"KNN", "LassoLars"}
#: models skl2onnx does not convert here (LightGBM's and XGBoost's converters live in
#: onnxmltools; scikit-learn's histogram boosting fails in this skl2onnx)
_NOT_ONNX = {"LightGBM", "XGBoostClassifier", "XGBoostRegressor"}
#: Azure's forecasting-only and deep-learning names, refused with a clear message
_NOT_HERE = {"SVM", "LinearSVM", "AutoArima", "Prophet", "TCNForecaster", "Arimax"}


def _available(name: str) -> bool:
    return name not in _NEEDS or _installed(_NEEDS[name])


def check_models(task: str, names: Any, what: str) -> list[str]:
    """Azure model names for ``allowed_models`` / ``blocked_models``, checked against the
    task; ``ValidationError`` names the ones that are unknown or do not fit it."""
    if names is None:
        return []
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ValidationError(f"{what} takes a list of model names, like ['LightGBM']")
    base = "regression" if task == "forecasting" else task
    known = sorted(n for n, f in MODELS.items() if base in f.tasks)
    for name in names:
        if name in _NOT_HERE:
            raise ValidationError(f"{what}: model {name!r} is not available in Atelier's AutoML")
        if name not in MODELS or base not in MODELS[name].tasks:
            raise ValidationError(
                f"{what}: {name!r} is not a {task} model; use some of {', '.join(known)}"
            )
    return list(names)


def families_for(
    task: str, allowed: list[str], blocked: list[str], weighted: bool = False, onnx: bool = False
) -> list[ModelFamily]:
    """The families to search, in the order of the first pass (with row weights, those
    that take them; for ONNX-compatible models, those skl2onnx converts);
    ``ValidationError`` when allowed and blocked models leave none."""
    base = "regression" if task == "forecasting" else task
    names = allowed or [n for n, f in MODELS.items() if base in f.tasks]
    chosen = [MODELS[n] for n in names if n not in blocked and _available(n)]
    if weighted:
        chosen = [f for f in chosen if f.name not in _NO_WEIGHTS]
    if onnx:
        chosen = [f for f in chosen if f.name not in _NOT_ONNX]
    if not chosen:
        raise ValidationError(
            "allowed_models and blocked_models leave no model to train "
            "(XGBoost models need the xgboost package; LightGBM and XGBoost have no ONNX "
            "form here; "
            f"{' and '.join(sorted(_NO_WEIGHTS))} take no weight_column_name)"
        )
    return sorted(chosen, key=lambda f: f.order)
