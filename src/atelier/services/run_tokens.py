"""What bounds a run token: its run, the token that minted it, and its user's role now.

A run token is what a run's script reports back with. It is only as good as what it stands
for, so each request with it checks that

- its run has not ended, or ended less than :data:`GRACE_MS` ago (2 minutes): a run can be
  ended from outside (canceled, timed out, Failed by the reaper) while its script's exit-time
  flush or the supervisor's last upload is in flight, and those should get the run's own
  answer ("the run has ended") rather than a bare 401; any longer and a leaked token would
  stay useful after the run it was for;
- the token that minted it (and, for a child run's token minted by a run token, every token
  up the chain) is neither revoked nor expired;
- its user is still a member of the run's workspace (or a server admin): the token carries
  that role, and :func:`atelier.services.members.authorize` never lets it do more.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from atelier.core.access import Role
from atelier.core.status import TERMINAL_STATUSES
from atelier.core.timeutil import now_ms
from atelier.store.models import MemberRow, RunRow, TokenRow, UserRow

#: how long a run token keeps working after its run ended (see the module's docstring)
GRACE_MS = 120_000
#: how many minting tokens up the chain are followed (a run token may mint its child runs')
_MAX_CHAIN = 16
_TERMINAL = frozenset(status.value for status in TERMINAL_STATUSES)

_MEMBERS = MemberRow.__table__
_ROLE = select(_MEMBERS.c.role).where(
    _MEMBERS.c.workspace_id == bindparam("workspace_id"),
    _MEMBERS.c.user_id == bindparam("user_id"),
)
_RUN_END = select(RunRow.__table__.c.status, RunRow.__table__.c.ended_ms).where(
    RunRow.__table__.c.run_id == bindparam("run_id")
)


def run_is_live(session: Session, run_id: str, now: int) -> bool:
    """True while the run is unfinished, or ended less than :data:`GRACE_MS` ago."""
    found = session.connection().execute(_RUN_END, {"run_id": run_id}).first()
    if found is None:
        return False
    if found.status not in _TERMINAL:
        return True
    return found.ended_ms is not None and now < found.ended_ms + GRACE_MS


def minter_is_valid(session: Session, parent_token_id: str | None, now: int) -> bool:
    """True when the token that minted a run token, and each one that minted it, still
    works: not revoked, not expired, its user enabled, and a run token's run still live.
    A run token from before minting tokens were recorded has no parent and passes."""
    current = parent_token_id
    for _ in range(_MAX_CHAIN):
        if current is None:
            return True
        row = session.get(TokenRow, current)
        if row is None or row.revoked:
            return False
        if row.expires_ms is not None and row.expires_ms <= now:
            return False
        user = session.get(UserRow, row.user_id)
        if user is None or user.disabled:
            return False
        if row.run_id is not None and not run_is_live(session, row.run_id, now):
            return False
        current = row.parent_token_id
    return False


def current_role(session: Session, workspace_id: str, user_id: str, is_admin: bool) -> Role | None:
    """The role the user holds in the workspace now (Owner for a server admin); None when
    it is no longer a member."""
    if is_admin:
        return Role.OWNER
    found = (
        session.connection()
        .execute(_ROLE, {"workspace_id": workspace_id, "user_id": user_id})
        .scalar()
    )
    return Role(found) if found is not None else None


def bounded_role(
    session: Session,
    *,
    run_id: str,
    workspace_id: str | None,
    user_id: str,
    is_admin: bool,
    parent_token_id: str | None,
) -> Role | None:
    """The role a run token acts with now, or None when it no longer works at all (its run
    ended beyond the grace, its minting token is gone, its user left the workspace)."""
    now = now_ms()
    if workspace_id is None or not run_is_live(session, run_id, now):
        return None
    if not minter_is_valid(session, parent_token_id, now):
        return None
    return current_role(session, workspace_id, user_id, is_admin)
