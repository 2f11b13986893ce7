"""Where a payment's money goes: the allocation plan, decided before anything is written.

The invoices are paid in the order given (or oldest first): first with the family's earlier
credit in the régie (unless the mode spends none: PayFiP, prélèvement, CESU), then with the
new money; what is left stays as the family's credit.

Cash: the non-cancelled cash (espèces) allocations to one invoice, earlier cash credit
included, stay within ``CASH_LIMIT_CENTS`` across every payment of it. A cash payment that
would go beyond is refused; earlier cash credit is only put on an invoice within what it may
still take in cash (the rest stays credit).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui import formatting
from regie_tui.errors import RegieError
from regie_tui.models import CASH_LIMIT_CENTS, Allocation, Invoice, Payment, PaymentMode
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.payments.account import credit_payments
from regie_tui.services.payments.modes import NO_CREDIT_MODES


@dataclass(frozen=True)
class Allocated:
    """A part of the money put on an invoice; ``from_credit`` when it is earlier credit."""

    invoice_number: str
    amount_cents: int
    balance_after_cents: int
    from_credit: bool = False


@dataclass(frozen=True)
class AllocationPlan:
    """The allocations to write: (earlier payment's id, None for the new one; invoice; cents)."""

    parts: list[tuple[int | None, Invoice, int]]
    receipts: dict[int, str]  # earlier payment id -> its receipt number
    credit_left_cents: int  # the family's credit in the régie afterwards


def cash_rooms(db: Session, invoice_ids: Sequence[int]) -> dict[int, int]:
    """Invoice id -> what it may still take in cash: the limit less its live cash allocations."""
    if not invoice_ids:
        return {}
    paid = dict(
        db.exec(
            select(Allocation.invoice_id, func.sum(Allocation.amount_cents))
            .join(Payment, col(Payment.id) == Allocation.payment_id)
            .where(
                col(Allocation.invoice_id).in_(invoice_ids),
                Payment.mode == PaymentMode.CASH,
                col(Payment.cancelled_on).is_(None),
            )
            .group_by(col(Allocation.invoice_id))
        ).all()
    )
    return {i: max(0, CASH_LIMIT_CENTS - int(paid.get(i, 0))) for i in invoice_ids}


def check_cash_room(number: str, cents: int, room: int) -> None:
    """Refuse putting ``cents`` of cash on the invoice ``number`` that may take only ``room`` more."""
    if cents <= room:
        return
    limit = formatting.money(CASH_LIMIT_CENTS)
    already = formatting.money(CASH_LIMIT_CENTS - room)
    left = (
        f"{formatting.money(room)} au plus peuvent encore y être réglés en espèces"
        if room
        else "plus rien ne peut y être réglé en espèces"
    )
    raise RegieError(
        f"Espèces limitées à {limit} par facture : la facture {number} en a déjà reçu {already}, {left} "
        f"({formatting.money(cents)} demandés). Proposez un autre mode pour le reste."
    )


def _credit_receipts(db: Session, credit: list[tuple[int, int]]) -> tuple[dict[int, str], set[int]]:
    """The receipt number of each earlier payment holding credit, and which of them are cash."""
    if not credit:
        return {}, set()
    rows = db.exec(
        select(id_col(Payment.id), Payment.receipt_number, Payment.mode).where(
            col(Payment.id).in_([c[0] for c in credit])
        )
    ).all()
    receipts = {pid: number for pid, number, _ in rows}
    return receipts, {pid for pid, _, credit_mode in rows if credit_mode == PaymentMode.CASH}


def _spend_credit(
    parts: list[tuple[int | None, Invoice, int]],
    invoice: Invoice,
    due: int,
    credit: list[tuple[int, int]],
    cash_credits: set[int],
    rooms: dict[int, int],
) -> int:
    """Put earlier credit on ``invoice`` (oldest first; ``credit`` and ``rooms`` are spent); what is still due."""
    invoice_id = id_of(invoice)
    for index, (credit_id, left) in enumerate(credit):
        if due == 0:
            break
        part = min(due, left)
        if credit_id in cash_credits:  # earlier cash: only within what the invoice may still take in cash
            part = min(part, rooms[invoice_id])
            rooms[invoice_id] -= part
        if part > 0:
            parts.append((credit_id, invoice, part))
            due -= part
            credit[index] = (credit_id, left - part)
    return due


def plan_allocations(
    db: Session,
    *,
    family_id: int,
    regie_id: int,
    mode: PaymentMode,
    amount_cents: int,
    invoices: Sequence[Invoice],
    caps: dict[int, int],
) -> AllocationPlan:
    """Allocate earlier credit (locked) then ``amount_cents`` to ``invoices``, each up to its cap.

    A cash payment beyond what an invoice may still take in cash is refused; nothing is written."""
    credit = [] if mode in NO_CREDIT_MODES else credit_payments(db, family_id=family_id, regie_id=regie_id, lock=True)
    receipts, cash_credits = _credit_receipts(db, credit)
    rooms = cash_rooms(db, [id_of(i) for i in invoices]) if mode == PaymentMode.CASH or cash_credits else {}
    parts: list[tuple[int | None, Invoice, int]] = []
    new_money = amount_cents
    for invoice in invoices:
        invoice_id = id_of(invoice)
        due = _spend_credit(parts, invoice, caps[invoice_id], credit, cash_credits, rooms)
        if due > 0 and new_money > 0:
            part = min(due, new_money)
            if mode == PaymentMode.CASH:
                check_cash_room(invoice.number, part, rooms[invoice_id])
                rooms[invoice_id] -= part
            parts.append((None, invoice, part))
            new_money -= part
    return AllocationPlan(parts, receipts, new_money + sum(left for _, left in credit))


def _add_allocation(db: Session, *, payment_id: int, invoice_id: int, cents: int) -> None:
    existing = db.exec(
        select(Allocation).where(Allocation.payment_id == payment_id, Allocation.invoice_id == invoice_id)
    ).first()
    if existing is None:
        db.add(Allocation(payment_id=payment_id, invoice_id=invoice_id, amount_cents=cents))
    else:
        existing.amount_cents += cents
        db.add(existing)


def write_allocations(
    db: Session, plan: AllocationPlan, *, payment_id: int, balances: dict[int, int]
) -> tuple[list[Allocated], list[dict[str, object]]]:
    """Write the plan (``balances`` follow it); what went where, and the earlier credit used (for the audit)."""
    allocated: list[Allocated] = []
    used: list[dict[str, object]] = []
    for earlier, invoice, part in plan.parts:
        invoice_id = id_of(invoice)
        _add_allocation(db, payment_id=payment_id if earlier is None else earlier, invoice_id=invoice_id, cents=part)
        balances[invoice_id] -= part
        allocated.append(Allocated(invoice.number, part, balances[invoice_id], from_credit=earlier is not None))
        if earlier is not None:
            used.append({"receipt": plan.receipts[earlier], "invoice": invoice.number, "amount_cents": part})
    return allocated, used
