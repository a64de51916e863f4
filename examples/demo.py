"""The user's journey so far, on a throwaway embedded workspace.

Create a workspace, log a run with child runs, metrics, an image and a file, query it
back; then submit a real training script to ``local`` compute with a registered
environment, stream its output and read its metrics; register the iris data as a dataset,
pass it to the training run as a named input and follow the model's lineage back to the
dataset version; deploy the model behind an endpoint, score it with its key, roll it to a
new version under load without a failed request, and read the endpoint's metrics; start a
workspace server and log to it from the SDK and from the unchanged mlflow client. Run it
with ``make demo``; ``--embedded`` stops before the server part (CI runs that part against
the installed wheel, to catch a package-data file the wheel lacks).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from atelier import Experiment, Model, Run, Workspace
    from atelier.sdk.data.tabular_dataset import TabularDataset


def main() -> None:
    home = Path(os.environ.get("ATELIER_DEMO_HOME") or tempfile.mkdtemp(prefix="atelier-demo-"))
    os.environ["ATELIER_HOME"] = str(home)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from atelier import Experiment, Run, Workspace

    ws = Workspace.create("demo", exist_ok=True)
    print(f"1. workspace {ws.name!r} at {ws.get_mlflow_tracking_uri()}")
    exp = Experiment(ws, "iris")

    rng = random.Random(7)
    for reg in (0.1, 0.5, 1.0):
        with exp.start_logging(display_name=f"reg={reg}", tags={"model": "logreg"}) as run:
            run.add_properties({"regularization": reg})
            losses = []
            for epoch in range(2_000):
                loss = 1.0 / (1 + epoch * reg) + rng.random() * 0.01
                losses.append(loss)
                run.log("loss", loss, step=epoch)
            for fold in range(3):
                with run.child_run(f"fold-{fold}") as child:
                    child.log("accuracy", 0.80 + reg * 0.1 + fold * 0.01)
            run.log("accuracy", 0.85 + reg * 0.1)
            run.log_row("summary", reg=reg, final_loss=losses[-1])
            figure, axes = plt.subplots()
            axes.plot(losses)
            axes.set_title(f"loss, reg={reg}")
            run.log_image("loss_curve", plot=figure)
            plt.close(figure)
            model = home / "model.txt"
            model.write_text(f"weights for reg={reg}\n")
            run.upload_file("outputs/model.txt", model)
        print(f"2. logged run {run.id} ({run.get_status()})")

    print("3. runs ordered by accuracy:")
    for listed in Run.list(exp, order_by="accuracy desc"):
        print(f"   {listed.display_name:<8} accuracy={listed.latest_metrics['accuracy']:.3f}")
    best = exp.get_best_run("accuracy")
    assert best is not None
    metrics = best.get_metrics()
    print(
        f"4. best run {best.display_name}: {len(metrics['loss'])} loss points, "
        f"last {metrics['loss'][-1]:.4f}; image {metrics['loss_curve']}"
    )
    print(f"   child runs: {[c.display_name for c in best.get_children()]}")
    print(f"   files: {best.get_file_names()}")
    target = best.download_file("outputs/model.txt", home / "downloaded-model.txt")
    print(f"5. downloaded {target.name}: {target.read_text().strip()!r}")
    print("6. the same runs from the command line:")
    cli = [sys.executable, "-m", "atelier.cli.main"]
    listing = ["run", "list", "-w", "demo", "-e", "iris", "--order-by", "accuracy desc"]
    subprocess.run([*cli, *listing], check=True)
    subprocess.run([*cli, "run", "metrics", best.id, "-w", "demo"], check=True)
    port_azureml_code(ws, home)
    runs_as_frames(exp)
    submit_training(ws)
    automate(ws)


def automate(ws: Workspace) -> None:
    """Work that runs itself: a pipeline, a schedule, batch scoring, a sweep and AutoML."""
    run_a_pipeline(ws)
    schedule_a_report(ws)
    score_in_batches(ws)
    sweep_hyperparameters(ws)
    automated_ml(ws)


def run_a_pipeline(ws: Workspace) -> None:
    """Two steps joined by PipelineData (prepare -> train), submitted twice: the second
    run reuses both steps, then published and started over its REST endpoint's SDK twin."""
    from atelier import Experiment
    from atelier.azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
    from atelier.azureml.pipeline.steps import PythonScriptStep

    here = Path(__file__).parent / "pipeline"
    prepared, model = PipelineData("prepared"), PipelineData("model")
    rows = PipelineParameter("rows", default_value=200)
    prepare = PythonScriptStep(
        "prepare.py", name="prepare", source_directory=here,
        arguments=["--rows", rows, "--out", prepared], outputs=[prepared],
    )  # fmt: skip
    train = PythonScriptStep(
        "train.py", name="train", source_directory=here,
        arguments=["--data", prepared, "--model", model], inputs=[prepared], outputs=[model],
    )  # fmt: skip
    pipeline = Pipeline(ws, [prepare, train], description="prepare -> train")
    print(f"P1. pipeline valid: {pipeline.validate() == []}")
    exp = Experiment(ws, "line-pipeline")
    first = exp.submit(pipeline, pipeline_parameters={"rows": 300})
    first.wait_for_completion(show_output=True)
    again = exp.submit(pipeline, pipeline_parameters={"rows": 300})
    again.wait_for_completion(show_output=False)
    for step in again.get_steps():
        reuse = step.get_details()["reuse"]
        print(f"P2. {step.name}: {step.get_status()}, reused {reuse['reused_run_id']} "
              f"(key {reuse['key'][:12]})")  # fmt: skip
    line = (
        again.find_step_run("train")[0]
        .get_output_data("model")
        .download(Path(os.environ["ATELIER_HOME"]) / "pipeline-model")
    )
    print(f"P3. model from the reused step: {(Path(line) / 'line.json').read_text()}")
    published = pipeline.publish("line", description="prepare -> train", version="1")
    print(f"P4. published {published.name} {published.id}; REST endpoint {published.endpoint}")
    rerun = published.submit(ws, "line-pipeline", pipeline_parameters={"rows": 50})
    rerun.wait_for_completion(show_output=False)
    print(f"P5. published run {rerun.id}: {rerun.get_step_statuses()}")


