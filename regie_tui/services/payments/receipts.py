"""What the printed receipt (reçu) of a payment says: the town, the payer, the money and
where it went, and the payment's state when it was cancelled or rejected."""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from regie_tui.errors import NotFound
from regie_tui.models import Agent, Allocation, Family, Invoice, Payment, Regie, Town
from regie_tui.services.common.sql import select_columns
from regie_tui.services.payments.modes import MODE_LABELS, payment_state


@dataclass(frozen=True)
class ReceiptAllocation:
    invoice_number: str
    period_start: date
    period_end: date
    amount_cents: int


@dataclass(frozen=True)
class Receipt:
    """What the printed receipt (reçu) says."""

    number: str
    town_name: str
    service_name: str
    town_address: str
    town_phone: str
    town_email: str
    regie_name: str
    received_on: date
    family_id: int
    family_name: str
    family_address: str
    payer_name: str
    mode_label: str
    reference: str
    bank: str
    amount_cents: int
    allocations: tuple[ReceiptAllocation, ...]
    unallocated_cents: int
    agent: str
    state: str
    state_reason: str
    state_on: date | None


def receipt(db: Session, *, receipt_number: str) -> Receipt:
    """What the receipt of a payment prints."""
    payment = db.exec(select(Payment).where(Payment.receipt_number == receipt_number.strip())).first()
    if payment is None:
        raise NotFound(f"Reçu {receipt_number.strip()} introuvable.")
    family = db.get(Family, payment.family_id)
    regie = db.get(Regie, payment.regie_id)
    town = db.get(Town, 1)
    assert family is not None and regie is not None  # foreign keys
    allocations = tuple(
        ReceiptAllocation(number, start, end, cents)
        for number, start, end, cents in db.exec(
            select_columns(
                col(Invoice.number), col(Invoice.period_start), col(Invoice.period_end), col(Allocation.amount_cents)
            )
            .join(Invoice, col(Invoice.id) == Allocation.invoice_id)
            .where(Allocation.payment_id == payment.id)
            .order_by(col(Invoice.issue_date), col(Invoice.number))
        ).all()
    )
    agent = db.get(Agent, payment.created_by_id) if payment.created_by_id else None
    state = payment_state(payment.cancelled_on, payment.rejected_on)
    address = "\n".join(
        part for part in (family.address, family.address_extra, f"{family.postal_code} {family.city}".strip()) if part
    )
    return Receipt(
        number=payment.receipt_number,
        town_name=town.name if town else "",
        service_name=town.service_name if town else "",
        town_address=f"{town.address}, {town.postal_code} {town.city}" if town else "",
        town_phone=town.phone if town else "",
        town_email=town.email if town else "",
        regie_name=regie.name,
        received_on=payment.received_on,
        family_id=payment.family_id,
        family_name=family.name,
        family_address=address,
        payer_name=payment.payer_name,
        mode_label=MODE_LABELS[payment.mode],
        reference=payment.reference,
        bank=payment.bank,
        amount_cents=payment.amount_cents,
        allocations=allocations,
        unallocated_cents=0 if state else payment.amount_cents - sum(a.amount_cents for a in allocations),
        agent=agent.display_name if agent else "Paiement en ligne",
        state=state,
        state_reason=(payment.cancel_reason or payment.rejection_reason or "") if state else "",
        state_on=payment.cancelled_on or payment.rejected_on,
    )
