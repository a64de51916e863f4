"""Log every kind of metric azureml offers from a training script."""

from azureml.core import Run
from azureml.core.run import Run as RunClass

run = Run.get_context()
run.log("alpha", 0.03)
run.log("solver", "lbfgs")
run.log("converged", True)
run.log_list("losses", [0.9, 0.5, 0.3])
run.log_row("epochs", epoch=1, loss=0.3)
run.log_table("curve", {"x": [1, 2], "y": [0.5, 0.7]})
run.log_confusion_matrix(
    "cm",
    {
        "schema_type": "confusion_matrix",
        "schema_version": "1.0.0",
        "data": {"class_labels": ["a", "b"], "matrix": [[3, 1], [0, 4]]},
    },
)
run.log_residuals(
    "res",
    {
        "schema_type": "residuals",
        "schema_version": "1.0.0",
        "data": {"bin_edges": [0, 1, 2], "bin_counts": [3, 4]},
    },
)
run.log_predictions(
    "pred",
    {
        "schema_type": "predictions",
        "schema_version": "1.0.0",
        "data": {
            "bin_averages": [0.2],
            "bin_errors": [0.1],
            "bin_counts": [5],
            "bin_edges": [0, 1],
        },
    },
)
with run.child_run("fold-1") as child:
    child.log("fold_accuracy", 0.9)
run.upload_file("outputs/notes.txt", "notes.txt")
offline = RunClass.get_context(allow_offline=True)
run.complete()

from azureml.widgets import RunDetails  # noqa: E402 - a notebook's later cell

RunDetails(run).show()