def schedule_a_report(ws: Workspace) -> None:
    """A schedule that runs a small script every hour, fired by one scheduler pass (what
    ``atelier scheduler`` and ``atelier server start`` do), then listed and disabled."""
    from atelier import ScriptRunConfig
    from atelier.scheduler.engine import Scheduler
    from atelier.sdk.pipelines.schedule import Schedule, ScheduleRecurrence

    folder = Path(tempfile.mkdtemp(prefix="report-"))
    (folder / "report.py").write_text(
        "import os\nprint('hourly report for', os.environ.get('AML_PARAMETER_team'))\n"
    )
    config = ScriptRunConfig(source_directory=folder, script="report.py")
    schedule = Schedule.create_for_script_run(
        ws,
        "hourly-report",
        config,
        "reports",
        recurrence=ScheduleRecurrence("Hour", 1),
        pipeline_parameters={"team": "demo"},
    )
    (firing,) = Scheduler().run_once()  # no start time: the first slot is now
    run = schedule.get_last_pipeline_run()
    assert run is not None and run.id == firing.run_id
    run.wait_for_completion(show_output=True)
    print(f"21. schedule {schedule.name!r} fired {run.id}: {run.get_status()}")
    cli = [sys.executable, "-m", "atelier.cli.main"]
    subprocess.run([*cli, "schedule", "list", "-w", ws.name], check=True)
    schedule.disable()


