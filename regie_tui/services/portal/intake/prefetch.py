"""What the lines of a batch refer to, read in a few queries per batch (not per line): the
families and their portal accounts, their people, the units a child may book, the invoices
paid and their balances, and the ids already received. The small tables are read once per run.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlmodel import Session, col, select

from regie_tui.limits import ID_MAX
from regie_tui.models import (
    Activity,
    AgeGroup,
    AuthorizedPerson,
    Child,
    DocumentScope,
    DocumentType,
    Enrollment,
    EnrollmentStatus,
    Family,
    Guardian,
    HealthNote,
    Invoice,
    PortalAccount,
    Submission,
    Unit,
)
from regie_tui.services.billing.accounts import invoice_balances
from regie_tui.services.common.sql import id_col, select_columns
from regie_tui.services.portal.intake.lines import Parsed
from regie_tui.services.portal.intake.schema import is_int


class Person(NamedTuple):
    family_id: int
    name: str


class FamilyRow(NamedTuple):
    name: str
    archived: bool
    account_id: int | None
    email: str | None


@dataclass
class Reference:
    """Small tables read once per run."""

    activities: dict[int, str]
    age_groups: dict[int, tuple[int, str]]  # id -> (activity id, name)
    document_types: dict[int, tuple[str, DocumentScope, bool]]  # name, scope, health

    @classmethod
    def load(cls, db: Session) -> "Reference":
        return cls(
            activities={i: n for i, n in db.exec(select(id_col(Activity.id), col(Activity.name)))},
            age_groups={
                i: (a, n)
                for i, a, n in db.exec(select(id_col(AgeGroup.id), col(AgeGroup.activity_id), col(AgeGroup.name)))
            },
            document_types={
                i: (n, DocumentScope(s), h)
                for i, n, s, h in db.exec(
                    select(
                        id_col(DocumentType.id), col(DocumentType.name), col(DocumentType.scope), DocumentType.health
                    )
                )
            },
        )


@dataclass
class Batch:
    """What the lines of one batch refer to, read in a few queries."""

    families: dict[int, FamilyRow] = field(default_factory=dict)
    children: dict[int, Person] = field(default_factory=dict)
    guardians: dict[int, Person] = field(default_factory=dict)
    authorized: dict[int, Person] = field(default_factory=dict)
    health_notes: dict[int, int] = field(default_factory=dict)  # note id -> child id
    units: dict[int, dict[int, int]] = field(default_factory=dict)  # child -> {unit: activity}, accepted enrollments
    invoices: dict[str, tuple[int, int]] = field(default_factory=dict)  # number -> (id, family id)
    due: dict[int, int] = field(default_factory=dict)  # invoice id -> balance due (issued invoices only)
    known: dict[str, str] = field(default_factory=dict)  # portal id -> content sha256


def _ints(values: Iterable[Any]) -> set[int]:
    """The values that may be ids (within the database's integers: ``limits.ID_MAX``)."""
    return {x for x in values if is_int(x) and 0 < x <= ID_MAX}


def prefetch(db: Session, lines: Sequence[Parsed]) -> Batch:
    """What ``lines`` refer to; only the live (not archived) families' people and requests."""
    batch = Batch()
    objs = [p.obj for p in lines]
    ids = {p.portal_id for p in lines if p.portal_id is not None}
    if ids:
        rows = db.exec(
            select(col(Submission.portal_id), col(Submission.content_sha256)).where(col(Submission.portal_id).in_(ids))
        )
        batch.known = dict(rows.all())
    family_ids = _ints(o.get("family") for o in objs)
    if not family_ids:
        return batch
    _families(db, batch, family_ids)
    live = [fid for fid, f in batch.families.items() if not f.archived]
    if not live:
        return batch
    kinds = {o.get("kind") for o in objs}
    entities = {o.get("entity") for o in objs if o.get("kind") == "change"}
    _people(db, batch, live, entities)
    if "booking" in kinds:
        _bookable_units(db, batch, _ints(o.get("child") for o in objs if o.get("kind") == "booking"))
    if "payment" in kinds:
        numbers = {o.get("invoice") for o in objs if o.get("kind") == "payment" and isinstance(o.get("invoice"), str)}
        _invoices(db, batch, numbers)
    return batch


def _families(db: Session, batch: Batch, family_ids: set[int]) -> None:
    family_rows = db.exec(
        select_columns(
            id_col(Family.id),
            col(Family.name),
            col(Family.archived_at),
            col(PortalAccount.id),
            col(PortalAccount.email),
        )
        .select_from(Family)
        .outerjoin(PortalAccount, col(PortalAccount.family_id) == col(Family.id))
        .where(id_col(Family.id).in_(family_ids))
    )
    for fid, name, archived_at, account_id, email in family_rows:
        batch.families[fid] = FamilyRow(name, archived_at is not None, account_id, email)


def _people(db: Session, batch: Batch, live: list[int], entities: set[Any]) -> None:
    """The live families' children, and the guardians, authorized persons, health notes changed."""
    for cid, fid, first, last in db.exec(
        select(id_col(Child.id), col(Child.family_id), col(Child.first_name), col(Child.last_name)).where(
            col(Child.family_id).in_(live)
        )
    ):
        batch.children[cid] = Person(fid, f"{first} {last}")
    if "guardian" in entities:
        for gid, fid, first, last in db.exec(
            select(
                id_col(Guardian.id), col(Guardian.family_id), col(Guardian.first_name), col(Guardian.last_name)
            ).where(col(Guardian.family_id).in_(live))
        ):
            batch.guardians[gid] = Person(fid, f"{first} {last}")
    if "authorized_person" in entities:
        ap = AuthorizedPerson
        for aid, fid, first, last in db.exec(
            select(id_col(ap.id), col(ap.family_id), col(ap.first_name), col(ap.last_name)).where(
                col(ap.family_id).in_(live)
            )
        ):
            batch.authorized[aid] = Person(fid, f"{first} {last}")
    if "health_note" in entities and batch.children:
        notes = db.exec(
            select(id_col(HealthNote.id), col(HealthNote.child_id)).where(
                col(HealthNote.child_id).in_(list(batch.children))
            )
        )
        batch.health_notes = dict(notes.all())


def _bookable_units(db: Session, batch: Batch, children: set[int]) -> None:
    """The units of the activities each child of the batch has an accepted enrollment in."""
    asked = children & set(batch.children)
    if not asked:
        return
    units = db.exec(
        select(col(Enrollment.child_id), id_col(Unit.id), col(Unit.activity_id))
        .join(Unit, col(Unit.activity_id) == col(Enrollment.activity_id))
        .where(col(Enrollment.child_id).in_(asked), col(Enrollment.status) == EnrollmentStatus.ACCEPTED)
    )
    for child_id, unit_id, activity_id in units:
        batch.units.setdefault(child_id, {})[unit_id] = activity_id


def _invoices(db: Session, batch: Batch, numbers: set[Any]) -> None:
    """The invoices paid online, and the balance due of each."""
    if not numbers:
        return
    invoices = db.exec(
        select(col(Invoice.number), id_col(Invoice.id), col(Invoice.family_id)).where(col(Invoice.number).in_(numbers))
    )
    batch.invoices = {number: (iid, fid) for number, iid, fid in invoices}
    batch.due = invoice_balances(db, [iid for iid, _ in batch.invoices.values()])
