"""The bracket a family pays in, and a line's amount rounded once, half-up."""

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session

from regie_tui.models import QfBracket
from regie_tui.services.billing.pricing import Bracket, bracket_for, line_amount_cents, load_brackets, quotient_on

BRACKETS = [
    Bracket(id=1, name="QF < 650", min_qf=0, max_qf=650, resident=True, position=1),
    Bracket(id=2, name="QF 651-950", min_qf=651, max_qf=950, resident=True, position=2),
    Bracket(id=3, name="QF > 950", min_qf=951, max_qf=None, resident=True, position=3),
    Bracket(id=4, name="Extérieur", min_qf=0, max_qf=None, resident=False, position=4),
]


@pytest.mark.parametrize(
    ("resident", "quotient", "expected"),
    [
        (True, 0, "QF < 650"),
        (True, 650, "QF < 650"),
        (True, 651, "QF 651-950"),
        (True, 5000, "QF > 950"),
        (True, None, "QF > 950"),  # no valid quotient: the highest resident bracket
        (False, 300, "Extérieur"),  # outside the town, whatever the quotient
        (False, None, "Extérieur"),
    ],
)
def test_bracket_for(resident, quotient, expected):
    assert bracket_for(BRACKETS, resident=resident, quotient=quotient).name == expected


def test_a_gap_between_brackets_falls_back_to_the_highest():
    gapped = [BRACKETS[0], BRACKETS[2]]  # nothing holds 700
    assert bracket_for(gapped, resident=True, quotient=700).name == "QF > 950"


def test_quotient_on_a_day():
    quotients = [(800, date(2026, 1, 1), date(2026, 12, 31)), (900, date(2027, 1, 1), date(2027, 12, 31))]
    assert quotient_on(quotients, date(2026, 11, 30)) == 800
    assert quotient_on(quotients, date(2027, 1, 1)) == 900
    assert quotient_on(quotients, date(2025, 12, 31)) is None


def test_line_amount_is_exact_and_rounded_half_up_once():
    assert line_amount_cents(17, 415) == 7055  # 17 × 4,15 € = 70,55 € (not 70,49 €)
    assert line_amount_cents(Decimal("2.5"), 101) == 253  # 252,5 → 253
    assert line_amount_cents(Decimal("1.5"), 99) == 149  # 148,5 → 149
    assert line_amount_cents(Decimal("0.333"), 300) == 100  # 99,9 → 100


def test_brackets_are_read_in_position_order(engine):
    with Session(engine) as session:
        session.add(QfBracket(name="Extérieur", min_qf=0, resident=False, position=3))
        session.add(QfBracket(name="QF > 800", min_qf=801, position=2))
        session.add(QfBracket(name="QF ≤ 800", min_qf=0, max_qf=800, position=1))
        session.commit()
        brackets = load_brackets(session)
    assert [b.name for b in brackets] == ["QF ≤ 800", "QF > 800", "Extérieur"]
    assert bracket_for(brackets, resident=True, quotient=801).name == "QF > 800"
