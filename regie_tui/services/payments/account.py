"""A family's account at the desk: its credit in a régie (money received and not allocated
yet), its open invoices, the régie a payment goes to, and what the payment dialog shows."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.errors import NotFound, RegieError
from regie_tui.models import Allocation, Family, Invoice, InvoiceStatus, Payment, Regie
from regie_tui.services.billing.accounts import invoice_balances
from regie_tui.services.common.regies import all_regies, regie_by_code
from regie_tui.services.common.sql import id_col, id_of, select_columns

#: A payment neither cancelled nor rejected.
LIVE = (col(Payment.cancelled_on).is_(None), col(Payment.rejected_on).is_(None))
#: Per payment, correlated: what its allocations put on invoices (the rest is the family's credit).
ALLOCATED = (
    select(func.coalesce(func.sum(Allocation.amount_cents), 0))
    .where(Allocation.payment_id == Payment.id)
    .correlate(Payment)
    .scalar_subquery()
)


@dataclass(frozen=True)
class OpenInvoice:
    number: str
    regie_id: int
    regie_code: str
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    total_cents: int
    balance_cents: int


@dataclass(frozen=True)
class PaymentContext:
    """What the payment dialog shows of a family: its open invoices and its credit per régie."""

    family_id: int
    family_name: str
    regies: tuple[tuple[int, str, str], ...]  # (id, code, name)
    invoices: tuple[OpenInvoice, ...]  # every régie, oldest first
    credits: dict[int, int]  # régie id -> credit
    default_regie_id: int


def credit_payments(db: Session, *, family_id: int, regie_id: int, lock: bool = False) -> list[tuple[int, int]]:
    """(payment id, unallocated cents) of the family's live payments in the régie, oldest first;
    with ``lock``, those payments are locked first (two desks spending the credit queue here)."""
    statement = (
        select(id_col(Payment.id), col(Payment.amount_cents) - ALLOCATED)
        .where(Payment.family_id == family_id, Payment.regie_id == regie_id, *LIVE)
        .order_by(col(Payment.received_on), col(Payment.id))
    )
    if lock:
        ids = db.exec(
            select(id_col(Payment.id))
            .where(Payment.family_id == family_id, Payment.regie_id == regie_id, *LIVE)
            .with_for_update()
        ).all()
        if not ids:
            return []
    return [(pid, int(left)) for pid, left in db.exec(statement).all() if left > 0]


def family_credit(db: Session, *, family_id: int, regie_id: int | None = None) -> int:
    """Money of the family received by the régie (every régie: None) and not allocated to any invoice yet."""
    if regie_id is None:
        regie_ids = db.exec(select(Payment.regie_id).where(Payment.family_id == family_id).distinct()).all()
        return sum(family_credit(db, family_id=family_id, regie_id=r) for r in regie_ids)
    return sum(left for _, left in credit_payments(db, family_id=family_id, regie_id=regie_id))


def open_invoices(db: Session, *, family_id: int, regie_id: int | None = None) -> list[OpenInvoice]:
    """The family's issued invoices with something due, oldest first (issue date, number)."""
    statement = (
        select_columns(
            id_col(Invoice.id),
            col(Invoice.number),
            col(Invoice.regie_id),
            col(Regie.code),
            col(Invoice.period_start),
            col(Invoice.period_end),
            col(Invoice.issue_date),
            col(Invoice.due_date),
            col(Invoice.total_cents),
        )
        .join(Regie, col(Regie.id) == Invoice.regie_id)
        .where(Invoice.family_id == family_id, Invoice.status == InvoiceStatus.ISSUED)
        .order_by(col(Invoice.issue_date), col(Invoice.number))
    )
    if regie_id is not None:
        statement = statement.where(Invoice.regie_id == regie_id)
    rows = db.exec(statement).all()
    balances = invoice_balances(db, [row[0] for row in rows])
    return [
        OpenInvoice(
            number=number,
            regie_id=rid,
            regie_code=code,
            period_start=start,
            period_end=end,
            issue_date=issued,
            due_date=due,
            total_cents=total,
            balance_cents=balances[iid],
        )
        for iid, number, rid, code, start, end, issued, due, total in rows
        if balances.get(iid, 0) > 0
    ]


def regie_for_payment(
    db: Session, *, family_id: int, regie_code: str | None = None, invoice_numbers: Sequence[str] = ()
) -> int:
    """The régie a payment goes to: the one coded ``regie_code``, else that of the invoices named,
    else the only régie of the town, else that of the family's open invoices (when of one régie)."""
    if db.get(Family, family_id) is None:
        raise NotFound(f"Famille n° {family_id} introuvable.")
    if regie_code:
        return id_of(regie_by_code(db, code=regie_code))
    if invoice_numbers:
        found = set(db.exec(select(Invoice.regie_id).where(col(Invoice.number).in_(invoice_numbers))).all())
        if len(found) > 1:
            raise RegieError("Ces factures sont de régies différentes : un règlement par régie.")
        if found:
            return found.pop()
    every = all_regies(db)
    if len(every) == 1:
        return every[0][0]
    open_regies = {i.regie_id for i in open_invoices(db, family_id=family_id)}
    if len(open_regies) == 1:
        return open_regies.pop()
    codes = ", ".join(code for _, code, _ in every)
    raise RegieError(f"Précisez la régie ({codes}) : la famille n'a pas de facture ouverte d'une seule régie.")


def payment_context(db: Session, *, family_id: int) -> PaymentContext:
    """The family's open invoices of every régie and its credit in each, for the payment dialog."""
    family = db.get(Family, family_id)
    if family is None:
        raise NotFound(f"Famille n° {family_id} introuvable.")
    every = tuple(all_regies(db))
    found = tuple(open_invoices(db, family_id=family_id))
    credit = {rid: family_credit(db, family_id=family_id, regie_id=rid) for rid, _, _ in every}
    default = found[0].regie_id if found else every[0][0] if every else 0
    return PaymentContext(family_id, family.name, every, found, credit, default)
