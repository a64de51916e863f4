"""What every router needs: the app's database and blob store, and tar helpers."""

from __future__ import annotations

from fastapi import Request

from atelier.server.config import ServerSettings
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database


def database(request: Request) -> Database:
    found: Database = request.app.state.database
    return found


def blobs(request: Request) -> BlobStore:
    found: BlobStore = request.app.state.blobs
    return found


def settings(request: Request) -> ServerSettings:
    found: ServerSettings = request.app.state.settings
    return found
