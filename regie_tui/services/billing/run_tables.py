"""The invoicing run's working tables, private to its connection and dropped at its end, and
the SQL its steps share: which booking states are billed, statements with dates bound as dates.

The tables: the families' brackets and the rates over the month (``billing_family``,
``billing_rate``), the items to bill (``billing_item``: one per booking and kind; a package
item covered by a week already billed comes with that week's line), and the lines written
(``billing_line``: their keys, to link each item's charge to its line).
"""

import sqlalchemy as sa
from sqlalchemy import Date, bindparam, text

from regie_tui.models import BookingState

BILLED_STATES = (
    BookingState.RESERVED,
    BookingState.PRESENT,
    BookingState.PRESENT_SPECIAL,
    BookingState.ABSENT_UNJUSTIFIED,
)
#: The billed states as an SQL list: 'reserved', 'present', …
BILLED_SQL = ", ".join(f"'{s.value}'" for s in BILLED_STATES)

_TEMPORARY = {
    "billing_family": "family_id INTEGER, first_day DATE, last_day DATE, bracket_id INTEGER",
    "billing_rate": (
        "unit_id INTEGER, bracket_id INTEGER, first_day DATE, last_day DATE, rate_id INTEGER, "
        "amount INTEGER, surcharge INTEGER, penalty INTEGER, package INTEGER"
    ),
    "billing_item": (
        "booking_id INTEGER, family_id INTEGER, child_id INTEGER, unit_id INTEGER, kind VARCHAR(20), day DATE, "
        "price INTEGER, rate_id INTEGER, bracket_id INTEGER, line_id INTEGER, label VARCHAR(200)"
    ),
    "billing_line": (
        "line_id INTEGER, family_id INTEGER, child_id INTEGER, unit_id INTEGER, kind VARCHAR(20), "
        "rate_id INTEGER, bracket_id INTEGER, price_key INTEGER, label VARCHAR(200)"
    ),
}


def drop_tables(conn: sa.Connection, postgresql: bool) -> None:
    for name in _TEMPORARY:
        conn.execute(text(f"DROP TABLE IF EXISTS {'' if postgresql else 'temp.'}{name}"))


def create_tables(conn: sa.Connection, postgresql: bool) -> None:
    """The working tables, empty (any left by an earlier run on this connection are dropped first)."""
    drop_tables(conn, postgresql)
    for name, columns in _TEMPORARY.items():
        conn.execute(text(f"CREATE TEMPORARY TABLE {name} ({columns})"))
    conn.execute(text("CREATE INDEX billing_family_key ON billing_family (family_id, first_day)"))
    conn.execute(text("CREATE INDEX billing_rate_key ON billing_rate (unit_id, bracket_id, first_day)"))


def dated(statement: str, *names: str) -> sa.TextClause:
    """A text statement whose date parameters are bound as dates on both engines."""
    names = names or ("first", "until")
    return text(statement).bindparams(*(bindparam(n, type_=Date) for n in names))
