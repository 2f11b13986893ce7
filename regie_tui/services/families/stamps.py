"""Versioned, audited saves of a family file: the stamp a form takes when it opens, the family
locked and checked against it, and what every save ends with.

``expected`` (the :class:`FamilyStamp` taken when the form opened) is checked against the
family's version, read under a row lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has
one writer at a time): if another agent, or the portal, changed the file since, the write is
refused with :class:`StaleFamily`, which names who changed what and when. A save ends with
one audit entry (before/after by field name), the family's version + 1 and ``updated_at``,
and the family's search words rebuilt (:func:`record_change`).
"""

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, SQLModel, col, select

from regie_tui import clock
from regie_tui.clock import utc_now
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import Agent, AuditEntry, AuthorizedPerson, Child, Family, Guardian, HealthNote, Role, Source
from regie_tui.services.common.sql import id_of
from regie_tui.services.families.fields import ENTITY_LABELS, FIELDS, shown
from regie_tui.services.families.search import refresh_search_words
from regie_tui.services.trust import access, audit

STALE_HEADER = "La famille a été modifiée depuis l'ouverture du formulaire :"

#: The table of each entity of the family file one edits field by field.
FILE_MODELS: dict[str, type[SQLModel]] = {
    "family": Family,
    "guardian": Guardian,
    "child": Child,
    "authorized_person": AuthorizedPerson,
    "health_note": HealthNote,
}
#: Entities of the family file proper: their audit entries are what a stale save lists.
FILE_ENTITIES = ("family", "guardian", "child", "authorized_person", "health_note", "quotient", "consent")

_CONSENT_LABELS = {
    "personal_data": "Données personnelles",
    "health_data": "Données sanitaires",
    "image_rights": "Droit à l'image",
}
_EXTRA_LABELS = {
    "payer": "Payeur",
    "diets": "Régimes",
    "archived": "Archivée",
    "value": "Quotient familial",
    "source": "Source",
    "valid_from": "Valable du",
    "valid_to": "Valable au",
    "granted": "Consentement",
    "kind": "Type",
    **_CONSENT_LABELS,
}


@dataclass(frozen=True)
class FamilyStamp:
    """What a form saw when it opened: the family's version and its last audit entry."""

    version: int
    last_audit_id: int


class StaleFamily(RegieError):
    """The family changed since the form opened; the message lists who changed what, when."""

    def __init__(self, message: str, changes: list[str]) -> None:
        super().__init__(message)
        self.changes = changes


def family_stamp(db: Session, *, family_id: int) -> FamilyStamp:
    version = db.exec(select(Family.version).where(Family.id == family_id)).first()
    if version is None:
        raise NotFound(f"Aucune famille n° {family_id}.")
    return FamilyStamp(version=version, last_audit_id=last_audit_id(db, family_id))


def last_audit_id(db: Session, family_id: int) -> int:
    """The id of the family's last audit entry (0 if none): with its version, what a form's stamp holds."""
    last = db.exec(select(func.max(AuditEntry.id)).where(AuditEntry.family_id == family_id)).one()
    return last or 0


def lock_family(db: Session, family_id: int, expected: FamilyStamp | None, agent_id: int | None) -> Family:
    """The family, locked for this transaction, after the stamp check."""
    family = db.exec(
        select(Family).where(Family.id == family_id).with_for_update().execution_options(populate_existing=True)
    ).first()
    if family is None:
        raise NotFound(f"Aucune famille n° {family_id}.")
    if family.archived_at is not None:
        raise RegieError(f"La famille {family.name} est archivée : son dossier ne se modifie plus.")
    if expected is not None and family.version != expected.version:
        changes = _changes_since(db, family_id, expected.last_audit_id, health=sees_health(db, agent_id))
        raise StaleFamily("\n".join([STALE_HEADER, *changes]), changes)
    return family


def record_change(
    db: Session,
    family: Family,
    agent_id: int | None,
    source: Source,
    action: str,
    entity: str,
    entity_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """The audit entry, the family's version + 1, and its search words: with the change."""
    family_id = id_of(family)
    audit.record(
        db,
        action=action,
        entity=entity,
        entity_id=entity_id,
        source=source,
        agent_id=agent_id,
        family_id=family_id,
        before=before,
        after=after,
    )
    db.flush()
    bumped = db.exec(
        update(Family)
        .where(col(Family.id) == family_id, col(Family.version) == family.version)
        .values(version=Family.version + 1, updated_at=utc_now())
    )
    if bumped.rowcount != 1:  # the row lock makes this impossible; never write over a concurrent change
        raise StaleFamily(STALE_HEADER, [])
    db.refresh(family)
    refresh_search_words(db, [family_id])
    db.flush()


def sees_health(db: Session, agent_id: int | None) -> bool:
    if agent_id is None:
        return True  # the portal or the system: the family's own data
    role = db.exec(select(Agent.role).where(Agent.id == agent_id)).first()
    return role is not None and access.allows(Role(role), access.Permission.HEALTH_DATA)


def _changes_since(db: Session, family_id: int, last_audit_id: int, *, health: bool) -> list[str]:
    """One French line per field changed since ``last_audit_id``: who, when, what (before → after)."""
    rows = db.exec(
        select(AuditEntry, Agent.display_name)
        .outerjoin(Agent, col(Agent.id) == AuditEntry.agent_id)
        .where(
            AuditEntry.family_id == family_id,
            col(AuditEntry.id) > last_audit_id,
            col(AuditEntry.entity).in_(FILE_ENTITIES),
        )
        .order_by(col(AuditEntry.id))
    ).all()
    lines = []
    for entry, agent_name in rows:
        who = agent_name or {"portal": "Portail famille", "system": "Système"}.get(entry.source, "Agent")
        when = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
        stamp = when.astimezone(clock.PARIS).strftime("%d/%m/%Y %H:%M")
        subject = _subject(db, entry)
        before, after = entry.before or {}, entry.after or {}
        hide = entry.entity == "health_note" and not health
        if entry.action in ("create", "delete"):
            what = "ajout" if entry.action == "create" else "suppression"
            lines.append(f"{who}, le {stamp} : {what} {subject}")
            continue
        for name in dict.fromkeys([*before, *after]):
            label = _field_label(entry.entity, name)
            masked = hide or (name == "diets" and not health)  # a diet may be a medical one
            old = "…" if masked else shown(before.get(name))
            new = "…" if masked else shown(after.get(name))
            lines.append(f"{who}, le {stamp} : {label}{' ' + subject if subject else ''} ({old} → {new})")
    return lines


def _field_label(entity: str, name: str) -> str:
    spec = FIELDS.get(entity, {}).get(name)
    return spec.label if spec else _EXTRA_LABELS.get(name, name)


def _subject(db: Session, entry: AuditEntry) -> str:
    """'de Nicole Dubois', 'de Léa' (the entity as named today), '' for the family itself."""
    if entry.entity in ("family", "consent"):
        return ""
    if entry.entity == "quotient":
        return "du quotient familial" if entry.action != "create" else "d'un quotient familial"
    if entry.entity == "health_note":
        return "d'une information sanitaire"
    model = FILE_MODELS.get(entry.entity)
    row = db.get(model, entry.entity_id) if model is not None and entry.entity_id is not None else None
    after = entry.after or entry.before or {}
    first = getattr(row, "first_name", None) or after.get("first_name", "")
    last = getattr(row, "last_name", None) or after.get("last_name", "")
    name = f"{first} {last}".strip()
    label = ENTITY_LABELS.get(entry.entity, entry.entity).lower()
    return f"de {name}" if name else f"d'un(e) {label}"
