"""The Studio in Chromium: an experiment of 10,000 runs × 20 metrics × 20 parameters and a
run with a 1,000,000-point metric, against MLflow's own UI on the same runs when the full
``mlflow`` package (its built UI) is installed.

    .venv/bin/python bench/bench_studio.py            # full sizes
    .venv/bin/python bench/bench_studio.py --quick    # 1,000 runs, 100,000 points

Targets: runs page first byte < 200 ms; table drawn < 1 s; sorting by a metric < 300 ms;
the 1M-point run page's chart drawn < 1 s. The runs are written straight into a fresh
SQLite home (not timed); the Studio runs as ``atelier server start`` in a subprocess and
Chromium is Debian's (``/usr/bin/chromium``) driven by Playwright. Results go to
``bench/results/studio.json``.

The anchor: the same runs in MLflow's SQLite store, served by ``mlflow server`` (one
worker), opened in its model-training runs view. "Table drawn" is a navigation until a run
name shows, for both. The Studio's sort is a click on a column (the page swaps in the
sorted table); MLflow's is a load of its sorted view's URL (its UI keeps the sort there).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

# a sibling script: run as a script, this folder is on sys.path
from bench_server import free_port, say, wait_ready

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARGS += ["--disable-component-update", "--disable-sync", "--no-first-run"]
TARGETS = {"first_byte_ms": 200, "table_drawn_ms": 1000, "sort_ms": 300, "chart_drawn_ms": 1000}
TARGETS["mlflow_table_drawn_ms"] = 1000
TARGETS["mlflow_sort_ms"] = 300


def seed(home: Path, runs: int, width: int, points: int) -> tuple[str, str]:
    """An admin token, and the id of the long-series run; runs are bulk-inserted."""
    from sqlalchemy import insert

    from atelier.core.settings import Settings
    from atelier.server.bootstrap import initialize
    from atelier.services import members, metrics, users
    from atelier.services import runs as run_service
    from atelier.store.database import Database
    from atelier.store.models import (
        ExperimentRow,
        MetricChunkRow,
        MetricLatestRow,
        RunPropertyRow,
        RunRow,
        RunTagRow,
    )

    settings = Settings(home=home)
    token = initialize(settings, "admin").secret
    database = Database(settings.resolved_database_url)
    with database.session() as session:
        members.create_workspace(session, users.authenticate(session, token), "bench")
        first = run_service.create(session, "bench", "sweep")
        experiment_id = first.experiment_id
    rng = np.random.default_rng(7)
    now = int(time.time() * 1000)
    rows, props, latest, chunks, tags = [], [], [], [], []
    one_step = np.zeros(1, dtype="<i8").tobytes()
    for i in range(runs):
        run_id = f"sweep_{i:06d}"
        rows.append(
            {"run_id": run_id, "experiment_id": experiment_id, "number": i + 2,
             "display_name": f"trial-{i}", "status": "Completed", "created_ms": now + i,
             "started_ms": now + i, "ended_ms": now + i + 1000}
        )  # fmt: skip
        tags.append({"run_id": run_id, "key": "model", "value": "lr" if i % 2 else "tree"})
        for j in range(width):
            props.append({"run_id": run_id, "key": f"param_{j:02d}", "value": str(i * j % 97)})
            value = float(rng.random())
            latest.append(
                {"run_id": run_id, "name": f"metric_{j:02d}", "value": value, "step": 0,
                 "timestamp_ms": now, "count": 1, "min_value": value, "max_value": value}
            )  # fmt: skip
            chunks.append(
                {"run_id": run_id, "name": f"metric_{j:02d}", "count": 1, "steps": one_step,
                 "values": np.array([value], dtype="<f8").tobytes(), "timestamps": one_step}
            )  # fmt: skip
    with database.session() as session:
        session.execute(insert(RunRow), rows)
        session.execute(ExperimentRow.__table__.update().values(run_count=runs + 1))
        for table, values in ((RunTagRow, tags), (RunPropertyRow, props)):
            session.execute(insert(table), values)
        session.execute(insert(MetricLatestRow), latest)
        session.execute(insert(MetricChunkRow), chunks)
    with database.session() as session:
        long_run = run_service.create(session, "bench", "long", display_name="1M points")
        steps = np.arange(points, dtype=np.int64)
        values = np.sin(steps / 10_000.0) + rng.normal(0, 0.05, points)
        values[points // 3] = 25.0
        metrics.log_scalars(session, "bench", long_run.run_id, {"loss": (steps, values, steps)})
    database.dispose()
    return token, long_run.run_id


def first_byte_ms(url: str, token: str, repeats: int = 7) -> list[float]:
    times = []
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
    with httpx.Client(headers=headers, timeout=60) as client:
        for _ in range(repeats):
            started = time.perf_counter()
            with client.stream("GET", url) as answer:
                chunks = answer.iter_raw()
                next(chunks)
                times.append((time.perf_counter() - started) * 1000)
                for _ in chunks:
                    pass
    return times


def browser_figures(base: str, token: str, table: str, run_page: str) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    found: dict[str, list[float]] = {"table_drawn_ms": [], "sort_ms": [], "chart_drawn_ms": []}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(f"{base}/signin")
        page.fill("#token", token)
        page.click("#signin-form button[type=submit]")
        page.wait_for_url(f"{base}/")
        for _ in range(5):
            started = time.perf_counter()
            page.goto(f"{base}{table}", wait_until="commit")
            page.wait_for_selector("#runs tbody tr:nth-child(50)")
            found["table_drawn_ms"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            page.click("#runs th a[data-column='metrics.metric_03']")
            # the page swaps in the sorted table (or, without script, loads the sorted page)
            page.wait_for_selector("#runs[data-sort='metrics.metric_03'] tbody tr:nth-child(50)")
            found["sort_ms"].append((time.perf_counter() - started) * 1000)
            assert "sort=metrics.metric_03" in page.url
        for _ in range(5):
            started = time.perf_counter()
            page.goto(f"{base}{run_page}", wait_until="commit")
            page.wait_for_selector("figure.chart[data-drawn]")
            found["chart_drawn_ms"].append((time.perf_counter() - started) * 1000)
        browser.close()
    return found


def mlflow_ui_available() -> bool:
    try:
        import mlflow.server
    except ImportError:
        return False
    return (Path(mlflow.server.__file__).parent / "js" / "build" / "index.html").exists()


def seed_mlflow(folder: Path, runs: int, width: int) -> tuple[str, str]:
    """MLflow's own SQLite store with the same runs, bulk-inserted into its tables (the
    store creates the schema and the experiment); its URI and the experiment's id."""
    import sqlite3

    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    store = SqlAlchemyStore(uri, str(folder / "mlruns"))
    experiment_id = store.create_experiment("sweep")
    store.engine.dispose()
    rng = np.random.default_rng(7)
    now = int(time.time() * 1000)
    runs_rows, params, metrics, latest, tags = [], [], [], [], []
    for i in range(runs):
        run_id = f"{i:032x}"
        runs_rows.append((run_id, f"trial-{i}", "LOCAL", "", "", "bench", "FINISHED", now + i,
                          now + i + 1000, "", "active", str(folder / "mlruns" / run_id),
                          int(experiment_id)))  # fmt: skip
        tags.append(("model", "lr" if i % 2 else "tree", run_id))
        tags.append(("mlflow.runName", f"trial-{i}", run_id))
        for j in range(width):
            params.append((f"param_{j:02d}", str(i * j % 97), run_id))
            value = float(rng.random())
            metrics.append((f"metric_{j:02d}", value, now, run_id, 0, 0))
            latest.append((f"metric_{j:02d}", value, now, 0, 0, run_id))
    connection = sqlite3.connect(folder / "mlflow.db")
    connection.executemany(
        "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
        "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
        "artifact_uri, experiment_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        runs_rows,
    )
    connection.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tags)
    connection.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", params)
    connection.executemany(
        "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?,?,?,?,?,?)",
        metrics,
    )
    connection.executemany(
        "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
        "VALUES (?,?,?,?,?,?)",
        latest,
    )
    # MLflow 3's UI opens an experiment in its GenAI view unless the experiment says it is
    # model training (which the UI otherwise asks the user to choose)
    connection.execute(
        "INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?,?,?)",
        ("mlflow.experimentKind", "custom_model_development", int(experiment_id)),
    )
    connection.commit()
    connection.close()
    return uri, str(experiment_id)


