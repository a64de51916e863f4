"""``azureml.core.compute``: ComputeTarget, AmlCompute, RemoteCompute."""

from atelier.sdk.compute.targets import AmlCompute, ComputeTarget, RemoteCompute

__all__ = ["AmlCompute", "ComputeTarget", "RemoteCompute"]
