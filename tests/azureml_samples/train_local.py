"""Submit a training script to local compute with a pip environment."""

from azureml.core import Environment, Experiment, ScriptRunConfig, Workspace
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.environment import CondaDependencies as EnvCondaDependencies
from azureml.core.experiment import Experiment as ExperimentClass
from azureml.core.runconfig import DEFAULT_CPU_IMAGE, DockerConfiguration, RunConfiguration
from azureml.core.runconfig import CondaDependencies as RunConfigCondaDependencies
from azureml.core.script_run_config import ScriptRunConfig as Src

ws = Workspace.from_config()
env = Environment("sklearn-env")
deps = CondaDependencies.create(pip_packages=["scikit-learn", "pandas"])
env.python.conda_dependencies = deps
env.docker.base_image = DEFAULT_CPU_IMAGE
extra = EnvCondaDependencies()
more = RunConfigCondaDependencies.create(pip_packages=["six"])
run_config = RunConfiguration()
run_config.environment = env
config = ScriptRunConfig(
    source_directory="./src",
    script="train.py",
    arguments=["--reg", 0.5],
    compute_target="local",
    environment=env,
    docker_runtime_config=DockerConfiguration(use_docker=False),
)
other = Src(source_directory="./src", script="train.py", run_config=run_config)
experiment = Experiment(workspace=ws, name="sklearn-local")
same = ExperimentClass(ws, "sklearn-local")
run = experiment.submit(config)
run.wait_for_completion(show_output=True)
print(run.get_metrics(), run.get_file_names(), run.get_details_with_logs())
run.get_all_logs(destination="./logs")
model = run.register_model(model_name="sk-model", model_path="outputs/model.pkl")
