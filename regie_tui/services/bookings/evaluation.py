"""One evaluation of a request: what it reads (a fixed handful of queries, whatever the number of
cells) and its cells judged, alone (:mod:`.judge`) then day by day (:mod:`.days`).

Read: the child (locked when writing), the units of the activities asked, the child's
enrollments, the combination rules, the opening calendar, the child's bookings over the days
asked (locked when writing) and which of them are charged, the capacities of the child's
groups (locked when writing) and the places other children hold (``place_count``).
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from regie_tui.clock import PARIS
from regie_tui.errors import NotFound
from regie_tui.models import (
    Activity,
    ActivityKind,
    Booking,
    BookingState,
    Capacity,
    Charge,
    Child,
    Enrollment,
    EnrollmentStatus,
    PlaceCount,
    Unit,
    UnitRule,
    UnitRuleKind,
)
from regie_tui.services.bookings.cells import HOLDING, CellCheck, CellRequest, Promotion, notice_deadline
from regie_tui.services.bookings.days import Combinations, check_days, stored_conflicts
from regie_tui.services.bookings.judge import JudgedCell, Leeway, UnitTerms, enrollment_rule, judge_cell
from regie_tui.services.bookings.opening import OpeningCalendar, opening_calendar
from regie_tui.services.common.sql import id_col, id_of, select_columns

#: Capacities of the child's groups: (age group, unit, day or None for the default row) → places.
Capacities = dict[tuple[int, int, date | None], int]


@dataclass
class Plan:
    """A request as evaluated: its cells judged, and what was read to judge them."""

    child: Child
    cells: list[JudgedCell]
    bookings: dict[tuple[date, int], Booking]
    enrollments: dict[int, Enrollment]
    units: dict[int, UnitTerms] = field(default_factory=dict)
    waiting: set[tuple[date, int]] = field(default_factory=set)  # cancelled cells where a child waits

    def check(self, cell: JudgedCell, promoted: Promotion | None = None) -> CellCheck:
        """What the rules say of ``cell``, as the caller reads it."""
        unit = cell.unit
        places_left = None
        existing = self.bookings.get((cell.request.day, cell.request.unit_id))
        existing_state = existing.state if existing is not None else None
        if cell.places is not None:
            holds = cell.target in HOLDING if cell.allowed else existing is not None and existing.state in HOLDING
            places_left = max(0, cell.places - cell.others - (1 if holds else 0))
        return CellCheck(
            day=cell.request.day,
            unit_id=cell.request.unit_id,
            unit_name=unit.name if unit else "",
            activity_name=unit.activity_name if unit else "",
            action=cell.request.action,
            allowed=cell.allowed,
            waiting_list=cell.waiting,
            rule=cell.rule,
            places_left=places_left,
            notice_passed=cell.notice_passed,
            promoted=promoted,
            state=cell.target if cell.allowed else existing_state,
            overrides=tuple(cell.overrides) if cell.allowed else (),
            conflict=cell.conflict,
            overridable="" if cell.allowed else cell.overridable,
        )


@dataclass
class _Places:
    """The child's group in each activity (accepted enrollments), its capacities and the places held."""

    groups: dict[int, int]  # activity → age group
    capacities: Capacities = field(default_factory=dict)
    counts: dict[tuple[int, date, int], int] = field(default_factory=dict)  # (unit, day, group) → held by others
    waiting: set[tuple[date, int]] = field(default_factory=set)


@dataclass
class _Facts:
    """What the judge of each cell reads."""

    units: dict[int, UnitTerms]
    enrollments: dict[int, Enrollment]
    calendar: OpeningCalendar
    bookings: dict[tuple[date, int], Booking]
    charged: set[int]  # ids of the bookings a Charge was produced from
    places: _Places


