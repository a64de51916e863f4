"""Scoring speed: one scikit-learn model served by Atelier and by its two anchors.

Anchors, measured in the same run on the same machine with the same number of worker
processes:
- ``azureml-inference-server-http`` (``azmlinfsrv --worker_count N``) with an entry
  script that loads the same joblib file, and
- ``mlflow models serve --workers N`` on the same model saved in MLflow format.
Atelier serves it without an entry script (no-code) with N replicas; its router hands
each connection to a replica (one hop), and key auth is on (the anchors have no key auth
of their own). The no-code script scores through ONNX Runtime once it has checked
the compiled model against scikit-learn (atelier.serving.fastpredict). ``atelier-py`` is
the same model behind Atelier with azureml's entry script (scikit-learn's own predict),
to show what the serving path alone is worth (``--no-entry-script`` skips it).
Load comes from a second process: wrk (Debian's package, C) when it is installed, else
bench/loadgen.py (Python, which costs the 2-core machine more per request than the
servers do: set BENCH_LOADER=python to use it anyway), at 1 and 100 rows per request and
concurrency 1, 8 and 32, after a warm-up of every server.
Targets: ≥ 3× azureml-inference-server-http and ≥ 4× mlflow in requests/s, p99 lower
than both. Then a rolling update under a steady 200 requests/s: zero failed requests.

Run: ``python bench/bench_serving.py [--workers 2] [--seconds 3]`` (``make bench``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent

AZUREML_SCORE = """
import json, os
import joblib, numpy

def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.joblib"))

def run(raw_data):
    rows = numpy.asarray(json.loads(raw_data)["data"], dtype=float)
    return model.predict(rows).tolist()
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _train(folder: Path) -> tuple[Path, Path | None]:
    """A logistic regression on 4 features; saved as joblib and (if mlflow) as MLflow."""
    import joblib
    import numpy
    from sklearn.linear_model import LogisticRegression

    rng = numpy.random.default_rng(0)
    features = rng.normal(size=(600, 4))
    labels = (features @ numpy.array([1.0, -2.0, 0.5, 1.5]) > 0).astype(int)
    classifier = LogisticRegression().fit(features, labels)
    plain = folder / "joblib"
    plain.mkdir()
    joblib.dump(classifier, plain / "model.joblib")
    try:
        import mlflow.sklearn
    except ImportError:
        return plain, None
    mlflow_dir = folder / "mlflow-model"
    mlflow.sklearn.save_model(classifier, str(mlflow_dir))
    return plain, mlflow_dir


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with code {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def _process(command: list[str], ready_url: str, log: Path, cwd: Path) -> Iterator[None]:
    with log.open("wb") as out:
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True, env=env
        )
    try:
        _wait_http(ready_url, process)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


