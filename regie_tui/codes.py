"""The stored codes the user interface handles too: plain enums, without SQLAlchemy.

The screens never import the models (nor the ORM they bring); the states, modes and kinds
they show, choose or pass back to a service are defined here, and the models' columns use
them. The other stored codes stay beside their tables in :mod:`regie_tui.models`.
"""

from enum import StrEnum


class BookingState(StrEnum):
    """The stored state of a booking cell (domain.md, legend of the planning)."""

    RESERVED = "reserved"
    PRESENT = "present"
    PRESENT_SPECIAL = "present_special"
    ABSENT_JUSTIFIED = "absent_justified"
    ABSENT_UNJUSTIFIED = "absent_unjustified"
    REQUESTED = "requested"
    WAITING_LIST = "waiting_list"
    REFUSED = "refused"


class PaymentMode(StrEnum):
    CASH = "cash"
    CHEQUE = "cheque"
    CARD = "card"
    TRANSFER = "transfer"
    CESU = "cesu"
    ANCV = "ancv"
    PAYFIP = "payfip"
    DIRECT_DEBIT = "direct_debit"


class MailStatus(StrEnum):
    TO_SEND = "to_send"
    SENDING = "sending"  # handed to the SMTP server; if a run dies here, never resent blindly
    SENT = "sent"
    FAILED = "failed"


class DayOffKind(StrEnum):
    PUBLIC_HOLIDAY = "public_holiday"  # jour férié
    SCHOOL_HOLIDAY = "school_holiday"  # vacances scolaires
