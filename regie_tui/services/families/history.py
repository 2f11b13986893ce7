"""A family's history (the audit log, filtered by kind and period) and its messages.

Kinds group audit entries by what they are about, from their ``entity`` and ``action``:
modifications of the file, documents, réservations (inscriptions included), paiements
(invoices, payments, online payments accepted or refused), connexions au portail (action
``login``), messages. Health-note values are masked for roles that may not see them.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, not_, or_
from sqlmodel import Session, col, select

from regie_tui.clock import PARIS
from regie_tui.models import Agent, AuditEntry, Message, MessageDirection
from regie_tui.services.common.sql import select_columns
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo

HISTORY_SIZE = 200
MESSAGES_SIZE = 200
HIDDEN = "(accès réservé)"

#: Kind code -> French label, in the order the screen offers them.
HISTORY_KINDS = {
    "all": "Tout",
    "changes": "Modifications",
    "documents": "Documents",
    "bookings": "Réservations",
    "payments": "Paiements",
    "logins": "Connexions au portail",
    "messages": "Messages",
}
#: Period code -> French label.
HISTORY_PERIODS = {
    "7d": "7 derniers jours",
    "30d": "30 derniers jours",
    "year": "Année scolaire",
    "all": "Toute la période",
}

_FILE_ENTITIES = (
    "family",
    "guardian",
    "child",
    "authorized_person",
    "health_note",
    "quotient",
    "consent",
    "submission",
    "portal_account",
)
_PAYMENT_ACTIONS = ("online_payment", "online_payment_refused")
_MESSAGE_ENTITIES = ("message", "outbox_mail")  # what the family wrote, what the service sent


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    at: datetime
    who: str
    action: str
    entity: str
    kind: str  # a key of HISTORY_KINDS (never "all")
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class MessageLine:
    id: int
    direction: str  # incoming (from the family) or outgoing (from the service)
    recipient: str
    subject: str
    body: str
    sent_at: datetime
    read_at: datetime | None


def _condition(kind: str) -> ColumnElement[bool]:
    entity, action = col(AuditEntry.entity), col(AuditEntry.action)
    if kind == "logins":
        return action == "login"
    if kind == "payments":
        return and_(action != "login", or_(action.in_(_PAYMENT_ACTIONS), entity.in_(("payment", "invoice"))))
    if kind == "documents":
        return entity == "document"
    if kind == "bookings":
        return entity.in_(("booking", "enrollment"))
    if kind == "messages":
        return entity.in_(_MESSAGE_ENTITIES)
    if kind == "changes":
        return and_(entity.in_(_FILE_ENTITIES), not_(action.in_(("login", *_PAYMENT_ACTIONS))))
    raise ValueError(f"unknown history kind {kind!r}")


def _kind_of(action: str, entity: str) -> str:
    if action == "login":
        return "logins"
    if action in _PAYMENT_ACTIONS or entity in ("payment", "invoice"):
        return "payments"
    if entity == "document":
        return "documents"
    if entity in ("booking", "enrollment"):
        return "bookings"
    if entity in _MESSAGE_ENTITIES:
        return "messages"
    return "changes"


def period_start(period: str, today: date) -> datetime | None:
    """The first instant of the period ending today (Europe/Paris days), None for all time."""
    if period == "all":
        return None
    if period == "7d":
        first = today - timedelta(days=6)
    elif period == "30d":
        first = today - timedelta(days=29)
    elif period == "year":
        first = date(today.year if today.month >= 9 else today.year - 1, 9, 1)
    else:
        raise ValueError(f"unknown history period {period!r}")
    return datetime.combine(first, time(0), tzinfo=PARIS).astimezone(UTC)


_SOURCE_WHO = {"portal": "Portail famille", "system": "Système", "agent": "Agent"}


def family_history(
    db: Session,
    *,
    family_id: int,
    agent: AgentInfo,
    today: date,
    kind: str = "all",
    period: str = "all",
    limit: int = HISTORY_SIZE,
) -> list[HistoryEntry]:
    """The family's audit entries of this kind over this period, newest first."""
    conditions: list[ColumnElement[bool]] = [col(AuditEntry.family_id) == family_id]
    if kind != "all":
        conditions.append(_condition(kind))
    since = period_start(period, today)
    if since is not None:
        conditions.append(col(AuditEntry.at) >= since)
    rows = db.exec(
        select_columns(
            col(AuditEntry.id),
            col(AuditEntry.at),
            col(Agent.display_name),
            col(AuditEntry.source),
            col(AuditEntry.action),
            col(AuditEntry.entity),
            col(AuditEntry.before),
            col(AuditEntry.after),
        )
        .outerjoin(Agent, col(Agent.id) == AuditEntry.agent_id)
        .where(and_(*conditions))
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .limit(limit)
    )
    sees_health = agent.may(Permission.HEALTH_DATA)
    entries = []
    for entry_id, at, name, source, action, entity, before, after in rows:
        if entity == "health_note" and not sees_health:
            before = {key: HIDDEN for key in before} if before else before
            after = {key: HIDDEN for key in after} if after else after
        elif not sees_health:  # a child's diets may name a medical one
            before = {key: HIDDEN if key == "diets" else value for key, value in before.items()} if before else before
            after = {key: HIDDEN if key == "diets" else value for key, value in after.items()} if after else after
        entries.append(
            HistoryEntry(
                id=entry_id,
                at=at if at.tzinfo else at.replace(tzinfo=UTC),
                who=name or _SOURCE_WHO.get(source, source),
                action=action,
                entity=entity,
                kind=_kind_of(action, entity),
                before=before,
                after=after,
            )
        )
    return entries


def family_message_list(db: Session, *, family_id: int, limit: int = MESSAGES_SIZE) -> list[MessageLine]:
    """The family's messages, incoming and outgoing, newest first."""
    rows = db.exec(
        select(Message)
        .where(Message.family_id == family_id)
        .order_by(col(Message.sent_at).desc(), col(Message.id).desc())
        .limit(limit)
    )
    return [
        MessageLine(
            id=m.id or 0,
            direction=MessageDirection(m.direction).value,
            recipient=m.recipient,
            subject=m.subject,
            body=m.body,
            sent_at=m.sent_at if m.sent_at.tzinfo else m.sent_at.replace(tzinfo=UTC),
            read_at=m.read_at,
        )
        for m in rows
    ]
