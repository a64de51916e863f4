"""Train with torch.distributed on two processes, and an MPI job."""

from azureml.core import Experiment, ScriptRunConfig, Workspace
from azureml.core.runconfig import MpiConfiguration, PyTorchConfiguration

ws = Workspace.from_config()
torch_config = PyTorchConfiguration(communication_backend="Gloo", process_count=2, node_count=1)
mpi_config = MpiConfiguration(process_count_per_node=2, node_count=1)
config = ScriptRunConfig(
    source_directory="./src",
    script="train_ddp.py",
    compute_target="local",
    distributed_job_config=torch_config,
)
run = Experiment(ws, "ddp").submit(config)
run.wait_for_completion(show_output=True)
print([child.get_status() for child in run.get_children()])
