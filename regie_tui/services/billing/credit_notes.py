"""Credit notes (avoirs): an issued invoice is never edited; a credit note cancels or reduces
it. When it gives lines back, their charges are dropped and the days can be billed again;
payments beyond what the invoice is now worth are set free and become the family's credit."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui import formatting
from regie_tui.errors import RegieError
from regie_tui.models import (
    Allocation,
    Charge,
    Child,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Regie,
)
from regie_tui.services.billing.numbering import NumberKind, take_number
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.common.validation import check_text
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo


@dataclass(frozen=True)
class CreditableLine:
    id: int
    position: int
    child_first_name: str
    label: str
    quantity: str
    amount_cents: int


@dataclass(frozen=True)
class CreditNoteIssued:
    number: str
    invoice_number: str
    amount_cents: int
    lines_freed: int
    invoice_cancelled: bool
    released_cents: int  # payments set free by it: now the family's credit


def creditable_lines(db: Session, *, invoice_number: str) -> list[CreditableLine]:
    """The lines of an invoice a credit note may still give back (with an amount, not given back yet)."""
    rows = db.exec(
        select(InvoiceLine, Child.first_name)
        .join(Invoice, col(Invoice.id) == InvoiceLine.invoice_id)
        .outerjoin(Child, col(Child.id) == InvoiceLine.child_id)
        .where(Invoice.number == invoice_number.strip())
        .order_by(col(InvoiceLine.position))
    ).all()
    given_back = set(
        db.exec(
            select(CreditNoteLine.invoice_line_id).where(
                col(CreditNoteLine.invoice_line_id).in_([line.id for line, _ in rows])
            )
        ).all()
    )
    return [
        CreditableLine(
            id_of(line),
            line.position,
            first_name or "",
            line.label,
            formatting.number(line.quantity.normalize()),
            line.amount_cents,
        )
        for line, first_name in rows
        if line.id not in given_back and line.amount_cents > 0
    ]


def line_ids_at(db: Session, *, invoice_number: str, positions: Sequence[int]) -> list[int]:
    """The ids of an invoice's lines at ``positions`` (their order numbers, as printed)."""
    if not positions:
        return []
    invoice = db.exec(select(Invoice).where(Invoice.number == invoice_number.strip())).first()
    if invoice is None:
        raise RegieError(f"Facture {invoice_number} introuvable.")
    ids = dict(
        db.exec(select(InvoiceLine.position, id_col(InvoiceLine.id)).where(InvoiceLine.invoice_id == invoice.id))
    )
    missing = [p for p in positions if p not in ids]
    if missing:
        raise RegieError(f"La facture {invoice.number} n'a pas de ligne {missing[0]}.")
    return [ids[p] for p in positions]


def _invoice_to_credit(db: Session, invoice_number: str) -> tuple[Invoice, int]:
    """The invoice, locked, and what is left of it (its total less its earlier credit notes)."""
    invoice = db.exec(select(Invoice).where(Invoice.number == invoice_number.strip()).with_for_update()).first()
    if invoice is None:
        raise RegieError(f"Facture {invoice_number} introuvable.")
    if invoice.status == InvoiceStatus.CANCELLED:
        raise RegieError(f"La facture {invoice.number} est déjà annulée par avoir.")
    credited = int(
        db.exec(
            select(func.coalesce(func.sum(CreditNote.amount_cents), 0)).where(CreditNote.invoice_id == invoice.id)
        ).one()
    )
    return invoice, invoice.total_cents - credited


def _given_back(
    db: Session, invoice: Invoice, remaining: int, line_ids: Sequence[int], amount_cents: int | None
) -> tuple[list[InvoiceLine], int]:
    """The lines the credit note gives back and its amount: the lines chosen, an amount (no line),
    or else every line not given back yet and what is left of the invoice."""
    freed_ids = set(
        db.exec(
            select(CreditNoteLine.invoice_line_id)
            .join(InvoiceLine, col(InvoiceLine.id) == CreditNoteLine.invoice_line_id)
            .where(InvoiceLine.invoice_id == invoice.id)
        ).all()
    )
    lines = db.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
    if line_ids and amount_cents is not None:
        raise RegieError("Un avoir porte soit sur des lignes, soit sur un montant, pas les deux.")
    if amount_cents is not None:
        return [], amount_cents
    if not line_ids:
        return [line for line in lines if line.id not in freed_ids], remaining
    by_id = {line.id: line for line in lines}
    chosen = []
    for line_id in line_ids:
        line = by_id.get(line_id)
        if line is None:
            raise RegieError(f"La ligne {line_id} n'est pas une ligne de la facture {invoice.number}.")
        if line_id in freed_ids:
            raise RegieError(f"La ligne « {line.label} » a déjà fait l'objet d'un avoir.")
        chosen.append(line)
    return chosen, sum(line.amount_cents for line in chosen)


