"""Running submitted scripts: environment builds, the run supervisor, compute backends."""
