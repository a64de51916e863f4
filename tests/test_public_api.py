"""The public API: the names ``atelier`` and the ``atelier.azureml`` modules export, each
the real class or function of the module that defines it, and nothing heavy on import."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from importlib.metadata import version
from types import ModuleType

import pytest

import atelier
import atelier.azureml
import atelier.azureml.core

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
        "HomeError",
        "MissingExtraError",
        "search_runs",
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
    assert atelier.__version__ == version("atelier-ml")
    for name in set(atelier.__all__) - {"__version__"}:
        _assert_defined_where_it_says(getattr(atelier, name), name)


def _assert_defined_where_it_says(exported: object, name: str) -> None:
    """``exported`` is a class or function of atelier, found under its own name in the module
    that defines it: the real object, not a copy, a wrapper or a placeholder."""
    assert inspect.isclass(exported) or inspect.isfunction(exported), (name, exported)
    module_name = getattr(exported, "__module__", "")
    assert module_name.startswith("atelier."), (name, module_name)
    home = importlib.import_module(module_name)
    found: object = home
    for part in exported.__qualname__.split("."):  # type: ignore[attr-defined]
        found = getattr(found, part)
    assert found is exported, (name, module_name)


def _azureml_modules() -> list[ModuleType]:
    names = [atelier.azureml.__name__]
    names += [
        info.name
        for info in pkgutil.walk_packages(atelier.azureml.__path__, atelier.azureml.__name__ + ".")
    ]
    return [importlib.import_module(name) for name in sorted(names)]


AZUREML_MODULES = [module for module in _azureml_modules() if hasattr(module, "__all__")]


def test_every_azureml_module_with_exports_is_checked() -> None:
    checked = {module.__name__ for module in AZUREML_MODULES}
    assert {"atelier.azureml.core", "atelier.azureml.data", "atelier.azureml.exceptions"} <= checked
    assert len(checked) >= 20


@pytest.mark.parametrize("module", AZUREML_MODULES, ids=lambda module: module.__name__)
def test_azureml_exports_are_the_real_objects(module: ModuleType) -> None:
    """Each exported name exists and is the defining module's own object; where ``atelier``
    exports the same name, both are one object."""
    exported: list[str] = list(module.__all__)
    assert exported, module.__name__
    assert len(set(exported)) == len(exported), module.__name__
    for name in exported:
        value = getattr(module, name)
        if name.isupper() and isinstance(value, str):  # azureml's constants (DEFAULT_CPU_IMAGE)
            continue
        _assert_defined_where_it_says(value, f"{module.__name__}.{name}")
        if name in atelier.__all__:
            assert value is getattr(atelier, name), (module.__name__, name)


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

    assert InferenceConfig.__name__ == "InferenceConfig"
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

    assert LocalWebservice.__name__ == "LocalWebservice"
    assert issubclass(LocalWebservice, Webservice)
    assert callable(atelier.Model.deploy)


def test_azureml_keyvault_module_exports_keyvault() -> None:
    from atelier.azureml.core import Keyvault
    from atelier.azureml.core.keyvault import Keyvault as KeyvaultFromModule

    assert Keyvault is KeyvaultFromModule
    assert Keyvault.__name__ == "Keyvault"
    assert issubclass(atelier.core.errors.SecretKeyError, atelier.AtelierError)


def test_azureml_model_module_exports_model_package() -> None:
    from atelier.azureml.core.model import ModelPackage

    assert ModelPackage.__name__ == "ModelPackage"
    assert callable(atelier.Model.package)


def test_azureml_webservice_module_has_aci() -> None:
    from atelier.azureml.core import webservice

    assert webservice.AciWebservice.__name__ == "AciWebservice"
    assert issubclass(webservice.AciWebservice, webservice.Webservice)
    assert "AciWebservice" in webservice.__all__


def test_azureml_data_modules() -> None:
    from atelier.azureml.core import Dataset, Datastore
    from atelier.azureml.core.dataset import Dataset as DatasetFromModule
    from atelier.azureml.core.datastore import Datastore as DatastoreFromModule
    from atelier.azureml.data import FileDataset, OutputFileDatasetConfig, TabularDataset
    from atelier.azureml.data.datapath import DataPath
    from atelier.azureml.data.dataset_factory import DataType

    assert Dataset is DatasetFromModule is atelier.Dataset
    assert Datastore is DatastoreFromModule is atelier.Datastore
    assert Dataset.Tabular.from_delimited_files is not None
    assert (TabularDataset.__name__, FileDataset.__name__) == ("TabularDataset", "FileDataset")
    assert not issubclass(TabularDataset, FileDataset)
    assert not issubclass(FileDataset, TabularDataset)
    assert OutputFileDatasetConfig(name="out").name == "out"
    assert DataPath.__name__ == "DataPath"
    assert DataType.to_long().name == "long"