def port_azureml_code(ws: Workspace, home: Path) -> None:
    """azureml v1 code with its imports rewritten: config files, text and typed metrics,
    a curated environment and a two-process distributed run."""
    from atelier.azureml.core import Environment, Experiment, ScriptRunConfig
    from atelier.azureml.core import Workspace as AzureWorkspace
    from atelier.azureml.core.runconfig import MpiConfiguration

    project = home / "ported-project"
    ws.write_config(project)  # .azureml/config.json, as azureml writes it
    ported = AzureWorkspace.from_config(project)
    with Experiment(ported, "ported").start_logging() as run:
        run.log("solver", "lbfgs")  # azureml logs text too
        run.log_confusion_matrix(
            "confusion",
            {"schema_type": "confusion_matrix", "schema_version": "1.0.0",
             "data": {"class_labels": ["setosa", "other"], "matrix": [[9, 1], [0, 10]]}},
        )  # fmt: skip
    print(f"P1. from_config found {ported.name!r}; metrics {sorted(run.get_metrics())}")
    minimal = Environment.get(ported, "AzureML-Minimal")
    print(f"P2. curated {minimal.name}: pip {minimal.to_spec()['pip']}")
    source = project / "src"
    source.mkdir(exist_ok=True)
    (source / "rank.py").write_text(
        "import os\nprint('rank', os.environ['RANK'], 'of', os.environ['WORLD_SIZE'])\n"
    )
    config = ScriptRunConfig(
        source_directory=source,
        script="rank.py",
        distributed_job_config=MpiConfiguration(process_count_per_node=2),
    )
    job = Experiment(ported, "ported").submit(config)
    job.wait_for_completion(raise_on_error=True)
    ranks = sorted(child.display_name for child in job.get_children())
    print(f"P3. distributed run {job.id}: children {ranks}; page {job.get_portal_url()}")
    scratch = Experiment(ported, "scratch")
    with scratch.start_logging() as tried:
        tried.log("loss", 1.0)
    Experiment.delete(ported, scratch.id)  # azureml's static delete, by id
    left = sorted(e.name for e in Experiment.list(ported, view_type="All"))
    print(f"P4. Experiment.delete removed 'scratch' and its run; experiments now {left}")


def runs_as_frames(exp: Experiment) -> None:
    """The runs as a pandas DataFrame shaped like mlflow.search_runs, filtered and ordered,
    a diverged (NaN) loss logged without a crash, and the runs as CSV from the CLI."""
    import math

    import atelier

    with exp.start_logging(display_name="diverged") as run:
        run.log("accuracy", math.nan)
    frame = atelier.search_runs(
        exp, filter="tags.model = 'logreg'", order_by=["metrics.accuracy DESC"], max_results=2
    )
    print("6b. the two best runs as a DataFrame:")
    print(frame[["display_name", "status", "metrics.accuracy", "params.regularization"]])
    best = atelier.Run.get(exp.workspace, frame["run_id"].iloc[0])
    series = best.get_metrics_dataframe("loss")
    last = series["value"].iloc[-1]
    print(f"    the best run's loss series: {len(series)} points, last {last:.4f}")
    print("    the runs as CSV:")
    cli = [sys.executable, "-m", "atelier.cli.main", "run", "list", "-w", "demo", "-e", "iris"]
    subprocess.run([*cli, "--columns", "id,name,status,accuracy", "-o", "csv"], check=True)


def submit_training(ws: Workspace) -> None:
    """Submit examples/train/train.py to local compute in a registered environment."""
    from atelier import Environment, Experiment, ScriptRunConfig

    here = Path(__file__).parent / "train"
    env = Environment.from_pip_requirements("sklearn", here / "requirements.txt").register(ws)
    print(f"7. environment {env.name!r} version {env.version} (built once, then reused)")
    iris = register_training_data(ws)
    config = ScriptRunConfig(
        source_directory=here,
        script="train.py",
        arguments=["--reg", 0.5, "--data", iris.as_named_input("iris")],
        compute_target="local",
        environment=env,
    )
    run = Experiment(ws, "iris-train").submit(config)
    print(f"8. submitted {run.id}; its output:")
    run.wait_for_completion(show_output=True)
    metrics = run.get_metrics()
    print(
        f"9. {run.get_status()}: accuracy={metrics['accuracy']:.3f}, "
        f"cv_accuracy={[round(v, 3) for v in metrics['cv_accuracy']]}"
    )
    print(f"   files: {run.get_file_names()}")
    from atelier import Model

    model = run.register_model(
        "iris-clf",
        "outputs/model.joblib",
        tags={"area": "demo"},
        datasets=[("training data", iris)],
    )
    print(f"10. registered model {model.id} from run {model.run_id}")
    print(f"    versions of iris-clf: {[m.version for m in Model.list(ws, name='iris-clf')]}")
    show_lineage(ws, model)
    deploy_and_update(ws, run, model, iris)
    if "--embedded" in sys.argv[1:]:  # leave out starting a server and the mlflow client
        print("16. (--embedded: containers and the server part are left out)")
        return
    serve_in_a_container(ws)
    share_through_a_server(Path(os.environ["ATELIER_HOME"]))