def evaluate(
    db: Session,
    *,
    child_id: int,
    cells: Sequence[CellRequest],
    asked_at: datetime,
    leeway: Leeway,
    lock: bool,
    each_alone: bool = False,
) -> Plan:
    """Read what ``cells`` need and judge them; ``lock``: the rows a write depends on are locked."""
    if asked_at.tzinfo is None:
        raise ValueError("asked_at/now must be timezone-aware")
    # Writing locks the child's row first: two desks saving the same child's cells queue up,
    # and the second one judges (and compares its loaded stamps with) what the first wrote.
    child = db.get(Child, child_id, with_for_update=lock)
    if child is None:
        raise NotFound(f"Enfant introuvable (n° {child_id}).")
    if not cells:
        return Plan(child, [], {}, {})
    days = sorted({c.day for c in cells})
    first, last = days[0], days[-1]
    asked_ids = {c.unit_id for c in cells}

    # Every unit of the activities asked (partners of the rules included).
    activity_ids_of_asked = select(Unit.activity_id).where(col(Unit.id).in_(asked_ids))
    units = _unit_rows(db, col(Unit.activity_id).in_(activity_ids_of_asked))
    activity_ids = {u.activity_id for u in units.values()}
    enrollments = {
        e.activity_id: e
        for e in db.exec(
            select(Enrollment).where(Enrollment.child_id == child_id, col(Enrollment.activity_id).in_(activity_ids))
        )
    }
    rules = _combinations(db, units)
    calendar = opening_calendar(db, activity_ids=activity_ids, first=first, last=last)
    bookings = _child_bookings(db, child_id, days, lock=lock)
    missing = {unit_id for _, unit_id in bookings} - units.keys()
    if missing:
        units.update(_unit_rows(db, col(Unit.id).in_(missing)))
    charged = _charged(db, child, first, last, bookings)
    places = _places(db, cells, units, enrollments, bookings, lock=lock)

    facts = _Facts(units, enrollments, calendar, bookings, charged, places)
    judged = _judge_each(cells, facts, asked_at, leeway)
    plan = Plan(child, judged, bookings, enrollments, units, places.waiting)
    if each_alone:
        stored_conflicts(judged, bookings, units, rules)
    else:
        check_days(judged, bookings, units, rules)
    return plan


def _judge_each(cells: Sequence[CellRequest], facts: _Facts, asked_at: datetime, leeway: Leeway) -> list[JudgedCell]:
    """The first pass: each cell alone, in the request's order."""
    today = asked_at.astimezone(PARIS).date()
    units, bookings, charged, places = facts.units, facts.bookings, facts.charged, facts.places
    groups, capacities, counts = places.groups, places.capacities, places.counts
    closed_reason, enrollments = facts.calendar.closed_reason, facts.enrollments
    evaluated: list[JudgedCell] = []
    seen: set[tuple[date, int]] = set()
    for index, request in enumerate(cells):
        unit = units.get(request.unit_id)
        cell = JudgedCell(index, request, unit)
        evaluated.append(cell)
        if unit is None:
            cell.rule = f"Unité inconnue (n° {request.unit_id})"
            continue
        key = (request.day, request.unit_id)
        existing = bookings.get(key)
        cell.notice_passed = asked_at >= notice_deadline(
            request.day,
            notice_days=unit.notice_days,
            notice_time=unit.notice_time,
            business_days=unit.notice_business_days,
        )
        group_id = groups.get(unit.activity_id)
        if group_id is not None:
            cell.group_id = group_id
            cell.places = capacities.get((group_id, unit.id, request.day), capacities.get((group_id, unit.id, None)))
            cell.others = counts.get((unit.id, request.day, group_id), 0)
        if key in seen:
            cell.rule = "Cellule demandée deux fois dans la même demande"
            continue
        seen.add(key)
        judge_cell(
            cell,
            existing,
            existing is not None and existing.id in charged,
            today,
            leeway,
            closed_reason(request.day, unit.activity_id)
            or enrollment_rule(request.day, unit, enrollments.get(unit.activity_id)),
        )
    return evaluated


def _unit_rows(db: Session, condition: ColumnElement[bool]) -> dict[int, UnitTerms]:
    rows = db.exec(
        select_columns(
            id_col(Unit.id),
            col(Unit.name),
            col(Unit.position),
            col(Unit.start_time),
            col(Unit.end_time),
            id_col(Activity.id),
            col(Activity.name),
            col(Activity.kind),
            col(Activity.start_date),
            col(Activity.end_date),
            col(Activity.notice_days),
            col(Activity.notice_time),
            col(Activity.notice_business_days),
        )
        .join(Activity, col(Activity.id) == Unit.activity_id)
        .where(condition)
    )
    return {
        unit_id: UnitTerms(unit_id, name, position, start, end, activity_id, activity, ActivityKind(kind), *rest)
        for unit_id, name, position, start, end, activity_id, activity, kind, *rest in rows
    }


def _combinations(db: Session, units: dict[int, UnitTerms]) -> Combinations:
    rules = Combinations()
    for rule in db.exec(select(UnitRule).where(col(UnitRule.unit_id).in_(units))):
        if rule.kind == UnitRuleKind.REQUIRES_ONE_OF:
            rules.requires[rule.unit_id].add(rule.other_unit_id)
        else:
            rules.excludes.append((rule.unit_id, rule.other_unit_id))
    return rules


def _child_bookings(db: Session, child_id: int, days: list[date], *, lock: bool) -> dict[tuple[date, int], Booking]:
    """The child's bookings over the days asked, every activity (for overlaps)."""
    booking_query = select(Booking).where(Booking.child_id == child_id, Booking.day >= days[0], Booking.day <= days[-1])
    if lock:
        booking_query = booking_query.with_for_update()
    day_set = set(days)
    return {(b.day, b.unit_id): b for b in db.exec(booking_query) if b.day in day_set}