WRK_SCRIPT = """
local body_file = io.open(os.getenv("BENCH_BODY"), "rb")
wrk.method = "POST"
wrk.body = body_file:read("*a")
body_file:close()
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY") or ""
if key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT %d %d %f %f %f\\n", summary.requests,
    errors.status + errors.connect + errors.read + errors.write + errors.timeout,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def _load_wrk(
    wrk: str, url: str, body: Path, key: str | None, seconds: float, concurrency: int
) -> dict[str, Any]:
    """Closed-loop load from wrk (C, one thread): it costs the machine far less per request
    than a Python client, so the servers, not the load, decide the numbers."""
    script = body.with_name("bench.lua")
    script.write_text(WRK_SCRIPT)
    env = dict(os.environ, BENCH_BODY=str(body), BENCH_KEY=key or "")
    duration = f"-d{max(1, round(seconds))}s"
    command = [wrk, "-t1", f"-c{concurrency}", duration, "-s", str(script), url]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    line = next(row for row in done.stdout.splitlines() if row.startswith("RESULT "))
    requests, failures, rps, p50, p99 = line.split()[1:]
    return {
        "requests": int(requests),
        "failures": int(failures),
        "rps": float(rps),
        "p50_ms": float(p50),
        "p99_ms": float(p99),
        "examples": [],
    }


def _load(
    url: str, body: Path, key: str | None, seconds: float, concurrency: int = 1, rate: float = 0
) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk and not rate and os.environ.get("BENCH_LOADER", "wrk") == "wrk":
        return _load_wrk(wrk, url, body, key, seconds, concurrency)
    command = [sys.executable, str(HERE / "loadgen.py"), url, str(body), "--seconds", str(seconds)]
    command += ["--rate", str(rate)] if rate else ["--concurrency", str(concurrency)]
    if key:
        command += ["--key", key]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _bodies(folder: Path) -> dict[tuple[str, int], Path]:
    import numpy

    rng = numpy.random.default_rng(1)
    bodies = {}
    for rows in (1, 100):
        data = rng.normal(size=(rows, 4)).round(4).tolist()
        for shape, document in (("data", {"data": data}), ("inputs", {"inputs": data})):
            path = folder / f"{shape}-{rows}.json"
            path.write_text(json.dumps(document))
            bodies[(shape, rows)] = path
    return bodies


def _measure(
    servers: dict[str, tuple[str, str | None, str]],
    bodies: dict[tuple[str, int], Path],
    seconds: float,
) -> dict[tuple[str, int, int], dict[str, Any]]:
    results = {}
    for url, key, shape in servers.values():  # warm-up, discarded: imports, caches, JIT-free
        _load(url, bodies[(shape, 1)], key, 2, 8)
    time.sleep(2)
    print(f"{'server':<10} {'rows':>4} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} fail")
    for rows in (1, 100):
        for concurrency in (1, 8, 32):
            for name, (url, key, shape) in servers.items():
                result = _load(url, bodies[(shape, rows)], key, seconds, concurrency)
                results[(name, rows, concurrency)] = result
                print(
                    f"{name:<10} {rows:>4} {concurrency:>4} {result['rps']:>9.0f} "
                    f"{result['p50_ms']:>8.2f} {result['p99_ms']:>8.2f} {result['failures']}",
                    flush=True,
                )
    return results


def _ratios(
    results: dict[tuple[str, int, int], dict[str, Any]], anchors: list[str], ours_name: str
) -> None:
    print(f"\nratios ({ours_name} / anchor): requests/s, and p99 (lower is better below 1)")
    for rows in (1, 100):
        for concurrency in (1, 8, 32):
            ours = results[(ours_name, rows, concurrency)]
            parts = []
            for anchor in anchors:
                theirs = results[(anchor, rows, concurrency)]
                parts.append(
                    f"{anchor}: {ours['rps'] / max(theirs['rps'], 1e-9):.2f}x rps, "
                    f"p99 {ours['p99_ms'] / max(theirs['p99_ms'], 1e-9):.2f}x"
                )
            print(f"  rows={rows:<3} c={concurrency:<2} " + "; ".join(parts))


def _entry_script_service(
    stack: contextlib.ExitStack, service: Any, model: Any, folder: Path, args: argparse.Namespace
) -> tuple[str, str | None, str]:
    """The same model behind Atelier with azureml's entry script instead of no-code."""
    from atelier import Model
    from atelier.azureml.core.model import InferenceConfig
    from atelier.azureml.core.webservice import LocalWebservice

    source = folder / "atelier-py"
    source.mkdir()
    (source / "score.py").write_text(AZUREML_SCORE)
    config = LocalWebservice.deploy_configuration(num_replicas=args.workers)
    inference = InferenceConfig(entry_script="score.py", source_directory=source)
    other = Model.deploy(service.workspace, "bench-py", [model], inference, config)
    stack.callback(other.delete)
    other.wait_for_deployment(timeout_sec=120)
    return other.scoring_uri, other.get_keys()[0], "data"


