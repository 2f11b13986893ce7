"""SEPA debit batches as exported: the content of a batch's pain.008 file read back from the
database (it can be made again), the régie's account it credits, and an invoice's live collection."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import Session, col, select

from regie_tui import clock, formatting
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import DebitBatch, DirectDebit, Invoice, Mandate, MandateSequence, Regie, Town
from regie_tui.services.payments.sepa.mandates import get_regie

#: Order of the payment blocks (one per sequence type) in a direct-debit file.
SEQUENCE_ORDER = ("FRST", "RCUR", "OOFF", "FNAL")


def regie_account(regie: Regie) -> tuple[str, str]:
    """The régie's account (IBAN, BIC) its direct debits go to; a French error when it has none."""
    if not regie.sepa_iban or not regie.sepa_bic:
        raise RegieError(
            f"La régie {regie.code} n'a pas de compte de prélèvement (IBAN et BIC) : "
            "donnez-les avec --creditor-iban et --creditor-bic."
        )
    return regie.sepa_iban, regie.sepa_bic


def creditor_account(db: Session, *, batch_id: int) -> tuple[str, str]:
    """The account of the régie of a batch."""
    batch = db.get(DebitBatch, batch_id)
    if batch is None:
        raise NotFound(f"Lot de prélèvements {batch_id} introuvable.")
    return regie_account(get_regie(db, batch.regie_id))


def payment_info_id(message_id: str, sequence: str) -> str:
    """The id of a file's block of one sequence type: 'POP261123101010ab12cd-FRST'."""
    return f"{message_id[:30]}-{sequence}"


@dataclass(frozen=True)
class DebitLine:
    """One transaction of a direct-debit file."""

    end_to_end_id: str
    amount_cents: int
    sequence: str  # FRST, RCUR, OOFF or FNAL
    rum: str
    signed_on: date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str  # "" when unknown: NOTPROVIDED
    remittance: str  # the invoice number


@dataclass(frozen=True)
class BatchContent:
    """What a batch's file says, read back from the database."""

    message_id: str
    created_at: datetime  # in Paris
    creditor_name: str  # the town (the régie's name without a town row)
    creditor_id: str  # ICS
    collection_date: date
    lines: list[DebitLine]


def batch_content(db: Session, *, batch_id: int) -> BatchContent:
    """A batch and its debits as they were exported (the file can be made again from it)."""
    batch = db.get(DebitBatch, batch_id)
    if batch is None:
        raise NotFound(f"Lot de prélèvements n° {batch_id} introuvable.")
    regie = get_regie(db, batch.regie_id)
    town = db.get(Town, 1)
    creditor_name = town.name if town is not None else regie.name
    rows = db.exec(
        select(DirectDebit, Mandate, Invoice)
        .join(Mandate, col(Mandate.id) == DirectDebit.mandate_id)
        .join(Invoice, col(Invoice.id) == DirectDebit.invoice_id)
        .where(DirectDebit.batch_id == batch_id)
        .order_by(col(DirectDebit.id))
    ).all()
    lines = [
        DebitLine(
            end_to_end_id=debit.end_to_end_id,
            amount_cents=debit.amount_cents,
            sequence=MandateSequence(debit.sequence).value,
            rum=mandate.rum,
            signed_on=mandate.signed_on,
            debtor_name=mandate.debtor_name,
            debtor_iban=mandate.iban,
            debtor_bic=mandate.bic,
            remittance=invoice.number,
        )
        for debit, mandate, invoice in rows
    ]
    created = batch.created_at if batch.created_at.tzinfo else batch.created_at.replace(tzinfo=UTC)
    return BatchContent(
        message_id=batch.message_id,
        created_at=created.astimezone(clock.PARIS),
        creditor_name=creditor_name,
        creditor_id=regie.sepa_creditor_id or "",
        collection_date=batch.collection_date,
        lines=lines,
    )


def collection_dates(db: Session, *, invoice_ids: list[int]) -> dict[int, date]:
    """The collection date of the invoices in a live (not rejected) direct debit."""
    if not invoice_ids:
        return {}
    rows = db.exec(
        select(col(DirectDebit.invoice_id), col(DebitBatch.collection_date))
        .join(DebitBatch, col(DebitBatch.id) == DirectDebit.batch_id)
        .where(col(DirectDebit.invoice_id).in_(invoice_ids), col(DirectDebit.rejected_on).is_(None))
    ).all()
    return dict(rows)


def collection_text(day: date, today: date) -> str:
    """'En prélèvement le 05/12/2026' until that day, then 'Prélevée le 05/12/2026'."""
    return f"{'En prélèvement' if day >= today else 'Prélevée'} le {formatting.short_date(day)}"