def mlflow_table_drawn(folder: Path, runs: int) -> dict[str, list[float]]:
    """MLflow's UI (``mlflow server``) on the same runs, in the same Chromium: navigation
    until its runs table shows a run's name, plain and sorted by a metric (MLflow's UI keeps
    its sort in the URL too). The first load (the UI's bundle, cold) is not counted."""
    from playwright.sync_api import sync_playwright

    RESULTS_DIR.mkdir(exist_ok=True)
    uri, experiment_id = seed_mlflow(folder, runs, 20)
    port = free_port()
    log = folder / "mlflow.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri,
             "--default-artifact-root", str(folder / "mlruns"), "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1"],
            stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"},
        )  # fmt: skip
    times: dict[str, list[float]] = {"mlflow_table_drawn_ms": [], "mlflow_sort_ms": []}
    try:
        deadline = time.monotonic() + 600  # mlflow server starts slowly on a busy machine
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        wait_ready(f"http://127.0.0.1:{port}/health", server, log)
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            url = f"http://127.0.0.1:{port}/#/experiments/{experiment_id}/runs"
            plain = f"{url}?workflowType=machine_learning"
            by_metric = f"{plain}&orderByKey=metrics.%60metric_03%60&orderByAsc=false"
            page.goto(plain, wait_until="commit")  # cold: the UI's bundle is fetched
            page.get_by_text("trial-", exact=False).first.wait_for()
            for _ in range(5):
                for name, target in (
                    ("mlflow_table_drawn_ms", plain),
                    ("mlflow_sort_ms", by_metric),
                ):
                    page.goto("about:blank")
                    started = time.perf_counter()
                    page.goto(target, wait_until="commit")
                    page.get_by_text("trial-", exact=False).first.wait_for()
                    times[name].append((time.perf_counter() - started) * 1000)
            page.screenshot(path=str(RESULTS_DIR / "mlflow-ui.png"))
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 runs, 100,000 points")
    parser.add_argument("--no-anchor", action="store_true", help="skip MLflow's UI")
    options = parser.parse_args(argv)
    runs, points = (1_000, 100_000) if options.quick else (10_000, 1_000_000)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        say(f"seeding {runs} runs x 20 metrics x 20 params and a {points}-point run ...")
        started = time.perf_counter()
        token, long_run = seed(home, runs, 20, points)
        say(f"  seeded in {time.perf_counter() - started:.1f} s")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "ATELIER_HOME": str(home)}
        log = Path(folder) / "server.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "atelier.cli.main", "server", "start", "--port", str(port)],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            wait_ready(f"{base}/healthz", server, log)
            table = "/workspaces/bench/experiments/sweep"
            run_page = f"/workspaces/bench/runs/{long_run}"
            first_byte_ms(f"{base}{table}", token, 2)  # warm the server's caches
            found: dict[str, Any] = {"first_byte_ms": first_byte_ms(f"{base}{table}", token)}
            found |= browser_figures(base, token, table, run_page)
        finally:
            server.terminate()
            server.wait(timeout=30)
        if options.no_anchor:
            say("MLflow's UI skipped (--no-anchor)")
        elif mlflow_ui_available():
            say("the same runs in MLflow's UI ...")
            try:
                found |= mlflow_table_drawn(Path(folder), runs)
            except Exception as exc:  # the anchor failing must not hide our own figures
                say(f"MLflow's UI could not be measured: {type(exc).__name__}: {exc}"[:500])
        else:
            say("MLflow's UI is not installed (the 'mlflow' package, 'make bench' installs it)")
    result: dict[str, Any] = {
        "runs": runs,
        "metrics_per_run": 20,
        "params_per_run": 20,
        "series_points": points,
        "python": platform.python_version(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "repeats_ms": found,
    }
    print(f"Studio, {runs} runs x 20 metrics x 20 params; a {points}-point series (median ms)")
    for name, times in found.items():
        median = statistics.median(times)
        result[name] = median
        target = TARGETS[name]
        verdict = "ok" if median < target else "over"
        print(f"  {name:22s} {median:8.1f} ms   target < {target} ms   {verdict}")
    if "mlflow_table_drawn_ms" in result:
        ratio = result["mlflow_table_drawn_ms"] / result["table_drawn_ms"]
        print(f"  table drawn: the Studio is {ratio:.1f}x MLflow's UI speed on the same runs")
    if "mlflow_sort_ms" in result:
        ratio = result["mlflow_sort_ms"] / result["sort_ms"]
        print(f"  sorted by a metric: the Studio is {ratio:.1f}x MLflow's UI speed")
    RESULTS_DIR.mkdir(exist_ok=True)
    name = "studio-quick.json" if options.quick else "studio.json"
    (RESULTS_DIR / name).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
