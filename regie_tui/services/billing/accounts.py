"""What families owe: invoice balances after payments and credit notes, in SQL."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.models import Allocation, CreditNote, Invoice, InvoiceStatus, Regie
from regie_tui.services.common.sql import id_col, id_of, select_columns

# Per invoice, correlated: what payments put on it, and what credit notes took off it.
PAID = (
    select(func.coalesce(func.sum(Allocation.amount_cents), 0))
    .where(Allocation.invoice_id == Invoice.id)
    .correlate(Invoice)
    .scalar_subquery()
)
CREDITED = (
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
        select_columns(
            id_col(Invoice.id),
            col(Invoice.number),
            col(Regie.name),
            col(Invoice.period_start),
            col(Invoice.period_end),
            col(Invoice.issue_date),
            col(Invoice.due_date),
            col(Invoice.total_cents),
            PAID,
            CREDITED,
            col(Invoice.status),
        )
        .join(Regie, col(Regie.id) == Invoice.regie_id)
        .where(Invoice.family_id == family_id)
        .order_by(col(Invoice.issue_date).desc(), col(Invoice.number).desc())
    )
    return [
        InvoiceRow(
            id=invoice_id,
            number=number,
            regie=regie,
            period_start=start,
            period_end=end,
            issue_date=issued,
            due_date=due,
            total_cents=total,
            paid_cents=paid,
            credited_cents=credited,
            status=InvoiceStatus(status).value,
        )
        for invoice_id, number, regie, start, end, issued, due, total, paid, credited, status in rows
    ]


def family_balances(session: Session, family_ids: list[int]) -> dict[int, int]:
    """Balance due per family (families owing nothing are absent)."""
    if not family_ids:
        return {}
    rows = session.exec(
        select(Invoice.family_id, func.sum(Invoice.total_cents - PAID - CREDITED))
        .where(col(Invoice.family_id).in_(family_ids), _issued)
        .group_by(col(Invoice.family_id))
    )
    return {family_id: int(balance) for family_id, balance in rows if balance}


def invoice_balances(session: Session, invoice_ids: Sequence[int]) -> dict[int, int]:
    """Invoice id -> what is still due on each issued one of ``invoice_ids`` (cancelled ones are absent)."""
    if not invoice_ids:
        return {}
    rows = session.exec(
        select(id_col(Invoice.id), col(Invoice.total_cents) - PAID - CREDITED).where(
            col(Invoice.id).in_(invoice_ids), _issued
        )
    )
    return {invoice_id: int(balance) for invoice_id, balance in rows}


def invoice_balance(db: Session, *, invoice: Invoice) -> int:
    """What is still due on an issued invoice (total - allocations - credit notes)."""
    if invoice.status != InvoiceStatus.ISSUED:
        return 0
    return invoice_balances(db, [id_of(invoice)]).get(id_of(invoice), 0)
