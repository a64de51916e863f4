"""Create or reuse a cluster, then feed a dataset to a script."""

from azureml.core import Dataset, Datastore, Workspace
from azureml.core.compute import AmlCompute, ComputeTarget
from azureml.core.compute_target import ComputeTargetException
from azureml.data import FileDataset, TabularDataset
from azureml.data.datapath import DataPath
from azureml.exceptions import ComputeTargetException as ComputeError

ws = Workspace.from_config()
try:
    cluster = ComputeTarget(workspace=ws, name="cpu-cluster")
except (ComputeTargetException, ComputeError):
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=2)
    cluster = ComputeTarget.create(ws, "cpu-cluster", config)
    cluster.wait_for_completion(show_output=True)
status = cluster.get_status()
print(status.serialize(), cluster.serialize(), cluster.tags, cluster.description)
datastore = ws.get_default_datastore()
store = Datastore.get(ws, "workspaceblobstore")
tabular = Dataset.Tabular.from_delimited_files(path=(datastore, "iris/iris.csv"))
files = Dataset.File.from_files(path=[(datastore, "images/")])
mounted = files.as_mount()
downloaded = files.as_download(path_on_compute="/tmp/images")
path = DataPath(datastore, "images/")
print(isinstance(files, FileDataset), isinstance(tabular, TabularDataset), path)
