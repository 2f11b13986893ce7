"""Writing the audit log: every change made by an agent, the portal or the system."""

from datetime import datetime
from typing import Any

from sqlmodel import Session

from regie_tui.clock import utc_now
from regie_tui.models import AuditEntry, Source


def record(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: int | None,
    source: Source = Source.AGENT,
    agent_id: int | None = None,
    family_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add an audit entry to the session's transaction (committed with the change);
    ``at`` defaults to now (the demo seed and the portal import give the instant it happened)."""
    session.add(
        AuditEntry(
            at=at or utc_now(),
            agent_id=agent_id,
            source=source,
            action=action,
            entity=entity,
            entity_id=entity_id,
            family_id=family_id,
            before=before,
            after=after,
        )
    )
