"""The HTTP backend: every client protocol answered by a server's REST API (``/api/v1``)."""
