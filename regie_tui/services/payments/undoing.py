"""Undoing a payment: cancelling it (an error at the desk) or rejecting it (a cheque or a
debit returned unpaid). Either deletes its allocations, so its invoices reopen.

A day of a régie's cash journal, once closed, takes no cancellation; a returned cheque is
still rejected later (on its own date). Both are dated as ``payments.money_dates`` allows.
"""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from regie_tui import clock, formatting
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import Allocation, Invoice, Payment
from regie_tui.services.common.validation import check_characters
from regie_tui.services.payments.modes import MODE_LABELS, REJECTABLE_MODES
from regie_tui.services.payments.money_dates import check_money_date, closed_on_or_after, closed_text
from regie_tui.services.trust import audit

REASON_MAX = 200


@dataclass(frozen=True)
class PaymentUndone:
    receipt_number: str
    family_id: int
    reopened: tuple[tuple[str, int], ...]  # (invoice number, amount no longer paid)


def _payment_to_undo(db: Session, receipt_number: str, reason: str) -> tuple[Payment, str]:
    reason = " ".join(reason.split())
    if not reason:
        raise RegieError("Motif obligatoire.")
    if len(reason) > REASON_MAX:
        raise RegieError(f"Motif trop long : {REASON_MAX} caractères au plus.")
    check_characters(reason, "Motif")
    payment = db.exec(select(Payment).where(Payment.receipt_number == receipt_number.strip()).with_for_update()).first()
    if payment is None:
        raise NotFound(f"Reçu {receipt_number.strip()} introuvable.")
    if payment.cancelled_on is not None:
        raise RegieError(f"Le règlement {payment.receipt_number} est déjà annulé.")
    if payment.rejected_on is not None:
        raise RegieError(f"Le règlement {payment.receipt_number} est déjà rejeté.")
    return payment, reason


def _undo_allocations(db: Session, payment: Payment) -> tuple[tuple[str, int], ...]:
    """Delete the payment's allocations (the invoices reopen); (invoice number, cents) of each."""
    rows = db.exec(
        select(Allocation, Invoice.number)
        .join(Invoice, col(Invoice.id) == Allocation.invoice_id)
        .where(Allocation.payment_id == payment.id)
        .order_by(col(Invoice.issue_date), col(Invoice.number))
    ).all()
    for allocation, _ in rows:
        db.delete(allocation)
    return tuple((number, allocation.amount_cents) for allocation, number in rows)


def _undone(
    db: Session, payment: Payment, action: str, when: dict[str, str], reason: str, agent_id: int | None
) -> PaymentUndone:
    """A cancelled or rejected payment: its allocations deleted (its invoices reopen), audited with them."""
    reopened = _undo_allocations(db, payment)
    db.add(payment)
    audit.record(
        db,
        action=action,
        entity="payment",
        entity_id=payment.id,
        agent_id=agent_id,
        family_id=payment.family_id,
        before={"allocations": [{"invoice": n, "amount_cents": c} for n, c in reopened]},
        after={"receipt": payment.receipt_number, **when, "reason": reason},
    )
    db.flush()
    return PaymentUndone(receipt_number=payment.receipt_number, family_id=payment.family_id, reopened=reopened)


def cancel_payment(
    db: Session, *, receipt_number: str, reason: str, agent_id: int | None, cancelled_on: date | None = None
) -> PaymentUndone:
    """Cancel a payment entered by mistake, while its cash day is open; its invoices reopen.

    Refused when the payment's day is on or before a closed day of the régie's cash journal,
    and for a cancellation dated as ``check_money_date`` refuses (default: today)."""
    payment, reason = _payment_to_undo(db, receipt_number, reason)
    closed = closed_on_or_after(db, regie_id=payment.regie_id, day=payment.received_on)
    if closed is not None:
        raise RegieError(
            f"{closed_text(db, regie_id=payment.regie_id, closed=closed[0])} : le règlement "
            f"{payment.receipt_number} du {formatting.short_date(payment.received_on)} ne peut plus être annulé "
            "(un chèque ou un prélèvement impayé se rejette)."
        )
    day = cancelled_on or clock.today()
    check_money_date(db, regie_id=payment.regie_id, day=day, act="cancel")
    payment.cancelled_on = day
    payment.cancel_reason = reason
    payment.cancelled_by_id = agent_id
    return _undone(db, payment, "payment_cancel", {"cancelled_on": payment.cancelled_on.isoformat()}, reason, agent_id)


def reject_payment(
    db: Session, *, receipt_number: str, rejected_on: date, reason: str, agent_id: int | None
) -> PaymentUndone:
    """A cheque or a debit returned unpaid: the payment stays in its day's journal, its invoices reopen.

    The rejection is dated on or after the payment, by today (a debit recorded ahead: by its
    collection date), never on or before a closed day of the régie (``check_money_date``)."""
    payment, reason = _payment_to_undo(db, receipt_number, reason)
    if payment.mode not in REJECTABLE_MODES:
        raise RegieError(
            f"Un règlement « {MODE_LABELS[payment.mode]} » ne revient pas impayé : annulez-le s'il est erroné."
        )
    if rejected_on < payment.received_on:
        raise RegieError(
            f"Date de rejet {formatting.short_date(rejected_on)} antérieure à l'encaissement "
            f"({formatting.short_date(payment.received_on)})."
        )
    check_money_date(
        db,
        regie_id=payment.regie_id,
        day=rejected_on,
        act="reject",
        latest=max(clock.today(), payment.received_on),
    )
    payment.rejected_on = rejected_on
    payment.rejection_reason = reason
    return _undone(db, payment, "payment_reject", {"rejected_on": rejected_on.isoformat()}, reason, agent_id)
