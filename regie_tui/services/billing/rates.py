"""Rates (tarifs): the grid of a day, the history of a unit, and setting a rate (admins only).

A rate is the price of a unit for a quotient-familial bracket from ``valid_from`` until the
next rate of the same unit × bracket. Issued invoices are never changed: a rate cannot
start inside a month already invoiced for its unit. Nor can it start absurdly far ahead:
at the latest ``RATE_AHEAD_MONTHS`` (18) months after today, the same day of the month
(the last day of a shorter month).
"""

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui import clock, formatting
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import Activity, Invoice, InvoiceLine, InvoiceStatus, QfBracket, Rate, Regie, Unit
from regie_tui.services.billing.pricing import Bracket, load_brackets
from regie_tui.services.common.sql import id_of
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import require_agent

#: Largest amount typed for a rate: 10 000 € (a typo guard, far above any real price).
MAX_CENTS = 1_000_000


def cents_text(cents: int | None) -> str:
    """Cents as typed back in a field: 415 -> '4,15' ('' for none)."""
    if cents is None:
        return ""
    return f"{cents // 100},{cents % 100:02d}"


@dataclass(frozen=True)
class RateValue:
    """One rate row, and until when it holds (the day before the next one's start)."""

    id: int
    unit_id: int
    bracket_id: int
    valid_from: date
    amount_cents: int
    unbooked_surcharge_cents: int
    absence_penalty_cents: int
    package_cents: int | None
    next_from: date | None  # the next rate of this unit × bracket starts then (None: none planned)


@dataclass(frozen=True)
class RateGridRow:
    activity_id: int
    activity_name: str
    regie_code: str
    unit_id: int
    unit_name: str
    package: str | None  # the unit's package (e.g. 'Forfait semaine'), None without
    cells: tuple[RateValue | None, ...]  # per bracket of RateGrid.brackets: the rate valid that day


@dataclass(frozen=True)
class RateGrid:
    on: date
    brackets: tuple[Bracket, ...]
    rows: tuple[RateGridRow, ...]
    locked_until: dict[int, date]  # unit id -> last day invoiced (no rate may start on or before it)


@dataclass(frozen=True)
class RateHistoryLine:
    rate: RateValue
    bracket_name: str


@dataclass(frozen=True)
class RateSet:
    """What set_rate did: a new rate from a date, or the correction of the one starting then."""

    rate: RateValue
    created: bool
    changed: bool
    unit_name: str
    bracket_name: str


def _value(rate: Rate, next_from: date | None) -> RateValue:
    return RateValue(
        id=id_of(rate),
        unit_id=rate.unit_id,
        bracket_id=rate.bracket_id,
        valid_from=rate.valid_from,
        amount_cents=rate.amount_cents,
        unbooked_surcharge_cents=rate.unbooked_surcharge_cents,
        absence_penalty_cents=rate.absence_penalty_cents,
        package_cents=rate.package_cents,
        next_from=next_from,
    )


def _school_year(on: date) -> tuple[date, date]:
    first = date(on.year if on.month >= 9 else on.year - 1, 9, 1)
    return first, date(first.year + 1, 8, 31)


def _valid_on(rates: list[Rate], on: date) -> RateValue | None:
    """Among one unit × bracket's rates sorted by valid_from, the one valid on ``on``."""
    current: Rate | None = None
    following: date | None = None
    for rate in rates:
        if rate.valid_from <= on:
            current = rate
        elif following is None:
            following = rate.valid_from
    return _value(current, following) if current is not None else None


def invoiced_until(db: Session, *, unit_ids: list[int]) -> dict[int, date]:
    """Per unit, the last day of the latest issued invoice having a line for it."""
    if not unit_ids:
        return {}
    rows = db.exec(
        select(InvoiceLine.unit_id, func.max(Invoice.period_end))
        .join(Invoice, col(Invoice.id) == InvoiceLine.invoice_id)
        .where(col(InvoiceLine.unit_id).in_(unit_ids), Invoice.status == InvoiceStatus.ISSUED)
        .group_by(col(InvoiceLine.unit_id))
    )
    return {unit_id: last for unit_id, last in rows if unit_id is not None and last is not None}


