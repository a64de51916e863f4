"""``azureml.train``: HyperDrive sweeps live in :mod:`atelier.azureml.train.hyperdrive`."""
