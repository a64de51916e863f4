from __future__ import annotations

import subprocess
import sys

import atelier
import atelier.azureml.core
import atelier.sdk

HEAVY = ("sqlalchemy", "alembic", "fastapi", "ray", "numpy")


def test_exported_names() -> None:
    assert set(atelier.__all__) == {
        "AlreadyExistsError",
        "AmlCompute",
        "AtelierError",
        "ComputeTarget",
        "ComputeTargetException",
        "ComputeTargetNotFoundError",
        "CondaDependencies",
        "ConflictError",
        "Dataset",
        "Datastore",
        "Environment",
        "Experiment",
        "InvalidStateError",
        "Model",
        "NotFoundError",
        "PermissionDeniedError",
        "RemoteCompute",
        "Run",
        "RunConfiguration",
        "RunFailedError",
        "RunStatus",
        "ScriptRunConfig",
        "StorageError",
        "StoreError",
        "ValidationError",
        "Workspace",
        "__version__",
        "UnauthenticatedError",
    }
    for name in atelier.__all__:
        assert hasattr(atelier, name), name


def test_azureml_core_exports_the_same_classes() -> None:
    from atelier.azureml.core import (
        ComputeTarget,
        Environment,
        Experiment,
        Run,
        RunConfiguration,
        ScriptRunConfig,
        Workspace,
    )
    from atelier.azureml.core.compute import AmlCompute, RemoteCompute
    from atelier.azureml.core.compute_target import ComputeTargetException
    from atelier.azureml.core.conda_dependencies import CondaDependencies
    from atelier.azureml.core.runconfig import RunConfiguration as RunConfigurationFromModule

    assert (ComputeTarget, Environment, ScriptRunConfig) == (
        atelier.ComputeTarget,
        atelier.Environment,
        atelier.ScriptRunConfig,
    )
    assert (AmlCompute, RemoteCompute, CondaDependencies) == (
        atelier.AmlCompute,
        atelier.RemoteCompute,
        atelier.CondaDependencies,
    )
    assert RunConfigurationFromModule is RunConfiguration is atelier.RunConfiguration
    assert ComputeTargetException is atelier.ComputeTargetException
    from atelier.azureml.core.run import Run as RunFromModule
    from atelier.azureml.exceptions import UserErrorException

    assert (Workspace, Experiment, Run) == (atelier.Workspace, atelier.Experiment, atelier.Run)
    assert RunFromModule is atelier.Run
    from atelier.azureml.core import Model
    from atelier.azureml.core.model import Model as ModelFromModule

    assert ModelFromModule is Model is atelier.Model
    assert issubclass(atelier.ValidationError, UserErrorException)


def test_azureml_model_module_exports_inference_config() -> None:
    from atelier.azureml.core.model import InferenceConfig, Model
    from atelier.sdk.models.inference import InferenceConfig as Direct

    assert InferenceConfig is Direct
    assert Model is atelier.Model


def test_error_tree_is_rooted_and_typed() -> None:
    assert issubclass(atelier.NotFoundError, LookupError)
    assert issubclass(atelier.ValidationError, ValueError)
    for name in (
        "NotFoundError",
        "ValidationError",
        "ConflictError",
        "InvalidStateError",
        "AlreadyExistsError",
        "StoreError",
        "StorageError",
        "PermissionDeniedError",
    ):
        assert issubclass(getattr(atelier, name), atelier.AtelierError)


def test_import_atelier_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, atelier, atelier.azureml.core;"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules];"
        "print(','.join(heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def test_package_ships_type_information() -> None:
    from importlib.resources import files

    assert files("atelier").joinpath("py.typed").is_file()


def test_azureml_webservice_module() -> None:
    from atelier.azureml.core.webservice import LocalWebservice, Webservice
    from atelier.sdk.models.local_service import LocalWebservice as SdkLocalWebservice

    assert LocalWebservice is SdkLocalWebservice
    assert issubclass(LocalWebservice, Webservice)
    assert callable(atelier.Model.deploy)


def test_azureml_keyvault_module_exports_keyvault() -> None:
    from atelier.azureml.core import Keyvault
    from atelier.azureml.core.keyvault import Keyvault as KeyvaultFromModule
    from atelier.sdk.keyvault import Keyvault as Direct

    assert Keyvault is KeyvaultFromModule is Direct
    assert issubclass(atelier.core.errors.SecretKeyError, atelier.AtelierError)


def test_azureml_model_module_exports_model_package() -> None:
    from atelier.azureml.core.model import ModelPackage
    from atelier.sdk.models.package import ModelPackage as Direct

    assert ModelPackage is Direct


def test_azureml_webservice_module_has_aci() -> None:
    from atelier.azureml.core import webservice
    from atelier.sdk.models.container_service import AciWebservice

    assert webservice.AciWebservice is AciWebservice
    assert issubclass(AciWebservice, webservice.Webservice)
    assert "AciWebservice" in webservice.__all__


def test_azureml_data_modules() -> None:
    from atelier.azureml.core import Dataset, Datastore
    from atelier.azureml.core.dataset import Dataset as DatasetFromModule
    from atelier.azureml.core.datastore import Datastore as DatastoreFromModule
    from atelier.azureml.data import FileDataset, OutputFileDatasetConfig, TabularDataset
    from atelier.azureml.data.datapath import DataPath
    from atelier.azureml.data.dataset_factory import DataType
    from atelier.sdk.data.datastore import DataPath as SdkDataPath

    assert Dataset is DatasetFromModule is atelier.Dataset
    assert Datastore is DatastoreFromModule is atelier.Datastore
    assert Dataset.Tabular.from_delimited_files is not None
    assert issubclass(TabularDataset, object) and issubclass(FileDataset, object)
    assert OutputFileDatasetConfig(name="out").name == "out"
    assert DataPath is SdkDataPath
    assert DataType.to_long().name == "long"
