"""Register a model and serve it as a local web service, then edit and reload it."""

from azureml.core import Model, Workspace
from azureml.core import Webservice as CoreWebservice
from azureml.core.model import InferenceConfig
from azureml.core.resource_configuration import ResourceConfiguration
from azureml.core.webservice import AciWebservice, LocalWebservice, Webservice
from azureml.core.webservice.aci import AciServiceDeploymentConfiguration
from azureml.exceptions import WebserviceException

ws = Workspace.from_config()
model = Model.register(
    workspace=ws,
    model_name="sk-model",
    model_path="model.pkl",
    resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5),
)
inference = InferenceConfig(entry_script="score.py", source_directory=".")
config = LocalWebservice.deploy_configuration(port=8890)
aci: AciServiceDeploymentConfiguration = AciWebservice.deploy_configuration(cpu_cores=1)
service = Model.deploy(ws, "local-svc", [model], inference, config)
service.wait_for_deployment(show_output=True)
service.reload()
print(service.scoring_uri, service.get_logs())
try:
    Webservice(ws, "missing")
    CoreWebservice(ws, "missing")
except WebserviceException as exc:
    print(exc)
