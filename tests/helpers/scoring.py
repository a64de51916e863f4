"""A scoring script and a packaged model for the image and endpoint tests: model ``coef``
holds a coefficient, and the script multiplies each value of ``{"data": [...]}`` by it."""

from __future__ import annotations

import json
from pathlib import Path

from atelier import Model, Workspace
from atelier.azureml.core.model import InferenceConfig
from atelier.client.registry import reset_backends

SCORE = """
import json
from atelier import Model

coefficient = None

def init():
    global coefficient
    with open(Model.get_model_path("coef")) as handle:
        coefficient = json.load(handle)["coefficient"]

def run(raw_data):
    return [value * coefficient for value in json.loads(raw_data)["data"]]
"""


def package_coef_scorer(tmp_path: Path, workspace: str) -> None:
    """Package model ``coef`` (coefficient 3) as image ``coef-scorer`` through the SDK, from
    ``tmp_path/coef.json`` and ``tmp_path/src/score.py``."""
    reset_backends()
    ws = Workspace.get(workspace)
    (tmp_path / "coef.json").write_text(json.dumps({"coefficient": 3}))
    model = Model.register(ws, tmp_path / "coef.json", "coef")
    source = tmp_path / "src"
    source.mkdir()
    (source / "score.py").write_text(SCORE)
    config = InferenceConfig(entry_script="score.py", source_directory=source)
    Model.package(
        ws, [model], config, image_name="coef-scorer", image_label="v1", generate_dockerfile=True
    )
    reset_backends()  # let go of the database before the CLI opens it
