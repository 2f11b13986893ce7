"""The invoicing run's prices (step 1): each family's quotient-familial bracket over the billed
days (no valid quotient: the top bracket, with a warning) and each unit × bracket's rate, loaded
into the run's working tables; and the units left without a price."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from regie_tui.models import Activity, Family, FamilyQuotient, Rate, Unit
from regie_tui.services.billing.pricing import Bracket, bracket_for
from regie_tui.services.billing.run_tables import dated
from regie_tui.services.common.sql import select_columns

_RATE_KEYS = ("unit", "bracket", "first", "last", "rate", "amount", "surcharge", "penalty", "package")


@dataclass(frozen=True)
class Segment:
    """Days of the month a family pays in one bracket."""

    family_id: int
    first: date
    last: date
    bracket_id: int
    quotient: int | None
    missing: bool  # resident without a valid quotient: top bracket, with a warning


def family_segments(db: Session, brackets: Sequence[Bracket], first: date, until: date) -> list[Segment]:
    """Every family's bracket over the billed days (most families: one segment)."""
    quotients: dict[int, list[tuple[int, date, date]]] = defaultdict(list)
    for family_id, value, valid_from, valid_to in db.exec(
        select_columns(
            col(FamilyQuotient.family_id),
            col(FamilyQuotient.value),
            col(FamilyQuotient.valid_from),
            col(FamilyQuotient.valid_to),
        )
        .where(FamilyQuotient.valid_from <= until, FamilyQuotient.valid_to >= first)
        .order_by(col(FamilyQuotient.valid_from).desc())
    ):
        quotients[family_id].append((value, valid_from, valid_to))
    segments = []
    days = [first + timedelta(days=i) for i in range((until - first).days + 1)]
    for family_id, resident in db.exec(select(Family.id, Family.resident)):
        assert family_id is not None
        mine = quotients.get(family_id, [])
        if len(mine) == 1 and mine[0][1] <= first and mine[0][2] >= until or not mine:
            value = mine[0][0] if mine else None
            bracket = bracket_for(brackets, resident=resident, quotient=value)
            segments.append(Segment(family_id, first, until, bracket.id, value, resident and value is None))
            continue
        current: list[Any] | None = None
        for day in days:  # the latest quotient valid that day wins
            value = next((v for v, start, end in mine if start <= day <= end), None)
            bracket = bracket_for(brackets, resident=resident, quotient=value)
            if current and current[2] == bracket.id and current[3] == value:
                current[1] = day
                continue
            if current:
                segments.append(Segment(family_id, *current))
            current = [day, day, bracket.id, value, resident and value is None]
        if current:
            segments.append(Segment(family_id, *current))
    return segments


def rate_segments(db: Session, regie_id: int, first: date, until: date) -> list[tuple[Any, ...]]:
    """(unit, bracket, first, last, rate id, amount, surcharge, penalty, package) over the billed days."""
    rates: dict[tuple[int, int], list[Rate]] = defaultdict(list)
    for rate in db.exec(
        select(Rate)
        .join(Unit, col(Unit.id) == Rate.unit_id)
        .join(Activity, col(Activity.id) == Unit.activity_id)
        .where(Activity.regie_id == regie_id, Rate.valid_from <= until)
        .order_by(col(Rate.valid_from))
    ):
        rates[(rate.unit_id, rate.bracket_id)].append(rate)
    rows = []
    for (unit_id, bracket_id), versions in rates.items():
        for i, rate in enumerate(versions):
            end = versions[i + 1].valid_from - timedelta(days=1) if i + 1 < len(versions) else until
            start = max(rate.valid_from, first)
            if end < first or start > end:
                continue
            rows.append(
                (
                    unit_id,
                    bracket_id,
                    start,
                    min(end, until),
                    rate.id,
                    rate.amount_cents,
                    rate.unbooked_surcharge_cents,
                    rate.absence_penalty_cents,
                    rate.package_cents,
                )
            )
    return rows


def unpriced_units(
    db: Session, regie_id: int, brackets: Sequence[Bracket], first: date, until: date, rates: list[tuple[Any, ...]]
) -> set[int]:
    """The régie's units lacking a price for some bracket on some billed day (usually none)."""
    days = (until - first).days + 1
    covered: dict[tuple[int, int], int] = defaultdict(int)
    no_package: set[tuple[int, int]] = set()
    for unit_id, bracket_id, start, end, _rate, _amount, _surcharge, _penalty, package in rates:
        covered[(unit_id, bracket_id)] += (end - start).days + 1
        if package is None:
            no_package.add((unit_id, bracket_id))
    units = db.exec(
        select(Unit.id, Unit.package)
        .join(Activity, col(Activity.id) == Unit.activity_id)
        .where(Activity.regie_id == regie_id)
    ).all()
    return {
        unit_id
        for unit_id, package in units
        for bracket in brackets
        if unit_id is not None
        and (covered[(unit_id, bracket.id)] < days or package is not None and (unit_id, bracket.id) in no_package)
    }


def load_prices(conn: sa.Connection, segments: list[Segment], rates: list[tuple[Any, ...]]) -> None:
    """Fill ``billing_family`` and ``billing_rate`` (see ``run_tables``)."""
    if segments:
        conn.execute(
            dated("INSERT INTO billing_family VALUES (:family, :first, :last, :bracket)", "first", "last"),
            [{"family": s.family_id, "first": s.first, "last": s.last, "bracket": s.bracket_id} for s in segments],
        )
    if rates:
        conn.execute(
            dated(
                "INSERT INTO billing_rate VALUES (:unit, :bracket, :first, :last, :rate, :amount, :surcharge, "
                ":penalty, :package)",
                "first",
                "last",
            ),
            [dict(zip(_RATE_KEYS, r, strict=True)) for r in rates],
        )
