"""Tabular datasets: reading CSV, Parquet, JSON lines and SQL; lazy steps; bad input."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from atelier import NotFoundError, ValidationError, Workspace
from atelier.sdk.data.dataset import Dataset, DataType
from atelier.sdk.data.datastore import Datastore


@pytest.fixture
def csv_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "csv"
    (folder / "more").mkdir(parents=True)
    (folder / "a.csv").write_text("id,name,score\n1,ann,0.5\n2,bob,0.75\n3,cid,\n")
    (folder / "more" / "b.csv").write_text("id,name,score\n4,dan,1.0\n5,eve,0.25\n")
    (folder / "notes.txt").write_text("not data")
    return folder


def test_delimited_files_from_a_glob_read_in_order(csv_dir: Path) -> None:
    ds = Dataset.Tabular.from_delimited_files(str(csv_dir / "**" / "*.csv"), include_path=True)
    frame = ds.to_pandas_dataframe()
    assert frame["id"].tolist() == [1, 2, 3, 4, 5]
    assert frame["Path"].tolist() == ["a.csv"] * 3 + ["more/b.csv"] * 2
    assert pd.isna(frame.loc[2, "score"])
    assert ds.to_arrow().num_rows == 5


def test_separator_and_headers(tmp_path: Path) -> None:
    (tmp_path / "one.tsv").write_text("x;y\n1;2\n")
    (tmp_path / "two.tsv").write_text("3;4\n")
    ds = Dataset.Tabular.from_delimited_files(
        [str(tmp_path / "one.tsv"), str(tmp_path / "two.tsv")],
        separator=";",
        header="only_first_file_has_headers",
    )
    assert ds.to_pandas_dataframe().to_dict("list") == {"x": [1, 3], "y": [2, 4]}
    none = Dataset.Tabular.from_delimited_files(
        str(tmp_path / "two.tsv"), separator=";", header=False
    )
    assert none.to_pandas_dataframe().shape == (1, 2)


def test_a_column_type_that_does_not_parse_follows_on_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,when,amount\n1,2024-01-02,3\n2,yesterday,x\n3,2024-01-04,5\n")
    types = {"amount": DataType.to_long(), "when": DataType.to_datetime()}
    ds = Dataset.Tabular.from_delimited_files(str(path), set_column_types=types, validate=False)
    frame = ds.to_pandas_dataframe()  # on_error='null' is azureml's default
    assert frame["amount"].isna().tolist() == [False, True, False]
    assert frame["when"].isna().tolist() == [False, True, False]
    with pytest.raises(ValidationError, match=r"t\.csv: line 3, column '(when|amount)'"):
        ds.to_pandas_dataframe(on_error="fail")
    with pytest.raises(ValidationError, match="line 3"):
        Dataset.Tabular.from_delimited_files(str(path), set_column_types=types)


def test_a_malformed_csv_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,4,5\n6,7\n")
    with pytest.raises(ValidationError, match=r"bad\.csv: line 3 has 3 fields .* column 3"):
        Dataset.Tabular.from_delimited_files(str(path))
    dropped = Dataset.Tabular.from_delimited_files(str(path), invalid_lines="drop")
    assert dropped.to_pandas_dataframe()["a"].tolist() == [1, 6]


def test_a_path_matching_nothing_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="matches no files"):
        Dataset.Tabular.from_delimited_files(str(tmp_path / "nope" / "*.csv"))
    with pytest.raises(ValidationError, match="register it as a datastore"):
        Dataset.Tabular.from_delimited_files("s3://bucket/x.csv")


def test_parquet_and_json_lines(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    frame.to_parquet(tmp_path / "f.parquet")
    parquet = Dataset.Tabular.from_parquet_files(str(tmp_path / "f.parquet"))
    assert parquet.to_pandas_dataframe().equals(frame)
    lines = tmp_path / "f.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in frame.to_dict("records")) + "\n{oops\n")
    with pytest.raises(ValidationError, match="JSON lines"):
        Dataset.Tabular.from_json_lines_files(str(lines))
    forgiving = Dataset.Tabular.from_json_lines_files(str(lines), invalid_lines="drop")
    assert forgiving.to_pandas_dataframe()["b"].tolist() == ["x", "y", "z"]


def test_sql_query_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (id integer, label text)")
        conn.executemany("insert into t values (?, ?)", [(1, "a"), (2, "b"), (3, "c")])
    conn.close()
    ds = Dataset.Tabular.from_sql_query("select * from t where id > 1", f"sqlite:///{db}")
    assert ds.to_pandas_dataframe()["label"].tolist() == ["b", "c"]
    with pytest.raises(ValidationError, match=r"SQL query .* failed"):
        Dataset.Tabular.from_sql_query("select * from missing", f"sqlite:///{db}")


@pytest.mark.postgres
def test_sql_query_on_postgresql(postgres_url: str) -> None:
    ds = Dataset.Tabular.from_sql_query(
        "select generate_series(1, 4) as n, 'x' as label", postgres_url
    )
    assert ds.filter("n > 2").to_pandas_dataframe()["n"].tolist() == [3, 4]
    wrong = postgres_url.replace("postgres@", "postgres:hunter2@").rsplit("/", 1)[0] + "/absent_db"
    with pytest.raises(ValidationError) as caught:
        Dataset.Tabular.from_sql_query("select 1", wrong)
    assert "hunter2" not in caught.value.message


def test_steps_are_lazy_and_deterministic(csv_dir: Path) -> None:
    ds = Dataset.Tabular.from_delimited_files(str(csv_dir / "**" / "*.csv"))
    assert ds.take(2).to_pandas_dataframe()["id"].tolist() == [1, 2]
    assert ds.skip(3).to_pandas_dataframe()["id"].tolist() == [4, 5]
    left, right = ds.random_split(0.5, seed=7)
    ids_left = left.to_pandas_dataframe()["id"].tolist()
    ids_right = right.to_pandas_dataframe()["id"].tolist()
    assert sorted(ids_left + ids_right) == [1, 2, 3, 4, 5]
    assert ids_left == left.to_pandas_dataframe()["id"].tolist()
    sample = ds.take_sample(0.6, seed=3).to_pandas_dataframe()["id"].tolist()
    assert sample == ds.take_sample(0.6, seed=3).to_pandas_dataframe()["id"].tolist()
    assert set(sample) <= {1, 2, 3, 4, 5}
    assert ds.keep_columns(["id"]).to_pandas_dataframe().columns.tolist() == ["id"]
    assert ds.drop_columns("score").to_pandas_dataframe().columns.tolist() == ["id", "name"]
    with pytest.raises(ValidationError, match="not columns"):
        ds.keep_columns(["nope"], validate=True).to_arrow()
    # lazy: a file added after the definition is read (the dataset is not registered)
    (csv_dir / "c.csv").write_text("id,name,score\n6,fay,0.1\n")
    assert ds.to_pandas_dataframe()["id"].tolist() == [1, 2, 3, 6, 4, 5]


def test_filter_language(csv_dir: Path) -> None:
    ds = Dataset.Tabular.from_delimited_files(str(csv_dir / "**" / "*.csv"))
    query = "score >= 0.5 and not startswith(name, 'd') or id == 5"
    assert ds.filter(query).to_pandas_dataframe()["id"].tolist() == [1, 2, 5]
    assert ds.filter("score is null").to_pandas_dataframe()["name"].tolist() == ["cid"]
    assert ds.filter("name in ('ann', 'eve')").to_pandas_dataframe()["id"].tolist() == [1, 5]
    with pytest.raises(ValidationError, match="character"):
        ds.filter("score >> 1")
    with pytest.raises(ValidationError, match="unknown function"):
        ds.filter("__import__('os')")
    with pytest.raises(ValidationError, match="unknown column"):
        ds.filter("ghost > 1").to_arrow()
    with pytest.raises(ValidationError, match="does not fit"):
        ds.filter("name > 3").to_arrow()


def test_time_filters(tmp_path: Path) -> None:
    now = datetime.now().replace(microsecond=0)
    rows = [now - timedelta(days=d) for d in (10, 5, 1)]
    text = "when,v\n" + "".join(f"{r.isoformat()},{i}\n" for i, r in enumerate(rows))
    (tmp_path / "t.csv").write_text(text)
    ds = Dataset.Tabular.from_delimited_files(str(tmp_path / "t.csv"))
    with pytest.raises(ValidationError, match="with_timestamp_columns"):
        ds.time_recent(timedelta(days=2))
    timed = ds.with_timestamp_columns(timestamp="when")
    assert timed.time_recent(timedelta(days=2)).to_pandas_dataframe()["v"].tolist() == [2]
    between = timed.time_between(rows[0], rows[1])
    assert between.to_pandas_dataframe()["v"].tolist() == [0, 1]
    assert timed.time_between(rows[0], rows[1], include_boundary=False).to_arrow().num_rows == 0


def test_profile(csv_dir: Path) -> None:
    profile = Dataset.Tabular.from_delimited_files(str(csv_dir / "**" / "*.csv")).profile()
    score = profile.columns["score"]
    assert (score.count, score.missing) == (4, 1)
    assert (score.min, score.max) == (0.25, 1.0)
    assert score.mean == pytest.approx(0.625)
    assert score.quantiles[0.5] == pytest.approx(0.625)
    name = profile["name"]
    assert (name.distinct, name.type) == (5, "string")
    assert profile["id"].top_values[0][1] == 1
    assert profile.to_pandas().loc["id", "count"] == 5


def test_conversion_to_files(csv_dir: Path, tmp_path: Path) -> None:
    ds = Dataset.Tabular.from_delimited_files(str(csv_dir / "*.csv")).take(2)
    parquet = ds.to_parquet_files(target=str(tmp_path / "pq"))
    assert parquet.to_path() == ["/part-00000.parquet"]
    back = Dataset.Tabular.from_parquet_files(str(tmp_path / "pq"))
    assert back.to_pandas_dataframe()["id"].tolist() == [1, 2]
    csvs = ds.to_csv_files(separator="|", target=str(tmp_path / "csvout"))
    assert (tmp_path / "csvout" / "part-00000.csv").read_text().startswith('"id"|"name"')
    assert len(csvs.to_path()) == 1


# --- datastores and versions (on SQLite and PostgreSQL) ------------------------------------
def test_datastore_paths_and_registered_versions(
    ws: Workspace, csv_dir: Path, backend: str
) -> None:
    # a server refuses local datastores: over HTTP the workspace's default one serves
    store = (
        Datastore.register_local(ws, "files", csv_dir.parent / "store")
        if backend == "embedded"
        else ws.get_default_datastore()
    )
    store.upload(csv_dir, "iris", show_progress=False)
    ds = Dataset.Tabular.from_delimited_files((store, "iris/**/*.csv"))
    assert ds.to_pandas_dataframe()["id"].tolist() == [1, 2, 3, 4, 5]
    v1 = ds.register(ws, "scores", description="first", tags={"team": "ml"})
    assert (v1.name, v1.version, v1.tags) == ("scores", 1, {"team": "ml"})
    with pytest.raises(Exception, match="already exists"):
        ds.register(ws, "scores")
    v2 = ds.filter("id > 2").register(ws, "scores", create_new_version=True)
    assert v2.version == 2
    assert Dataset.get_by_name(ws, "scores").version == 2
    first = Dataset.get_by_name(ws, "scores", version=1)
    assert first.to_pandas_dataframe().shape[0] == 5  # type: ignore[attr-defined]
    assert Dataset.get_by_id(ws, v2.id or "").version == 2
    assert ws.datasets["scores"].version == 2
    with pytest.raises(NotFoundError, match="no version 7"):
        Dataset.get_by_name(ws, "scores", version=7)
    with pytest.raises(NotFoundError, match="not found"):
        Dataset.get_by_name(ws, "absent")


def test_register_pandas_dataframe(ws: Workspace) -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.1, 0.2, 0.3]})
    store = ws.get_default_datastore()
    ds = Dataset.Tabular.register_pandas_dataframe(frame, (store, "frames"), "frame")
    assert (ds.name, ds.version) == ("frame", 1)
    again = Dataset.Tabular.register_pandas_dataframe(frame.head(1), store.path("frames"), "frame")
    assert again.version == 2
    assert again.to_pandas_dataframe().equals(frame.head(1))


def test_a_type_that_changes_after_the_first_block_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    rows = "".join(f"{i},{i}\n" for i in range(300_000))  # well past the first 1 MB block
    path.write_text("a,b\n" + rows + "300000,late text\n")
    frame = Dataset.Tabular.from_delimited_files(str(path)).to_pandas_dataframe()
    assert len(frame) == 300_001
    assert frame["b"].iloc[-1] == "late text"
    assert frame["a"].dtype.kind == "i"
