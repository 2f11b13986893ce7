"""The invoicing run's anomalies (step 4): what the agent should look at before issuing, each
kind counted and listed (up to ``ANOMALY_LIST_MAX``): bookings never marked, presences without
a booking, families without a valid quotient or a payer's address, bookings without a price."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from regie_tui import formatting
from regie_tui.models import BookingState
from regie_tui.services.billing.run_invoices import FamilyBill
from regie_tui.services.billing.run_prices import Segment
from regie_tui.services.billing.run_tables import BILLED_SQL, dated

ANOMALY_LIST_MAX = 200  # anomalies listed one by one (all are counted)


class AnomalyKind:
    UNRECORDED = "Réservé sans pointage"
    UNBOOKED = "Présence sans réservation"
    NO_QUOTIENT = "QF absent ou expiré"
    NO_ADDRESS = "Famille sans adresse de payeur"
    NO_RATE = "Pas de tarif"


@dataclass(frozen=True)
class Anomaly:
    kind: str
    family_id: int
    family_name: str
    text: str


@dataclass
class _Found:
    """The anomalies listed so far, and the count of each kind."""

    anomalies: list[Anomaly] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, rows: Sequence[Any], describe: Callable[[Any], tuple[int, str, str]]) -> None:
        self.counts[kind] = len(rows)
        for row in rows[:ANOMALY_LIST_MAX]:
            family_id, family_name, detail = describe(row)
            self.anomalies.append(Anomaly(kind, family_id, family_name, detail))


_BOOKINGS = """SELECT f.id, f.name, c.first_name, b.day, a.name || ' – ' || u.name
FROM booking b JOIN unit u ON u.id = b.unit_id JOIN activity a ON a.id = u.activity_id
JOIN child c ON c.id = b.child_id {join}
JOIN family f ON f.id = c.family_id
WHERE a.regie_id = :regie AND b.day BETWEEN :first AND :until AND {where}
ORDER BY f.name, f.id, b.day"""
# Billable bookings with no rate for the family's bracket that day (or no package price).
_RATE_OF = """JOIN billing_family bf ON bf.family_id = c.family_id AND b.day BETWEEN bf.first_day AND bf.last_day
LEFT JOIN billing_rate r ON r.unit_id = b.unit_id AND r.bracket_id = bf.bracket_id
    AND b.day BETWEEN r.first_day AND r.last_day"""


def _booking_detail(row: Any) -> tuple[int, str, str]:
    day = row[3] if isinstance(row[3], date) else date.fromisoformat(row[3])
    return row[0], row[1], f"{row[2]}, {formatting.short_date(day)}, {row[4]}"


def _unpriced_bookings(conn: sa.Connection, params: dict[str, Any], unpriced_units: set[int]) -> Sequence[Any]:
    """Billable bookings of ``unpriced_units`` left without a price (none looked for without such units)."""
    if not unpriced_units:
        return []
    unpriced = (
        f"b.state IN ({BILLED_SQL}) AND (r.rate_id IS NULL OR u.package IS NOT NULL AND r.package IS NULL)"
        f" AND b.unit_id IN ({', '.join(str(u) for u in sorted(unpriced_units))})"
    )
    return conn.execute(dated(_BOOKINGS.format(join=_RATE_OF, where=unpriced)), params).all()


def find_anomalies(
    db: Session,
    regie_id: int,
    first: date,
    until: date,
    today: date,
    segments: list[Segment],
    bills: list[FamilyBill],
    unpriced_units: set[int],
) -> tuple[list[Anomaly], dict[str, int]]:
    """What the agent should look at: listed (up to ANOMALY_LIST_MAX a kind) and counted.

    Bookings without a price are looked for only on ``unpriced_units``: the units lacking a
    rate (or a package price) for some bracket on some billed day."""
    conn = db.connection()
    found = _Found()
    params = {"regie": regie_id, "first": first, "until": until}
    unrecorded = conn.execute(
        dated(
            _BOOKINGS.format(join="", where=f"b.state = '{BookingState.RESERVED.value}' AND b.day < :today"),
            "first",
            "until",
            "today",
        ),
        params | {"today": today},
    ).all()
    found.add(AnomalyKind.UNRECORDED, unrecorded, _booking_detail)
    unbooked = conn.execute(
        dated(_BOOKINGS.format(join="", where=f"b.state = '{BookingState.PRESENT_SPECIAL.value}'")), params
    ).all()
    found.add(AnomalyKind.UNBOOKED, unbooked, _booking_detail)

    billed = {b.family_id: b for b in bills}
    missing_families = {s.family_id for s in segments if s.missing}
    missing = [b.family_id for b in bills if b.family_id in missing_families]
    found.add(
        AnomalyKind.NO_QUOTIENT,
        missing,
        lambda i: (i, billed[i].family_name, f"facturée à la tranche la plus haute ({billed[i].number})"),
    )
    no_address = [b for b in bills if not b.debtor_address]
    found.add(AnomalyKind.NO_ADDRESS, no_address, lambda b: (b.family_id, b.family_name, f"facture {b.number}"))
    found.add(AnomalyKind.NO_RATE, _unpriced_bookings(conn, params, unpriced_units), _booking_detail)
    return found.anomalies, found.counts
