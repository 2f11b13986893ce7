"""RGPD rights: everything held about a family (export), and the anonymisation of archived
families without activity since a date (purge), the accounting records kept.

- :func:`family_export` (role matrix: ``RGPD_EXPORT``, accueil and admin, since it carries
  health data) reads every row held about a family, as JSON-ready data (stable keys, ISO
  dates, money in cents) and the files of its documents, and audits the export
  (``rgpd_export``). The CLI writes it (reports/rgpd_pdf.py) before the transaction commits:
  no export written, no audit entry.
- :func:`purge` (``RGPD_PURGE``, admin) anonymises, in one transaction, every archived
  family with no activity on or after a date. Kept: the family row (renamed
  ``ANONYMISÉ-<id>``), children rows (first name "Enfant n", birth date reduced to the
  year: bookings and invoice lines point to them), enrolments and bookings, invoices and
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

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, update
from sqlmodel import Session, SQLModel, col, select

from regie_tui.clock import PARIS
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import (
    Activity,
    AgeGroup,
    Agent,
    Allocation,
    AuditEntry,
    AuthorizedPerson,
    Booking,
    Child,
    ChildDiet,
    Consent,
    CreditNote,
    CreditNoteLine,
    Diet,
    DirectDebit,
    Document,
    DocumentType,
    Enrollment,
    Family,
    FamilyQuotient,
    FamilySearchWord,
    Guardian,
    HealthNote,
    Invoice,
    InvoiceLine,
    Mandate,
    Message,
    OutboxMail,
    Payment,
    PortalAccount,
    PortalImport,
    PortalLogin,
    Regie,
    Reminder,
    Source,
    StoredFile,
    StructureDocument,
    Submission,
    SubmissionKind,
    Unit,
)
from regie_tui.models.base import utc_now
from regie_tui.services.billing.accounts import family_balances, family_invoices
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.families.search_words import fold
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo

#: The export's format, written in its JSON (a later version may add keys, never rename one).
EXPORT_FORMAT = "regie-tui/rgpd-export/1"
#: The word replacing names in a purged family.
ANONYMISED = "ANONYMISÉ"
#: A purged mandate's IBAN (the column needs 15 to 34 characters; no bank account is this).
ANONYMISED_IBAN = "XX00ANONYMISE00"
ANONYMISED_MESSAGE = "Message anonymisé"
#: What the portal sent that is kept after a purge: online payments' records (no personal text).
KEPT_SUBMISSIONS = (SubmissionKind.PAYMENT,)


def anonymised_name(family_id: int) -> str:
    return f"{ANONYMISED}-{family_id}"


# --------------------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportNames:
    """The names an export of a family takes in its folder."""

    json: str
    pdf: str
    documents: str


def export_names(family_id: int) -> ExportNames:
    stem = f"famille-{family_id}-rgpd"
    return ExportNames(json=f"{stem}.json", pdf=f"{stem}.pdf", documents=f"famille-{family_id}-documents")


@dataclass(frozen=True)
class ExportedFile:
    """A document's file, to write at ``path`` (relative to the export's folder)."""

    document_id: int
    path: str
    content: bytes


@dataclass(frozen=True)
class FamilyExport:
    family_id: int
    family_name: str
    names: ExportNames
    data: dict[str, Any]  # JSON-ready: dates ISO, instants ISO in UTC, money in cents
    files: tuple[ExportedFile, ...]


def _value(value: Any) -> Any:
    """A column's value as JSON holds it."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def _row(row: SQLModel) -> dict[str, Any]:
    """Every column of ``row`` (what the database holds), JSON-ready."""
    table = row.__table__  # type: ignore[attr-defined]
    return {c.name: _value(getattr(row, c.name)) for c in table.columns}


_UNSAFE = re.compile(r"[^\w.\- ]+")


