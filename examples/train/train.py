"""Train a logistic regression on iris and log to Atelier: the dataset input ``iris`` when the
run has one, else the copy scikit-learn ships."""

import argparse
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score, train_test_split

from atelier import Run

parser = argparse.ArgumentParser()
parser.add_argument("--reg", type=float, default=1.0, help="regularization strength")
parser.add_argument("--data", help="the id of the 'iris' dataset input (set by Atelier)")
args = parser.parse_args()
print(f"training with reg={args.reg}", flush=True)

run = Run.get_context()
inputs = getattr(run, "input_datasets", {})  # an offline run has no inputs
if "iris" in inputs:  # the registered dataset, passed as a named input
    frame = inputs["iris"].to_pandas_dataframe()
    print(f"training on dataset input 'iris': {len(frame)} rows", flush=True)
    X, y = frame.drop(columns=["species"]).to_numpy(), frame["species"].to_numpy()
else:
    X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
model = LogisticRegression(C=1.0 / args.reg, max_iter=500)
for fold, score in enumerate(cross_val_score(model, X_train, y_train, cv=5)):
    run.log("cv_accuracy", float(score), step=fold)
model.fit(X_train, y_train)
accuracy = float(model.score(X_test, y_test))
run.log("accuracy", accuracy)
run.log("reg", args.reg)
Path("outputs").mkdir(exist_ok=True)
joblib.dump(model, "outputs/model.joblib")
print(f"test accuracy {accuracy:.3f}; model saved to outputs/model.joblib", flush=True)