def rate_grid(db: Session, *, on: date) -> RateGrid:
    """The rate valid on ``on`` per activity → unit → bracket, for the activities of that school year."""
    first, last = _school_year(on)
    brackets = tuple(load_brackets(db))
    units = db.exec(
        select(Activity.id, Activity.name, Regie.code, Unit)
        .join(Unit, col(Unit.activity_id) == Activity.id)
        .join(Regie, col(Regie.id) == Activity.regie_id)
        .where(Activity.end_date >= first, Activity.start_date <= last)
        .order_by(col(Activity.start_date), col(Activity.name), col(Activity.id), col(Unit.position), col(Unit.id))
    ).all()
    unit_ids = [id_of(unit) for _, _, _, unit in units]
    by_cell: dict[tuple[int, int], list[Rate]] = {}
    if unit_ids:
        for rate in db.exec(
            select(Rate).where(col(Rate.unit_id).in_(unit_ids)).order_by(col(Rate.valid_from), col(Rate.id))
        ):
            by_cell.setdefault((rate.unit_id, rate.bracket_id), []).append(rate)
    rows = tuple(
        RateGridRow(
            activity_id=activity_id or 0,
            activity_name=activity_name,
            regie_code=regie_code,
            unit_id=id_of(unit),
            unit_name=unit.name,
            package=unit.package,
            cells=tuple(_valid_on(by_cell.get((id_of(unit), b.id), []), on) for b in brackets),
        )
        for activity_id, activity_name, regie_code, unit in units
    )
    return RateGrid(on=on, brackets=brackets, rows=rows, locked_until=invoiced_until(db, unit_ids=unit_ids))


def rate_on(db: Session, *, unit_id: int, bracket_id: int, day: date) -> RateValue | None:
    """The rate of one unit × bracket valid on ``day`` (None: no rate yet)."""
    rates = list(
        db.exec(
            select(Rate)
            .where(Rate.unit_id == unit_id, Rate.bracket_id == bracket_id)
            .order_by(col(Rate.valid_from), col(Rate.id))
        )
    )
    return _valid_on(rates, day)


def rate_history(db: Session, *, unit_id: int) -> list[RateHistoryLine]:
    """Every rate of a unit, per bracket (in bracket order), oldest first."""
    rows = db.exec(
        select(Rate, QfBracket.name)
        .join(QfBracket, col(QfBracket.id) == Rate.bracket_id)
        .where(Rate.unit_id == unit_id)
        .order_by(col(QfBracket.position), col(QfBracket.id), col(Rate.valid_from))
    ).all()
    lines: list[RateHistoryLine] = []
    for index, (rate, name) in enumerate(rows):
        following = rows[index + 1][0] if index + 1 < len(rows) else None
        next_from = following.valid_from if following is not None and following.bracket_id == rate.bracket_id else None
        lines.append(RateHistoryLine(rate=_value(rate, next_from), bracket_name=name))
    return lines


def _audit_values(rate: Rate) -> dict[str, Any]:
    return {
        "valid_from": rate.valid_from.isoformat(),
        "amount_cents": rate.amount_cents,
        "unbooked_surcharge_cents": rate.unbooked_surcharge_cents,
        "absence_penalty_cents": rate.absence_penalty_cents,
        "package_cents": rate.package_cents,
    }


#: How far ahead a rate may start: the next school year is voted long before it, never 2 years ahead.
RATE_AHEAD_MONTHS = 18


def latest_rate_start(today: date) -> date:
    """The last day a new rate may start: ``RATE_AHEAD_MONTHS`` months after ``today``."""
    months = today.year * 12 + today.month - 1 + RATE_AHEAD_MONTHS
    year, month = divmod(months, 12)
    month += 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def _check_amounts(unit: Unit, amounts: dict[str, int | None]) -> None:
    """No negative or absurd amount (label -> cents); a package price exactly when the unit has a package."""
    for label, value in amounts.items():
        if value is not None and value < 0:
            raise RegieError(f"{label} : le montant ne peut pas être négatif.")
        if value is not None and value > MAX_CENTS:
            raise RegieError(f"{label} : {formatting.money(value)}, c'est plus que {formatting.money(MAX_CENTS)}.")
    package_cents = amounts["Forfait"]
    if unit.package and package_cents is None:
        raise RegieError(f"L'unité « {unit.name} » déclenche un forfait ({unit.package}) : indiquez son prix.")
    if not unit.package and package_cents is not None:
        raise RegieError(f"L'unité « {unit.name} » ne déclenche aucun forfait : pas de prix de forfait.")


