"""The workspace server: REST API, users, tokens and roles over the services."""

from atelier.server.app import create_app

__all__ = ["create_app"]
