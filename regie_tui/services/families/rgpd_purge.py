"""RGPD right to erasure: the anonymisation of archived families without activity since a date,
the accounting records kept.

:func:`purge` (``RGPD_PURGE``, admin) anonymises, in one transaction, every archived
family with no activity on or after a date. Kept: the family row (renamed
``ANONYMISÉ-<id>``), children rows (first name "Enfant n", birth date reduced to the
year: bookings and invoice lines point to them), enrollments and bookings, invoices and
their lines, credit notes, payments and allocations, reminders, direct debits, quotients
and consents: amounts, numbers, dates and states unchanged. Removed or blanked: names,
addresses, phones, e-mails (the debtor's copies on invoices, payments and mandates
too), mandates' IBAN and BIC, guardians, authorized persons, health notes, diets,
documents and their stored files, messages' text, mails, portal account and logins,
portal submissions (but online payments' records), search words. One audit entry per
family, with counts only.

The audit trail is insert-only (PostgreSQL grants): the family's past audit entries keep
their before/after values, the legal trail of who changed what.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, update
from sqlmodel import Session, SQLModel, col, select

from regie_tui.clock import PARIS, utc_now
from regie_tui.errors import RegieError
from regie_tui.models import (
    Allocation,
    AuditEntry,
    AuthorizedPerson,
    Booking,
    Child,
    ChildDiet,
    CreditNote,
    Document,
    Enrollment,
    Family,
    FamilyQuotient,
    FamilySearchWord,
    Guardian,
    HealthNote,
    Invoice,
    Mandate,
    Message,
    OutboxMail,
    Payment,
    PortalAccount,
    PortalImport,
    PortalLogin,
    Source,
    StoredFile,
    StructureDocument,
    Submission,
    SubmissionKind,
)
from regie_tui.services.billing.accounts import family_balances
from regie_tui.services.common.sql import id_col
from regie_tui.services.families.search_words import fold
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo

#: The word replacing names in a purged family.
ANONYMISED = "ANONYMISÉ"
#: A purged mandate's IBAN (the column needs 15 to 34 characters; no bank account is this).
ANONYMISED_IBAN = "XX00ANONYMISE00"
ANONYMISED_MESSAGE = "Message anonymisé"
#: What the portal sent that is kept after a purge: online payments' records (no personal text).
KEPT_SUBMISSIONS = (SubmissionKind.PAYMENT,)


def anonymised_name(family_id: int) -> str:
    return f"{ANONYMISED}-{family_id}"


@dataclass(frozen=True)
class PurgedFamily:
    """A family the purge anonymises (or, in a dry run, would): what goes and what stays."""

    id: int
    name: str  # as it was
    archived_at: datetime
    removed: dict[str, int]  # kind ("guardians", "health_notes"…) -> rows removed or blanked
    kept: dict[str, int]  # kind ("invoices", "payments"…) -> accounting records kept, unchanged


@dataclass(frozen=True)
class PurgeResult:
    before: date
    dry_run: bool
    families: tuple[PurgedFamily, ...]
    owing: tuple[tuple[int, int], ...] = ()  # (family id, balance due): kept, the debt is recovered from them


def _start_of(day: date) -> datetime:
    """The first instant of ``day`` in Paris, in UTC."""
    return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)


def _active_since(day: date) -> Any:
    """A condition on Family: some activity of the family on or after ``day``."""
    since = _start_of(day)
    family = id_col(Family.id)
    of_child = and_(col(Child.family_id) == family, col(Child.id) == Booking.child_id)
    return or_(
        exists().where(of_child, or_(col(Booking.day) >= day, col(Booking.changed_at) >= since)),
        exists().where(
            col(Child.family_id) == family,
            col(Child.id) == Enrollment.child_id,
            or_(col(Enrollment.requested_at) >= since, col(Enrollment.decided_at) >= since),
        ),
        exists().where(col(Invoice.family_id) == family, col(Invoice.issue_date) >= day),
        exists().where(
            col(Invoice.family_id) == family,
            col(CreditNote.invoice_id) == Invoice.id,
            col(CreditNote.issue_date) >= day,
        ),
        exists().where(
            col(Payment.family_id) == family,
            or_(col(Payment.received_on) >= day, col(Payment.rejected_on) >= day, col(Payment.cancelled_on) >= day),
        ),
        exists().where(col(Message.family_id) == family, col(Message.sent_at) >= since),
        exists().where(col(Submission.family_id) == family, col(Submission.submitted_at) >= since),
        exists().where(col(Document.family_id) == family, col(Document.submitted_at) >= since),
        exists().where(col(AuditEntry.family_id) == family, col(AuditEntry.at) >= since),
    )


def _already_purged() -> Any:
    return exists().where(col(AuditEntry.family_id) == Family.id, col(AuditEntry.action) == "rgpd_purge")


def purge(db: Session, *, before: date, agent: AgentInfo, today: date, dry_run: bool = False) -> PurgeResult:
    """Anonymise every archived family with no activity on or after ``before`` and nothing left
    to pay, in ``db``'s transaction (all or nothing: the caller commits); ``dry_run``: only say
    which, write nothing. A family that still owes money keeps its identity: the régie (or the
    public accountant, through a titre de recettes) must still be able to claim the debt."""
    agent.require(Permission.RGPD_PURGE)
    if before > today:
        raise RegieError(
            f"Date {before:%d/%m/%Y} dans le futur : l'anonymisation vise les familles sans activité "
            "depuis une date passée."
        )
    candidates = db.exec(
        select(id_col(Family.id), Family.name, Family.archived_at)
        .where(
            col(Family.archived_at).is_not(None),
            col(Family.archived_at) < _start_of(before),
            ~_active_since(before),
            ~_already_purged(),
        )
        .order_by(col(Family.id))
    ).all()
    balances = family_balances(db, [family_id for family_id, _, _ in candidates])
    owing = tuple((family_id, balances[family_id]) for family_id, _, _ in candidates if balances.get(family_id, 0) > 0)
    families = []
    for family_id, name, archived_at in candidates:
        assert archived_at is not None
        if balances.get(family_id, 0) > 0:
            continue
        removed, kept = _counts(db, family_id)
        found = PurgedFamily(
            id=family_id,
            name=name,
            archived_at=archived_at if archived_at.tzinfo else archived_at.replace(tzinfo=UTC),
            removed=removed,
            kept=kept,
        )
        if not dry_run:
            _anonymise(db, found, agent=agent, today=today)
        families.append(found)
    if not dry_run:
        db.flush()
    return PurgeResult(before=before, dry_run=dry_run, families=tuple(families), owing=owing)


def _counts(db: Session, fid: int) -> tuple[dict[str, int], dict[str, int]]:
    """What the purge of the family removes (or blanks), and the accounting records it keeps."""
    children = select(Child.id).where(Child.family_id == fid)
    invoices = select(Invoice.id).where(Invoice.family_id == fid)

    def count(model: type[SQLModel], *where: Any) -> int:
        return int(db.exec(select(func.count()).select_from(model).where(*where)).one())

    removed = {
        "guardians": count(Guardian, Guardian.family_id == fid),
        "children": count(Child, Child.family_id == fid),
        "authorized_persons": count(AuthorizedPerson, AuthorizedPerson.family_id == fid),
        "health_notes": count(HealthNote, col(HealthNote.child_id).in_(children)),
        "diets": count(ChildDiet, col(ChildDiet.child_id).in_(children)),
        "documents": count(Document, Document.family_id == fid),
        "stored_files": len(_orphaned_files(db, fid)),
        "messages": count(Message, Message.family_id == fid),
        "mails": count(OutboxMail, OutboxMail.family_id == fid),
        "submissions": count(Submission, Submission.family_id == fid, col(Submission.kind).not_in(KEPT_SUBMISSIONS)),
        "portal_accounts": count(PortalAccount, PortalAccount.family_id == fid),
        "mandates": count(Mandate, Mandate.family_id == fid),
    }
    kept = {
        "invoices": count(Invoice, Invoice.family_id == fid),
        "credit_notes": count(CreditNote, col(CreditNote.invoice_id).in_(invoices)),
        "payments": count(Payment, Payment.family_id == fid),
        "allocations": count(Allocation, col(Allocation.invoice_id).in_(invoices)),
        "bookings": count(Booking, col(Booking.child_id).in_(children)),
    }
    return removed, kept


def _orphaned_files(db: Session, family_id: int) -> list[str]:
    """The stored files of the family's documents that nothing else uses (no other family's
    document, publication or portal import): deleted with the documents."""
    mine = select(Document.file_sha256).where(col(Document.family_id) == family_id)
    used_elsewhere = or_(
        exists().where(col(Document.file_sha256) == StoredFile.sha256, col(Document.family_id) != family_id),
        exists().where(col(StructureDocument.file_sha256) == StoredFile.sha256),
        exists().where(col(PortalImport.file_sha256) == StoredFile.sha256),
    )
    return list(db.exec(select(StoredFile.sha256).where(col(StoredFile.sha256).in_(mine), ~used_elsewhere)).all())


def _anonymise(db: Session, family: PurgedFamily, *, agent: AgentInfo, today: date) -> None:
    fid = family.id
    anonymous = anonymised_name(fid)
    files = _orphaned_files(db, fid)
    _forget_portal_texts(db, fid)
    # Documents and their files (a quotient keeps its figure, not its proof).
    db.exec(update(FamilyQuotient).where(col(FamilyQuotient.family_id) == fid).values(document_id=None))
    db.exec(delete(Document).where(col(Document.family_id) == fid))
    if files:
        db.exec(delete(StoredFile).where(col(StoredFile.sha256).in_(files)))
    _forget_people(db, fid)
    # The accounting records stay, without the personal copies they carry.
    db.exec(update(Invoice).where(col(Invoice.family_id) == fid).values(debtor_name=anonymous, debtor_address=""))
    db.exec(update(Payment).where(col(Payment.family_id) == fid).values(payer_name=anonymous))
    db.exec(
        update(Mandate)
        .where(col(Mandate.family_id) == fid)
        .values(
            debtor_name=anonymous,
            debtor_address="",
            iban=ANONYMISED_IBAN,
            bic="",
            revoked_on=func.coalesce(Mandate.revoked_on, today),
        )
    )
    row = db.get(Family, fid, populate_existing=True)
    assert row is not None
    row.name = anonymous
    row.name_key = fold(anonymous)
    row.address = row.address_extra = row.postal_code = row.city = row.notes = ""
    row.updated_at = utc_now()
    row.version += 1
    db.add(row)
    audit.record(
        db,
        action="rgpd_purge",
        entity="family",
        entity_id=fid,
        source=Source.AGENT,
        agent_id=agent.id,
        family_id=fid,
        after={"removed": dict(family.removed), "kept": dict(family.kept)},
    )


def _forget_portal_texts(db: Session, fid: int) -> None:
    """What the portal sent and what the régie wrote back: gone, but online payments' records."""
    dropped = list(
        db.exec(
            select(id_col(Submission.id)).where(
                col(Submission.family_id) == fid, col(Submission.kind).not_in(KEPT_SUBMISSIONS)
            )
        ).all()
    )
    db.exec(delete(OutboxMail).where(or_(col(OutboxMail.family_id) == fid, col(OutboxMail.submission_id).in_(dropped))))
    db.exec(delete(Submission).where(col(Submission.id).in_(dropped)))
    db.exec(
        update(Submission).where(col(Submission.family_id) == fid).values(account="", version=Submission.version + 1)
    )
    db.exec(
        update(Message).where(col(Message.family_id) == fid).values(subject=ANONYMISED_MESSAGE, body="", recipient="")
    )


