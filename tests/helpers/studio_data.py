"""Runs with metrics, parameters, tags, files and a log for the Studio's tests and bench,
written through the services straight into a server's database."""

from __future__ import annotations

import io
from dataclasses import dataclass

from atelier.core.status import RunStatus
from atelier.services import artifacts, metrics, run_transitions, runs
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database

#: a name, tag and log line a page must show as text, never run
NASTY = "<script>alert('x')</script> \"quoted\" & ünïcødé ✓"


@dataclass(frozen=True)
class Seeded:
    experiment: str
    run_ids: list[str]


def seed_runs(
    database: Database,
    workspace: str,
    experiment: str,
    count: int,
    *,
    metric_names: int = 2,
    param_names: int = 2,
    points: int = 5,
) -> Seeded:
    """``count`` completed runs: run i has ``accuracy`` = i/count, ``loss`` = 1 - i/count,
    params ``lr`` = "0.i", ``model`` tag "lr" for even i and "tree" for odd."""
    ids = []
    with database.session() as session:
        for i in range(count):
            fraction = i / max(count, 1)
            params = {"lr": f"0.{i}", **{f"p{j}": str(j * i) for j in range(param_names - 1)}}
            record = runs.create(
                session,
                workspace,
                experiment,
                display_name=f"run-{i}",
                tags={"model": "lr" if i % 2 == 0 else "tree"},
                properties=params,
            )
            steps, stamps = list(range(points)), [1000 * s for s in range(points)]
            series = {
                "accuracy": (steps, [fraction] * points, stamps),
                "loss": (steps, [1 - fraction] * points, stamps),
            }
            for j in range(metric_names - 2):
                series[f"m{j}"] = ([0], [float(i * j)], [0])
            metrics.log_scalars(session, workspace, record.run_id, series)
            run_transitions.transition(session, workspace, record.run_id, RunStatus.COMPLETED)
            ids.append(record.run_id)
    return Seeded(experiment, ids)


def seed_rich_run(
    database: Database, blobs: BlobStore, workspace: str, experiment: str, points: int
) -> str:
    """One running run with a hostile name and tag, a long ``loss`` series with a spike,
    a text file and an image file."""
    import numpy as np

    with database.session() as session:
        record = runs.create(
            session,
            workspace,
            experiment,
            display_name=NASTY,
            tags={"note": NASTY, "model": "lr"},
            properties={"lr": "0.1"},
        )
        steps = np.arange(points, dtype=np.int64)
        values = np.linspace(1.0, 0.1, points)
        values[points // 2] = 50.0  # the spike a chart must keep
        stamps = 1_700_000_000_000 + steps * 10
        metrics.log_scalars(session, workspace, record.run_id, {"loss": (steps, values, stamps)})
        run_id = record.run_id
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
        b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00"
        b"\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    with database.session() as session:
        for path, content in (("outputs/notes.txt", NASTY.encode()), ("outputs/dot.png", png)):
            artifacts.upload(session, blobs, workspace, run_id, path, io.BytesIO(content))
        metrics.log_documents(
            session,
            workspace,
            run_id,
            [
                ("picture", "image", "outputs/dot.png"),
                ("summary", "row", {"epoch": 1, "note": NASTY}),
                ("summary", "row", {"epoch": 2, "score": 0.5}),
            ],
        )
    return run_id
