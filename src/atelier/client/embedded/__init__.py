"""The embedded backend: every client protocol answered in this process through the services."""