def _rolling_update(service: Any, model: Any, body: Path, key: str, rate: float) -> None:
    from atelier import Model

    newer = Model.register(
        service.workspace, Path(model.download(tempfile.mkdtemp())), model.name,
        model_framework="ScikitLearn",
    )  # fmt: skip
    command = [sys.executable, str(HERE / "loadgen.py"), service.scoring_uri, str(body)]
    command += ["--rate", str(rate), "--seconds", "14", "--key", key]
    load = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    time.sleep(2)
    started = time.perf_counter()
    service.update(models=[newer])
    took = time.perf_counter() - started
    out, _ = load.communicate()
    result = json.loads(out.strip().splitlines()[-1])
    print(
        f"\nrolling update {model.id} -> {newer.id} under {rate:g} req/s: took {took:.1f} s; "
        f"{result['requests']} requests, {result['failures']} failed {result['examples']}; "
        f"p99 {result['p99_ms']:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument(
        "--no-entry-script",
        action="store_true",
        help="skip 'atelier-py': Atelier serving azureml's entry script (scikit-learn's "
        "predict, no ONNX Runtime), which shows what the serving path alone is worth",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="atelier-bench-serving-"))
    os.environ["ATELIER_HOME"] = str(folder / "home")
    from atelier import Model, Workspace
    from atelier.azureml.core.webservice import LocalWebservice

    plain, mlflow_dir = _train(folder)
    bodies = _bodies(folder)
    ws = Workspace.create("bench-serving", exist_ok=True)
    model = Model.register(ws, plain / "model.joblib", "bench-clf", model_framework="ScikitLearn")
    config = LocalWebservice.deploy_configuration(num_replicas=args.workers)
    service = Model.deploy(ws, "bench-svc", [model], deployment_config=config)
    service.wait_for_deployment(timeout_sec=120)
    key = service.get_keys()[0]
    try:
        _compare(service, model, key, folder, plain, mlflow_dir, bodies, args)
    finally:
        service.delete()


def _compare(
    service: Any,
    model: Any,
    key: str,
    folder: Path,
    plain: Path,
    mlflow_dir: Path | None,
    bodies: dict[tuple[str, int], Path],
    args: argparse.Namespace,
) -> None:
    servers: dict[str, tuple[str, str | None, str]] = {
        "atelier": (service.scoring_uri, key, "data")
    }
    print(
        f"{args.workers} workers each (Atelier: replicas, plus its router process); "
        f"{args.seconds:g} s a cell"
    )
    with contextlib.ExitStack() as stack:
        azmlinfsrv = BIN / "azmlinfsrv"
        if azmlinfsrv.exists():
            (folder / "azureml").mkdir()
            (folder / "azureml" / "score.py").write_text(AZUREML_SCORE)
            port = _free_port()
            stack.enter_context(
                _process(
                    [str(azmlinfsrv), "--entry_script", "score.py", "--model_dir", str(plain),
                     "--port", str(port), "--worker_count", str(args.workers)],
                    f"http://127.0.0.1:{port}/", folder / "azureml.log", folder / "azureml",
                )
            )  # fmt: skip
            servers["azureml"] = (f"http://127.0.0.1:{port}/score", None, "data")
        else:
            print("azureml-inference-server-http is not installed: pip install 'atelier-ml[bench]'")
        mlflow = BIN / "mlflow"
        if mlflow.exists() and mlflow_dir is not None:
            port = _free_port()
            stack.enter_context(
                _process(
                    [str(mlflow), "models", "serve", "-m", str(mlflow_dir), "-h", "127.0.0.1",
                     "-p", str(port), "--workers", str(args.workers), "--env-manager", "local"],
                    f"http://127.0.0.1:{port}/ping", folder / "mlflow.log", folder,
                )
            )  # fmt: skip
            servers["mlflow"] = (f"http://127.0.0.1:{port}/invocations", None, "inputs")
        else:
            print("mlflow is not installed: pip install 'atelier-ml[bench]'")
        if not args.no_entry_script:
            servers["atelier-py"] = _entry_script_service(stack, service, model, folder, args)
        results = _measure(servers, bodies, args.seconds)
    anchors = [name for name in servers if not name.startswith("atelier")]
    _ratios(results, anchors, "atelier")
    if "atelier-py" in servers:
        _ratios(results, anchors, "atelier-py")
    _rolling_update(service, model, bodies[("data", 1)], key, args.rate)


if __name__ == "__main__":
    main()
