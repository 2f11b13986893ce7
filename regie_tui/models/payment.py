"""Money received, how it is spread over invoices, and SEPA mandates."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from regie_tui.codes import PaymentMode
from regie_tui.models.base import created_at_field, enum_type, partial_index

CASH_LIMIT_CENTS = 30_000  # public receipts in cash only up to 300 €


class Payment(SQLModel, table=True):
    """A règlement, numbered by its receipt."""

    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(f"mode <> 'cash' OR amount_cents <= {CASH_LIMIT_CENTS}", name="cash_limit"),
        Index("ix_payment_family_received", "family_id", "received_on"),
        # A PayFiP transaction is recorded once, whichever agent (or run) sees it first.
        partial_index("uq_payment_payfip_reference", "reference", where="mode = 'payfip'", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    receipt_number: str = Field(max_length=30, unique=True)
    family_id: int = Field(foreign_key="family.id")
    regie_id: int = Field(foreign_key="regie.id")
    mode: PaymentMode = Field(sa_type=enum_type(PaymentMode, "payment_mode"))
    amount_cents: int
    received_on: date
    reference: str = Field(default="", max_length=80, description="cheque number, PayFiP ref…")
    payer_name: str = Field(default="", max_length=200)
    rejected_on: date | None = Field(default=None, description="direct debit or cheque returned unpaid")
    rejection_reason: str | None = Field(default=None, max_length=200)
    created_by_id: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = created_at_field()
    bank: str = Field(default="", max_length=80, description="the cheque's bank")
    cancelled_on: date | None = Field(default=None, description="cancelled at the desk (error of entry)")
    cancel_reason: str | None = Field(default=None, max_length=200)
    cancelled_by_id: int | None = Field(default=None, foreign_key="agent.id")


class Allocation(SQLModel, table=True):
    """The part of a payment put on one invoice (ventilation)."""

    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        UniqueConstraint("payment_id", "invoice_id"),
        # Covering: sums of allocations, per invoice or in all, never read the table.
        Index("ix_allocation_invoice_amount", "invoice_id", "amount_cents"),
    )

    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payment.id", index=True, ondelete="CASCADE")
    invoice_id: int = Field(foreign_key="invoice.id")
    amount_cents: int


class MandateSequence(StrEnum):
    FIRST = "FRST"
    RECURRENT = "RCUR"
    ONE_OFF = "OOFF"
    FINAL = "FNAL"


class Mandate(SQLModel, table=True):
    """A SEPA direct-debit mandate, identified by its RUM."""

    __table_args__ = (
        CheckConstraint("length(rum) between 1 and 35", name="rum_length"),
        CheckConstraint("length(iban) between 15 and 34", name="iban_length"),
    )

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="family.id", index=True)
    regie_id: int = Field(foreign_key="regie.id")
    rum: str = Field(max_length=35, unique=True)
    debtor_name: str = Field(max_length=140)
    debtor_address: str = Field(max_length=280)
    iban: str = Field(max_length=34)
    bic: str = Field(default="", max_length=11)
    signed_on: date
    recurrent: bool = Field(default=True)
    next_sequence: MandateSequence = Field(sa_type=enum_type(MandateSequence, "mandate_sequence"))
    last_used_on: date | None = None
    revoked_on: date | None = None
    created_at: datetime = created_at_field()


class CashDay(SQLModel, table=True):
    """A day of a régie's cash journal, closed by the régisseur: its payments are then locked."""

    __tablename__ = "cash_day"
    __table_args__ = (UniqueConstraint("regie_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    regie_id: int = Field(foreign_key="regie.id")
    day: date
    payment_count: int
    total_cents: int
    closed_by_id: int | None = Field(default=None, foreign_key="agent.id")
    closed_at: datetime = created_at_field()


class DebitBatch(SQLModel, table=True):
    """A SEPA direct-debit file (pain.008) exported for a régie."""

    __tablename__ = "debit_batch"

    id: int | None = Field(default=None, primary_key=True)
    regie_id: int = Field(foreign_key="regie.id")
    message_id: str = Field(max_length=35, unique=True)
    collection_date: date
    transaction_count: int
    total_cents: int
    created_by_id: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = created_at_field()


class DirectDebit(SQLModel, table=True):
    """One invoice collected by direct debit in a batch; a rejected one reopens the invoice."""

    __tablename__ = "direct_debit"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        # An invoice is in one live collection at most; a rejected one may be presented again.
        partial_index("uq_direct_debit_invoice_live", "invoice_id", where="rejected_on IS NULL", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="debit_batch.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    mandate_id: int = Field(foreign_key="mandate.id", index=True)
    payment_id: int | None = Field(default=None, foreign_key="payment.id")
    amount_cents: int
    sequence: MandateSequence = Field(sa_type=enum_type(MandateSequence, "debit_sequence"))
    end_to_end_id: str = Field(max_length=35, unique=True)
    rejected_on: date | None = None
    rejection_reason: str | None = Field(default=None, max_length=200)