def _write_note(
    db: Session, invoice: Invoice, amount: int, reason: str, today: date, agent_id: int, chosen: list[InvoiceLine]
) -> tuple[str, list[int]]:
    """The credit note under its number, its lines, and the lines' charges dropped (the days can be
    billed again); its number and the lines it frees."""
    regie = db.get(Regie, invoice.regie_id)
    assert regie is not None
    number = take_number(db, kind=NumberKind.CREDIT_NOTE, regie_prefix=regie.invoice_prefix, month=today)
    note = CreditNote(
        number=number,
        invoice_id=id_of(invoice),
        issue_date=today,
        amount_cents=amount,
        reason=reason,
        created_by_id=agent_id,
    )
    db.add(note)
    db.flush()
    for line in (line for line in chosen if line.amount_cents > 0):
        db.add(CreditNoteLine(credit_note_id=id_of(note), invoice_line_id=id_of(line), amount_cents=line.amount_cents))
    freed_line_ids = [id_of(line) for line in chosen]
    if freed_line_ids:  # the days can be billed again
        db.connection().execute(
            sa.delete(Charge.__table__).where(  # type: ignore[attr-defined]
                Charge.__table__.c.invoice_line_id.in_(freed_line_ids)  # type: ignore[attr-defined]
            )
        )
    return number, freed_line_ids


def _release_payments(db: Session, invoice: Invoice, worth: int) -> int:
    """Reduce the invoice's allocations, latest first, to what it is now worth; the cents set free."""
    allocations = db.exec(
        select(Allocation).where(Allocation.invoice_id == invoice.id).order_by(col(Allocation.id).desc())
    ).all()
    excess = sum(a.amount_cents for a in allocations) - worth
    released = max(excess, 0)
    for allocation in allocations:
        if excess <= 0:
            break
        take = min(excess, allocation.amount_cents)
        excess -= take
        if take == allocation.amount_cents:
            db.delete(allocation)
        else:
            allocation.amount_cents -= take
            db.add(allocation)
    return released


def credit_invoice(
    db: Session,
    *,
    invoice_number: str,
    reason: str,
    today: date,
    agent: AgentInfo,
    line_ids: Sequence[int] = (),
    amount_cents: int | None = None,
) -> CreditNoteIssued:
    """Issue a credit note (avoir) on an invoice.

    Without lines nor amount: cancels what is left of it and gives all its lines back.
    With lines: gives those lines back (their days can be billed again). With an amount:
    reduces the invoice by it, giving nothing back. Payments beyond what the invoice is
    now worth are set free (allocations reduced): they become the family's credit.
    """
    agent.require(Permission.CREDIT_NOTE)
    agent_id = agent.id
    reason = reason.strip()
    if not reason:
        raise RegieError("Un avoir doit dire pourquoi : motif obligatoire.")
    check_text(reason, "Motif de l'avoir", column=CreditNote.reason)
    if len(set(line_ids)) != len(line_ids):
        raise RegieError("Une même ligne est donnée plusieurs fois : chaque ligne n'est rendue qu'une fois.")
    invoice, remaining = _invoice_to_credit(db, invoice_number)
    chosen, amount = _given_back(db, invoice, remaining, line_ids, amount_cents)
    if amount <= 0:
        raise RegieError("Montant de l'avoir nul : rien à créditer.")
    if amount > remaining:
        raise RegieError(
            f"L'avoir de {formatting.money(amount)} dépasse ce qui reste de la facture {invoice.number} "
            f"({formatting.money(remaining)})."
        )
    number, freed_line_ids = _write_note(db, invoice, amount, reason, today, agent_id, chosen)
    cancelled = amount == remaining
    if cancelled:
        invoice.status = InvoiceStatus.CANCELLED
        db.add(invoice)
    # Payments beyond what the invoice is now worth become the family's credit.
    released = _release_payments(db, invoice, 0 if cancelled else remaining - amount)
    audit.record(
        db,
        action="credit_note",
        entity="invoice",
        entity_id=invoice.id,
        agent_id=agent_id,
        family_id=invoice.family_id,
        after={
            "credit_note": number,
            "invoice": invoice.number,
            "amount_cents": amount,
            "reason": reason,
            "lines": freed_line_ids,
            "cancelled": cancelled,
            "released_cents": released,
        },
    )
    db.flush()
    return CreditNoteIssued(number, invoice.number, amount, len(freed_line_ids), cancelled, released)
