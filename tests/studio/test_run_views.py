"""The Studio's pages over HTTP for sweeps, pipeline runs, endpoints (test box and
/metrics), datasets (preview and profile), environments (build log), compute targets
(their runs), and a run's snapshot download and git information."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from atelier.core.data_records import DataFile, DatasetRecord
from atelier.core.pipelines import PIPELINE_RUN_TYPE, REUSED_RUN, STEP_NAME
from atelier.core.status import RunStatus
from atelier.execution.environments import build_log_path
from atelier.services import (
    dataset_preview,
    datasets,
    environments,
    run_transitions,
    runs,
    snapshots,
)
from atelier.services.datastore_rules import DatastoreAccess
from atelier.serving.metrics import ScoringMetrics, summarize
from tests.helpers.studio_data import NASTY
from tests.helpers.studio_runs import FakeEndpoint, fake_endpoint, forget_endpoint, seed_sweep
from tests.studio.conftest import WORKSPACE, Studio, csrf_of

HTML = {"Accept": "text/html"}
WS = f"/workspaces/{WORKSPACE}"


def test_a_sweep_page_shows_the_best_trial_first_and_the_trials_stopped_early(
    studio: Studio,
) -> None:
    sweep, trials = seed_sweep(studio)
    with studio.bearer("reader") as client:
        page = client.get(f"{WS}/sweeps/{sweep}", headers=HTML)
        listing = client.get(f"{WS}/sweeps", headers=HTML).text
        run_page = client.get(f"{WS}/runs/{sweep}", headers=HTML).text
        not_a_sweep = client.get(f"{WS}/sweeps/{trials[0]}", headers=HTML)
    assert page.status_code == 200
    html = page.text
    order = re.findall(r'<tr data-run="([^"]+)"', html)
    # best value by the goal (0.9 beats 0.7 and 0.2); the trial with no value comes last
    assert order == [trials[1], trials[0], trials[2], trials[3]]
    best = re.search(r'<p id="best-trial">.*?</p>', html, re.S)
    assert best is not None and trials[1] in best.group(0) and "0.9" in best.group(0)
    assert 'class="early"' in html
    assert "Bandit at interval 1" in html
    assert 'data-column="--lr" data-axis="1"' in html
    assert 'data-axis="1" data-color="1">best accuracy' in html
    assert 'id="sweep-parcoords" data-table="trial-table"' in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "cancel-run" not in html  # a Reader gets no cancel button
    assert '<meta http-equiv="refresh"' in html  # a running sweep's page refreshes itself
    assert f"/sweeps/{sweep}" in listing
    assert f'href="/workspaces/{WORKSPACE}/sweeps/{sweep}" id="sweep-link"' in run_page
    assert not_a_sweep.status_code == 404
    assert "not a sweep" in not_a_sweep.text


def test_a_pipeline_page_draws_the_step_graph_with_each_steps_status(studio: Studio) -> None:
    graph = {
        "steps": [
            {"name": "prepare", "upstream": []},
            {"name": "train", "upstream": ["prepare"]},
            {"name": "report", "upstream": ["prepare"]},
            {"name": "evaluate", "upstream": ["train", "report"]},
        ],
        "parameters": {"rows": 10},
    }
    with studio.database.session() as session:
        parent = runs.create(
            session,
            WORKSPACE,
            "pipes",
            run_type=PIPELINE_RUN_TYPE,
            definition={"graph": graph, "parameters": {"rows": 10}},
        )
        done = runs.create(
            session,
            WORKSPACE,
            "pipes",
            parent_run_id=parent.run_id,
            properties={STEP_NAME: "prepare", REUSED_RUN: "earlier-run"},
        )
        run_transitions.transition(session, WORKSPACE, done.run_id, RunStatus.COMPLETED)
        training = runs.create(
            session,
            WORKSPACE,
            "pipes",
            parent_run_id=parent.run_id,
            properties={STEP_NAME: "train"},
        )
    with studio.bearer("reader") as client:
        page = client.get(f"{WS}/pipelines/{parent.run_id}", headers=HTML)
        listing = client.get(f"{WS}/pipelines", headers=HTML).text
        not_a_pipeline = client.get(f"{WS}/pipelines/{done.run_id}", headers=HTML)
    with studio.bearer("contributor") as client:
        as_contributor = client.get(f"{WS}/pipelines/{parent.run_id}", headers=HTML).text
    assert 'id="cancel-run"' in as_contributor
    assert page.status_code == 200
    html = page.text
    states = dict(re.findall(r'<a class="step" data-step="(\w+)" data-status="(\w+)"', html))
    assert states == {
        "prepare": "Completed",
        "train": "Running",
        "report": "NotStarted",
        "evaluate": "NotStarted",
    }
    assert f'href="/workspaces/{WORKSPACE}/runs/{training.run_id}"' in html
    # columns by dependency: prepare, then train and report, then evaluate
    boxes = re.findall(r'<rect class="node (\w+)" x="(\d+)" y="(\d+)"', html)
    assert [int(x) for _, x, _ in boxes] == [10, 250, 250, 490]
    assert html.count('class="edge"') == 4
    assert "reused" in html
    assert "cancel-run" not in html  # not for a Reader
    assert f"/pipelines/{parent.run_id}" in listing
    assert not_a_pipeline.status_code == 404
    with studio.database.session() as session:
        run_transitions.transition(session, WORKSPACE, parent.run_id, RunStatus.COMPLETED)
    with studio.bearer("reader") as client:
        ended = client.get(f"{WS}/pipelines/{parent.run_id}", headers=HTML).text
    assert '<meta http-equiv="refresh"' in html
    assert '<meta http-equiv="refresh"' not in ended


def test_a_runs_snapshot_downloads_as_a_zip_and_its_git_information_shows(
    studio: Studio, tmp_path: Path
) -> None:
    source = tmp_path / "train.py"
    source.write_text("print('hello')\n")
    with studio.database.session() as session:
        snapshot = snapshots.create(
            session, studio.blobs, WORKSPACE, [("src/train.py", source, 0o644)]
        )
        record = runs.create(
            session,
            WORKSPACE,
            "snapshots",
            snapshot_id=snapshot.id,
            properties={"azureml.git.commit": "abc123", "azureml.git.branch": NASTY},
        )
        bare = runs.create(session, WORKSPACE, "snapshots")
    with studio.bearer("reader") as client:
        page = client.get(f"{WS}/runs/{record.run_id}", headers=HTML).text
        download = client.get(f"{WS}/runs/{record.run_id}/snapshot")
        missing = client.get(f"{WS}/runs/{bare.run_id}/snapshot")
    assert 'id="snapshot-download"' in page
    assert re.search(r"<th>commit</th><td><code>abc123</code>", page)
    assert "<script>alert" not in page
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert archive.read("src/train.py") == b"print('hello')\n"
    assert missing.status_code == 404


def test_metrics_summary_reads_counts_and_latency_quantiles() -> None:
    numbers = ScoringMetrics()
    for seconds in (0.004, 0.006, 0.02, 0.3):
        numbers.latency.labels("/score").observe(seconds)
    numbers.requests.labels("/score", "POST", "200").inc(3)
    numbers.requests.labels("/score", "POST", "500").inc()
    numbers.requests.labels("/healthz", "GET", "200").inc(7)
    found = summarize(numbers.render().decode())
    assert found["requests"] == 4
    assert found["errors"] == 1
    assert found["by_status"] == {"200": 3, "500": 1}
    assert found["mean_ms"] == pytest.approx(82.5)
    assert 5 <= float(found["p50_ms"] or 0) <= 10  # type: ignore[arg-type]
    assert 250 <= float(found["p99_ms"] or 0) <= 500  # type: ignore[arg-type]
    assert summarize("")["p50_ms"] is None


def test_an_endpoint_page_tests_the_endpoint_and_shows_its_metrics(studio: Studio) -> None:
    FakeEndpoint.numbers.latency.labels("/score").observe(0.012)
    FakeEndpoint.numbers.requests.labels("/score", "POST", "200").inc()
    target = f"{WS}/endpoints/echo/test"
    sent = {"body": json.dumps({"data": [1, 2.5]})}
    with fake_endpoint(studio, "echo"):
        with studio.browser_client("contributor") as contributor:
            page = contributor.get(f"{WS}/endpoints/echo").text
            token = csrf_of(page)
            answer = contributor.post(target, json=sent, headers={"X-CSRF-Token": token})
            no_csrf = contributor.post(target, json=sent)
            not_json = contributor.post(
                target, json={"body": "{nope"}, headers={"X-CSRF-Token": token}
            )
        with studio.browser_client("reader") as reader:
            seen = reader.get(f"{WS}/endpoints/echo").text
            forged = reader.post(target, json=sent, headers={"X-CSRF-Token": csrf_of(seen)})
    assert 'id="test-form"' in page
    assert re.search(r'id="metric-requests">1<', page)
    mean = re.search(r'id="metric-mean">([^<]*)<', page)
    assert mean is not None and mean.group(1).endswith(" ms")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == 200
    assert json.loads(body["body"])["doubled"] == [2, 5.0]
    assert no_csrf.status_code == 403
    assert not_json.status_code == 400
    assert 'id="test-form"' not in seen
    assert "Reveal keys" not in seen
    assert forged.status_code == 403
    with studio.bearer("reader") as client:
        gone = client.get(f"{WS}/endpoints/echo/metrics").json()
        page_gone = client.get(f"{WS}/endpoints/echo", headers=HTML)
    assert "does not answer" in gone["error"]  # the fake endpoint has stopped
    assert page_gone.status_code == 200
    assert 'id="metrics-error"' in page_gone.text
    forget_endpoint(studio, "echo")


def test_a_dataset_page_previews_and_profiles_its_first_rows(studio: Studio) -> None:
    assert studio.settings is not None
    access = DatastoreAccess(studio.database, studio.settings)
    store = access.get_default(WORKSPACE).name
    rows = "x,name\n" + "".join(f"{i},{'<b>' if i == 2 else 'n' + str(i % 3)}\n" for i in range(10))
    access.files(WORKSPACE, store).write_bytes("tables/people.csv", rows.encode(), overwrite=True)
    definition = {
        "sources": [{"datastore": store, "path": "tables/people.csv"}],
        "format": {"type": "delimited", "separator": ",", "header": "all_files_same_headers"},
    }
    with studio.database.session() as session:
        datasets.register(
            session, WORKSPACE, "people", kind="tabular", definition=definition,
            files=[DataFile(path=f"{store}:tables/people.csv", size=len(rows), mtime_ms=0)],
            description="", tags={}, create_new_version=False,
        )  # fmt: skip
        datasets.register(
            session, WORKSPACE, "loose", kind="tabular",
            definition={**definition, "sources": [{"local": "/tmp/x.csv"}]},
            files=[], description="", tags={}, create_new_version=False,
        )  # fmt: skip
    table = io.BytesIO()
    pq.write_table(pa.table({"score": [0.5, 1.5, None], "kind": ["a", "b", "a"]}), table)
    access.files(WORKSPACE, store).write_bytes("tables/scores.parquet", table.getvalue(), True)
    with studio.database.session() as session:
        datasets.register(
            session, WORKSPACE, "scores", kind="tabular",
            definition={
                "sources": [{"datastore": store, "path": "tables/scores.parquet"}],
                "format": {"type": "parquet"},
            },
            files=[DataFile(path=f"{store}:tables/scores.parquet", size=1, mtime_ms=0)],
            description="", tags={}, create_new_version=False,
        )  # fmt: skip
    with studio.bearer("reader") as client:
        scores = client.get(f"{WS}/datasets/scores/1", headers=HTML).text
        page = client.get(f"{WS}/datasets/people/1", headers=HTML)
        listing = client.get(f"{WS}/datasets", headers=HTML).text
        loose = client.get(f"{WS}/datasets/loose/1", headers=HTML).text
        absent = client.get(f"{WS}/datasets/people/9", headers=HTML)
    assert page.status_code == 200, page.text
    html = page.text
    assert len(re.findall(r"<tr>(?:<td>[^<]*</td>){2}</tr>", html)) == 10
    profile = re.search(r'<tr data-column="x">(.*?)</tr>', html)
    assert profile is not None
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", profile.group(1))
    assert cells == ["x", "int64", "10", "0", "10", "0", "9", "4.5"]
    assert "&lt;b&gt;" in html and "<b>" not in html.split('id="preview-table"')[1][:2000]
    assert "/datasets/people/1" in listing
    score = re.search(r'<tr data-column="score">(.*?)</tr>', scores)
    assert score is not None
    assert re.findall(r"<td[^>]*>([^<]*)</td>", score.group(1)) == [
        "score", "double", "2", "1", "3", "0.5", "1.5", "1"
    ]  # fmt: skip
    assert "author&#39;s machine" in loose
    assert absent.status_code == 404


def test_an_environment_page_shows_its_build_log(studio: Studio) -> None:
    assert studio.settings is not None
    spec = {"pip": ["studio-test-package==1.0"]}
    with studio.database.session() as session:
        record = environments.register(session, WORKSPACE, "buildme", spec)
    with studio.bearer("reader") as client:
        before = client.get(f"{WS}/environments/buildme/{record.version}", headers=HTML).text
        log = build_log_path(record.spec, studio.settings.home / "envs")
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"[atelier] building\nERROR: {NASTY}\n")
        after = client.get(f"{WS}/environments/buildme/{record.version}", headers=HTML).text
    assert 'id="build-log-none"' in before
    assert "Not built" in before
    assert "ERROR: &lt;script&gt;" in after
    assert "Failed or running" in after


def test_a_compute_page_lists_the_runs_on_that_target(studio: Studio) -> None:
    with studio.bearer("reader") as client:
        page = client.get(f"{WS}/compute/local", headers=HTML)
        listing = client.get(f"{WS}/compute", headers=HTML).text
        absent = client.get(f"{WS}/compute/nowhere", headers=HTML)
    assert page.status_code == 200
    assert re.search(r"<h2>Runs \(\d+\)</h2>", page.text)
    assert "run-29" in page.text  # the newest of the seeded runs ran on local
    assert "/compute/local" in listing
    assert absent.status_code == 404


def test_a_sorted_runs_table_comes_as_the_main_part_only_for_the_pages_script(
    studio: Studio,
) -> None:
    table = f"{WS}/experiments/exp"
    with studio.bearer("reader") as client:
        part = client.get(table, params={"sort": "metrics.accuracy", "desc": 0, "fragment": 1})
        bad = client.get(table, params={"fragment": 2}, headers=HTML)
    assert part.status_code == 200
    assert "<html" not in part.text and "<header" not in part.text
    assert 'id="runs" data-sort="metrics.accuracy" data-desc="0"' in part.text
    assert re.findall(r">(run-\d+)</a>", part.text)[:2] == ["run-0", "run-1"]
    assert "fragment" not in part.text  # the links inside lead to whole pages
    assert part.headers["content-security-policy"].startswith("default-src 'self'")
    assert bad.status_code == 400


def test_a_local_studio_previews_a_dataset_on_this_machine(studio: Studio, tmp_path: Path) -> None:
    assert studio.settings is not None
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "a.csv").write_text("k;v\nx;1\ny;2\n")
    (folder / "b.csv").write_text("k;v\nz;3\n")
    record = DatasetRecord(
        id="d",
        name="local",
        version=1,
        kind="tabular",
        definition={
            "sources": [{"local": str(folder)}],
            "format": {"type": "delimited", "separator": ";", "header": "all_files_same_headers"},
        },
        created_ms=0,
    )
    access = DatastoreAccess(studio.database, studio.settings)
    seen = dataset_preview.preview(access, WORKSPACE, record, local_files=True)
    refused = dataset_preview.preview(access, WORKSPACE, record)
    assert seen.columns == ["k", "v"]
    assert seen.rows == [["x", "1"], ["y", "2"]]
    assert seen.source == str(folder / "a.csv")
    assert "author's machine" in refused.note and not refused.rows


def test_a_sweep_or_pipeline_run_with_a_malformed_definition_still_gets_a_page(
    studio: Studio,
) -> None:
    """A run's definition is whatever its creator sent over the API: never a 5xx."""
    with studio.database.session() as session:
        sweep = runs.create(
            session, WORKSPACE, "odd", run_type="hyperdrive", definition={"hyperdrive": [1, 2]}
        )
        pipeline = runs.create(
            session,
            WORKSPACE,
            "odd",
            run_type=PIPELINE_RUN_TYPE,
            definition={"graph": {"steps": [{"name": "a", "upstream": "a"}, 7]}, "parameters": 5},
        )
    with studio.bearer("reader") as client:
        swept = client.get(f"{WS}/sweeps/{sweep.run_id}", headers=HTML)
        piped = client.get(f"{WS}/pipelines/{pipeline.run_id}", headers=HTML)
    assert swept.status_code == 200
    assert piped.status_code == 200
    assert 'data-step="a" data-status="NotStarted"' in piped.text
