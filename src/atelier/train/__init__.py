"""``atelier.train``: the short spelling of :mod:`atelier.azureml.train`."""