def score_in_batches(ws: Workspace) -> None:
    """Score iris, cut into files, in a pipeline: a ParallelRunStep runs the entry script
    over mini-batches of 2 files in 2 processes, appending its rows to a PipelineData."""
    import csv

    import joblib
    from sklearn.linear_model import LogisticRegression

    from atelier import Dataset, Environment, Experiment, Run
    from atelier.azureml.pipeline.core import Pipeline, PipelineData
    from atelier.azureml.pipeline.steps import ParallelRunConfig, ParallelRunStep

    home = Path(os.environ["ATELIER_HOME"])
    with (Path(__file__).parent / "data" / "iris.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    parts = home / "iris-parts"
    parts.mkdir(exist_ok=True)
    for index in range(6):
        with (parts / f"part-{index}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows[index::6])
    features = [[float(r[k]) for k in list(r)[:4]] for r in rows]
    model = LogisticRegression(max_iter=500).fit(features, [r["species"] for r in rows])
    joblib.dump(model, home / "batch-model.joblib")
    store = ws.get_default_datastore()
    store.upload(parts, "iris-parts", overwrite=True, show_progress=False)
    files = Dataset.File.from_files((store, "iris-parts/*.csv"))
    config = ParallelRunConfig(
        environment=Environment.get(ws, "sklearn"),
        entry_script="score.py",
        source_directory=str(Path(__file__).parent / "batch"),
        mini_batch_size="2",
        error_threshold=0,
        output_action="append_row",
        compute_target="local",
        node_count=1,
        process_count_per_node=2,
    )
    scores = PipelineData("scores")
    step = ParallelRunStep(
        name="score-iris",
        parallel_run_config=config,
        inputs=[files.as_named_input("iris_parts")],
        output=scores,
        arguments=["--model", str(home / "batch-model.joblib")],
    )
    run = Experiment(ws, "iris-batch").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False)
    (step_run,) = run.find_step_run("score-iris")
    # a rerun of the demo reuses the step: its metrics are on the run that did the work
    worker = Run.get(ws, step_run.reused_run_id) if step_run.reused_run_id else step_run
    metrics = worker.get_metrics()
    scores_port = step_run.get_output_data("scores")
    folder = Path(scores_port.download(home / "batch-scores", overwrite=True))
    print(
        f"11. batch scoring pipeline {run.get_status()}: {metrics['total_mini_batches']:.0f} "
        f"mini-batches, {metrics['failed_items']:.0f} failed; "
        "parallel_run_step.txt, in input order:"
    )
    for line in (folder / "parallel_run_step.txt").read_text().splitlines():
        print(f"    {line}")


def sweep_hyperparameters(ws: Workspace) -> None:
    """A HyperDrive sweep of train.py's regularization: 8 trials, 2 at a time, random
    sampling, a bandit policy; then the trials best first and the best run."""
    import math

    from atelier import Environment, Experiment, ScriptRunConfig
    from atelier.azureml.train.hyperdrive import (
        BanditPolicy,
        HyperDriveConfig,
        PrimaryMetricGoal,
        RandomParameterSampling,
        loguniform,
    )

    config = HyperDriveConfig(
        run_config=ScriptRunConfig(
            source_directory=Path(__file__).parent / "train",
            script="train.py",
            environment=Environment.get(ws, "sklearn"),
        ),
        hyperparameter_sampling=RandomParameterSampling(
            {"--reg": loguniform(math.log(0.01), math.log(100))}, properties={"seed": 7}
        ),
        policy=BanditPolicy(slack_factor=0.1, evaluation_interval=1),
        primary_metric_name="accuracy",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=8,
        max_concurrent_runs=2,
    )
    sweep = Experiment(ws, "iris-sweep").submit(config)
    print(f"S1. sweep {sweep.id}: 8 trials of train.py, 2 at a time, bandit policy")
    sweep.wait_for_completion(show_output=True)
    best = sweep.get_best_run_by_primary_metric()
    assert best is not None
    print(
        f"S2. best trial {best.id}: {sweep.get_hyperparameters()[best.id]}, "
        f"accuracy={best.get_metrics()['accuracy']:.3f}"
    )
    show_the_sweep_in_the_studio(ws, sweep.id)


def show_the_sweep_in_the_studio(ws: Workspace, sweep_id: str) -> None:
    """The sweep's Studio page (as ``atelier studio`` serves it), drawn in this process:
    trials best first, those stopped early, and parallel coordinates of the trials."""
    import asyncio
    import re

    import httpx

    from atelier.core.settings import load_settings
    from atelier.studio.site import create_site

    app = create_site(load_settings(), local_key="demo-launch-key")

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # the app in this process, no port
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await client.get("/local-signin/demo-launch-key")  # what the launch link does
            page = await client.get(f"/workspaces/{ws.name}/sweeps/{sweep_id}")
            for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text):
                (await client.get(asset)).raise_for_status()  # its style sheets and scripts
            return page

    page = asyncio.run(fetch())
    page.raise_for_status()
    trials = len(re.findall(r'<tr data-run="', page.text))
    stopped = len(re.findall(r'<tr data-run="[^"]+" class="early"', page.text))
    print(f"S3. Studio: /workspaces/{ws.name}/sweeps/{sweep_id} shows {trials} trials best")
    print(f"    first, {stopped} stopped early, and their parallel coordinates ('atelier studio')")


