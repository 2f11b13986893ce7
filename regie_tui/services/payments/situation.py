"""A family's situation financière at a date, as the portal shows it: its invoices with what
was paid and credited by then, its payments, the balance due and its credit."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.errors import NotFound
from regie_tui.models import Allocation, CreditNote, Family, Invoice, InvoiceStatus, Payment, PaymentMode, Regie
from regie_tui.services.common.sql import id_col, select_columns
from regie_tui.services.payments.account import ALLOCATED
from regie_tui.services.payments.modes import MODE_LABELS, payment_state


@dataclass(frozen=True)
class SituationInvoice:
    number: str
    regie: str
    period_start: date
    issue_date: date
    due_date: date
    total_cents: int
    paid_cents: int
    credited_cents: int
    balance_cents: int
    overdue: bool


@dataclass(frozen=True)
class SituationPayment:
    receipt_number: str
    regie: str
    received_on: date
    mode_label: str
    amount_cents: int
    allocated_cents: int
    reference: str
    state: str  # '', 'annulé', 'rejeté'


@dataclass(frozen=True)
class FinancialSituation:
    """The family's situation financière at a date, as the portal shows it."""

    family_id: int
    family_name: str
    on: date
    invoices: tuple[SituationInvoice, ...]
    payments: tuple[SituationPayment, ...]
    due_cents: int  # sum of the balances of the invoices issued by then
    unpaid_count: int
    credit_cents: int  # money received and not yet allocated

    @property
    def net_due_cents(self) -> int:
        return self.due_cents - self.credit_cents


def _invoices(db: Session, *, family_id: int, on: date) -> list[SituationInvoice]:
    """Invoices issued by ``on``, newest first, with the payments received and credit notes issued by then."""
    rows = db.exec(
        select_columns(
            id_col(Invoice.id),
            col(Invoice.number),
            col(Regie.code),
            col(Invoice.period_start),
            col(Invoice.issue_date),
            col(Invoice.due_date),
            col(Invoice.total_cents),
            col(Invoice.status),
        )
        .join(Regie, col(Regie.id) == Invoice.regie_id)
        .where(Invoice.family_id == family_id, Invoice.issue_date <= on)
        .order_by(col(Invoice.issue_date).desc(), col(Invoice.number).desc())
    ).all()
    ids = [row[0] for row in rows]
    paid = dict(
        db.exec(
            select(Allocation.invoice_id, func.sum(Allocation.amount_cents))
            .join(Payment, col(Payment.id) == Allocation.payment_id)
            .where(col(Allocation.invoice_id).in_(ids), Payment.received_on <= on)
            .group_by(col(Allocation.invoice_id))
        ).all()
    )
    credited = dict(
        db.exec(
            select(CreditNote.invoice_id, func.sum(CreditNote.amount_cents))
            .where(col(CreditNote.invoice_id).in_(ids), CreditNote.issue_date <= on)
            .group_by(col(CreditNote.invoice_id))
        ).all()
    )
    invoices = []
    for iid, number, code, start, issued, due, total, status in rows:
        p, c = int(paid.get(iid, 0)), int(credited.get(iid, 0))
        balance = total - p - c if status == InvoiceStatus.ISSUED else 0
        invoices.append(
            SituationInvoice(number, code, start, issued, due, total, p, c, balance, balance > 0 and due < on)
        )
    return invoices


def _payments(db: Session, *, family_id: int, on: date) -> tuple[list[SituationPayment], int]:
    """Payments received by ``on``, newest first, and the credit they leave (live ones only)."""
    rows = db.exec(
        select_columns(
            col(Payment.receipt_number),
            col(Regie.code),
            col(Payment.received_on),
            col(Payment.mode),
            col(Payment.amount_cents),
            ALLOCATED,
            col(Payment.reference),
            col(Payment.cancelled_on),
            col(Payment.rejected_on),
        )
        .join(Regie, col(Regie.id) == Payment.regie_id)
        .where(Payment.family_id == family_id, Payment.received_on <= on)
        .order_by(col(Payment.received_on).desc(), col(Payment.receipt_number).desc())
    ).all()
    payments = []
    credit = 0
    for receipt, code, received, mode, amount, alloc, reference, cancelled, rejected in rows:
        state = payment_state(cancelled, rejected)
        if not state:
            credit += amount - int(alloc)
        payments.append(
            SituationPayment(
                receipt, code, received, MODE_LABELS[PaymentMode(mode)], amount, int(alloc), reference, state
            )
        )
    return payments, credit


def family_situation(db: Session, *, family_id: int, on: date) -> FinancialSituation:
    """Invoices issued by ``on`` with what was paid (payments received by then) and
    credited (credit notes issued by then), the payments received by then, the balance due.

    Cancelled and rejected payments have no allocations left: they count nothing.
    """
    family = db.get(Family, family_id)
    if family is None:
        raise NotFound(f"Famille n° {family_id} introuvable.")
    invoices = _invoices(db, family_id=family_id, on=on)
    payments, credit = _payments(db, family_id=family_id, on=on)
    return FinancialSituation(
        family_id=family_id,
        family_name=family.name,
        on=on,
        invoices=tuple(invoices),
        payments=tuple(payments),
        due_cents=sum(i.balance_cents for i in invoices),
        unpaid_count=sum(1 for i in invoices if i.balance_cents > 0),
        credit_cents=credit,
    )