def _check_start(db: Session, unit: Unit, valid_from: date) -> None:
    """Not more than 18 months ahead, nor inside a month already invoiced for the unit."""
    latest = latest_rate_start(clock.today())
    if valid_from > latest:
        raise RegieError(
            f"Date d'effet {formatting.short_date(valid_from)} trop lointaine : un tarif commence au plus tard "
            f"{RATE_AHEAD_MONTHS} mois après aujourd'hui, soit le {formatting.short_date(latest)}."
        )
    unit_id = id_of(unit)
    locked = invoiced_until(db, unit_ids=[unit_id]).get(unit_id)
    if locked is not None and valid_from <= locked:
        raise RegieError(
            f"« {unit.name} » est déjà facturé jusqu'au {formatting.short_date(locked)} : "
            "les factures émises ne changent pas. Choisissez une date d'effet postérieure."
        )


def _save_rate(db: Session, wanted: Rate, agent_id: int) -> tuple[Rate, bool, bool]:
    """``wanted`` (a rate not in the session yet) added, or the rate of its unit × bracket × start
    corrected to its amounts (locked first); audited when it changed; (the rate, created, changed)."""
    unit_id, bracket_id = wanted.unit_id, wanted.bracket_id
    rate = db.exec(
        select(Rate)
        .where(Rate.unit_id == unit_id, Rate.bracket_id == bracket_id, Rate.valid_from == wanted.valid_from)
        .with_for_update()
    ).first()
    created = rate is None
    before = None if rate is None else _audit_values(rate)
    if rate is None:
        rate = wanted
    else:
        rate.amount_cents = wanted.amount_cents
        rate.unbooked_surcharge_cents = wanted.unbooked_surcharge_cents
        rate.absence_penalty_cents = wanted.absence_penalty_cents
        rate.package_cents = wanted.package_cents
    db.add(rate)
    after = _audit_values(rate)
    changed = before != after
    if changed:
        db.flush()
        audit.record(
            db,
            action="create" if created else "update",
            entity="rate",
            entity_id=rate.id,
            agent_id=agent_id,
            before=None if before is None else {"unit_id": unit_id, "bracket_id": bracket_id, **before},
            after={"unit_id": unit_id, "bracket_id": bracket_id, **after},
        )
    return rate, created, changed


def set_rate(
    db: Session,
    *,
    unit_id: int,
    bracket_id: int,
    valid_from: date,
    amount_cents: int,
    unbooked_surcharge_cents: int = 0,
    absence_penalty_cents: int = 0,
    package_cents: int | None = None,
    agent_id: int,
) -> RateSet:
    """A new rate of a unit × bracket from ``valid_from``, or the correction of the one starting that day.

    Refused: for an agent who is not an administrator; a negative amount; a package price on
    a unit without a package (or none on a unit with one); a start inside a month already
    invoiced for the unit (issued invoices are never changed); a start more than 18 months
    after today (``latest_rate_start``).
    """
    require_agent(db, agent_id, Permission.RATES)
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"Unité n° {unit_id} introuvable.")
    bracket = db.get(QfBracket, bracket_id)
    if bracket is None:
        raise NotFound(f"Tranche de quotient n° {bracket_id} introuvable.")
    amounts = {
        "Tarif": amount_cents,
        "Majoration sans réservation": unbooked_surcharge_cents,
        "Pénalité d'absence non justifiée": absence_penalty_cents,
        "Forfait": package_cents,
    }
    _check_amounts(unit, amounts)
    _check_start(db, unit, valid_from)
    rate, created, changed = _save_rate(
        db,
        Rate(
            unit_id=unit_id,
            bracket_id=bracket_id,
            valid_from=valid_from,
            amount_cents=amount_cents,
            unbooked_surcharge_cents=unbooked_surcharge_cents,
            absence_penalty_cents=absence_penalty_cents,
            package_cents=package_cents,
        ),
        agent_id,
    )
    following = db.exec(
        select(func.min(Rate.valid_from)).where(
            Rate.unit_id == unit_id, Rate.bracket_id == bracket_id, Rate.valid_from > valid_from
        )
    ).one()
    return RateSet(
        rate=_value(rate, following),
        created=created,
        changed=changed,
        unit_name=unit.name,
        bracket_name=bracket.name,
    )


def find_bracket(db: Session, text: str) -> int:
    """A bracket by its id or its name (accents and case as typed), for the command line."""
    key = text.strip()
    brackets = load_brackets(db)
    if key.isdigit():
        for bracket in brackets:
            if bracket.id == int(key):
                return bracket.id
    for bracket in brackets:
        if bracket.name.casefold() == key.casefold():
            return bracket.id
    names = ", ".join(f"{b.id} ({b.name})" for b in brackets)
    raise NotFound(f"Tranche « {key} » inconnue : {names}.")
