"""Batch-scoring entry script for a ParallelRunStep over a FileDataset of iris CSV files.

``init()`` runs once in each scoring process: it loads the model named by ``--model``.
``run(mini_batch)`` gets a list of local file paths and returns one line per file.
"""

import argparse
import collections
import csv
from pathlib import Path

import joblib

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def init():
    global model
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    arguments, _ = parser.parse_known_args()
    model = joblib.load(arguments.model)


def run(mini_batch):
    lines = []
    for path in mini_batch:
        with Path(path).open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        predicted = model.predict([[float(row[name]) for name in FEATURES] for row in rows])
        counts = collections.Counter(str(label) for label in predicted)
        lines.append(
            f"{Path(path).name} " + " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        )
    return lines