def _file_name(document_id: int, filename: str) -> str:
    """A document's file name in the export: its id first (names repeat), no path, no odd characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" .") or "document"
    return f"{document_id}-{base[:120]}"


def family_export(db: Session, *, family_id: int, agent: AgentInfo, now: datetime) -> FamilyExport:
    """Everything held about the family, audited (``rgpd_export``) in ``db``'s transaction."""
    agent.require(Permission.RGPD_EXPORT)
    family = db.get(Family, family_id)
    if family is None:
        raise NotFound(f"Aucune famille n° {family_id}.")
    names = export_names(family_id)

    children = list(db.exec(select(Child).where(Child.family_id == family_id).order_by(col(Child.id))))
    child_ids = [id_of(c) for c in children]
    diets = [
        {"child_id": child_id, "code": code, "label": label}
        for child_id, code, label in db.exec(
            select(ChildDiet.child_id, Diet.code, Diet.label)
            .join(Diet, col(Diet.id) == ChildDiet.diet_id)
            .where(col(ChildDiet.child_id).in_(child_ids))
            .order_by(col(ChildDiet.child_id), col(Diet.code))
        )
    ]
    account = db.exec(select(PortalAccount).where(PortalAccount.family_id == family_id)).first()
    portal: dict[str, Any] | None = None
    if account is not None:
        portal = _row(account)
        portal["logins"] = [
            _row(login)
            for login in db.exec(
                select(PortalLogin).where(PortalLogin.account_id == account.id).order_by(col(PortalLogin.at))
            )
        ]

    enrollments = [
        {**_row(enrollment), "activity_name": activity, "age_group_name": group}
        for enrollment, activity, group in db.exec(
            select(Enrollment, Activity.name, AgeGroup.name)
            .join(Activity, col(Activity.id) == Enrollment.activity_id)
            .join(AgeGroup, col(AgeGroup.id) == Enrollment.age_group_id)
            .where(col(Enrollment.child_id).in_(child_ids))
            .order_by(col(Enrollment.id))
        )
    ]
    bookings = [
        {**_row(booking), "activity_name": activity, "unit_name": unit}
        for booking, activity, unit in db.exec(
            select(Booking, Activity.name, Unit.name)
            .join(Unit, col(Unit.id) == Booking.unit_id)
            .join(Activity, col(Activity.id) == Unit.activity_id)
            .where(col(Booking.child_id).in_(child_ids))
            .order_by(col(Booking.day), col(Booking.child_id), col(Booking.unit_id))
        )
    ]

    invoices = _invoices(db, family_id)
    payments = _payments(db, family_id)
    mandates = []
    for mandate in db.exec(select(Mandate).where(Mandate.family_id == family_id).order_by(col(Mandate.id))):
        debits = db.exec(select(DirectDebit).where(DirectDebit.mandate_id == mandate.id).order_by(col(DirectDebit.id)))
        mandates.append({**_row(mandate), "direct_debits": [_row(d) for d in debits]})

    documents: list[dict[str, Any]] = []
    files: list[ExportedFile] = []
    for document, type_name, stored in db.exec(
        select(Document, DocumentType.name, StoredFile)
        .join(DocumentType, col(DocumentType.id) == Document.document_type_id)
        .join(StoredFile, col(StoredFile.sha256) == Document.file_sha256)
        .where(Document.family_id == family_id)
        .order_by(col(Document.id))
    ):
        path = f"{names.documents}/{_file_name(id_of(document), document.filename)}"
        documents.append(
            {
                **_row(document),
                "document_type_name": type_name,
                "size": stored.size,
                "media_type": stored.media_type,
                "exported_as": path,
            }
        )
        files.append(ExportedFile(document_id=id_of(document), path=path, content=stored.content))

    history = [
        {**_row(entry), "agent_login": login}
        for entry, login in db.exec(
            select(AuditEntry, Agent.login)
            .outerjoin(Agent, col(Agent.id) == AuditEntry.agent_id)
            .where(AuditEntry.family_id == family_id)
            .order_by(col(AuditEntry.at), col(AuditEntry.id))
        )
    ]

    def rows(model: type[SQLModel], owner: Any, order: Any) -> list[dict[str, Any]]:
        return [_row(r) for r in db.exec(select(model).where(owner).order_by(order))]

    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": _value(now),
        "exported_by": {"login": agent.login, "name": agent.display_name, "role": agent.role.value},
        "family": _row(family),
        "balance_cents": sum(i["balance_cents"] for i in invoices),
        "guardians": rows(Guardian, Guardian.family_id == family_id, col(Guardian.id)),
        "children": [_row(c) for c in children],
        "diets": diets,
        "health_notes": rows(HealthNote, col(HealthNote.child_id).in_(child_ids), col(HealthNote.id)),
        "authorized_persons": rows(AuthorizedPerson, AuthorizedPerson.family_id == family_id, col(AuthorizedPerson.id)),
        "consents": rows(Consent, Consent.family_id == family_id, col(Consent.id)),
        "quotients": rows(FamilyQuotient, FamilyQuotient.family_id == family_id, col(FamilyQuotient.valid_from)),
        "portal_account": portal,
        "enrolments": enrollments,
        "bookings": bookings,
        "invoices": invoices,
        "payments": payments,
        "mandates": mandates,
        "documents": documents,
        "messages": rows(Message, Message.family_id == family_id, col(Message.sent_at)),
        "mails": rows(OutboxMail, OutboxMail.family_id == family_id, col(OutboxMail.id)),
        "submissions": rows(Submission, Submission.family_id == family_id, col(Submission.submitted_at)),
        "history": history,
    }
    audit.record(
        db,
        action="rgpd_export",
        entity="family",
        entity_id=family_id,
        source=Source.AGENT,
        agent_id=agent.id,
        family_id=family_id,
        after={"files": [names.json, names.pdf], "documents": len(files)},
    )
    return FamilyExport(family_id=family_id, family_name=family.name, names=names, data=data, files=tuple(files))


