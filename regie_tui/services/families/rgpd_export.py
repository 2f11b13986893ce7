"""RGPD right of access: everything held about a family, exported.

:func:`family_export` (role matrix: ``RGPD_EXPORT``, accueil and admin, since it carries
health data) reads every row held about a family, as JSON-ready data (stable keys, ISO
dates, money in cents) and the files of its documents, and audits the export
(``rgpd_export``). The CLI writes it (reports/rgpd_pdf.py) before the transaction commits:
no export written, no audit entry.
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from regie_tui.errors import NotFound
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
    Guardian,
    HealthNote,
    Invoice,
    InvoiceLine,
    Mandate,
    Message,
    OutboxMail,
    Payment,
    PortalAccount,
    PortalLogin,
    Regie,
    Reminder,
    Source,
    StoredFile,
    Submission,
    Unit,
)
from regie_tui.services.billing.accounts import family_invoices
from regie_tui.services.common.sql import id_of
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo

#: The export's format, written in its JSON (a later version may add keys, never rename one).
EXPORT_FORMAT = "regie-tui/rgpd-export/1"


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
    invoices = _invoices(db, family_id)
    documents, files = _documents(db, family_id, names)
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": _value(now),
        "exported_by": {"login": agent.login, "name": agent.display_name, "role": agent.role.value},
        "family": _row(family),
        "balance_cents": sum(i["balance_cents"] for i in invoices),
        "guardians": _rows(db, Guardian, Guardian.family_id == family_id, col(Guardian.id)),
        "children": [_row(c) for c in children],
        "diets": _diets(db, child_ids),
        "health_notes": _rows(db, HealthNote, col(HealthNote.child_id).in_(child_ids), col(HealthNote.id)),
        "authorized_persons": _rows(
            db, AuthorizedPerson, AuthorizedPerson.family_id == family_id, col(AuthorizedPerson.id)
        ),
        "consents": _rows(db, Consent, Consent.family_id == family_id, col(Consent.id)),
        "quotients": _rows(db, FamilyQuotient, FamilyQuotient.family_id == family_id, col(FamilyQuotient.valid_from)),
        "portal_account": _portal_account(db, family_id),
        "enrolments": _enrollments(db, child_ids),
        "bookings": _bookings(db, child_ids),
        "invoices": invoices,
        "payments": _payments(db, family_id),
        "mandates": _mandates(db, family_id),
        "documents": documents,
        "messages": _rows(db, Message, Message.family_id == family_id, col(Message.sent_at)),
        "mails": _rows(db, OutboxMail, OutboxMail.family_id == family_id, col(OutboxMail.id)),
        "submissions": _rows(db, Submission, Submission.family_id == family_id, col(Submission.submitted_at)),
        "history": _history(db, family_id),
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


def _rows(db: Session, model: type[SQLModel], owner: Any, order: Any) -> list[dict[str, Any]]:
    return [_row(r) for r in db.exec(select(model).where(owner).order_by(order))]


def _diets(db: Session, child_ids: list[int]) -> list[dict[str, Any]]:
    return [
        {"child_id": child_id, "code": code, "label": label}
        for child_id, code, label in db.exec(
            select(ChildDiet.child_id, Diet.code, Diet.label)
            .join(Diet, col(Diet.id) == ChildDiet.diet_id)
            .where(col(ChildDiet.child_id).in_(child_ids))
            .order_by(col(ChildDiet.child_id), col(Diet.code))
        )
    ]


def _portal_account(db: Session, family_id: int) -> dict[str, Any] | None:
    """The family's portal account and its logins (None: no account)."""
    account = db.exec(select(PortalAccount).where(PortalAccount.family_id == family_id)).first()
    if account is None:
        return None
    portal = _row(account)
    portal["logins"] = [
        _row(login)
        for login in db.exec(
            select(PortalLogin).where(PortalLogin.account_id == account.id).order_by(col(PortalLogin.at))
        )
    ]
    return portal


def _enrollments(db: Session, child_ids: list[int]) -> list[dict[str, Any]]:
    return [
        {**_row(enrollment), "activity_name": activity, "age_group_name": group}
        for enrollment, activity, group in db.exec(
            select(Enrollment, Activity.name, AgeGroup.name)
            .join(Activity, col(Activity.id) == Enrollment.activity_id)
            .join(AgeGroup, col(AgeGroup.id) == Enrollment.age_group_id)
            .where(col(Enrollment.child_id).in_(child_ids))
            .order_by(col(Enrollment.id))
        )
    ]


def _bookings(db: Session, child_ids: list[int]) -> list[dict[str, Any]]:
    return [
        {**_row(booking), "activity_name": activity, "unit_name": unit}
        for booking, activity, unit in db.exec(
            select(Booking, Activity.name, Unit.name)
            .join(Unit, col(Unit.id) == Booking.unit_id)
            .join(Activity, col(Activity.id) == Unit.activity_id)
            .where(col(Booking.child_id).in_(child_ids))
            .order_by(col(Booking.day), col(Booking.child_id), col(Booking.unit_id))
        )
    ]


def _mandates(db: Session, family_id: int) -> list[dict[str, Any]]:
    """The family's SEPA mandates with their direct debits."""
    mandates = []
    for mandate in db.exec(select(Mandate).where(Mandate.family_id == family_id).order_by(col(Mandate.id))):
        debits = db.exec(select(DirectDebit).where(DirectDebit.mandate_id == mandate.id).order_by(col(DirectDebit.id)))
        mandates.append({**_row(mandate), "direct_debits": [_row(d) for d in debits]})
    return mandates


def _documents(db: Session, family_id: int, names: ExportNames) -> tuple[list[dict[str, Any]], list[ExportedFile]]:
    """The family's documents, each with the path its file takes in the export, and those files."""
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
    return documents, files


def _history(db: Session, family_id: int) -> list[dict[str, Any]]:
    """The family's audit entries, with the login of the agent of each."""
    return [
        {**_row(entry), "agent_login": login}
        for entry, login in db.exec(
            select(AuditEntry, Agent.login)
            .outerjoin(Agent, col(Agent.id) == AuditEntry.agent_id)
            .where(AuditEntry.family_id == family_id)
            .order_by(col(AuditEntry.at), col(AuditEntry.id))
        )
    ]


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
