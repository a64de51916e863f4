"""Contracts of the asset protocols: compute targets, environments, models, packages,
datastores and their files, datasets, and the key vault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atelier import NotFoundError, ValidationError
from atelier.core.data_records import DataFile
from atelier.core.errors import AlreadyExistsError
from atelier.core.records import ModelQuery, ModelSpec


def model_file(tmp_path: Path, name: str = "m.bin", data: bytes = b"weights") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


class ComputeContract:
    def test_create_update_list_delete(self, connection: Any, workspace: str) -> None:
        made = connection.compute.create(workspace, "cpu", "local", {"max_concurrent_runs": 2})
        assert (made.name, made.kind) == ("cpu", "local")
        updated = connection.compute.update(workspace, "cpu", state="Succeeded")
        assert updated.state == "Succeeded"
        assert connection.compute.get(workspace, "cpu").state == "Succeeded"
        assert "cpu" in [c.name for c in connection.compute.list(workspace)]
        with pytest.raises(ValidationError):
            connection.compute.create(workspace, "gpu", "quantum", {})
        connection.compute.delete(workspace, "cpu")
        with pytest.raises(NotFoundError):
            connection.compute.get(workspace, "cpu")


class EnvironmentContract:
    def test_register_versions(self, connection: Any, workspace: str) -> None:
        first = connection.environments.register(workspace, "env", {"python": {"pip": ["a"]}})
        second = connection.environments.register(workspace, "env", {"python": {"pip": ["b"]}})
        assert (first.version, second.version) == (1, 2)
        assert connection.environments.get(workspace, "env").version == 2
        assert connection.environments.get(workspace, "env", 1).spec == first.spec
        assert [e.name for e in connection.environments.list(workspace)] == ["env"]


class ModelContract:
    def test_register_update_download_delete(
        self, connection: Any, workspace: str, tmp_path: Path
    ) -> None:
        files = [("m.bin", model_file(tmp_path))]
        first = connection.models.register(workspace, "clf", files, ModelSpec(tags={"a": "1"}))
        second = connection.models.register(workspace, "clf", files, ModelSpec())
        assert (first.version, second.version) == (1, 2)
        assert connection.models.get(workspace, "clf").version == 2
        tagged = connection.models.set_tags(workspace, "clf", 1, {"b": "2"})
        assert tagged.tags == {"a": "1", "b": "2"}
        assert connection.models.remove_tags(workspace, "clf", 1, ["a"]).tags == {"b": "2"}
        props = connection.models.add_properties(workspace, "clf", 1, {"p": "x"})
        assert props.properties == {"p": "x"}
        assert connection.models.update(workspace, "clf", 1, description="d").description == "d"
        found = connection.models.list(workspace, ModelQuery(tags={"b": None}))
        assert [(m.name, m.version) for m in found] == [("clf", 1)]
        assert [f.path for f in connection.models.files(workspace, "clf")] == ["m.bin"]
        path = connection.models.download(workspace, "clf", 1, tmp_path / "out", False)
        assert path.read_bytes() == b"weights"
        with pytest.raises(AlreadyExistsError):
            connection.models.download(workspace, "clf", 1, tmp_path / "out", False)
        connection.models.delete(workspace, "clf", 2)
        with pytest.raises(NotFoundError):
            connection.models.get(workspace, "clf", 2)


class PackageContract:
    def test_create_list_extract(self, connection: Any, workspace: str, tmp_path: Path) -> None:
        connection.models.register(workspace, "clf", [("m.bin", model_file(tmp_path))], ModelSpec())
        score = model_file(tmp_path, "score.py", b"def run(x):\n    return x\n")
        made = connection.packages.create(
            workspace, "img", "v1", [("clf", 1)], [("score.py", score)], {"entry": "score.py"}, ""
        )
        assert (made.name, made.version, made.label) == ("img", 1, "v1")
        assert connection.packages.get(workspace, "img").version == 1
        assert [p.name for p in connection.packages.list(workspace)] == ["img"]
        paths = {f.path for f in connection.packages.files(workspace, "img", 1)}
        assert "score.py" in paths
        target = connection.packages.extract(workspace, "img", 1, tmp_path / "ctx")
        assert (target / "score.py").read_bytes() == score.read_bytes()
        assert (target / "manifest.json").is_file()
        with pytest.raises(AlreadyExistsError):
            connection.packages.extract(workspace, "img", 1, tmp_path / "ctx")


class DatastoreContract:
    """The default datastore (registering a local folder is refused on a server)."""

    def test_default_store_and_its_files(
        self, connection: Any, workspace: str, tmp_path: Path
    ) -> None:
        default = connection.datastores.get_default(workspace)
        assert default.is_default
        assert [d.name for d in connection.datastores.list(workspace)] == [default.name]
        files = connection.datastores.files(workspace, default.name)
        assert files.name == default.name and files.kind == default.kind and files.root
        local = model_file(tmp_path, "rows.csv", b"a,b\n1,2\n")
        assert files.upload_files([("data/rows.csv", local)]) == ["data/rows.csv"]
        files.write_bytes("data/more.csv", b"a,b\n3,4\n")
        with pytest.raises(AlreadyExistsError):
            files.write_bytes("data/more.csv", b"again")
        listed = files.list_files("data/**")
        assert sorted(f.path for f in listed) == ["data/more.csv", "data/rows.csv"]
        with files.open("data/rows.csv") as handle:
            assert handle.read() == b"a,b\n1,2\n"
        assert len(files.digests(["data/rows.csv"])[0]) > 0
        written = files.download(["data/rows.csv"], tmp_path / "down")
        assert [p.read_bytes() for p in written] == [b"a,b\n1,2\n"]
        files.remove("data/more.csv")
        assert [f.path for f in files.list_files("data/**")] == ["data/rows.csv"]
        with pytest.raises(NotFoundError):
            connection.datastores.get(workspace, "nothing")


class DatasetContract:
    def test_register_versions_and_lineage(self, connection: Any, workspace: str) -> None:
        files = [DataFile(path="workspaceblobstore:data/rows.csv", size=8, mtime_ms=1)]
        definition = {"sources": [{"datastore": "workspaceblobstore", "path": "data/*.csv"}]}

        def register(create_new_version: bool) -> Any:
            return connection.datasets.register(
                workspace,
                "rows",
                kind="tabular",
                definition=definition,
                files=files,
                description="",
                tags={},
                create_new_version=create_new_version,
            )

        first = register(False)
        with pytest.raises(AlreadyExistsError):
            register(False)
        second = register(True)
        assert (first.version, second.version) == (1, 2)
        assert connection.datasets.get(workspace, "rows").version == 2
        assert connection.datasets.get_by_id(workspace, first.id).version == 1
        assert [d.name for d in connection.datasets.list(workspace)] == ["rows"]
        assert connection.datasets.files(workspace, first.id) == files
        run = connection.runs.create(workspace, "exp")
        inputs = [{"name": "training", "dataset_id": first.id, "mode": "direct"}]
        connection.datasets.record_run_inputs(workspace, run.run_id, inputs)
        assert [i.dataset_id for i in connection.datasets.run_inputs(workspace, run.run_id)] == [
            first.id
        ]
        assert [i.run_id for i in connection.datasets.runs_using(workspace, first.id)] == [
            run.run_id
        ]


class SecretContract:
    def test_set_get_list_delete(self, connection: Any, workspace: str) -> None:
        records = connection.secrets.set(workspace, {"db-pass": "s3cret", "api": "k"})
        assert sorted(r.name for r in records) == ["api", "db-pass"]
        assert connection.secrets.get(workspace, ["db-pass"]) == {"db-pass": "s3cret"}
        assert sorted(r.name for r in connection.secrets.list(workspace)) == ["api", "db-pass"]
        connection.secrets.delete(workspace, "api")
        assert [r.name for r in connection.secrets.list(workspace)] == ["db-pass"]
        with pytest.raises(NotFoundError):
            connection.secrets.get(workspace, ["api"])
