"""``azureml.data.tabular_dataset``: TabularDataset."""

from atelier.sdk.data.tabular_dataset import TabularDataset

__all__ = ["TabularDataset"]
