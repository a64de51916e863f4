"""HyperDrive's parameter samplings, with azureml v1's names, each on an Optuna sampler.

- :class:`RandomParameterSampling`: any expression; Optuna's ``RandomSampler`` (or its
  ``QMCSampler`` with ``properties={"rule": "sobol"}``).
- :class:`GridParameterSampling`: ``choice`` only, every combination once; ``GridSampler``.
- :class:`BayesianParameterSampling`: ``choice``, ``uniform`` and ``quniform``, as in Azure;
  Optuna's TPE sampler, with the constant-liar strategy for trials running side by side.

``properties={"seed": 42}`` makes a sweep's samples repeatable.
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from atelier.core.errors import ValidationError
from atelier.sdk.sweeps.parameters import argument_name, check_expression, to_optuna

__all__ = [
    "BayesianParameterSampling",
    "GridParameterSampling",
    "HyperParameterSampling",
    "RandomParameterSampling",
    "sampling_from_dict",
]


class HyperParameterSampling:
    """A parameter space (``{"--lr": uniform(0.01, 0.1), ...}``) and how to sample it."""

    SAMPLING_NAME = ""
    SUPPORTED: tuple[str, ...] = ()

    def __init__(
        self, parameter_space: Mapping[str, Any], properties: Mapping[str, Any] | None = None
    ) -> None:
        if not isinstance(parameter_space, Mapping) or not parameter_space:
            raise ValidationError(
                "parameter_space must be a non-empty dict of script argument -> expression, "
                "e.g. {'--lr': uniform(0.001, 0.1)}"
            )
        space: dict[str, list[Any]] = {}
        flags: set[str] = set()
        for name, expression in parameter_space.items():
            flag = argument_name(name)
            if flag in flags:
                raise ValidationError(f"parameter {name!r} is given twice")
            flags.add(flag)
            checked = check_expression(expression)
            if checked[0] not in self.SUPPORTED:
                raise ValidationError(
                    f"{type(self).__name__} does not support {checked[0]} (parameter "
                    f"{name!r}); it takes {', '.join(self.SUPPORTED)}"
                )
            space[name] = checked
        self._parameter_space = space
        self._properties = dict(properties or {})
        seed = self._properties.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValidationError(f"properties['seed'] must be a whole number, got {seed!r}")

    @property
    def sampling_method_name(self) -> str:
        return self.SAMPLING_NAME

    @property
    def parameter_space(self) -> dict[str, list[Any]]:
        return {k: list(v) for k, v in self._parameter_space.items()}

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self._properties)

    def distributions(self) -> dict[str, tuple[Any, Callable[[Any], Any]]]:
        """Per parameter: the Optuna distribution and the transform to the script's value."""
        return {name: to_optuna(expr) for name, expr in self._parameter_space.items()}

    def size(self) -> float:
        """How many distinct samples there are (infinite for a continuous space)."""
        total = 1.0
        for kind, args in self._parameter_space.values():
            if kind == "choice":
                total *= len(args[0])
            elif kind == "randint":
                total *= int(args[0])
            else:
                return math.inf
        return total

    def sampler(self, seed_offset: int, base_seed: int | None = None) -> Any:
        """A new Optuna sampler. Its seed is ``properties["seed"]``, else ``base_seed`` (a
        sweep draws one at submission and keeps it), else a random one; ``seed_offset`` (the
        number of trials already asked for) keeps a resumed sweep from drawing its first
        samples again."""
        raise NotImplementedError

    def _seed(self, offset: int, base_seed: int | None) -> int:
        seed = self._properties.get("seed")
        if seed is None:
            seed = base_seed if base_seed is not None else random.SystemRandom().randrange(2**31)
        return (int(seed) + offset) % (2**32)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.SAMPLING_NAME,
            "parameter_space": self.parameter_space,
            "properties": self.properties,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._parameter_space!r})"


_ALL: tuple[str, ...] = (
    "choice",
    "randint",
    "uniform",
    "quniform",
    "loguniform",
    "qloguniform",
    "normal",
    "qnormal",
    "lognormal",
    "qlognormal",
)


class RandomParameterSampling(HyperParameterSampling):
    """Each trial draws every parameter at random (``properties={"rule": "sobol"}`` draws
    a scrambled Sobol sequence instead)."""

    SAMPLING_NAME = "RANDOM"
    SUPPORTED = _ALL

    def __init__(
        self, parameter_space: Mapping[str, Any], properties: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(parameter_space, properties)
        rule = str(self._properties.get("rule", "random")).lower()
        if rule not in ("random", "sobol"):
            raise ValidationError(f"properties['rule'] must be 'random' or 'sobol', not {rule!r}")

    def sampler(self, seed_offset: int, base_seed: int | None = None) -> Any:
        import optuna

        seed = self._seed(seed_offset, base_seed)
        if str(self._properties.get("rule", "random")).lower() == "sobol":
            # Optuna marks its quasi-random sampler experimental; the rule is opted into
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.QMCSampler(
                qmc_type="sobol", seed=seed, warn_independent_sampling=False
            )
        return optuna.samplers.RandomSampler(seed=seed)


class GridParameterSampling(HyperParameterSampling):
    """Every combination of the ``choice`` values, each once."""

    SAMPLING_NAME = "GRID"
    SUPPORTED = ("choice",)

    def sampler(self, seed_offset: int, base_seed: int | None = None) -> Any:
        import optuna

        class _Grid(optuna.samplers.GridSampler):
            # the controller counts the grid itself; Optuna's stop() works only inside
            # study.optimize, and a sweep asks and tells
            def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
                return None

        grid = {name: list(args[0]) for name, (_, args) in self._parameter_space.items()}
        # the grid's order comes from the seed: the same for every controller of a sweep
        return _Grid(grid, seed=self._seed(0, base_seed))


class BayesianParameterSampling(HyperParameterSampling):
    """Each trial's values chosen from how the earlier trials scored (Optuna's TPE)."""

    SAMPLING_NAME = "BAYESIANOPTIMIZATION"
    SUPPORTED = ("choice", "uniform", "quniform")

    def sampler(self, seed_offset: int, base_seed: int | None = None) -> Any:
        import optuna

        return optuna.samplers.TPESampler(
            seed=self._seed(seed_offset, base_seed), constant_liar=True, multivariate=True
        )


_SAMPLINGS: dict[str, type[HyperParameterSampling]] = {
    cls.SAMPLING_NAME: cls
    for cls in (RandomParameterSampling, GridParameterSampling, BayesianParameterSampling)
}


def sampling_from_dict(data: Mapping[str, Any]) -> HyperParameterSampling:
    """The sampling :meth:`HyperParameterSampling.to_dict` described."""
    kind = _SAMPLINGS.get(str(data.get("name", "")).upper())
    if kind is None:
        raise ValidationError(
            f"unknown sampling {data.get('name')!r}; use random, grid or bayesian"
        )
    return kind(data.get("parameter_space") or {}, data.get("properties"))
