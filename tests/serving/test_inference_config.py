"""``InferenceConfig``: the entry script must be a file inside the source directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from atelier.core.errors import NotFoundError, ValidationError
from atelier.sdk.models.inference import InferenceConfig


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    (folder / "pkg").mkdir(parents=True)
    (folder / "score.py").write_text("def init(): pass\ndef run(data): return data\n")
    (folder / "pkg" / "nested.py").write_text("def init(): pass\ndef run(data): return data\n")
    return folder


def test_valid_config_and_to_dict(source: Path) -> None:
    config = InferenceConfig(
        entry_script="pkg/nested.py", source_directory=source, runtime="python"
    )
    assert config.entry_script == "pkg/nested.py"
    assert config.entry_script_path == source / "pkg" / "nested.py"
    assert config.environment is None
    data = config.to_dict()
    assert data["entryScript"] == "pkg/nested.py"
    assert data["sourceDirectory"] == str(source)
    assert data["runtime"] == "python"
    assert data["environment"] is None


def test_positional_arguments_follow_azureml(source: Path) -> None:
    config = InferenceConfig("score.py", None, None, None, str(source))
    assert config.entry_script == "score.py"


def test_entry_script_is_required(source: Path) -> None:
    with pytest.raises(ValidationError, match="needs entry_script"):
        InferenceConfig(source_directory=source)


def test_absolute_entry_script_is_rejected(source: Path) -> None:
    with pytest.raises(ValidationError, match="relative to source_directory"):
        InferenceConfig(entry_script=str(source / "score.py"), source_directory=source)


def test_entry_script_outside_the_folder_is_rejected(source: Path) -> None:
    (source.parent / "outside.py").write_text("")
    with pytest.raises(ValidationError, match="leaves source_directory"):
        InferenceConfig(entry_script="../outside.py", source_directory=source)


def test_symlink_out_of_the_folder_is_rejected(source: Path) -> None:
    (source.parent / "outside.py").write_text("")
    (source / "link.py").symlink_to(source.parent / "outside.py")
    with pytest.raises(ValidationError, match="resolves outside"):
        InferenceConfig(entry_script="link.py", source_directory=source)


def test_missing_script_and_folder_are_not_found(source: Path) -> None:
    with pytest.raises(NotFoundError, match="check the file name"):
        InferenceConfig(entry_script="absent.py", source_directory=source)
    with pytest.raises(NotFoundError, match="is not a folder"):
        InferenceConfig(entry_script="score.py", source_directory=source / "absent")


def test_environment_is_kept(source: Path) -> None:
    from atelier.sdk.compute.environment import Environment

    environment = Environment("scoring-env")
    config = InferenceConfig(
        entry_script="score.py", source_directory=source, environment=environment
    )
    assert config.environment is environment
    assert config.to_dict()["environment"] == {"name": "scoring-env", "version": None}


def test_importing_atelier_does_not_load_fastapi_or_the_runtime() -> None:
    import subprocess
    import sys

    code = (
        "import sys, atelier, atelier.sdk.models.inference; "
        "print(any(m in sys.modules for m in ('fastapi', 'starlette', 'atelier.serving.app')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
