"""Moved to tests/helpers/object_stores.py; kept so that tests written before the move import."""

from tests.helpers.object_stores import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    Endpoint,
    azurite,
    free_port,
    moto_s3,
)

__all__ = ["AZURITE_ACCOUNT", "AZURITE_KEY", "Endpoint", "azurite", "free_port", "moto_s3"]