def _charged(db: Session, child: Child, first: date, last: date, bookings: dict[tuple[date, int], Booking]) -> set[int]:
    """The bookings a Charge was produced from (billed or about to be): locked cells."""
    if not bookings:
        return set()
    return {
        booking_id
        for booking_id in db.exec(
            select(col(Charge.booking_id)).where(
                Charge.family_id == child.family_id,
                Charge.day >= first,
                Charge.day <= last,
                col(Charge.booking_id).in_([id_of(b) for b in bookings.values()]),
            )
        )
        if booking_id is not None
    }


def _places(
    db: Session,
    cells: Sequence[CellRequest],
    units: dict[int, UnitTerms],
    enrollments: dict[int, Enrollment],
    bookings: dict[tuple[date, int], Booking],
    *,
    lock: bool,
) -> _Places:
    """Capacities and the places held by other children, for the child's groups."""
    places = _Places(
        groups={e.activity_id: e.age_group_id for e in enrollments.values() if e.status == EnrollmentStatus.ACCEPTED}
    )
    if not places.groups:
        return places
    days = sorted({c.day for c in cells})
    capacity_query = (
        select(Capacity)
        .where(
            col(Capacity.age_group_id).in_(set(places.groups.values())),
            col(Capacity.unit_id).in_({c.unit_id for c in cells}),
            col(Capacity.day).is_(None) | ((col(Capacity.day) >= days[0]) & (col(Capacity.day) <= days[-1])),
        )
        .order_by(col(Capacity.id))
    )
    if lock:  # serialises agents booking the same places
        capacity_query = capacity_query.with_for_update()
    for capacity in db.exec(capacity_query):
        places.capacities[(capacity.age_group_id, capacity.unit_id, capacity.day)] = capacity.places
    places.counts = _held_places(db, cells, places.capacities, units, places.groups, bookings)
    if lock:
        places.waiting = _waiting_children(db, cells, places.capacities)
    return places


def _held_places(
    db: Session,
    cells: Sequence[CellRequest],
    capacities: Capacities,
    units: dict[int, UnitTerms],
    groups: dict[int, int],
    bookings: dict[tuple[date, int], Booking],
) -> dict[tuple[int, date, int], int]:
    """Places held by other children of the child's group, for the cells where it matters.

    Read from ``place_count`` (one row per unit × day × age group, kept exact by the
    database's triggers on booking and enrollment), one query for all the cells; the
    child's own holding booking is taken off afterwards.
    """
    limited = {unit_id for _, unit_id, _ in capacities}
    days_by_unit: dict[int, set[date]] = defaultdict(set)
    for request in cells:
        if request.unit_id in limited:
            days_by_unit[request.unit_id].add(request.day)
    group_of = {u: groups[units[u].activity_id] for u in days_by_unit if units[u].activity_id in groups}
    if not group_of:
        return {}
    rows = db.exec(
        select_columns(
            col(PlaceCount.unit_id), col(PlaceCount.day), col(PlaceCount.age_group_id), col(PlaceCount.held)
        ).where(
            col(PlaceCount.unit_id).in_(sorted(group_of)),
            col(PlaceCount.day).in_(sorted(set().union(*(days_by_unit[u] for u in group_of)))),
            col(PlaceCount.age_group_id).in_(sorted(set(group_of.values()))),
        )
    )
    counts = {}
    for unit_id, day, group_id, held in rows:
        if group_id != group_of.get(unit_id) or day not in days_by_unit[unit_id]:
            continue
        own = bookings.get((day, unit_id))
        if own is not None and own.state in HOLDING:
            held -= 1
        counts[(unit_id, day, group_id)] = held
    return counts


def _waiting_children(db: Session, cells: Sequence[CellRequest], capacities: Capacities) -> set[tuple[date, int]]:
    """The cancelled cells of limited units where some child waits: a freed place may go to one."""
    limited = {unit_id for _, unit_id, _ in capacities}
    cancels = {(r.day, r.unit_id) for r in cells if r.unit_id in limited and r.action != "book"}
    if not cancels:
        return set()
    rows = db.exec(
        select_columns(col(Booking.day), col(Booking.unit_id))
        .where(
            col(Booking.unit_id).in_({unit_id for _, unit_id in cancels}),
            col(Booking.day).in_({day for day, _ in cancels}),
            Booking.state == BookingState.WAITING_LIST,
        )
        .distinct()
    )
    return {(day, unit_id) for day, unit_id in rows} & cancels
