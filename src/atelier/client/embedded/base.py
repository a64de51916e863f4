"""What every embedded resource holds: the database, the blob store and the settings."""

from __future__ import annotations

from atelier.core.settings import Settings
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database


class Part:
    """One resource of the embedded backend; each call opens its own session."""

    def __init__(self, db: Database, blobs: BlobStore, settings: Settings) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
