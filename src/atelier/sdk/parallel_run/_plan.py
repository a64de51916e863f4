"""Cutting a step's inputs into mini-batches, in input order.

A FileDataset input is its files sorted by relative path, ``mini_batch_size`` files at a
time. A TabularDataset input is written once as an uncompressed Arrow file that every
worker maps into memory; a mini-batch is a range of its rows, as many as fit in
``mini_batch_size`` bytes (estimated from the table's in-memory size). With
``partition_keys`` the rows are sorted by those columns and each distinct combination of
values is one mini-batch.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.sdk.parallel_run._sizes import bytes_per_batch, files_per_batch
from atelier.sdk.parallel_run._worker import FILES, ROWS

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class Plan:
    """Every mini-batch as a task for a worker, with how many items it holds."""

    tasks: list[tuple[Any, ...]] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    #: the Arrow file of each input (None for file inputs)
    arrow_files: list[str | None] = field(default_factory=list)

    @property
    def items(self) -> int:
        return sum(self.sizes)


def local_files(folder: Path) -> list[str]:
    """The files under a downloaded or mounted FileDataset input, by relative path."""
    found = [p for p in folder.rglob("*") if p.is_file()]
    return [str(p) for p in sorted(found, key=lambda p: p.relative_to(folder).as_posix())]


def add_files(plan: Plan, files: list[str], mini_batch_size: str | None, partitioned: bool) -> None:
    if partitioned:
        raise ValidationError(
            "partition_keys split a TabularDataset's rows; a FileDataset input is split "
            "by mini_batch_size"
        )
    count = files_per_batch(mini_batch_size)
    for start in range(0, len(files), count):
        chunk = tuple(files[start : start + count])
        plan.tasks.append((FILES, chunk))
        plan.sizes.append(len(chunk))
    plan.arrow_files.append(None)


def add_table(
    plan: Plan,
    table: pa.Table,
    path: Path,
    mini_batch_size: str | None,
    partition_keys: list[str] | None,
) -> None:
    """Write ``table`` to ``path`` (Arrow IPC) and plan its mini-batches."""
    import pyarrow as pa

    index = len(plan.arrow_files)
    if partition_keys:
        missing = [k for k in partition_keys if k not in table.column_names]
        if missing:
            raise ValidationError(
                f"partition_keys {missing} are not columns of the input; it has "
                f"{table.column_names}"
            )
        table = table.sort_by([(k, "ascending") for k in partition_keys])
        ranges = _partition_ranges(table, partition_keys)
    else:
        ranges = _size_ranges(table, bytes_per_batch(mini_batch_size))
    path.parent.mkdir(parents=True, exist_ok=True)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(1, 1 << 20))
    for offset, length in ranges:
        plan.tasks.append((ROWS, index, offset, length))
        plan.sizes.append(length)
    plan.arrow_files.append(str(path))


def _size_ranges(table: pa.Table, batch_bytes: int) -> list[tuple[int, int]]:
    rows = table.num_rows
    if rows == 0:
        return []
    per_row = max(1.0, table.nbytes / rows)
    step = max(1, round(batch_bytes / per_row))
    return [(start, min(step, rows - start)) for start in range(0, rows, step)]


def _partition_ranges(table: pa.Table, keys: list[str]) -> list[tuple[int, int]]:
    frame = table.select(keys).to_pandas()
    if frame.empty:
        return []
    changed = (frame != frame.shift()).any(axis=1).to_numpy()
    starts = [int(i) for i in changed.nonzero()[0]] + [len(frame)]
    return [(a, b - a) for a, b in itertools.pairwise(starts)]