def automated_ml(ws: Workspace) -> None:
    """AutoML on the bundled iris table for a few seconds: each iteration a child run, the
    best pipeline registered and served without an entry script."""
    import pandas as pd

    from atelier import Experiment, Model
    from atelier.azureml.train.automl import AutoMLConfig

    iris = pd.read_csv(Path(__file__).parent / "data" / "iris.csv")
    config = AutoMLConfig(
        task="classification",
        primary_metric="AUC_weighted",
        training_data=iris,
        label_column_name="species",
        n_cross_validations=3,
        iterations=5,
        experiment_timeout_minutes=0.2,
    )
    run = Experiment(ws, "iris-automl").submit(config, show_output=True)
    best, _ = run.get_output()
    print(
        f"A1. AutoML {run.id}: {len(run.get_children())} iterations, best "
        f"{best.properties['run_algorithm']} AUC_weighted={best.get_metrics()['AUC_weighted']:.3f}"
    )
    model = run.register_model("iris-automl")
    service = Model.deploy(ws, "iris-automl-svc", [model], overwrite=True)
    service.wait_for_deployment()
    flowers = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    answer = service.run({"data": flowers})
    print(f"A2. {model.id} deployed with no entry script: {flowers} -> {answer}")
    service.delete()
    run.continue_experiment(iterations=2, experiment_timeout_minutes=0.1)
    best, _ = run.get_output()
    print(
        f"A3. continue_experiment: {len(run.get_children())} iterations now, best "
        f"{best.properties['run_algorithm']} (iteration {best.properties['iteration']})"
    )
    even, odd = list(range(0, len(iris), 2)), list(range(1, len(iris), 2))
    own = AutoMLConfig(
        task="classification",
        training_data=iris,
        label_column_name="species",
        cv_splits_indices=[[even, odd], [odd, even]],  # your own folds, as in azureml
        iterations=1,
        allowed_models=["LogisticRegression"],
        enable_voting_ensemble=False,
        enable_stack_ensemble=False,
    )
    folded = Experiment(ws, "iris-automl").submit(own)
    auc = folded.get_best_child().get_metrics()["AUC_weighted"]
    print(f"A4. {folded.get_guardrails()[0]['description']}: AUC_weighted={auc:.3f}")


