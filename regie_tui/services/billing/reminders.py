"""Reminders (relances): overdue invoices by age, and the letters sent for them.

An issued invoice is overdue once its due date is 30 days past with a balance left, unless
it is in a live SEPA collection (a direct debit not rejected). The level due follows the
age: 1 at 30 days, 2 at 60, 3 at 90. Each level is sent once per invoice: a level already
sent is skipped (the letter is not printed again), so that printing a whole bucket twice
is harmless.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from regie_tui.errors import RegieError
from regie_tui.models import DirectDebit, Family, Invoice, InvoiceStatus, Regie, Reminder, Town
from regie_tui.services.billing.accounts import CREDITED, PAID
from regie_tui.services.common.sql import select_columns
from regie_tui.services.trust import audit

#: Age in days (since the due date) at which each level is due.
LEVEL_DAYS = {1: 30, 2: 60, 3: 90}
#: Age buckets: (code, French label, first day, last day or None).
BUCKETS = (
    ("30", "30 à 59 jours", 30, 59),
    ("60", "60 à 89 jours", 60, 89),
    ("90", "90 jours et plus", 90, None),
)


def level_for(age_days: int) -> int:
    """The reminder level due at this age (0: not overdue yet)."""
    return max((level for level, days in LEVEL_DAYS.items() if age_days >= days), default=0)


def bucket_for(age_days: int) -> str:
    return next(code for code, _, first, last in BUCKETS if age_days >= first and (last is None or age_days <= last))


@dataclass(frozen=True)
class OverdueInvoice:
    invoice_id: int
    number: str
    regie_code: str
    regie_name: str
    family_id: int
    family_name: str
    debtor_name: str
    debtor_address: str
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    total_cents: int
    paid_cents: int  # payments and credit notes
    balance_cents: int
    age_days: int
    level_due: int
    last_level: int | None
    last_sent_on: date | None

    @property
    def bucket(self) -> str:
        return bucket_for(self.age_days)

    @property
    def to_send(self) -> bool:
        """The level due has not been sent yet."""
        return self.level_due > (self.last_level or 0)


@dataclass(frozen=True)
class Bucket:
    code: str
    label: str
    count: int
    total_cents: int


@dataclass(frozen=True)
class OverdueReport:
    on: date
    invoices: list[OverdueInvoice]  # oldest due date first
    buckets: list[Bucket]

    @property
    def total_cents(self) -> int:
        return sum(b.total_cents for b in self.buckets)


@dataclass(frozen=True)
class Issuer:
    town: str
    service: str
    regie: str
    address: str
    postal_code: str
    city: str
    phone: str
    email: str
    payfip_client_number: str | None


@dataclass(frozen=True)
class ReminderLetter:
    """Everything a reminder letter says."""

    issuer: Issuer
    level: int
    sent_on: date
    invoice_number: str
    family_id: int
    debtor_name: str
    debtor_address: str
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    total_cents: int
    paid_cents: int
    balance_cents: int
    age_days: int
    payfip_reference: str


@dataclass(frozen=True)
class RemindersSent:
    letters: list[ReminderLetter]
    skipped: list[str] = field(default_factory=list)  # invoices whose level due was already sent


def _last_level() -> ColumnElement[int]:
    return (
        select(func.max(Reminder.level)).where(Reminder.invoice_id == Invoice.id).correlate(Invoice).scalar_subquery()
    )


def _last_sent() -> ColumnElement[date]:
    return (
        select(func.max(Reminder.sent_on)).where(Reminder.invoice_id == Invoice.id).correlate(Invoice).scalar_subquery()
    )


def _overdue_statement(on: date, regie_code: str | None, numbers: Sequence[str] | None) -> Select[*tuple[Any, ...]]:
    """Issued invoices due ``LEVEL_DAYS[1]`` days before ``on`` or more, with a balance and no live
    debit, oldest due first: their figures and their last reminder (level, day)."""
    live_debit = exists(
        select(literal(1)).where(DirectDebit.invoice_id == Invoice.id, col(DirectDebit.rejected_on).is_(None))
    )
    balance = Invoice.total_cents - PAID - CREDITED
    conditions: list[ColumnElement[bool]] = [
        col(Invoice.status) == InvoiceStatus.ISSUED,
        col(Invoice.due_date) <= on - timedelta(days=LEVEL_DAYS[1]),
        balance > 0,
        ~live_debit,
    ]
    if regie_code:
        conditions.append(col(Regie.code) == regie_code)
    if numbers is not None:
        conditions.append(col(Invoice.number).in_(list(numbers)))
    return (
        select_columns(
            col(Invoice.id),
            col(Invoice.number),
            col(Regie.code),
            col(Regie.name),
            col(Invoice.family_id),
            col(Family.name),
            col(Invoice.debtor_name),
            col(Invoice.debtor_address),
            col(Invoice.period_start),
            col(Invoice.period_end),
            col(Invoice.issue_date),
            col(Invoice.due_date),
            col(Invoice.total_cents),
            PAID + CREDITED,
            _last_level(),
            _last_sent(),
        )
        .join(Regie, col(Regie.id) == Invoice.regie_id)
        .join(Family, col(Family.id) == Invoice.family_id)
        .where(and_(*conditions))
        .order_by(col(Invoice.due_date), col(Invoice.number))
    )


def _overdue_rows(
    db: Session, *, on: date, regie_code: str | None, numbers: Sequence[str] | None = None
) -> list[OverdueInvoice]:
    result = []
    for row in db.exec(_overdue_statement(on, regie_code, numbers)):
        invoice_id, number, code, regie_name, family_id, family_name, debtor, address = row[:8]
        start, end, issued, due, total, paid, last_level, last_sent = row[8:]
        age = (on - due).days
        result.append(
            OverdueInvoice(
                invoice_id=invoice_id,
                number=number,
                regie_code=code,
                regie_name=regie_name,
                family_id=family_id,
                family_name=family_name,
                debtor_name=debtor,
                debtor_address=address,
                period_start=start,
                period_end=end,
                issue_date=issued,
                due_date=due,
                total_cents=total,
                paid_cents=int(paid),
                balance_cents=total - int(paid),
                age_days=age,
                level_due=level_for(age),
                last_level=last_level,
                last_sent_on=last_sent,
            )
        )
    return result


def overdue_invoices(db: Session, *, on: date, regie_code: str | None = None) -> OverdueReport:
    """Issued invoices due 30 days ago or more with a balance, not in a live direct debit; by age."""
    invoices = _overdue_rows(db, on=on, regie_code=regie_code)
    buckets = [
        Bucket(
            code=code,
            label=label,
            count=sum(1 for i in invoices if i.bucket == code),
            total_cents=sum(i.balance_cents for i in invoices if i.bucket == code),
        )
        for code, label, _, _ in BUCKETS
    ]
    return OverdueReport(on=on, invoices=invoices, buckets=buckets)


def _issuers(db: Session) -> dict[str, Issuer]:
    town = db.get(Town, 1)
    if town is None:
        raise RegieError("La collectivité n'est pas renseignée : impossible d'écrire une relance.")
    return {
        regie.code: Issuer(
            town=town.name,
            service=town.service_name,
            regie=regie.name,
            address=town.address,
            postal_code=town.postal_code,
            city=town.city,
            phone=town.phone,
            email=town.email,
            payfip_client_number=regie.payfip_client_number,
        )
        for regie in db.exec(select(Regie))
    }


def _check_selection(db: Session, numbers: list[str], rows: dict[str, OverdueInvoice]) -> None:
    """Refuse the whole selection when one of its invoices is unknown or not overdue."""
    missing = [n for n in numbers if n not in rows]
    if not missing:
        return
    known = set(db.exec(select(Invoice.number).where(col(Invoice.number).in_(missing))))
    unknown = [n for n in missing if n not in known]
    if unknown:
        raise RegieError(f"Facture introuvable : {', '.join(unknown)}.")
    raise RegieError(
        f"Pas de relance possible pour {', '.join(missing)} : facture soldée, annulée, en prélèvement "
        f"ou échue depuis moins de {LEVEL_DAYS[1]} jours."
    )


def _send(db: Session, row: OverdueInvoice, on: date, agent_id: int | None, issuer: Issuer) -> ReminderLetter:
    """Record the reminder of the level due, audited; the letter that says it."""
    reminder = Reminder(
        invoice_id=row.invoice_id,
        level=row.level_due,
        sent_on=on,
        balance_cents=row.balance_cents,
        created_by_id=agent_id,
    )
    db.add(reminder)
    db.flush()
    audit.record(
        db,
        action="reminder",
        entity="invoice",
        entity_id=row.invoice_id,
        agent_id=agent_id,
        family_id=row.family_id,
        after={
            "invoice": row.number,
            "level": row.level_due,
            "due_date": row.due_date.isoformat(),
            "balance_cents": row.balance_cents,
        },
    )
    return ReminderLetter(
        issuer=issuer,
        level=row.level_due,
        sent_on=on,
        invoice_number=row.number,
        family_id=row.family_id,
        debtor_name=row.debtor_name,
        debtor_address=row.debtor_address,
        period_start=row.period_start,
        period_end=row.period_end,
        issue_date=row.issue_date,
        due_date=row.due_date,
        total_cents=row.total_cents,
        paid_cents=row.paid_cents,
        balance_cents=row.balance_cents,
        age_days=row.age_days,
        payfip_reference=row.number,
    )


def send_reminders(db: Session, *, invoice_numbers: Sequence[str], on: date, agent_id: int | None) -> RemindersSent:
    """Record the reminder due for each invoice (its level due), audited on the family's history.

    All or nothing: an unknown or not overdue invoice refuses the whole selection. An invoice
    whose level due was already sent is skipped (listed in ``skipped``).
    """
    numbers = list(dict.fromkeys(n.strip() for n in invoice_numbers if n.strip()))
    if not numbers:
        raise RegieError("Aucune facture choisie pour la relance.")
    rows = {row.number: row for row in _overdue_rows(db, on=on, regie_code=None, numbers=numbers)}
    _check_selection(db, numbers, rows)
    issuers = _issuers(db)
    letters: list[ReminderLetter] = []
    skipped: list[str] = []
    for number in numbers:
        row = rows[number]
        if row.to_send:
            letters.append(_send(db, row, on, agent_id, issuers[row.regie_code]))
        else:
            skipped.append(number)
    return RemindersSent(letters=letters, skipped=skipped)


def numbers_at_level(report: OverdueReport, level: int) -> list[str]:
    """The invoices of a report whose level due is ``level`` and not sent yet."""
    if level not in LEVEL_DAYS:
        raise RegieError(f"Niveau de relance {level} inconnu : 1, 2 ou 3.")
    return [i.number for i in report.invoices if i.level_due == level and i.to_send]
