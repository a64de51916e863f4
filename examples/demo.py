"""The user's journey so far, on a throwaway embedded workspace.

Create a workspace, log a run with child runs, metrics, an image and a file, query it
back; then submit a real training script to ``local`` compute with a registered
environment, stream its output and read its metrics; register the iris data as a dataset,
pass it to the training run as a named input and follow the model's lineage back to the
dataset version; deploy the model behind an endpoint, score it with its key, roll it to a
new version under load without a failed request, and read the endpoint's metrics; start a
workspace server and log to it from the SDK and from the unchanged mlflow client. Run it
with ``make demo``.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from atelier import Model, Run, Workspace
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
    submit_training(ws)
    sweep_hyperparameters(ws)


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
    deploy_and_update(ws, run, model)
    share_through_a_server(Path(os.environ["ATELIER_HOME"]))


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


def deploy_and_update(ws: Workspace, run: Run, model: Model) -> None:
    """Deploy the model (no entry script: it is a scikit-learn joblib file), score it over
    HTTP with the key, roll it to a new version under load, and read its metrics."""
    import threading
    import time

    import httpx

    from atelier import Model
    from atelier.azureml.core.webservice import LocalWebservice

    config = LocalWebservice.deploy_configuration(port=0, num_replicas=2)
    service = Model.deploy(ws, "iris-svc", [model], deployment_config=config, overwrite=True)
    service.wait_for_deployment(show_output=True)
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
    service.delete()
    print("15. deleted the endpoint")


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
        show_the_server_refusing(shared)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


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