def register_training_data(ws: Workspace) -> TabularDataset:
    """Upload examples/data/iris.csv to the default datastore and register it as 'iris'."""
    from atelier import Dataset

    store = ws.get_default_datastore()
    store.upload(Path(__file__).parent / "data", "iris", overwrite=True, show_progress=False)
    table = Dataset.Tabular.from_delimited_files((store, "iris/iris.csv"))
    iris = table.register(ws, "iris", description="Fisher's iris", create_new_version=True)
    profile = iris.profile()
    print(
        f"7b. dataset 'iris' version {iris.version} on datastore {store.name!r}: "
        f"{profile.row_count} rows, species {[v for v, _ in profile['species'].top_values]}"
    )
    return iris


def show_lineage(ws: Workspace, model: Model) -> None:
    """Walk from the model back to the data it was trained on, and from the data forward."""
    for scenario, datasets in model.datasets.items():
        for dataset in datasets:
            print(f"11. model {model.id} <- {scenario}: dataset {dataset.name}:{dataset.version}")
            runs = [r.id for r in dataset.get_runs()]
            models = [m.id for m in dataset.get_models()]
            print(f"    dataset {dataset.name}:{dataset.version} -> runs {runs}, models {models}")


def deploy_and_update(ws: Workspace, run: Run, model: Model, iris: TabularDataset) -> None:
    """Deploy the model (no entry script: it is a scikit-learn joblib file), score it over
    HTTP with the key, roll it to a new version under load, read its metrics, and measure
    the drift between the training data and the inputs it collected."""
    import threading
    import time

    import httpx

    from atelier import Model
    from atelier.azureml.core.webservice import LocalWebservice

    config = LocalWebservice.deploy_configuration(port=0, num_replicas=2, collect_model_data=True)
    service = Model.deploy(ws, "iris-svc", [model], deployment_config=config, overwrite=True)
    service.wait_for_deployment(show_output=True, timeout_sec=180)  # patient on a busy machine
    primary, _ = service.get_keys()
    headers = {"Authorization": f"Bearer {primary}"}
    flower = {"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}
    answer = httpx.post(service.scoring_uri, json=flower, headers=headers)
    print(f"12. {service.scoring_uri} answered {answer.status_code}: {answer.json()}")

    counts = {"ok": 0, "failed": 0}
    stop = threading.Event()

    def light_load() -> None:
        with httpx.Client(headers=headers, timeout=30) as client:
            while not stop.is_set():
                try:
                    ok = client.post(service.scoring_uri, json=flower).status_code == 200
                except httpx.HTTPError:
                    ok = False
                counts["ok" if ok else "failed"] += 1
                time.sleep(0.01)

    newer = run.register_model("iris-clf", "outputs/model.joblib", tags={"area": "demo"})
    load = threading.Thread(target=light_load)
    load.start()
    started = time.perf_counter()
    service.update(models=[newer])
    elapsed = time.perf_counter() - started
    time.sleep(0.5)
    stop.set()
    load.join()
    print(
        f"13. rolled {model.id} -> {newer.id} in {elapsed:.1f} s under load: "
        f"{counts['ok']} requests answered, {counts['failed']} failed"
    )
    metrics = httpx.get(service.scoring_uri.replace("/score", "/metrics")).text
    requests, seconds = _score_totals(metrics)
    print(
        f"14. /metrics: {requests:.0f} scoring requests, mean latency "
        f"{1000 * seconds / max(requests, 1):.2f} ms"
    )
    watch_for_drift(ws, service, headers, iris)
    service.delete()
    print("15. deleted the endpoint")


def serve_in_a_container(ws: Workspace) -> None:
    """Package a model and its entry script as an OCI image and serve it in a container
    (podman) with CPU and memory limits: skipped, with the reason, without an engine or
    before this machine's Python base image is made (the first Model.package makes it)."""
    import json

    from atelier import Model
    from atelier.azureml.core.model import InferenceConfig
    from atelier.azureml.core.webservice import AciWebservice
    from atelier.containers import BASE_IMAGE, find_engine
    from atelier.core.errors import ContainerEngineError

    try:
        engine = find_engine()
    except ContainerEngineError as exc:
        print(f"C1. containers skipped: {exc.message}")
        return
    if not engine.image_exists(BASE_IMAGE):
        print(f"C1. containers skipped: the base image {BASE_IMAGE} is not made yet (the "
              "first Model.package on this machine makes it, in a few minutes)")  # fmt: skip
        return
    folder = Path(tempfile.mkdtemp(prefix="demo-container-"))
    (folder / "coef.json").write_text(json.dumps({"coefficient": 3}))
    (folder / "score.py").write_text(
        "import json\nfrom atelier import Model\n\ndef init():\n    global c\n"
        "    c = json.load(open(Model.get_model_path('coef')))['coefficient']\n\n"
        "def run(raw):\n    return [v * c for v in json.loads(raw)['data']]\n"
    )
    model = Model.register(ws, folder / "coef.json", "coef")
    config = InferenceConfig(entry_script="score.py", source_directory=folder)
    package = Model.package(ws, [model], config, image_name="coef-scorer")
    print(f"C1. image {package.location} built ({package.get_logs().splitlines()[-1]})")
    aci = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1)
    service = Model.deploy(ws, "coef-aci", [model], config, aci, overwrite=True)
    print(
        f"C2. container endpoint {service.scoring_uri}: [1, 2] -> {service.run({'data': [1, 2]})}"
    )
    service.update(tags={"stage": "demo"}, description="triples its input")  # no restart
    print(f"C3. tagged {service.tags}, {service.description!r}, since {service.created_time:%X}")
    service.delete()


