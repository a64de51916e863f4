"""Workspace members and their roles: the one place a role is looked up and checked."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from atelier.core.access import (
    REQUIRED_ROLE,
    Access,
    MemberRecord,
    Principal,
    Role,
    role_allows,
)
from atelier.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from atelier.core.records import WorkspaceRecord
from atelier.services import users, workspaces
from atelier.services._convert import workspace_record
from atelier.store.models import MemberRow, RunRow, UserRow, WorkspaceRow


def check_role(role: object) -> Role:
    try:
        return Role(str(role))
    except ValueError:
        raise ValidationError(
            f"invalid role {role!r}: use one of {', '.join(r.value for r in Role)}"
        ) from None


_ROLE = (
    select(MemberRow.__table__.c.role)
    .join(WorkspaceRow.__table__, WorkspaceRow.__table__.c.id == MemberRow.__table__.c.workspace_id)
    .where(
        WorkspaceRow.__table__.c.name == bindparam("workspace"),
        MemberRow.__table__.c.user_id == bindparam("user_id"),
    )
)


def role_of(session: Session, workspace: str, user_id: str) -> Role | None:
    """The user's role in the workspace; None if it is no member (or there is no such
    workspace: the two are not told apart, so names do not leak to non-members)."""
    role = (
        session.connection().execute(_ROLE, {"workspace": workspace, "user_id": user_id}).scalar()
    )
    return Role(role) if role is not None else None


def authorize(session: Session, principal: Principal, workspace: str, access: Access) -> None:
    """Allow or refuse ``principal`` the ``access`` to ``workspace``.

    A non-member gets the same ``PermissionDeniedError`` whether the workspace exists or
    not, so names of other people's workspaces do not leak; a member whose role is too
    low is told which role the access needs.
    """
    if principal.run_id is not None:
        _authorize_run_token(principal, workspace, access)
        return
    if principal.is_admin:
        workspaces.id_of(session, workspace)
        return
    role = role_of(session, workspace, principal.user_id)
    if role is None:
        raise PermissionDeniedError(
            f"workspace {workspace!r} does not exist or you are not a member of it; "
            "ask one of its Owners to add you with 'atelier workspace member add'"
        )
    if not role_allows(role, access):
        needed = {Access.READ: Role.READER, Access.WRITE: Role.CONTRIBUTOR}.get(access, Role.OWNER)
        raise PermissionDeniedError(
            f"{access.value} access to workspace {workspace!r} needs the {needed.value} role; "
            f"{principal.user_name!r} is a {role.value}; ask an Owner to change your role"
        )


def _authorize_run_token(principal: Principal, workspace: str, access: Access) -> None:
    """A run token reaches only its run's workspace, never manages it, and never does more
    than its user's current role there allows (``principal.role``, looked up per request)."""
    if principal.workspace_name != workspace or access is Access.MANAGE:
        raise PermissionDeniedError(
            f"this run token may act only on run {principal.run_id!r}; "
            "use a user token for anything else"
        )
    if not role_allows(principal.role, access):
        held = principal.role.value if principal.role is not None else "no member"
        raise PermissionDeniedError(
            f"{access.value} access to workspace {workspace!r} needs the "
            f"{REQUIRED_ROLE[access].value} role; run {principal.run_id!r} acts for "
            f"{principal.user_name!r}, who is now a {held} there"
        )


def visible_workspaces(session: Session, principal: Principal) -> list[WorkspaceRecord]:
    """The workspaces this principal may read (all of them for an admin)."""
    if principal.is_admin:
        return workspaces.list_all(session)
    if principal.run_id is not None:
        return [workspaces.get(session, principal.workspace_name or "")]
    ids = select(MemberRow.workspace_id).where(MemberRow.user_id == principal.user_id)
    rows = session.scalars(
        select(WorkspaceRow).where(WorkspaceRow.id.in_(ids)).order_by(WorkspaceRow.name)
    )
    return [workspace_record(row) for row in rows]


def list_members(session: Session, workspace: str) -> list[MemberRecord]:
    ws = workspaces.get_row(session, workspace)
    found = session.execute(
        select(UserRow.name, MemberRow.role)
        .join(UserRow, UserRow.id == MemberRow.user_id)
        .where(MemberRow.workspace_id == ws.id)
        .order_by(UserRow.name)
    )
    return [
        MemberRecord(workspace_name=workspace, user_name=name, role=Role(role))
        for name, role in found
    ]


def set_member(session: Session, workspace: str, user_name: str, role: object) -> MemberRecord:
    """Add ``user_name`` to the workspace with ``role``, or change the role it has."""
    clean = check_role(role)
    ws = workspaces.get_row(session, workspace)
    user = users.user_row(session, user_name)
    row = session.get(MemberRow, (ws.id, user.id))
    if row is None:
        session.add(MemberRow(workspace_id=ws.id, user_id=user.id, role=clean.value))
    else:
        if row.role == Role.OWNER and clean is not Role.OWNER:
            _keep_an_owner(session, ws.id, workspace)
        row.role = clean.value
    session.flush()
    return MemberRecord(workspace_name=workspace, user_name=user_name, role=clean)


def remove_member(session: Session, workspace: str, user_name: str) -> None:
    ws = workspaces.get_row(session, workspace)
    user = users.user_row(session, user_name)
    row = session.get(MemberRow, (ws.id, user.id))
    if row is None:
        raise NotFoundError(f"{user_name!r} is not a member of workspace {workspace!r}")
    if row.role == Role.OWNER:
        _keep_an_owner(session, ws.id, workspace)
    session.delete(row)
    session.flush()


def _keep_an_owner(session: Session, workspace_id: str, workspace: str) -> None:
    owners = session.scalars(
        select(MemberRow.user_id).where(
            MemberRow.workspace_id == workspace_id, MemberRow.role == Role.OWNER.value
        )
    ).all()
    if len(owners) <= 1:
        raise ConflictError(
            f"workspace {workspace!r} would have no Owner left; make someone else an Owner first"
        )


def create_workspace(
    session: Session,
    principal: Principal,
    name: str,
    *,
    description: str = "",
    location: str | None = None,
    tags: dict[str, str] | None = None,
    exist_ok: bool = False,
    subscription_id: str | None = None,
    resource_group: str | None = None,
    sku: str | None = None,
) -> WorkspaceRecord:
    """Create a workspace whose first Owner is the caller. With ``exist_ok`` an existing
    one is returned only to a caller who may read it (others get ``PermissionDeniedError``,
    as for any workspace they are not a member of)."""
    if principal.run_id is not None:
        raise PermissionDeniedError("a run token cannot create workspaces; use a user token")
    existing = session.scalar(select(WorkspaceRow).where(WorkspaceRow.name == name))
    if existing is not None and exist_ok:
        authorize(session, principal, name, Access.READ)
        return workspace_record(existing)
    record = workspaces.create(
        session,
        name,
        description=description,
        location=location,
        tags=tags,
        exist_ok=False,
        subscription_id=subscription_id,
        resource_group=resource_group,
        sku=sku,
    )
    session.add(MemberRow(workspace_id=record.id, user_id=principal.user_id, role=Role.OWNER.value))
    session.flush()
    return record


def is_descendant(session: Session, run_id: str, ancestor: str, max_depth: int = 64) -> bool:
    """True when ``ancestor`` is a parent, grandparent, ... of ``run_id``."""
    current: str | None = run_id
    for _ in range(max_depth):
        if current is None:
            return False
        row = session.get(RunRow, current)
        if row is None:
            return False
        current = row.parent_run_id
        if current == ancestor:
            return True
    return False
