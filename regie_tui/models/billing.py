"""Rates, charges, invoices, credit notes and the numbering sequences."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from regie_tui.models.base import created_at_field, enum_type, partial_index


class QfBracket(SQLModel, table=True):
    """A quotient-familial bracket; ``resident = false`` is the 'extérieur' bracket."""

    __tablename__ = "qf_bracket"
    __table_args__ = (CheckConstraint("max_qf IS NULL OR max_qf >= min_qf", name="qf_range"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40, unique=True)
    min_qf: int = Field(default=0)
    max_qf: int | None = None
    resident: bool = Field(default=True)
    position: int = Field(default=0)


class Rate(SQLModel, table=True):
    """The price of a unit for a bracket, from a date, with its surcharges."""

    __table_args__ = (
        UniqueConstraint("unit_id", "bracket_id", "valid_from"),
        CheckConstraint("amount_cents >= 0", name="amount_positive"),
        CheckConstraint("unbooked_surcharge_cents >= 0", name="surcharge_positive"),
        CheckConstraint("absence_penalty_cents >= 0", name="penalty_positive"),
        CheckConstraint("package_cents IS NULL OR package_cents >= 0", name="package_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True, ondelete="CASCADE")
    bracket_id: int = Field(foreign_key="qf_bracket.id")
    valid_from: date
    amount_cents: int
    unbooked_surcharge_cents: int = Field(default=0, description="majoration sans réservation")
    absence_penalty_cents: int = Field(default=0, description="absence non justifiée")
    package_cents: int | None = Field(
        default=None, description="price of the package (forfait) a unit's booking triggers, per week"
    )


class ChargeKind(StrEnum):
    SERVICE = "service"  # prestation réservée / consommée
    UNBOOKED_SURCHARGE = "unbooked_surcharge"
    ABSENCE_PENALTY = "absence_penalty"
    ADJUSTMENT = "adjustment"
    PACKAGE = "package"  # forfait semaine: the week's first billed day carries the price


class Charge(SQLModel, table=True):
    """One billable item produced from a booking (or entered by an agent), then put on an invoice line.

    A booking is billed once per kind: the unique index refuses a second run's copy.
    """

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_charge_family_day", "family_id", "day"),
        partial_index("uq_charge_booking_kind", "booking_id", "kind", where="booking_id IS NOT NULL", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="family.id")
    child_id: int | None = Field(default=None, foreign_key="child.id")
    booking_id: int | None = Field(default=None, foreign_key="booking.id")
    regie_id: int = Field(foreign_key="regie.id")
    kind: ChargeKind = Field(sa_type=enum_type(ChargeKind, "charge_kind"))
    day: date
    label: str = Field(max_length=200)
    quantity: Decimal = Field(sa_type=Numeric(10, 2))
    unit_price_cents: int
    amount_cents: int
    invoice_line_id: int | None = Field(default=None, foreign_key="invoice_line.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    rate_id: int | None = Field(default=None, foreign_key="rate.id")
    bracket_id: int | None = Field(default=None, foreign_key="qf_bracket.id")


class BillingRun(SQLModel, table=True):
    """One invoicing run of a régie for a month: what it issued, when and by whom."""

    __tablename__ = "billing_run"
    __table_args__ = (Index("ix_billing_run_regie_month", "regie_id", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    regie_id: int = Field(foreign_key="regie.id")
    month: date = Field(description="first day of the month billed")
    issue_date: date
    invoice_count: int = Field(default=0)
    total_cents: int = Field(default=0)
    first_number: str | None = Field(default=None, max_length=30)
    last_number: str | None = Field(default=None, max_length=30)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = created_at_field()


class InvoiceStatus(StrEnum):
    ISSUED = "issued"
    CANCELLED = "cancelled"  # fully cancelled by a credit note


class Invoice(SQLModel, table=True):
    """One invoice per family, per régie, per month. Never edited once issued."""

    __table_args__ = (
        CheckConstraint("total_cents >= 0", name="total_positive"),
        CheckConstraint("period_end >= period_start", name="period_range"),
        CheckConstraint("due_date >= issue_date", name="due_after_issue"),
        Index("ix_invoice_family_issue", "family_id", "issue_date"),
        Index("ix_invoice_regie_family_period", "regie_id", "family_id", "period_start"),
        # Covering, for the unpaid total: issued totals summed from the index alone, and
        # the (few) cancelled invoices found without a scan. family_id second: SQLite
        # picks this index for "status = ? AND family_id IN (…)" (a page of family
        # balances), and must then seek each family, not scan every issued invoice.
        Index("ix_invoice_status_family_total", "status", "family_id", "total_cents"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=30, unique=True)
    regie_id: int = Field(foreign_key="regie.id")
    family_id: int = Field(foreign_key="family.id")
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    total_cents: int
    status: InvoiceStatus = Field(sa_type=enum_type(InvoiceStatus, "invoice_status"))
    debtor_name: str = Field(max_length=200)
    debtor_address: str = Field(max_length=400)
    created_by_id: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = created_at_field()
    run_id: int | None = Field(default=None, foreign_key="billing_run.id")


class InvoiceLine(SQLModel, table=True):
    """A line of the basis of calculation: child, unit, dates, quantity, unit price."""

    __tablename__ = "invoice_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("invoice_id", "position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True, ondelete="CASCADE")
    position: int
    child_id: int | None = Field(default=None, foreign_key="child.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    kind: ChargeKind = Field(sa_type=enum_type(ChargeKind, "invoice_line_kind"))
    label: str = Field(max_length=200)
    dates: str = Field(default="", max_length=400, description="days of the month, e.g. '1, 2, 4'")
    quantity: Decimal = Field(sa_type=Numeric(10, 2))
    unit_price_cents: int
    amount_cents: int
    rate_id: int | None = Field(default=None, foreign_key="rate.id")
    bracket_id: int | None = Field(default=None, foreign_key="qf_bracket.id")
    basis: str = Field(default="", max_length=200, description="why this price: bracket and quotient used")


class CreditNote(SQLModel, table=True):
    """An avoir: cancels or reduces an issued invoice."""

    __tablename__ = "credit_note"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=30, unique=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    issue_date: date
    amount_cents: int
    reason: str = Field(max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = created_at_field()


class CreditNoteLine(SQLModel, table=True):
    """An invoice line a credit note gives back: its charges are dropped, its days can be billed again."""

    __tablename__ = "credit_note_line"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    credit_note_id: int = Field(foreign_key="credit_note.id", index=True, ondelete="CASCADE")
    invoice_line_id: int = Field(foreign_key="invoice_line.id", unique=True)
    amount_cents: int


class Reminder(SQLModel, table=True):
    """A relance sent for an overdue invoice: level 1, 2, 3 at 30, 60, 90 days."""

    __table_args__ = (
        CheckConstraint("level between 1 and 3", name="level_range"),
        UniqueConstraint("invoice_id", "level"),
    )

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id")
    level: int
    sent_on: date
    balance_cents: int = Field(description="balance due written on the letter")
    created_by_id: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = created_at_field()


class NumberSequence(SQLModel, table=True):
    """The last number used in one series (e.g. invoices 'pop-F2611'); no gaps, no reuse.

    A service takes the next value with an UPDATE inside the transaction that uses it,
    so that concurrent agents queue on the row lock.
    """

    __tablename__ = "number_sequence"
    __table_args__ = (
        CheckConstraint("last_value >= 0", name="last_value_positive"),
        UniqueConstraint("series"),
    )

    id: int | None = Field(default=None, primary_key=True)
    series: str = Field(max_length=40)
    last_value: int = Field(default=0)
