"""Prices: the quotient-familial bracket a family pays in, and the amount of a billed line.

The demo town, the family file and (later) the invoicing run all ask these questions,
so the answers live here once.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session, col, select

from regie_tui.models import QfBracket


@dataclass(frozen=True)
class Bracket:
    """A rate bracket: resident families by quotient familial, or the 'extérieur' one."""

    id: int
    name: str
    min_qf: int
    max_qf: int | None
    resident: bool
    position: int

    def holds(self, quotient: int) -> bool:
        return self.resident and self.min_qf <= quotient and (self.max_qf is None or quotient <= self.max_qf)


def load_brackets(session: Session) -> list[Bracket]:
    """The town's brackets, in position order."""
    rows = session.exec(select(QfBracket).order_by(col(QfBracket.position), col(QfBracket.id))).all()
    return [
        Bracket(id=b.id or 0, name=b.name, min_qf=b.min_qf, max_qf=b.max_qf, resident=b.resident, position=b.position)
        for b in rows
    ]


def bracket_for(brackets: Sequence[Bracket], *, resident: bool, quotient: int | None) -> Bracket:
    """The bracket a family pays in.

    A family living outside the town pays the 'extérieur' bracket whatever its quotient;
    a resident family pays the bracket holding its quotient, and the highest resident
    bracket when it has no valid quotient (or one beyond every bracket).
    """
    resident_brackets = [b for b in brackets if b.resident]
    if not resident:
        outside = [b for b in brackets if not b.resident]
        if outside:
            return outside[0]
    if not resident_brackets:
        raise ValueError("no resident bracket: the town's rates are not set up")
    if quotient is not None:
        for bracket in resident_brackets:
            if bracket.holds(quotient):
                return bracket
    return resident_brackets[-1]


def quotient_on(quotients: Iterable[tuple[int, date, date]], day: date) -> int | None:
    """The quotient familial valid on ``day`` among (value, valid from, valid to), if any."""
    return next((value for value, valid_from, valid_to in quotients if valid_from <= day <= valid_to), None)


def line_amount_cents(quantity: int | Decimal, unit_price_cents: int | Decimal) -> int:
    """Quantity × unit price, rounded half-up to the cent once (17 × 4,15 € = 70,55 €)."""
    exact = Decimal(quantity) * Decimal(unit_price_cents)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
