"""Payments: money received, numbered by its receipt, and allocated to invoices.

The one place where a ``payment`` is written. For now: online payments (PayFiP), one
invoice at a time and in full.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from regie_tui import formatting
from regie_tui.clock import PARIS
from regie_tui.errors import RegieError
from regie_tui.models import Allocation, CreditNote, Invoice, InvoiceStatus, Payment, PaymentMode, Regie, Source
from regie_tui.services import audit
from regie_tui.services.numbering import NumberKind, take_number
from regie_tui.services.sql import id_of

REFERENCE_MAX = 80


@dataclass(frozen=True)
class PaymentRecorded:
    payment_id: int
    receipt_number: str
    invoice_number: str
    amount_cents: int
    received_on: date
    balance_after_cents: int


def invoice_balance(db: Session, *, invoice: Invoice) -> int:
    """What is still due on an issued invoice (total - allocations - credit notes)."""
    if invoice.status != InvoiceStatus.ISSUED:
        return 0
    paid = db.exec(
        select(func.coalesce(func.sum(Allocation.amount_cents), 0)).where(Allocation.invoice_id == invoice.id)
    ).one()
    credited = db.exec(
        select(func.coalesce(func.sum(CreditNote.amount_cents), 0)).where(CreditNote.invoice_id == invoice.id)
    ).one()
    return invoice.total_cents - int(paid) - int(credited)


def record_online_payment(
    db: Session,
    *,
    family_id: int,
    invoice_number: str,
    amount_cents: int,
    paid_at: datetime,
    reference: str,
    agent_id: int | None,
) -> PaymentRecorded:
    """Record a PayFiP payment of one invoice, in full, in the caller's transaction."""
    number = invoice_number.strip()
    reference = reference.strip()
    if not reference:
        raise RegieError("Paiement en ligne sans référence de transaction PayFiP.")
    if len(reference) > REFERENCE_MAX:
        raise RegieError(f"Référence PayFiP trop longue ({len(reference)} caractères, {REFERENCE_MAX} au plus).")
    if paid_at.utcoffset() is None:
        raise RegieError("Date du paiement en ligne sans fuseau horaire.")
    if amount_cents <= 0:
        raise RegieError(f"Montant du paiement en ligne invalide : {formatting.money(amount_cents)}.")
    # Locks the invoice (PostgreSQL): two agents recording payments of it queue here,
    # so the balance read below is still true when the payment is written.
    invoice = db.exec(select(Invoice).where(Invoice.number == number).with_for_update()).first()
    if invoice is None:
        raise RegieError(f"Facture {number} introuvable.")
    if invoice.family_id != family_id:
        raise RegieError(f"La facture {number} n'est pas une facture de cette famille.")
    if invoice.status != InvoiceStatus.ISSUED:
        raise RegieError(f"La facture {number} est annulée : elle ne peut pas être payée.")
    known = db.exec(
        select(Payment.receipt_number).where(Payment.mode == PaymentMode.PAYFIP, Payment.reference == reference)
    ).first()
    if known is not None:
        raise RegieError(f"Le paiement en ligne {reference} est déjà enregistré (reçu {known}).")
    balance = invoice_balance(db, invoice=invoice)
    if balance <= 0:
        raise RegieError(f"La facture {number} est déjà réglée.")
    if amount_cents != balance:
        raise RegieError(
            f"Le paiement en ligne de {formatting.money(amount_cents)} ne correspond pas au solde de la facture "
            f"{number} ({formatting.money(balance)}) : le paiement partiel n'est pas admis."
        )
    regie = db.get(Regie, invoice.regie_id)
    if regie is None:  # a foreign key: cannot happen
        raise RegieError(f"Régie de la facture {number} introuvable.")
    received_on = paid_at.astimezone(PARIS).date()
    receipt = take_number(db, kind=NumberKind.RECEIPT, regie_prefix=regie.invoice_prefix, month=received_on)
    payment = Payment(
        receipt_number=receipt,
        family_id=family_id,
        regie_id=id_of(regie),
        mode=PaymentMode.PAYFIP,
        amount_cents=amount_cents,
        received_on=received_on,
        reference=reference,
        payer_name=invoice.debtor_name,
        created_by_id=agent_id,
    )
    db.add(payment)
    db.flush()
    db.add(Allocation(payment_id=id_of(payment), invoice_id=id_of(invoice), amount_cents=amount_cents))
    audit.record(
        db,
        action="online_payment",
        entity="payment",
        entity_id=payment.id,
        source=Source.AGENT if agent_id is not None else Source.PORTAL,
        agent_id=agent_id,
        family_id=family_id,
        after={"invoice": number, "amount_cents": amount_cents, "reference": reference, "receipt": receipt},
    )
    db.flush()
    return PaymentRecorded(
        payment_id=id_of(payment),
        receipt_number=receipt,
        invoice_number=number,
        amount_cents=amount_cents,
        received_on=received_on,
        balance_after_cents=balance - amount_cents,
    )
