"""Models logged by the mlflow client land in Atelier's registry and load back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from atelier import Model, Run, Workspace

pytestmark = pytest.mark.one_database  # the database kind is incidental here

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("sklearn")


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 3))
    return features, features @ np.array([1.5, -2.0, 0.5]) + 0.1


def test_sklearn_model_registered_then_loaded_with_pyfunc(sdk: Workspace) -> None:
    from sklearn.linear_model import LinearRegression

    features, target = _data()
    mlflow.set_experiment("models")
    with mlflow.start_run() as active:
        model = LinearRegression().fit(features, target)
        info = mlflow.sklearn.log_model(
            model, name="regressor", registered_model_name="house-prices"
        )
    assert str(info.registered_model_version) == "1"
    loaded = mlflow.pyfunc.load_model("models:/house-prices/1")
    assert np.allclose(loaded.predict(features), model.predict(features))
    by_id = mlflow.pyfunc.load_model(info.model_uri)
    assert np.allclose(by_id.predict(features[:5]), model.predict(features[:5]))

    client = mlflow.MlflowClient()
    version = client.get_model_version("house-prices", "1")
    assert version.run_id == active.info.run_id
    assert client.get_registered_model("house-prices").latest_versions[0].version == "1"

    registered = Model(sdk, "house-prices")
    assert registered.version == 1
    assert registered.run_id == active.info.run_id
    assert "regressor/MLmodel" in registered.get_file_names()


def test_autolog_records_params_metrics_and_model_of_a_fit(sdk: Workspace) -> None:
    from sklearn.linear_model import Ridge

    features, target = _data()
    mlflow.set_experiment("autolog")
    mlflow.sklearn.autolog()
    try:
        Ridge(alpha=0.3).fit(features, target)
    finally:
        mlflow.sklearn.autolog(disable=True)
    run = mlflow.last_active_run()
    assert run is not None
    fetched = mlflow.get_run(run.info.run_id)
    assert fetched.info.status == "FINISHED"
    assert fetched.data.params["alpha"] == "0.3"
    assert "training_score" in fetched.data.metrics
    assert fetched.data.tags["estimator_name"] == "Ridge"
    logged = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id], output_format="list"
    )
    assert len(logged) == 1
    reloaded = mlflow.pyfunc.load_model(logged[0].model_uri)
    assert reloaded.predict(features[:3]).shape == (3,)

    same = Run.get(sdk, run.info.run_id)
    assert same.get_metrics()["training_score"] == fetched.data.metrics["training_score"]
    assert same.get_properties()["alpha"] == "0.3"
    assert any(name.endswith("/MLmodel") for name in same.get_file_names())


def test_register_from_runs_uri_alias_and_search(tracking: str) -> None:
    from sklearn.linear_model import LinearRegression

    features, target = _data()
    mlflow.set_experiment("registry")
    with mlflow.start_run() as active:
        model = LinearRegression().fit(features, target)
        mlflow.sklearn.log_model(model, name="lr", pip_requirements=["scikit-learn"])
    first = mlflow.register_model(f"runs:/{active.info.run_id}/lr", "by-run-uri")
    second = mlflow.register_model(f"runs:/{active.info.run_id}/lr", "by-run-uri")
    assert (first.version, second.version) == ("1", "2")
    client = mlflow.MlflowClient()
    client.set_registered_model_alias("by-run-uri", "champion", "1")
    assert client.get_model_version_by_alias("by-run-uri", "champion").version == "1"
    by_alias = mlflow.pyfunc.load_model("models:/by-run-uri@champion")
    assert np.allclose(by_alias.predict(features[:2]), model.predict(features[:2]))
    client.set_model_version_tag("by-run-uri", "2", "validated", "yes")
    found = client.search_model_versions("name = 'by-run-uri'")
    assert sorted(v.version for v in found) == ["1", "2"]
    assert [m.name for m in client.search_registered_models("name LIKE 'by-%'")] == ["by-run-uri"]
    with pytest.raises(mlflow.exceptions.MlflowException) as missing:
        client.get_model_version("by-run-uri", "9")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(mlflow.exceptions.MlflowException) as bad_source:
        client.create_model_version("by-run-uri", "file:///etc", run_id=active.info.run_id)
    assert bad_source.value.error_code == "INVALID_PARAMETER_VALUE"


def test_a_model_registered_with_the_sdk_loads_with_pyfunc(sdk: Workspace, tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    features, target = _data()
    model = LinearRegression().fit(features, target)
    folder = tmp_path / "saved"
    mlflow.sklearn.save_model(model, str(folder), pip_requirements=["scikit-learn"])
    Model.register(sdk, str(folder), "from-sdk")
    client = mlflow.MlflowClient()
    assert client.get_registered_model("from-sdk").latest_versions[0].version == "1"
    assert client.get_model_version_download_uri("from-sdk", "1").endswith("/from-sdk/1/saved")
    loaded = mlflow.pyfunc.load_model("models:/from-sdk/1")
    assert np.allclose(loaded.predict(features[:4]), model.predict(features[:4]))


@pytest.mark.parametrize("mlflow_server", ["sqlite"], indirect=True)
def test_a_model_registered_from_a_file_loads_with_pyfunc(sdk: Workspace, tmp_path: Path) -> None:
    import joblib
    from sklearn.linear_model import LinearRegression

    features, target = _data()
    model = LinearRegression().fit(features, target)
    joblib.dump(model, tmp_path / "model.joblib")
    Model.register(sdk, str(tmp_path / "model.joblib"), "from-file")
    client = mlflow.MlflowClient()
    uri = client.get_model_version_download_uri("from-file", "1")
    assert uri.endswith("/from-file/1")
    loaded = mlflow.pyfunc.load_model("models:/from-file/1")
    assert np.allclose(loaded.predict(features[:4]), model.predict(features[:4]))
