"""The workspace server: FastAPI routes over the services."""
