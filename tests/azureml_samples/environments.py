"""Curated and custom environments, saved, loaded and built."""

from azureml.core import Environment, Workspace
from azureml.core.environment import DEFAULT_CPU_IMAGE

ws = Workspace.from_config()
minimal = Environment.get(workspace=ws, name="AzureML-Minimal")
sk = Environment.get(ws, "AzureML-sklearn-0.24-ubuntu18.04-py37-cpu")
custom = Environment.from_docker_image("custom", DEFAULT_CPU_IMAGE)
from_file = Environment.from_dockerfile("docker-env", "FROM python:3.11-slim\n")
minimal.save_to_directory("./env", overwrite=True)
loaded = Environment.load_from_directory("./env")
build = loaded.build_local(ws)
build.wait_for_completion(show_output=True)
for name, env in Environment.list(ws).items():
    print(name, env.version)
