"""Pipeline step 1: write a small CSV of noisy points on a line into the step's output."""

import argparse
import random
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--rows", type=int, default=100)
parser.add_argument("--out", required=True)
args = parser.parse_args()

rng = random.Random(3)
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
lines = ["x,y"] + [f"{x},{2 * x + 1 + rng.gauss(0, 0.5):.4f}" for x in range(args.rows)]
(out / "points.csv").write_text("\n".join(lines) + "\n")
print(f"prepared {args.rows} rows in {out}")
