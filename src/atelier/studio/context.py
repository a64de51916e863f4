"""What a page may offer its viewer: the actions their role allows in a workspace (the
server checks the role again when an action is sent)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from atelier.core.access import Access, role_allows
from atelier.services import members
from atelier.store.database import Database
from atelier.studio.security import viewer_of


@dataclass(frozen=True, slots=True)
class May:
    write: bool = False
    manage: bool = False


def database_of(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def may(request: Request, workspace: str) -> May:
    """The viewer's rights in ``workspace``: Contributor actions, Owner actions."""
    principal = viewer_of(request).principal
    if principal.is_admin:
        return May(write=True, manage=True)
    if principal.run_id is not None:
        return May()
    with database_of(request).session() as session:
        role = members.role_of(session, workspace, principal.user_id)
    return May(write=role_allows(role, Access.WRITE), manage=role_allows(role, Access.MANAGE))
