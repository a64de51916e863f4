"""The columnar cache of tabular reads: the same data cached and uncached, invalidation when a
file changes, corrupt entries rebuilt, the size cap, and the switch that turns it off."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from atelier import ValidationError, Workspace
from atelier.sdk.data import _csv_pieces, _tabular_cache, _tabular_entry, _tabular_read
from atelier.sdk.data.dataset import Dataset, DataType
from atelier.sdk.data.datastore import Datastore
from atelier.sdk.data.tabular_dataset import TabularDataset
from tests.conftest import unique

CSV = (
    "id,score,name,day,stamp,flag,count\n"
    "1,0.5,ann,2024-01-02,2024-01-02 10:00:00,true,7\n"
    "2,,,2024-02-03,2024-02-03 11:30:00,false,\n"
    '3,0.25,"b, c",,2024-03-04 12:45:30,,9\n'
    "4,1.5,dan,2024-04-05,,true,10\n"
)


def entries(home: Path) -> list[Path]:
    _tabular_cache.wait_for_writes()  # the first read writes its entry in the background
    root = home / "cache" / "tabular"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if not p.name.startswith("."))


class NoParsing:
    """Stands in for the file readers: a read served by the cache never calls it."""

    calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        raise AssertionError("the files were parsed again instead of read from the cache")


def from_cache_only(monkeypatch: pytest.MonkeyPatch) -> NoParsing:
    stub = NoParsing()
    monkeypatch.setattr(_tabular_read, "read_files", stub)
    return stub


def csv_dataset(path: Path, **kwargs: Any) -> TabularDataset:
    return Dataset.Tabular.from_delimited_files(str(path), validate=False, **kwargs)


def test_a_second_read_comes_from_the_cache_and_equals_the_first(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    ds = csv_dataset(path, set_column_types={"count": DataType.to_float()})
    first = ds.to_pandas_dataframe()
    first_arrow = ds.to_arrow()
    assert len(entries(cache_home)) == 1
    with monkeypatch.context() as patch:
        from_cache_only(patch)
        second = ds.to_pandas_dataframe()
        second_arrow = ds.to_arrow()
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert second_arrow.equals(first_arrow, check_metadata=True)
    assert second_arrow.schema.equals(first_arrow.schema)
    # what was read: inferred dates and times, text with its nulls, numbers with theirs
    assert second.dtypes["day"].kind == second.dtypes["stamp"].kind == "M"
    assert [second["name"][i] for i in (0, 2, 3)] == ["ann", "b, c", "dan"]
    assert pd.isna(second["name"][1])
    assert second["day"].isna().tolist() == [False, False, True, False]
    assert second["score"].isna().tolist() == [False, True, False, False]
    assert second["count"].tolist()[0] == 7.0 and pd.isna(second["count"][1])
    assert second["id"].dtype == "int64"


def test_frames_are_writable_and_do_not_depend_on_the_cache_files(
    cache_home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "data.csv"
    path.write_text("id,x,when\n1,2.5,2024-01-01 00:00:00\n2,3.5,2024-01-02 00:00:00\n")
    ds = csv_dataset(path)
    for _ in range(2):  # parsed, then from the cache
        frame = ds.to_pandas_dataframe()
        frame.loc[0, "id"] = 10
        frame.loc[1, "x"] = 0.0
        frame.loc[0, "when"] = pd.Timestamp("2030-01-01")
        assert frame["id"].tolist() == [10, 2]
        assert frame["x"].tolist() == [2.5, 0.0]
    shutil.rmtree(cache_home / "cache")  # e.g. evicted by another process
    assert frame["id"].sum() == 12
    assert ds.to_pandas_dataframe()["x"].tolist() == [2.5, 3.5]


def test_a_changed_file_is_read_again(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,x\n2,y\n")
    ds = csv_dataset(path)
    assert ds.to_pandas_dataframe()["a"].tolist() == [1, 2]
    path.write_text("a,b\n1,x\n2,y\n3,z\n")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    assert ds.to_pandas_dataframe()["a"].tolist() == [1, 2, 3]
    # the same size and the same modification time: the file's change time still differs
    stat = path.stat()
    path.write_text("a,b\n7,x\n8,y\n9,z\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    assert ds.to_pandas_dataframe()["a"].tolist() == [7, 8, 9]
    # a file added to a folder dataset is another file set
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "1.csv").write_text("a\n1\n")
    parts = csv_dataset(folder)
    assert parts.to_pandas_dataframe()["a"].tolist() == [1]
    (folder / "2.csv").write_text("a\n2\n")
    assert parts.to_pandas_dataframe()["a"].tolist() == [1, 2]
    with monkeypatch.context() as patch:
        from_cache_only(patch)
        assert parts.to_pandas_dataframe()["a"].tolist() == [1, 2]


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path: Path) -> None:
    path.write_bytes(b"\x00garbage" * (path.stat().st_size // 8 + 1))


@pytest.mark.parametrize(
    ("target", "damage"),
    [
        ("0.values", _truncate),  # id: numbers without nulls, stored as bare values
        ("1.arrow", _truncate),  # score: numbers with nulls, an Arrow IPC file
        ("2.arrow", _garble),
        ("0.values", lambda p: p.write_bytes(b"")),
        ("1.arrow", lambda p: p.unlink()),
        ("meta.json", lambda p: p.write_text("{not json")),
        ("meta.json", lambda p: p.write_text(json.dumps({"layout": 1, "rows": 99}))),
        ("schema.arrow", _garble),
    ],
)
def test_a_corrupt_entry_is_rebuilt(
    cache_home: Path, tmp_path: Path, target: str, damage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    ds = csv_dataset(path)
    # the reference is read without the cache: a frame read through it keeps its text in
    # the entry's memory map, which this test damages in place (the cache itself only ever
    # replaces entries whole, by renaming)
    monkeypatch.setenv(_tabular_cache.CACHE_ENV, "0")
    first = ds.to_pandas_dataframe()
    monkeypatch.delenv(_tabular_cache.CACHE_ENV)
    pd.testing.assert_frame_equal(ds.to_pandas_dataframe(), first)  # fills the cache
    (entry,) = entries(cache_home)
    damage(entry / target)
    pd.testing.assert_frame_equal(ds.to_pandas_dataframe(), first)
    (rebuilt,) = entries(cache_home)
    assert rebuilt.name == entry.name
    assert _tabular_cache.load(rebuilt) is not None  # whole again
    pd.testing.assert_frame_equal(ds.to_pandas_dataframe(), first)


def test_leftovers_of_a_crashed_writer_are_ignored_then_removed(
    cache_home: Path, tmp_path: Path
) -> None:
    root = cache_home / "cache" / "tabular"
    crashed = root / ".tmp-crashed"
    crashed.mkdir(parents=True)
    (crashed / "0.arrow").write_bytes(b"half")
    fresh = root / ".tmp-running"
    fresh.mkdir()
    os.utime(crashed, (1_000_000_000, 1_000_000_000))
    path = tmp_path / "data.csv"
    path.write_text("a\n1\n")
    assert csv_dataset(path).to_pandas_dataframe()["a"].tolist() == [1]
    assert len(entries(cache_home)) == 1
    assert not crashed.exists()  # long dead
    assert fresh.exists()  # maybe another process writing now


def test_zero_turns_the_cache_off(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_tabular_cache.CACHE_ENV, "0")
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    ds = csv_dataset(path)
    first = ds.to_pandas_dataframe()
    pd.testing.assert_frame_equal(ds.to_pandas_dataframe(), first)
    assert entries(cache_home) == []
    assert not (cache_home / "cache" / "tabular").exists()
    monkeypatch.setenv(_tabular_cache.CACHE_ENV, "lots")
    with pytest.raises(ValidationError, match=r"ATELIER_DATASET_CACHE_MB='lots'.*0 to turn"):
        ds.to_pandas_dataframe()
    monkeypatch.setenv(_tabular_cache.CACHE_ENV, "-5")
    with pytest.raises(ValidationError, match="size in MB"):
        ds.to_arrow()


def test_eviction_removes_the_least_recently_used_entries(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    datasets = {}
    for name in "abcd":
        path = tmp_path / f"{name}.csv"
        path.write_text("n,text\n" + "".join(f"{i},{name}{i:06d}\n" for i in range(3000)))
        datasets[name] = csv_dataset(path)
    datasets["a"].to_arrow()
    (entry_a,) = entries(cache_home)
    size = sum(f.stat().st_size for f in entry_a.iterdir())
    # room for two entries and a half
    monkeypatch.setenv(_tabular_cache.CACHE_ENV, str(2.5 * size / 2**20))
    datasets["b"].to_arrow()
    _tabular_cache.wait_for_writes()  # b's entry is written behind the read: let it land
    datasets["a"].to_arrow()  # a is now used more recently than b
    datasets["c"].to_arrow()  # too much: b goes
    names = {p.name for p in entries(cache_home)}
    assert len(names) == 2 and entry_a.name in names
    total = sum(f.stat().st_size for e in entries(cache_home) for f in e.iterdir())
    assert total <= 2.5 * size
    with monkeypatch.context() as patch:
        from_cache_only(patch)
        datasets["a"].to_arrow()
        datasets["c"].to_arrow()
        with pytest.raises(AssertionError, match="parsed again"):
            datasets["b"].to_arrow()
    # an entry larger than the whole cap is not written at all (and evicts nothing)
    monkeypatch.setenv(_tabular_cache.CACHE_ENV, str(0.5 * size / 2**20))
    assert datasets["d"].to_arrow().num_rows == 3000
    assert {p.name for p in entries(cache_home)} == names


def test_steps_give_the_same_rows_cached_and_uncached(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "data.csv"
    path.write_text("id,score,name\n" + "".join(f"{i},{i / 10},n{i % 7}\n" for i in range(500)))
    base = csv_dataset(path)
    left, right = base.random_split(0.3, seed=5)
    derived = [
        base.filter("score > 10 and name != 'n3'"),
        base.keep_columns(["name", "id"]),
        base.drop_columns("score"),
        base.take(17),
        base.skip(480),
        base.take_sample(0.2, seed=11),
        base.filter("id >= 100").keep_columns("id").take(5),
        left,
        right,
    ]
    monkeypatch.setenv(_tabular_cache.CACHE_ENV, "0")
    uncached = [ds.to_pandas_dataframe() for ds in derived]
    assert entries(cache_home) == []
    monkeypatch.delenv(_tabular_cache.CACHE_ENV)
    cold = [ds.to_pandas_dataframe() for ds in derived]
    assert len(entries(cache_home)) == 1  # the steps run after the cache: one entry for all
    with monkeypatch.context() as patch:
        from_cache_only(patch)
        warm = [ds.to_pandas_dataframe() for ds in derived]
    for expected, first, second in zip(uncached, cold, warm, strict=True):
        pd.testing.assert_frame_equal(first, expected)
        pd.testing.assert_frame_equal(second, expected)
    assert uncached[6]["id"].tolist() == [100, 101, 102, 103, 104]


def test_on_error_fail_still_raises_when_a_lenient_read_was_cached(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,when,amount\n1,2024-01-02,3\n2,2024-01-03,x\n3,2024-01-04,5\n")
    ds = csv_dataset(path, set_column_types={"amount": DataType.to_long()})
    assert ds.to_pandas_dataframe()["amount"].isna().tolist() == [False, True, False]
    with pytest.raises(ValidationError, match=r"t\.csv: line 3, column 'amount'"):
        ds.to_pandas_dataframe(on_error="fail")
    with pytest.raises(ValidationError, match="on_error must be"):
        ds.to_pandas_dataframe(on_error="ignore")
    with monkeypatch.context() as patch:
        from_cache_only(patch)
        assert ds.to_pandas_dataframe()["amount"].isna().sum() == 1
    # without column types on_error changes nothing, and both share the entry
    plain = csv_dataset(path)
    plain.to_arrow(on_error="null")
    with monkeypatch.context() as patch:
        from_cache_only(patch)
        assert plain.to_arrow(on_error="fail").column("amount").to_pylist() == ["3", "x", "5"]


def test_json_lines_are_cached_and_parquet_is_not(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = tmp_path / "f.jsonl"
    lines.write_text('{"a": 1, "b": "x"}\n{"a": 2, "b": null}\n')
    ds = Dataset.Tabular.from_json_lines_files(str(lines), validate=False)
    first = ds.to_pandas_dataframe()
    with monkeypatch.context() as patch:
        from_cache_only(patch)
        pd.testing.assert_frame_equal(ds.to_pandas_dataframe(), first)
    assert len(entries(cache_home)) == 1
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "f.parquet")
    parquet = Dataset.Tabular.from_parquet_files(str(tmp_path / "f.parquet"), validate=False)
    assert parquet.to_pandas_dataframe()["a"].tolist() == [1, 2]
    assert len(entries(cache_home)) == 1


# --- datastores, on every backend --------------------------------------------------------------
def _store(ws: Workspace, backend: str, folder: Path) -> Datastore:
    if backend == "embedded":
        return Datastore.register_local(ws, "files", folder)
    return ws.get_default_datastore()  # a server refuses local datastores


def test_datastore_files_and_registered_versions_are_cached(
    ws: Workspace, home: Path, tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(_tabular_cache.CACHE_ENV, raising=False)
    source = tmp_path / "upload"
    source.mkdir()
    (source / "a.csv").write_text("id,name\n1,ann\n2,bob\n")
    store = _store(ws, backend, tmp_path / "store")
    store.upload(source, "scores", show_progress=False)
    ds = Dataset.Tabular.from_delimited_files((store, "scores/*.csv"), validate=False)
    version = ds.register(ws, "scores")
    assert ds.to_pandas_dataframe()["name"].tolist() == ["ann", "bob"]
    with monkeypatch.context() as patch:
        from_cache_only(patch)
        assert ds.to_pandas_dataframe()["id"].tolist() == [1, 2]
        got = Dataset.get_by_name(ws, "scores", version=version.version or 1)
        assert got.to_pandas_dataframe()["name"].tolist() == ["ann", "bob"]  # type: ignore[attr-defined]
    # the same datastore name and path in another workspace are other files
    other = Workspace.create(unique("ws"))
    (source / "a.csv").write_text("id,name\n3,cid\n4,dan\n")
    other_store = _store(other, backend, tmp_path / "other-store")
    other_store.upload(source, "scores", show_progress=False)
    theirs = Dataset.Tabular.from_delimited_files((other_store, "scores/*.csv"), validate=False)
    assert theirs.to_pandas_dataframe()["name"].tolist() == ["cid", "dan"]
    assert ds.to_pandas_dataframe()["name"].tolist() == ["ann", "bob"]
    assert len(entries(home)) == 2


def test_a_large_csv_read_in_pieces_equals_a_whole_read(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parsed_pieces: list[int]
) -> None:
    """A CSV above twice the piece size is parsed a piece at a time (cuts fall mid-line)
    and then read back from the cache: the same frame as the one-pass reader gives."""
    monkeypatch.setattr(_csv_pieces, "PIECE_BYTES", 100)
    rows = [CSV.splitlines()[0]] + [line for _ in range(25) for line in CSV.splitlines()[1:]]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(rows) + "\n")
    cached = csv_dataset(path).to_pandas_dataframe()
    assert len(parsed_pieces) > 5 and sum(parsed_pieces) == 100  # really cut into many pieces
    monkeypatch.setenv(_tabular_cache.CACHE_ENV, "0")  # the one-pass streaming reader
    whole = csv_dataset(path).to_pandas_dataframe()
    assert sum(parsed_pieces) == 100  # not used without the cache
    pd.testing.assert_frame_equal(cached, whole, check_exact=True)
    assert len(cached) == 100
    assert cached["id"].tolist()[:4] == [1, 2, 3, 4]


def test_a_later_piece_that_does_not_fit_the_first_pieces_types_reads_the_whole_file(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_csv_pieces, "PIECE_BYTES", 64)
    lines = ["id,value"] + [f"{i},{i}" for i in range(200)] + ["200,not a number"]
    path = tmp_path / "late.csv"
    path.write_text("\n".join(lines) + "\n")
    frame = csv_dataset(path).to_pandas_dataframe()
    assert len(frame) == 201
    assert frame["value"].tolist()[-1] == "not a number"  # typed over the whole file
    assert frame["value"].tolist()[0] == "0"
    root = cache_home / "cache" / "tabular"
    assert len(entries(cache_home)) == 1  # the pieces written meanwhile were dropped
    assert not [p for p in root.iterdir() if p.name.startswith(".tmp-")]


def test_a_first_read_writes_its_entry_piece_by_piece(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry is written while the file is parsed; a numeric column whose nulls only
    come in a later piece is written whole at the end; a failed write leaves no entry
    and the read still gives the data."""
    monkeypatch.setattr(_csv_pieces, "PIECE_BYTES", 64)
    lines = ["id,score,name"] + [f"{i},{i / 2},n{i}" for i in range(150)] + ["150,,"]
    path = tmp_path / "pieces.csv"
    path.write_text("\n".join(lines) + "\n")
    stores: list[Any] = []
    monkeypatch.setattr(_tabular_cache, "store", lambda *args: stores.append(args))
    first = csv_dataset(path).to_pandas_dataframe()
    assert stores == []  # written by the pieces' writer, not after the parse
    (entry,) = entries(cache_home)
    meta = json.loads((entry / "meta.json").read_text())
    assert meta["raw"] == [0] and meta["rows"] == 151  # score has a null: an IPC column
    with monkeypatch.context() as patch:
        from_cache_only(patch)
        again = csv_dataset(path).to_pandas_dataframe()
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    assert first["score"].tolist()[:3] == [0.0, 0.5, 1.0] and pd.isna(first["score"][150])

    def fail(self: Any, piece: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(_tabular_entry.PieceWriter, "_write", fail)
    path.write_text("\n".join(lines[:120]) + "\n")
    frame = csv_dataset(path).to_pandas_dataframe()
    assert frame["id"].tolist() == list(range(119)) and stores  # written the usual way
    root = cache_home / "cache" / "tabular"
    assert not [p for p in root.iterdir() if p.name.startswith(".tmp-")]


def _memory_owner(values: Any) -> Any:
    while getattr(values, "base", None) is not None:
        values = values.base
    return values.obj if isinstance(values, memoryview) else values


def test_reads_map_their_numbers_copy_on_write_and_keep_text_large(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mmap

    import pyarrow as pa

    path = tmp_path / "data.csv"
    path.write_text(CSV)
    ds = csv_dataset(path)
    first = ds.to_pandas_dataframe()
    (entry,) = entries(cache_home)
    stored = pa.ipc.read_schema(pa.py_buffer((entry / "schema.arrow").read_bytes()))
    assert stored.field("name").type == pa.large_string()  # what pandas' str dtype holds
    assert ds.to_arrow().schema.field("name").type == pa.string()
    with monkeypatch.context() as patch:
        from_cache_only(patch)
        second = ds.to_pandas_dataframe()
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    for frame in (first, second):  # the first read wrote the entry, then mapped it too
        assert isinstance(_memory_owner(frame["id"].array._ndarray), mmap.mmap)  # no copy
    second.loc[0, "id"] = 99  # a private page: the entry does not change
    assert ds.to_pandas_dataframe()["id"].tolist() == [1, 2, 3, 4]


# --- the first read of a large CSV: entry written behind the parse, pieces let go -------------
def _pieces_csv(path: Path, rows: int = 300, null_at: int = 170) -> list[str]:
    """A CSV of many 64-byte pieces whose ``score`` column gets a null only in a middle
    piece (written as bare values until then)."""
    lines = ["id,score,name"] + [f"{i},{'' if i == null_at else i / 4},n{i}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return lines


def test_the_entry_is_complete_and_correct_when_a_first_read_returns(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is left to write when the first read returns: the entry is in place, its
    numeric column whose null came in a middle piece holds every value (the bare values
    written before it became the IPC file's first batch), and its frame equals an
    uncached read's."""
    monkeypatch.setattr(_csv_pieces, "PIECE_BYTES", 64)
    path = tmp_path / "pieces.csv"
    _pieces_csv(path)
    first = csv_dataset(path).to_pandas_dataframe()
    root = cache_home / "cache" / "tabular"
    (entry,) = list(root.iterdir())  # in place already, no .tmp- folder beside it
    meta = json.loads((entry / "meta.json").read_text())
    assert meta["rows"] == 300 and meta["raw"] == [0]
    assert sorted(p.name for p in entry.iterdir()) == [
        "0.values",
        "1.arrow",
        "2.arrow",
        "meta.json",
        "schema.arrow",
    ]
    monkeypatch.setenv(_tabular_cache.CACHE_ENV, "0")
    uncached = csv_dataset(path).to_pandas_dataframe()
    pd.testing.assert_frame_equal(first, uncached, check_exact=True)
    monkeypatch.delenv(_tabular_cache.CACHE_ENV)
    with monkeypatch.context() as patch:
        from_cache_only(patch)
        again = csv_dataset(path).to_pandas_dataframe()
    pd.testing.assert_frame_equal(again, uncached, check_exact=True)
    assert again["score"][169] == 169 / 4 and pd.isna(again["score"][170])
    assert again["score"][299] == 299 / 4


def test_a_write_failing_midway_loses_nothing_and_the_next_read_caches(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pieces are not kept once written: when a write fails after some pieces, the
    file is read again the usual way (the same frame), what was written is removed, and
    the next read writes the entry."""
    monkeypatch.setattr(_csv_pieces, "PIECE_BYTES", 64)
    path = tmp_path / "pieces.csv"
    _pieces_csv(path)
    monkeypatch.setenv(_tabular_cache.CACHE_ENV, "0")
    expected = csv_dataset(path).to_pandas_dataframe()
    monkeypatch.delenv(_tabular_cache.CACHE_ENV)
    real = _tabular_entry.PieceWriter._write
    written: list[int] = []

    def fail_at_the_fourth(self: Any, piece: Any) -> None:
        if len(written) == 3:
            raise OSError("disk full")
        written.append(piece.num_rows)
        real(self, piece)

    with monkeypatch.context() as patch:
        patch.setattr(_tabular_entry.PieceWriter, "_write", fail_at_the_fourth)
        patch.setattr(_tabular_cache, "store", lambda *args: False)  # that write fails too
        frame = csv_dataset(path).to_pandas_dataframe()
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    assert len(written) == 3
    assert entries(cache_home) == []
    assert list((cache_home / "cache" / "tabular").iterdir()) == []  # nothing half-written
    again = csv_dataset(path).to_pandas_dataframe()
    pd.testing.assert_frame_equal(again, expected, check_exact=True)
    assert len(entries(cache_home)) == 1
    with monkeypatch.context() as patch:
        from_cache_only(patch)
        pd.testing.assert_frame_equal(
            csv_dataset(path).to_pandas_dataframe(), expected, check_exact=True
        )


_EXITING_READER = """
import os, sys
from atelier.sdk.data import _csv_pieces, _tabular_entry
from atelier.sdk.data.dataset import Dataset
_csv_pieces.PIECE_BYTES = 64
how, path = sys.argv[1], sys.argv[2]
if how == "killed":  # the process dies while the pieces are being written
    real = _tabular_entry.PieceWriter._write
    done = []
    def write_then_die(self, piece):
        real(self, piece)
        done.append(piece)
        if len(done) == 3:
            os._exit(3)
    _tabular_entry.PieceWriter._write = write_then_die
ds = Dataset.Tabular.from_delimited_files(path, validate=False)
if how == "arrow":
    ds.to_arrow()  # its entry is written on a background thread
else:
    ds.to_pandas_dataframe()
"""


def test_a_process_that_exits_right_after_a_first_read_leaves_no_half_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that ends right after its first read leaves a whole entry (for pandas it
    is written before the read returns, see above; for Arrow the interpreter waits for the
    write under way); one killed while writing leaves no entry, only a temporary folder
    that no read uses, and the next read is right. (Two processes, a home each.)"""
    import subprocess
    import sys

    path = tmp_path / "pieces.csv"
    _pieces_csv(path)
    monkeypatch.setattr(_csv_pieces, "PIECE_BYTES", 64)
    monkeypatch.setenv(_tabular_cache.CACHE_ENV, "0")
    expected = csv_dataset(path).to_pandas_dataframe()
    monkeypatch.delenv(_tabular_cache.CACHE_ENV)
    running = {}
    for how in ("arrow", "killed"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ATELIER_")}
        env["ATELIER_HOME"] = str(tmp_path / how)
        running[how] = subprocess.Popen(
            [sys.executable, "-c", _EXITING_READER, how, str(path)], env=env
        )
    for how, process in running.items():
        code = process.wait(timeout=120)
        home = tmp_path / how
        monkeypatch.setenv("ATELIER_HOME", str(home))
        leftovers = [p for p in (home / "cache" / "tabular").iterdir() if p.name.startswith(".")]
        if how == "killed":
            assert code == 3
            assert entries(home) == [] and len(leftovers) == 1
            assert not (leftovers[0] / "meta.json").exists()
            frame = csv_dataset(path).to_pandas_dataframe()
            pd.testing.assert_frame_equal(frame, expected, check_exact=True)
            assert len(entries(home)) == 1
            continue
        assert code == 0 and leftovers == []
        (entry,) = entries(home)
        assert (entry / "meta.json").is_file()
        with monkeypatch.context() as patch:
            from_cache_only(patch)
            frame = csv_dataset(path).to_pandas_dataframe()
        pd.testing.assert_frame_equal(frame, expected, check_exact=True)
