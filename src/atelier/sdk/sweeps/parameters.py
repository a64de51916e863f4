"""HyperDrive's parameter expressions, with azureml v1's names and shapes.

Each function returns what azureml's returns, ``[name, [arguments]]`` (``choice(1, 2)`` is
``["choice", [[1, 2]]]``), so a parameter space is plain data that travels in a run's
definition. :func:`to_optuna` turns one expression into the Optuna distribution Optuna
samples and the transform that gives the script its value: Optuna does all the sampling;
normal-shaped expressions are sampled as a uniform quantile mapped through the normal's
inverse CDF.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

from atelier.core.errors import ValidationError

#: the ten expressions, azureml's ``parameter_expressions``: the one list every module that
#: re-exports them (``atelier.sdk.sweeps``, azureml's module paths) takes its names from
__all__ = [
    "choice",
    "lognormal",
    "loguniform",
    "normal",
    "qlognormal",
    "qloguniform",
    "qnormal",
    "quniform",
    "randint",
    "uniform",
]

#: every expression and the names of its arguments (azureml's)
EXPRESSION_ARITY: dict[str, tuple[str, ...]] = {
    "choice": ("options",),
    "randint": ("upper",),
    "uniform": ("min_value", "max_value"),
    "quniform": ("min_value", "max_value", "q"),
    "loguniform": ("min_value", "max_value"),
    "qloguniform": ("min_value", "max_value", "q"),
    "normal": ("mu", "sigma"),
    "qnormal": ("mu", "sigma", "q"),
    "lognormal": ("mu", "sigma"),
    "qlognormal": ("mu", "sigma", "q"),
}
_QUANTILE_EDGE = 1e-9


def choice(*options: Any) -> list[Any]:
    """One of ``options`` (given as values, or as one list or range of values)."""
    if len(options) == 1 and isinstance(options[0], list | tuple | range):
        values = list(options[0])
    else:
        values = list(options)
    return check_expression(["choice", [values]])


def randint(upper: int) -> list[Any]:
    """A whole number in ``[0, upper)``."""
    return check_expression(["randint", [upper]])


def uniform(min_value: float, max_value: float) -> list[Any]:
    """A float uniformly in ``[min_value, max_value]``."""
    return check_expression(["uniform", [min_value, max_value]])


def quniform(min_value: float, max_value: float, q: float) -> list[Any]:
    """``round(uniform(min_value, max_value) / q) * q``."""
    return check_expression(["quniform", [min_value, max_value, q]])


def loguniform(min_value: float, max_value: float) -> list[Any]:
    """``exp(uniform(min_value, max_value))``: the bounds are natural logarithms."""
    return check_expression(["loguniform", [min_value, max_value]])


def qloguniform(min_value: float, max_value: float, q: float) -> list[Any]:
    """``round(exp(uniform(min_value, max_value)) / q) * q``."""
    return check_expression(["qloguniform", [min_value, max_value, q]])


def normal(mu: float, sigma: float) -> list[Any]:
    """A float from the normal distribution of mean ``mu`` and deviation ``sigma``."""
    return check_expression(["normal", [mu, sigma]])


def qnormal(mu: float, sigma: float, q: float) -> list[Any]:
    """``round(normal(mu, sigma) / q) * q``."""
    return check_expression(["qnormal", [mu, sigma, q]])


def lognormal(mu: float, sigma: float) -> list[Any]:
    """``exp(normal(mu, sigma))``."""
    return check_expression(["lognormal", [mu, sigma]])


def qlognormal(mu: float, sigma: float, q: float) -> list[Any]:
    """``round(exp(normal(mu, sigma)) / q) * q``."""
    return check_expression(["qlognormal", [mu, sigma, q]])


def _number(name: str, kind: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{kind}: {name} must be a finite number, got {value!r}")
    return float(value)


def check_expression(expression: Any) -> list[Any]:
    """``expression`` if it is a well-formed parameter expression; a ``ValidationError``
    that names the rule it broke otherwise."""
    if (
        not isinstance(expression, list | tuple)
        or len(expression) != 2
        or not isinstance(expression[1], list | tuple)
    ):
        raise ValidationError(
            f"{expression!r} is not a parameter expression; build one with choice(), "
            "uniform(), randint() ... from atelier.azureml.train.hyperdrive"
        )
    kind, arguments = expression[0], list(expression[1])
    names = EXPRESSION_ARITY.get(kind) if isinstance(kind, str) else None
    if names is None:
        raise ValidationError(
            f"unknown parameter expression {kind!r}; use one of {', '.join(EXPRESSION_ARITY)}"
        )
    if len(arguments) != len(names):
        raise ValidationError(f"{kind} takes {', '.join(names)}; got {arguments!r}")
    if kind == "choice":
        options = arguments[0]
        if not isinstance(options, list | tuple) or not options:
            raise ValidationError("choice needs at least one option")
        for option in options:
            if option is not None and not isinstance(option, str | int | float | bool):
                raise ValidationError(
                    f"choice options must be strings, numbers, booleans or None; got {option!r}"
                )
        return ["choice", [list(options)]]
    values = [_number(n, kind, v) for n, v in zip(names, arguments, strict=True)]
    if kind == "randint":
        if not float(values[0]).is_integer() or values[0] < 1:
            raise ValidationError(f"randint: upper must be a whole number >= 1, got {arguments[0]}")
        return ["randint", [int(values[0])]]
    if kind in ("uniform", "quniform", "loguniform", "qloguniform") and values[0] >= values[1]:
        raise ValidationError(f"{kind}: min_value must be below max_value, got {arguments!r}")
    if kind in ("normal", "qnormal", "lognormal", "qlognormal") and values[1] <= 0:
        raise ValidationError(f"{kind}: sigma must be > 0, got {arguments[1]}")
    if kind.startswith("q") and values[-1] <= 0:
        raise ValidationError(f"{kind}: q must be > 0, got {arguments[-1]}")
    return [kind, list(arguments)]


def _quantize(value: float, q: float) -> float:
    return round(value / q) * q


def to_optuna(expression: list[Any]) -> tuple[Any, Callable[[Any], Any]]:
    """The Optuna distribution to sample for ``expression``, and the transform from the
    sampled value to the script's value."""
    # optuna loads only where a sweep is configured: ``import atelier`` stays light
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    kind, args = check_expression(expression)

    def same(value: Any) -> Any:
        return value

    if kind == "choice":
        return CategoricalDistribution(list(args[0])), same
    if kind == "randint":
        return IntDistribution(0, int(args[0]) - 1), int
    if kind in ("uniform", "quniform"):
        low, high = float(args[0]), float(args[1])
        if kind == "uniform":
            return FloatDistribution(low, high), float
        q = float(args[2])
        return FloatDistribution(low, high), lambda v: _quantize(float(v), q)
    if kind in ("loguniform", "qloguniform"):
        low, high = math.exp(float(args[0])), math.exp(float(args[1]))
        if kind == "loguniform":
            return FloatDistribution(low, high, log=True), float
        q = float(args[2])
        return FloatDistribution(low, high, log=True), lambda v: _quantize(float(v), q)
    normal_dist = NormalDist(float(args[0]), float(args[1]))
    logged = kind in ("lognormal", "qlognormal")
    step = float(args[2]) if kind.startswith("q") else None

    def from_quantile(value: Any) -> float:
        drawn = normal_dist.inv_cdf(float(value))
        if logged:
            drawn = math.exp(drawn)
        return drawn if step is None else _quantize(drawn, step)

    return FloatDistribution(_QUANTILE_EDGE, 1 - _QUANTILE_EDGE), from_quantile


def argument_name(name: str) -> str:
    """``"--lr"`` and ``"lr"`` both reach the script as ``--lr``."""
    if not isinstance(name, str) or not name.strip("-") or any(c.isspace() for c in name):
        raise ValidationError(
            f"parameter name {name!r} must be a script argument such as 'lr' or '--lr'"
        )
    return name if name.startswith("-") else f"--{name}"


def apply_arguments(arguments: list[Any], values: dict[str, Any]) -> list[Any]:
    """``arguments`` with each sampled value replacing the value after its flag, or
    appended as ``--flag value`` when the flag is not there (as text, as the script sees it)."""
    result = list(arguments)
    for name, value in values.items():
        flag = argument_name(name)
        shown = str(value)
        if flag in result:
            index = result.index(flag)
            if index + 1 < len(result):
                result[index + 1] = shown
            else:
                result.append(shown)
        else:
            result += [flag, shown]
    return result
