"""Pipeline step 2: fit y = a*x + b by least squares on the prepared CSV, log a and b."""

import argparse
import json
from pathlib import Path

from atelier import Run

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--model", required=True)
args = parser.parse_args()

rows = [line.split(",") for line in (Path(args.data) / "points.csv").read_text().split()[1:]]
xs, ys = [float(x) for x, _ in rows], [float(y) for _, y in rows]
n, mean_x, mean_y = len(xs), sum(xs) / len(xs), sum(ys) / len(ys)
slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
    (x - mean_x) ** 2 for x in xs
)
intercept = mean_y - slope * mean_x
model = Path(args.model)
model.mkdir(parents=True, exist_ok=True)
(model / "line.json").write_text(json.dumps({"a": slope, "b": intercept}))
run = Run.get_context()
run.log("a", slope)
run.log("b", intercept)
print(f"fitted y = {slope:.3f} x + {intercept:.3f} on {n} rows")