def watch_for_drift(
    ws: Workspace, service: Any, headers: dict[str, str], iris: TabularDataset
) -> None:
    """Send flowers with longer petals, then compare the training data with the inputs the
    endpoint collected: no export, the collected data is a timestamped dataset."""
    import time
    from datetime import UTC, datetime

    import httpx

    from atelier.azureml.datadrift import DataDriftDetector
    from atelier.monitoring import collected_data

    rng = random.Random(3)
    features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    for _ in range(20):
        rows = [
            [rng.gauss(5.8, 0.8), rng.gauss(3.0, 0.4), rng.gauss(6.5, 0.8), rng.gauss(2.2, 0.3)]
            for _ in range(20)
        ]
        httpx.post(service.scoring_uri, json={"data": rows}, headers=headers)
    live = collected_data(ws, service.name, columns=features)
    deadline = time.monotonic() + 15
    while live.to_arrow().num_rows < 400 and time.monotonic() < deadline:
        time.sleep(0.5)  # the endpoint writes its collected batches every 2 s
    detector = DataDriftDetector.create_from_datasets(
        ws, "iris-inputs", iris, live, frequency="Day", feature_list=features, drift_threshold=0.3
    )
    window = detector.run(datetime.now(UTC))
    results, _ = detector.get_output()
    [today] = results[0]["result"]
    print(
        f"14b. drift between training data and collected inputs ({window.id}): magnitude "
        f"{today['drift_magnitude']:.0f}%, drift={today['has_drift']}, drifted features "
        f"{today['drifted_features']}"
    )
    show_the_drift_in_the_studio(ws, detector.name)


def show_the_drift_in_the_studio(ws: Workspace, name: str) -> None:
    """The detector's Studio page, drawn in this process as ``atelier studio`` serves it."""
    import asyncio
    import re

    import httpx

    from atelier.core.settings import load_settings
    from atelier.studio.site import create_site

    app = create_site(load_settings(), local_key="demo-drift-key")

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await client.get("/local-signin/demo-drift-key")
            return await client.get(f"/workspaces/{ws.name}/drift/{name}")

    page = asyncio.run(fetch())
    page.raise_for_status()
    top = re.findall(r'<tr data-feature="([^"]*)">', page.text)[:2]
    print(f"14c. Studio: /workspaces/{ws.name}/drift/{name} charts the magnitude per window;")
    print(f"     top features of the latest window: {', '.join(top)}")


