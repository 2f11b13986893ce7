"""What families owe: invoice balances after payments and credit notes, in SQL."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from regie_tui.models import Allocation, CreditNote, Invoice, InvoiceStatus, Regie

_paid = (
    select(func.coalesce(func.sum(Allocation.amount_cents), 0))
    .where(Allocation.invoice_id == Invoice.id)
    .correlate(Invoice)
    .scalar_subquery()
)
_credited = (
    select(func.coalesce(func.sum(CreditNote.amount_cents), 0))
    .where(CreditNote.invoice_id == Invoice.id)
    .correlate(Invoice)
    .scalar_subquery()
)
_issued = Invoice.status == InvoiceStatus.ISSUED


@dataclass(frozen=True)
class InvoiceRow:
    id: int
    number: str
    regie: str
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    total_cents: int
    paid_cents: int
    credited_cents: int
    status: str

    @property
    def balance_cents(self) -> int:
        if self.status != InvoiceStatus.ISSUED:
            return 0
        return self.total_cents - self.paid_cents - self.credited_cents


def family_invoices(session: Session, family_id: int) -> list[InvoiceRow]:
    """The family's invoices, newest first."""
    rows = session.exec(
        select(
            Invoice.id,
            Invoice.number,
            Regie.name,
            Invoice.period_start,
            Invoice.period_end,
            Invoice.issue_date,
            Invoice.due_date,
            Invoice.total_cents,
            _paid,
            _credited,
            Invoice.status,
        )
        .join(Regie, Regie.id == Invoice.regie_id)
        .where(Invoice.family_id == family_id)
        .order_by(Invoice.issue_date.desc(), Invoice.number.desc())
    )
    return [InvoiceRow(*row[:-1], status=InvoiceStatus(row[-1]).value) for row in rows]


def family_balances(session: Session, family_ids: list[int]) -> dict[int, int]:
    """Balance due per family (families owing nothing are absent)."""
    if not family_ids:
        return {}
    rows = session.exec(
        select(Invoice.family_id, func.sum(Invoice.total_cents - _paid - _credited))
        .where(Invoice.family_id.in_(family_ids), _issued)
        .group_by(Invoice.family_id)
    )
    return {family_id: int(balance) for family_id, balance in rows if balance}


def unpaid_total(session: Session) -> int:
    """What all families owe the régies, in cents."""
    invoiced = session.exec(select(func.coalesce(func.sum(Invoice.total_cents), 0)).where(_issued)).one()
    paid = session.exec(
        select(func.coalesce(func.sum(Allocation.amount_cents), 0))
        .join(Invoice, Invoice.id == Allocation.invoice_id)
        .where(_issued)
    ).one()
    credited = session.exec(
        select(func.coalesce(func.sum(CreditNote.amount_cents), 0))
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(_issued)
    ).one()
    return int(invoiced) - int(paid) - int(credited)
