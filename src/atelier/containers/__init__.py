"""Containers: the engine (podman, else docker), the project's containers.conf, the
offline Python base image, host-resolved wheels, and the engine's build/run/stop/rm/logs/
inspect commands. Only ``atelier.core`` sits below it; packaging, container endpoints and
containerized workers use it."""

from atelier.containers.base_image import BASE_IMAGE, VENV, base_image_problem, ensure_base_image
from atelier.containers.engine import ENGINES, Engine, containers_conf, find_engine
from atelier.containers.wheels import host_wheels, wheels_key

__all__ = [
    "BASE_IMAGE",
    "ENGINES",
    "VENV",
    "Engine",
    "base_image_problem",
    "containers_conf",
    "ensure_base_image",
    "find_engine",
    "host_wheels",
    "wheels_key",
]
