"""Connect to a workspace from a config file or explicit coordinates."""

from azureml.core import Workspace
from azureml.core.authentication import (
    AzureCliAuthentication,
    InteractiveLoginAuthentication,
    MsiAuthentication,
    ServicePrincipalAuthentication,
    TokenAuthentication,
)
from azureml.core.workspace import Workspace as WorkspaceClass
from azureml.exceptions import UserErrorException, WorkspaceException

try:
    ws = Workspace.from_config()
except (UserErrorException, WorkspaceException):
    auth = InteractiveLoginAuthentication(tenant_id="my-tenant")
    ws = Workspace(subscription_id="0000", resource_group="rg", workspace_name="demo", auth=auth)
    ws.write_config()

sp = ServicePrincipalAuthentication(
    tenant_id="t", service_principal_id="app", service_principal_password="token"
)
ws2 = WorkspaceClass.get("demo", auth=sp)
msi_ws = Workspace.get("demo", auth=MsiAuthentication())
cli_ws = Workspace.get("demo", auth=AzureCliAuthentication())
token_auth = TokenAuthentication(lambda audience: ("token", 0))
print(ws.name, ws.location, ws.resource_group, ws.subscription_id, sep="\n")
print(ws.compute_targets, ws.datastores, ws.environments, ws.webservices, ws.images)
run = ws.get_run("some-run-id")
