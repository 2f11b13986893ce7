"""SEPA direct debit: mandates (RUM) and the sequence type of their next debit."""

from datetime import date

from regie_tui.models import MandateSequence

RUM_MAX_LENGTH = 35


def new_rum(regie_prefix: str, family_id: int, serial: int = 1) -> str:
    """The mandate reference the régie gives a family's n-th mandate: 'POP-0000042-1'."""
    rum = f"{regie_prefix.upper()}-{family_id:07d}-{serial}"
    if len(rum) > RUM_MAX_LENGTH:
        raise ValueError(f"RUM longer than {RUM_MAX_LENGTH} characters: {rum}")
    return rum


def next_sequence(*, recurrent: bool, last_used_on: date | None) -> MandateSequence:
    """FRST for the first debit of a recurrent mandate, RCUR after it, OOFF for a one-off one."""
    if not recurrent:
        return MandateSequence.ONE_OFF
    return MandateSequence.RECURRENT if last_used_on is not None else MandateSequence.FIRST
