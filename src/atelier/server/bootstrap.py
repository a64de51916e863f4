"""``atelier server init``: the schema and the first admin, whose token is shown once."""

from __future__ import annotations

from atelier.core.access import IssuedToken
from atelier.core.errors import ConflictError
from atelier.core.settings import Settings
from atelier.services import users
from atelier.store.database import Database


def initialize(settings: Settings, admin: str) -> IssuedToken:
    """Bring the schema to head and create the admin ``admin`` with a first token.

    There is no default password or account: the token printed now is the only way in.
    Raises ``ConflictError`` if the server already has users.
    """
    database = Database(settings.resolved_database_url)
    try:
        database.ensure_schema()
        with database.session() as session:
            if users.count_users(session):
                raise ConflictError(
                    "this server is already initialized (it has users); an admin can add "
                    "users with 'atelier user create' and tokens with 'atelier token create'"
                )
            users.create_user(session, admin, is_admin=True)
            return users.create_token(session, admin, "initial admin token")
    finally:
        database.dispose()