def _invoices(db: Session, family_id: int) -> list[dict[str, Any]]:
    """The family's invoices with their lines, credit notes (and their lines), reminders, balance."""
    sums = {row.id: row for row in family_invoices(db, family_id)}
    found = list(
        db.exec(
            select(Invoice, Regie.code)
            .join(Regie, col(Regie.id) == Invoice.regie_id)
            .where(Invoice.family_id == family_id)
            .order_by(col(Invoice.issue_date), col(Invoice.number))
        )
    )
    ids = [id_of(i) for i, _ in found]
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for line in db.exec(
        select(InvoiceLine).where(col(InvoiceLine.invoice_id).in_(ids)).order_by(col(InvoiceLine.position))
    ):
        lines[line.invoice_id].append(_row(line))
    credit_lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    credits: dict[int, list[dict[str, Any]]] = defaultdict(list)
    notes = list(db.exec(select(CreditNote).where(col(CreditNote.invoice_id).in_(ids)).order_by(col(CreditNote.id))))
    for credit_line in db.exec(
        select(CreditNoteLine)
        .where(col(CreditNoteLine.credit_note_id).in_([id_of(n) for n in notes]))
        .order_by(col(CreditNoteLine.id))
    ):
        credit_lines[credit_line.credit_note_id].append(_row(credit_line))
    for note in notes:
        credits[note.invoice_id].append({**_row(note), "lines": credit_lines[id_of(note)]})
    reminders: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for reminder in db.exec(select(Reminder).where(col(Reminder.invoice_id).in_(ids)).order_by(col(Reminder.id))):
        reminders[reminder.invoice_id].append(_row(reminder))
    result = []
    for invoice, regie in found:
        invoice_id = id_of(invoice)
        row = sums[invoice_id]
        result.append(
            {
                **_row(invoice),
                "regie_code": regie,
                "paid_cents": row.paid_cents,
                "credited_cents": row.credited_cents,
                "balance_cents": row.balance_cents,
                "lines": lines[invoice_id],
                "credit_notes": credits[invoice_id],
                "reminders": reminders[invoice_id],
            }
        )
    return result


def _payments(db: Session, family_id: int) -> list[dict[str, Any]]:
    """The family's payments with their allocations (and the invoice number of each)."""
    found = list(
        db.exec(
            select(Payment, Regie.code)
            .join(Regie, col(Regie.id) == Payment.regie_id)
            .where(Payment.family_id == family_id)
            .order_by(col(Payment.received_on), col(Payment.id))
        )
    )
    allocations: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for allocation, number in db.exec(
        select(Allocation, Invoice.number)
        .join(Invoice, col(Invoice.id) == Allocation.invoice_id)
        .where(col(Allocation.payment_id).in_([id_of(p) for p, _ in found]))
        .order_by(col(Allocation.id))
    ):
        allocations[allocation.payment_id].append({**_row(allocation), "invoice_number": number})
    return [{**_row(p), "regie_code": regie, "allocations": allocations[id_of(p)]} for p, regie in found]


# --------------------------------------------------------------------------- purge


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
    children = select(Child.id).where(col(Child.family_id) == fid)
    files = _orphaned_files(db, fid)
    dropped = list(
        db.exec(
            select(id_col(Submission.id)).where(
                col(Submission.family_id) == fid, col(Submission.kind).not_in(KEPT_SUBMISSIONS)
            )
        ).all()
    )

    # What the portal sent and what the service wrote back.
    db.exec(delete(OutboxMail).where(or_(col(OutboxMail.family_id) == fid, col(OutboxMail.submission_id).in_(dropped))))
    db.exec(delete(Submission).where(col(Submission.id).in_(dropped)))
    db.exec(
        update(Submission).where(col(Submission.family_id) == fid).values(account="", version=Submission.version + 1)
    )
    db.exec(
        update(Message).where(col(Message.family_id) == fid).values(subject=ANONYMISED_MESSAGE, body="", recipient="")
    )
    # Documents and their files (a quotient keeps its figure, not its proof).
    db.exec(update(FamilyQuotient).where(col(FamilyQuotient.family_id) == fid).values(document_id=None))
    db.exec(delete(Document).where(col(Document.family_id) == fid))
    if files:
        db.exec(delete(StoredFile).where(col(StoredFile.sha256).in_(files)))
    # The people and what is known about them.
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