def _forget_people(db: Session, fid: int) -> None:
    """The people and what is known about them: removed, children renamed (their rows stay)."""
    children = select(Child.id).where(col(Child.family_id) == fid)
    db.exec(delete(HealthNote).where(col(HealthNote.child_id).in_(children)))
    db.exec(delete(ChildDiet).where(col(ChildDiet.child_id).in_(children)))
    db.exec(delete(AuthorizedPerson).where(col(AuthorizedPerson.family_id) == fid))
    db.exec(delete(Guardian).where(col(Guardian.family_id) == fid))
    accounts = select(PortalAccount.id).where(col(PortalAccount.family_id) == fid)
    db.exec(delete(PortalLogin).where(col(PortalLogin.account_id).in_(accounts)))
    db.exec(delete(PortalAccount).where(col(PortalAccount.family_id) == fid))
    db.exec(delete(FamilySearchWord).where(col(FamilySearchWord.family_id) == fid))
    for number, child in enumerate(
        db.exec(select(Child).where(col(Child.family_id) == fid).order_by(col(Child.id))), 1
    ):
        child.first_name = f"Enfant {number}"
        child.last_name = ANONYMISED
        child.birth_date = date(child.birth_date.year, 1, 1)
        child.school = ""
        child.school_class = ""
        child.version += 1
        db.add(child)
    db.exec(
        update(Enrollment).where(col(Enrollment.child_id).in_(children), col(Enrollment.reason) != "").values(reason="")
    )