def _score_totals(metrics: str) -> tuple[float, float]:
    """(requests, seconds) of /score from the router's Prometheus text."""
    count = total = 0.0
    for line in metrics.splitlines():
        if line.startswith('atelier_scoring_request_duration_seconds_count{path="/score"}'):
            count = float(line.rsplit(" ", 1)[1])
        if line.startswith('atelier_scoring_request_duration_seconds_sum{path="/score"}'):
            total = float(line.rsplit(" ", 1)[1])
    return count, total


def share_through_a_server(home: Path) -> None:
    """Start a workspace server, log to it from the SDK and from the mlflow client, and
    read both back as ordinary Atelier runs."""
    url, token, server, log = _start_server(home)
    try:
        print(f"16. atelier server at {url}; admin token printed once by 'atelier server init'")

        from atelier import Experiment, Workspace

        shared = Workspace.create("shared", url=url, token=token, exist_ok=True)
        with Experiment(shared, "remote").start_logging() as remote:
            for step in range(1000):
                remote.log("loss", 1.0 / (step + 1))
        print(
            f"17. SDK over HTTP: run {remote.id} logged {len(remote.get_metrics()['loss'])} points"
        )

        os.environ["MLFLOW_TRACKING_URI"] = f"{url}/mlflow/shared"
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
        import mlflow

        mlflow.set_experiment("mlflow-client")
        with mlflow.start_run() as active:
            mlflow.log_param("alpha", 0.5)
            mlflow.log_metric("rmse", 0.31)
        seen = Experiment(shared, "mlflow-client").get_runs()
        logged = next(r for r in seen if r.id == active.info.run_id)
        print(f"18. the mlflow client's run {logged.id}: metrics {logged.get_metrics()}")
        show_the_studio(url, token, logged.id, active.info.experiment_id)
        show_the_server_refusing(shared)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def show_the_studio(url: str, token: str, run_id: str, experiment_id: str) -> None:
    """The server's web interface: where it is, and a run page fetched as a script would
    (a browser signs in with the token instead and keeps a session cookie)."""
    import httpx

    page = httpx.get(
        f"{url}/workspaces/shared/runs/{run_id}",
        headers={"Authorization": f"Bearer {token}", "Accept": "text/html"},
    )
    page.raise_for_status()
    print(f"18b. Studio at {url}/ (sign in with the admin token); this run's page:")
    print(f"     {url}/workspaces/shared/runs/{run_id} ({len(page.text)} bytes of HTML)")
    link = f"{url}/#/experiments/{experiment_id}/runs/{run_id}"
    print(f"     mlflow's 'View run' link lands there: {link}")


def show_the_server_refusing(shared: Workspace) -> None:
    """What the server never does, even for its admin: replace the managed default
    datastore, or connect to an internal address named in a datastore's options."""
    from atelier import Datastore
    from atelier.core.errors import AtelierError

    attempts = {
        "replace the default datastore": lambda: Datastore.register_azure_blob_container(
            shared,
            "workspaceblobstore",
            "data",
            "elsewhere",
            account_key="k",
            overwrite=True,
            skip_validation=True,
        ),
        "reach the cloud metadata address": lambda: Datastore.register_s3(
            shared, "metadata", "bucket", endpoint_url="http://169.254.169.254", validate=False
        ),
    }
    for step, (what, attempt) in enumerate(attempts.items(), start=19):
        try:
            attempt()
        except AtelierError as exc:
            print(f"{step}. refused to {what}: {type(exc).__name__}: {exc.message}")
        else:
            raise SystemExit(f"the server agreed to {what}")


def _start_server(home: Path) -> tuple[str, str, subprocess.Popen[bytes], IO[bytes]]:
    """``atelier server init`` then ``atelier server start`` on a free loopback port."""
    import json
    import socket
    import time

    import httpx

    server_home = home / "server"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATELIER_")}
    env["ATELIER_HOME"] = str(server_home)
    cli = [sys.executable, "-m", "atelier.cli.main", "server"]
    init = subprocess.run(
        [*cli, "init", "--admin", "admin", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = json.loads(init.stdout)["token"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [*cli, "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return url, token, server, log
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit((home / "server.log").read_text())
        time.sleep(0.1)


if __name__ == "__main__":
    main()
