"""The booking rules: may this child have (or give up) this unit on this day, and applying it.

The one place for them: the planning grid, the roster, the bannette's portal booking requests and
``regie booking`` all call :func:`check_cells` and :func:`apply_cells`.

Rules, judged for each cell in this order (the first that fails gives the cell's French
``rule``):

- a known unit, asked once in the request;
- ``set`` of ``requested`` / ``refused``: refused, those are the portal's states, decided
  in the bannette; ``set`` of ``reserved`` is a ``book``;
- the opening calendar, for what puts the unit on the day (``book``, ``set`` waiting list,
  attendance on an unbooked cell): the activity's dates; a public holiday (DayOff
  ``public_holiday``) closes every activity; a school-holiday day (DayOff
  ``school_holiday``, bridges included) closes the *school-time* activities
  (périscolaire, cantine, mercredis: :data:`SCHOOL_TIME`) but not the accueils de loisirs
  nor the multi-accueil, which open precisely then; a Closure row of the activity; a
  period of the activity containing the day and opening on its week day
  (:class:`OpeningCalendar`); then an ACCEPTED enrolment of the child in the unit's
  activity, whose own start / end dates (empty: the activity's) contain the day;
- a locked cell: attendance recorded on a past day or today, or a Charge produced from
  the booking (billed or about to be). Only an agent the role matrix lets unlock (régisseur,
  admin), with a ``reason``, changes it (audited); today's attendance may be corrected by anyone;
- attendance (``set`` present, présence spéciale, absences): no notice, no capacity, no
  combination rule (what happened is recorded); a presence not on a future day, and on an
  unbooked cell it is stored as présence spéciale; an absence needs a booking and may be
  announced ahead;
- ``cancel``: a booking to cancel (not one already refused);
- the notice deadline (délai de prévenance), judged at ``asked_at`` (default ``now``) in
  Europe/Paris, unless ``override_notice`` with a ``reason`` (audited);
- capacity per day × unit × age group of the child (the Capacity row of that day, else
  the default row; no row: unlimited). Places are held by the states in :data:`HOLDING`
  (reserved, attendance states and requested: a pending request must not overflow the
  group when accepted); waiting_list and refused hold none; they are read from
  ``place_count``, kept by database triggers (migration 0005). A ``book`` beyond capacity is
  allowed onto the waiting list (``waiting_list=True``);
- on the resulting day of the child (existing cells in :data:`ON_DAY` states — the
  waiting list included, as the family asked for them — plus the request's allowed
  ``book`` cells, minus its allowed ``cancel`` cells): unit combinations
  (``requires_one_of``, ``excludes``) and no two overlapping units of different
  activities. A failure refuses the request's cell that causes it (the ``book`` of the
  unit, or the ``cancel`` of its partners), until the day is consistent.

A ``book`` of a cell already reserved is allowed and changes nothing; a ``book`` of a
requested or waiting cell turns it into a reservation (or keeps it waiting). A ``cancel``
deletes the booking; when it held a place (a cancel, or a booked child put on the waiting
list) and the group has a capacity with a place now free, the first waiting child of that
day × unit × group (oldest ``changed_at``) is promoted to reserved in the same transaction
(:attr:`CellCheck.promoted`) and the family told through the outbox.

Writing (:func:`apply_cells`) locks the child's row first, so two desks saving one child
queue up; with ``loaded`` stamps, a cell changed since the caller loaded it raises
:class:`StaleCells` (who, when, what) and nothing is written.

Queries: a fixed handful per call (units, enrolments, periods, rules, calendar, the
child's bookings over the days asked, charges, capacities, place counts), whatever the
number of cells.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from regie_tui.clock import PARIS
from regie_tui.errors import NotFound, RegieError
from regie_tui.formatting import local_datetime, short_date
from regie_tui.labels import ENROLLMENT_STATUS, label
from regie_tui.models import (
    Activity,
    ActivityKind,
    ActivityPeriod,
    Agent,
    AuditEntry,
    Booking,
    BookingState,
    Capacity,
    Charge,
    Child,
    Closure,
    DayOff,
    DayOffKind,
    Enrollment,
    EnrollmentStatus,
    PlaceCount,
    Source,
    Unit,
    UnitRule,
    UnitRuleKind,
)
from regie_tui.services.common.sql import id_col, id_of, select_columns
from regie_tui.services.common.validation import check_text
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo

Action = Literal["book", "cancel", "set"]

#: Activities that follow the school calendar: closed on school-holiday days.
SCHOOL_TIME = frozenset({ActivityKind.AFTER_SCHOOL, ActivityKind.CANTEEN, ActivityKind.WEDNESDAY})
ATTENDANCE = frozenset(
    {
        BookingState.PRESENT,
        BookingState.PRESENT_SPECIAL,
        BookingState.ABSENT_JUSTIFIED,
        BookingState.ABSENT_UNJUSTIFIED,
    }
)
#: States holding a place of the group's capacity.
HOLDING = ATTENDANCE | {BookingState.RESERVED, BookingState.REQUESTED}
#: States that put the unit on the child's day (for combinations and overlaps).
ON_DAY = HOLDING | {BookingState.WAITING_LIST}

#: French words for the stored booking states (audit entries, messages).
STATE_LABELS = {
    BookingState.RESERVED: "réservée",
    BookingState.PRESENT: "présent",
    BookingState.PRESENT_SPECIAL: "présence spéciale",
    BookingState.ABSENT_JUSTIFIED: "absence justifiée",
    BookingState.ABSENT_UNJUSTIFIED: "absence non justifiée",
    BookingState.REQUESTED: "en attente de validation",
    BookingState.WAITING_LIST: "liste d'attente",
    BookingState.REFUSED: "refusée",
}
FREE = "libre"
#: The longest reason for setting a rule aside (kept in the audit trail), as every reason the régie stores.
REASON_MAX = 500
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

NO_BOOKING = "Aucune réservation à annuler"
WAITING = "Limite de capacité atteinte : liste d'attente"


@dataclass(frozen=True)
class CellRequest:
    """``book`` (reserve), ``cancel`` (free) or ``set`` a stored ``state`` (attendance, waiting list)."""

    day: date
    unit_id: int
    action: Action
    state: BookingState | None = None


@dataclass(frozen=True)
class CellStamp:
    """A cell as a screen loaded it: its booking (None: free) and that booking's version."""

    booking_id: int | None
    version: int


FREE_STAMP = CellStamp(None, 0)


@dataclass(frozen=True)
class Clash:
    """A cell changed by someone else since it was loaded: who, when, and what it is now."""

    day: date
    unit_name: str
    activity_name: str
    state: BookingState | None
    who: str
    at: datetime | None

    def text(self) -> str:
        when = f", le {local_datetime(self.at)}" if self.at else ""
        now = STATE_LABELS[self.state] if self.state else FREE
        return f"{short_date(self.day)} {self.unit_name} – {self.activity_name} : {now} ({self.who}{when})"


class StaleCells(RegieError):
    """The save touched cells someone else changed since they were loaded: nothing was written."""

    def __init__(self, clashes: list[Clash]) -> None:
        self.clashes = clashes
        lines = "\n".join(f"• {clash.text()}" for clash in clashes)
        super().__init__(f"Planning modifié depuis son ouverture, rien n'a été enregistré :\n{lines}")


@dataclass(frozen=True)
class Promotion:
    """A waiting child given the place a cancellation freed: the caller tells the family."""

    child_id: int
    child_name: str
    family_id: int
    booking_id: int
    day: date
    unit_id: int


@dataclass(frozen=True)
class CellCheck:
    day: date
    unit_id: int
    unit_name: str
    activity_name: str
    action: str
    allowed: bool  # can be applied as asked (possibly on the waiting list)
    waiting_list: bool  # a "book" beyond capacity: goes to the waiting list
    rule: str  # "" when allowed and not waiting; else the French rule
    places_left: int | None  # for that day × unit × the child's group; None: no capacity set
    notice_passed: bool
    promoted: Promotion | None = None  # apply_cells: who got the place this cancel freed
    state: BookingState | None = None  # the cell's state once applied (allowed), or as it is (refused)
    overrides: tuple[str, ...] = ()  # rules set aside by the agent (notice, lock), with their reason
    conflict: str = ""  # check_cells(each_alone=True): a rule of its day the stored booking breaks
    # Refused, but this agent may set the rule aside with a reason: "notice" (override_notice)
    # or "lock" (may_unlock); "" otherwise.
    overridable: str = ""


def notice_deadline(day: date, *, notice_days: int, notice_time: time, business_days: bool) -> datetime:
    """The last instant (Europe/Paris, excluded) to book or cancel ``day``."""
    deadline = day
    if business_days:
        remaining = notice_days
        while remaining > 0:
            deadline -= timedelta(days=1)
            if deadline.isoweekday() <= 5:
                remaining -= 1
    else:
        deadline -= timedelta(days=notice_days)
    return datetime.combine(deadline, notice_time, PARIS)


def notice_text(*, notice_days: int, notice_time: time, business_days: bool) -> str:
    """'la veille à 15:00', 'J-2 ouvrés à 12:00'…"""
    at = notice_time.strftime("%H:%M")
    if notice_days == 0:
        return f"le jour même à {at}"
    if notice_days == 1:
        return f"le jour ouvré précédent à {at}" if business_days else f"la veille à {at}"
    return f"J-{notice_days}{' ouvrés' if business_days else ''} à {at}"


# --------------------------------------------------------------------------------------
# The opening calendar
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ActivityDates:
    id: int
    name: str
    kind: ActivityKind
    start: date
    end: date


@dataclass(frozen=True)
class OpeningCalendar:
    """When activities open over a date range: loaded once (four queries), asked per day."""

    activities: dict[int, _ActivityDates]
    periods: dict[int, list[ActivityPeriod]]
    days_off: dict[date, DayOff]
    closures: dict[tuple[int, date], str]

    def closed_reason(self, day: date, activity_id: int) -> str:
        """'' when the activity opens that day, else why not, in French."""
        activity = self.activities[activity_id]
        if not activity.start <= day <= activity.end:
            return f"Hors des dates de {activity.name} (du {short_date(activity.start)} au {short_date(activity.end)})"
        day_off = self.days_off.get(day)
        if day_off is not None and day_off.kind == DayOffKind.PUBLIC_HOLIDAY:
            return f"Jour férié : {day_off.name}"
        if day_off is not None and activity.kind in SCHOOL_TIME:
            return f"Vacances scolaires : {day_off.name}"
        reason = self.closures.get((activity_id, day))
        if reason is not None:
            return f"Jour de fermeture : {reason}"
        containing = [p for p in self.periods.get(activity_id, []) if p.start_date <= day <= p.end_date]
        if not containing:
            return f"Hors des périodes d'ouverture de {activity.name}"
        if not any(str(day.isoweekday()) in p.weekdays for p in containing):
            return f"Pas d'accueil le {WEEKDAYS[day.weekday()]}"
        return ""


def opening_calendar(db: Session, *, activity_ids: Collection[int], first: date, last: date) -> OpeningCalendar:
    """The opening calendar of these activities from ``first`` to ``last`` (both included)."""
    activities = {
        activity_id: _ActivityDates(activity_id, name, ActivityKind(kind), start, end)
        for activity_id, name, kind, start, end in db.exec(
            select_columns(
                id_col(Activity.id),
                col(Activity.name),
                col(Activity.kind),
                col(Activity.start_date),
                col(Activity.end_date),
            ).where(col(Activity.id).in_(activity_ids))
        )
    }
    periods: dict[int, list[ActivityPeriod]] = defaultdict(list)
    for period in db.exec(
        select(ActivityPeriod).where(
            col(ActivityPeriod.activity_id).in_(activity_ids),
            ActivityPeriod.start_date <= last,
            ActivityPeriod.end_date >= first,
        )
    ):
        periods[period.activity_id].append(period)
    days_off = {d.day: d for d in db.exec(select(DayOff).where(DayOff.day >= first, DayOff.day <= last))}
    closures = {
        (c.activity_id, c.day): c.reason
        for c in db.exec(
            select(Closure).where(col(Closure.activity_id).in_(activity_ids), Closure.day >= first, Closure.day <= last)
        )
    }
    return OpeningCalendar(activities, dict(periods), days_off, closures)


# --------------------------------------------------------------------------------------
# What one evaluation loads
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    id: int
    name: str
    position: int
    start: time
    end: time
    activity_id: int
    activity_name: str
    kind: ActivityKind
    activity_start: date
    activity_end: date
    notice_days: int
    notice_time: time
    notice_business_days: bool


@dataclass
class _Cell:
    """One request cell as evaluated: the state it would get when allowed (None: freed)."""

    index: int
    request: CellRequest
    unit: _Unit | None
    rule: str = ""
    allowed: bool = False
    waiting: bool = False
    target: BookingState | None = None
    notice_passed: bool = False
    group_id: int | None = None
    places: int | None = None
    others: int = 0
    overrides: list[str] = field(default_factory=list)  # the rules set aside (agent's reason audited)
    conflict: str = ""  # each_alone: the rule of its day the stored booking breaks
    overridable: str = ""  # see CellCheck.overridable


def _may_unlock(agent: AgentInfo | None) -> bool:
    return agent is not None and agent.may(Permission.UNLOCK_CELL)


@dataclass(frozen=True)
class _Options:
    override_notice: bool
    may_unlock: bool
    reason: str


@dataclass
class _Plan:
    child: Child
    cells: list[_Cell]
    bookings: dict[tuple[date, int], Booking]
    enrollments: dict[int, Enrollment]
    units: dict[int, _Unit] = field(default_factory=dict)
    waiting: set[tuple[date, int]] = field(default_factory=set)  # cancelled cells where a child waits


def _unit_rows(db: Session, condition: ColumnElement[bool]) -> dict[int, _Unit]:
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
        unit_id: _Unit(unit_id, name, position, start, end, activity_id, activity, ActivityKind(kind), *rest)
        for unit_id, name, position, start, end, activity_id, activity, kind, *rest in rows
    }


def _evaluate(
    db: Session,
    *,
    child_id: int,
    cells: Sequence[CellRequest],
    asked_at: datetime,
    options: _Options,
    lock: bool,
    each_alone: bool = False,
) -> _Plan:
    if asked_at.tzinfo is None:
        raise ValueError("asked_at/now must be timezone-aware")
    # Writing locks the child's row first: two desks saving the same child's cells queue up,
    # and the second one judges (and compares its loaded stamps with) what the first wrote.
    child = db.get(Child, child_id, with_for_update=lock)
    if child is None:
        raise NotFound(f"Enfant introuvable (n° {child_id}).")
    if not cells:
        return _Plan(child, [], {}, {})
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
    requires: dict[int, set[int]] = defaultdict(set)
    excludes: list[tuple[int, int]] = []
    for rule in db.exec(select(UnitRule).where(col(UnitRule.unit_id).in_(units))):
        if rule.kind == UnitRuleKind.REQUIRES_ONE_OF:
            requires[rule.unit_id].add(rule.other_unit_id)
        else:
            excludes.append((rule.unit_id, rule.other_unit_id))
    calendar = opening_calendar(db, activity_ids=activity_ids, first=first, last=last)

    # The child's bookings over the days asked, every activity (for overlaps).
    booking_query = select(Booking).where(Booking.child_id == child_id, Booking.day >= first, Booking.day <= last)
    if lock:
        booking_query = booking_query.with_for_update()
    day_set = set(days)
    bookings = {(b.day, b.unit_id): b for b in db.exec(booking_query) if b.day in day_set}
    missing = {unit_id for _, unit_id in bookings} - units.keys()
    if missing:
        units.update(_unit_rows(db, col(Unit.id).in_(missing)))
    charged: set[int] = set()
    if bookings:
        charged = {
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

    # Capacities and the places held by other children, for the child's groups.
    groups = {e.activity_id: e.age_group_id for e in enrollments.values() if e.status == EnrollmentStatus.ACCEPTED}
    capacities: dict[tuple[int, int, date | None], int] = {}
    counts: dict[tuple[int, date, int], int] = {}
    waiting: set[tuple[date, int]] = set()
    if groups:
        capacity_query = (
            select(Capacity)
            .where(
                col(Capacity.age_group_id).in_(set(groups.values())),
                col(Capacity.unit_id).in_(asked_ids),
                col(Capacity.day).is_(None) | ((col(Capacity.day) >= first) & (col(Capacity.day) <= last)),
            )
            .order_by(col(Capacity.id))
        )
        if lock:  # serialises agents booking the same places
            capacity_query = capacity_query.with_for_update()
        for capacity in db.exec(capacity_query):
            capacities[(capacity.age_group_id, capacity.unit_id, capacity.day)] = capacity.places
        counts = _held_places(db, cells, capacities, units, groups, bookings)
        if lock:
            waiting = _waiting_children(db, cells, capacities)

    # First pass: each cell alone.
    today = asked_at.astimezone(PARIS).date()
    evaluated: list[_Cell] = []
    seen: set[tuple[date, int]] = set()
    for index, request in enumerate(cells):
        unit = units.get(request.unit_id)
        cell = _Cell(index, request, unit)
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
        _judge(
            cell,
            existing,
            existing is not None and existing.id in charged,
            today,
            options,
            calendar.closed_reason(request.day, unit.activity_id)
            or _enrollment_rule(request.day, unit, enrollments.get(unit.activity_id)),
        )

    plan = _Plan(child, evaluated, bookings, enrollments, units, waiting)
    if each_alone:
        _stored_conflicts(plan, requires, excludes)
    else:
        _check_days(evaluated, bookings, units, requires, excludes)
    return plan


def _held_places(
    db: Session,
    cells: Sequence[CellRequest],
    capacities: dict[tuple[int, int, date | None], int],
    units: dict[int, _Unit],
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


def _waiting_children(
    db: Session, cells: Sequence[CellRequest], capacities: dict[tuple[int, int, date | None], int]
) -> set[tuple[date, int]]:
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


def _judge(cell: _Cell, existing: Booking | None, charged: bool, today: date, options: _Options, closed: str) -> None:
    """Decide one cell alone (``closed``: why the calendar or the enrolment forbids booking it)."""
    request, unit = cell.request, cell.unit
    assert unit is not None
    state = existing.state if existing is not None else None
    action, wanted = request.action, request.state
    if action == "set":
        if wanted is None:
            cell.rule = "État à donner manquant"
            return
        if wanted in (BookingState.REQUESTED, BookingState.REFUSED):
            cell.rule = f"« {STATE_LABELS[wanted]} » : état d'une demande du portail, décidée dans la bannette"
            return
        if wanted == BookingState.RESERVED:
            action = "book"
    if state is not None and state == (BookingState.RESERVED if action == "book" else wanted):
        cell.allowed, cell.target = True, state  # already so: nothing to do
        return
    attendance = action == "set" and wanted in ATTENDANCE
    booked = state in (BookingState.RESERVED, *ATTENDANCE)
    if (action == "book" or (action == "set" and not (attendance and booked))) and closed:
        cell.rule = closed
        return
    lock = ""
    if state in ATTENDANCE and request.day <= today:  # an absence announced ahead is not yet a fact
        lock = (
            "présence relevée" if state in (BookingState.PRESENT, BookingState.PRESENT_SPECIAL) else "absence relevée"
        )
    elif charged:
        lock = "facturée"
    if lock and not (attendance and state in ATTENDANCE and request.day == today and not charged):
        if not options.may_unlock:
            cell.rule = f"Cellule verrouillée : {lock} (modifiable par un régisseur, avec un motif)"
            return
        if not options.reason.strip():
            cell.rule = f"Cellule verrouillée : {lock} ; un motif est obligatoire pour la modifier"
            cell.overridable = "lock"
            return
        cell.overrides.append(f"cellule verrouillée ({lock})")
    if attendance:
        absence = wanted in (BookingState.ABSENT_JUSTIFIED, BookingState.ABSENT_UNJUSTIFIED)
        if request.day > today and not absence:  # an absence may be announced ahead, a presence not
            cell.rule = f"Pointage impossible : le {short_date(request.day)} n'est pas encore arrivé"
            return
        if absence and not booked:
            cell.rule = "Absence impossible : l'enfant n'était pas réservé ce jour-là"
            return
        if wanted == BookingState.PRESENT and not booked:
            wanted = BookingState.PRESENT_SPECIAL  # came without a booking
        elif wanted == BookingState.PRESENT and state == BookingState.PRESENT_SPECIAL:
            wanted = state
        cell.allowed, cell.target = True, wanted
        return
    if action == "cancel" and (state is None or state == BookingState.REFUSED):
        cell.rule = NO_BOOKING
        return
    target = BookingState.WAITING_LIST if action == "set" else BookingState.RESERVED
    if cell.notice_passed:
        text = notice_text(
            notice_days=unit.notice_days, notice_time=unit.notice_time, business_days=unit.notice_business_days
        )
        if not options.override_notice:
            cell.rule = f"Délai de prévenance dépassé ({text})"
            cell.overridable = "notice"
            return
        if not options.reason.strip():
            cell.rule = f"Délai de prévenance dépassé ({text}) ; un motif est obligatoire pour passer outre"
            cell.overridable = "notice"
            return
        cell.overrides.append(f"délai de prévenance dépassé ({text})")
    cell.allowed = True
    if action == "cancel":
        return
    if target == BookingState.RESERVED and cell.places is not None and cell.others >= cell.places:
        cell.waiting, cell.target, cell.rule = True, BookingState.WAITING_LIST, WAITING
    else:
        cell.target = target


def _enrollment_rule(day: date, unit: _Unit, enrollment: Enrollment | None) -> str:
    if enrollment is None:
        return f"Aucune inscription à {unit.activity_name}"
    if enrollment.status != EnrollmentStatus.ACCEPTED:
        status = label(ENROLLMENT_STATUS, enrollment.status).lower()
        return f"Inscription à {unit.activity_name} non acceptée ({status})"
    start = enrollment.start_date or unit.activity_start
    end = enrollment.end_date or unit.activity_end
    if not start <= day <= end:
        return f"Hors des dates d'inscription (du {short_date(start)} au {short_date(end)})"
    return ""


def _check_days(
    cells: list[_Cell],
    bookings: dict[tuple[date, int], Booking],
    units: dict[int, _Unit],
    requires: dict[int, set[int]],
    excludes: list[tuple[int, int]],
) -> None:
    """Refuse the cells that would leave a day of the child inconsistent, until none does."""
    by_day: dict[date, list[_Cell]] = defaultdict(list)
    for cell in cells:
        by_day[cell.request.day].append(cell)
    existing_by_day: dict[date, set[int]] = defaultdict(set)
    for (day, unit_id), booking in bookings.items():
        if booking.state in ON_DAY:
            existing_by_day[day].add(unit_id)
    for day, day_cells in by_day.items():
        weekday = WEEKDAYS[day.weekday()]
        while True:
            on_day = set(existing_by_day[day])
            books: dict[int, _Cell] = {}
            cancels: dict[int, _Cell] = {}
            for cell in day_cells:
                if not cell.allowed:
                    continue
                if cell.target in ON_DAY:
                    on_day.add(cell.request.unit_id)
                    if cell.target not in ATTENDANCE:  # what happened is recorded, whatever the day holds
                        books[cell.request.unit_id] = cell
                else:
                    on_day.discard(cell.request.unit_id)
                    cancels[cell.request.unit_id] = cell
            refused = _first_violation(on_day, books, cancels, units, requires, excludes, weekday)
            if not refused:
                break
            for cell, rule in refused:
                cell.allowed, cell.waiting, cell.target, cell.rule = False, False, None, rule


def _names(unit_ids: Iterable[int], units: dict[int, _Unit]) -> list[str]:
    known = sorted((units[u] for u in unit_ids if u in units), key=lambda u: (u.position, u.id))
    return [u.name for u in known]


@dataclass(frozen=True)
class _Break:
    """A rule a child's day breaks: ``unit`` lacks its partners (requires), or clashes with ``other``."""

    kind: Literal["requires", "excludes", "overlap"]
    unit: int
    others: tuple[int, ...]

    def rule(self, yielding: int, units: dict[int, _Unit], weekday: str) -> str:
        """The French rule, told from the side of the unit that yields."""
        if self.kind == "requires":
            return f"{units[self.unit].name} sans {' ni '.join(_names(self.others, units))} le {weekday}"
        other = units[self.others[0] if yielding == self.unit else self.unit]
        if self.kind == "excludes":
            return f"{units[yielding].name} impossible avec {other.name} le même jour"
        return f"Déjà inscrit sur {other.activity_name} – {other.name} à la même heure"


def _breaks(
    on_day: set[int], units: dict[int, _Unit], requires: dict[int, set[int]], excludes: list[tuple[int, int]]
) -> list[_Break]:
    """Every combination or overlap rule the units of one day break, in the order they are judged."""
    found = [
        _Break("requires", unit_id, tuple(sorted(requires[unit_id])))
        for unit_id in sorted(on_day)
        if requires.get(unit_id) and not on_day & requires[unit_id]
    ]
    found += [_Break("excludes", a, (b,)) for a, b in excludes if a in on_day and b in on_day]
    ordered = sorted((units[u] for u in on_day if u in units), key=lambda u: (u.start, u.id))
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.start >= a.end:
                break
            if a.activity_id != b.activity_id:
                found.append(_Break("overlap", a.id, (b.id,)))
    return found


def _first_violation(
    on_day: set[int],
    books: dict[int, _Cell],
    cancels: dict[int, _Cell],
    units: dict[int, _Unit],
    requires: dict[int, set[int]],
    excludes: list[tuple[int, int]],
    weekday: str,
) -> list[tuple[_Cell, str]]:
    """The cells to refuse for the first rule the day breaks because of the request; [] when none."""
    for found in _breaks(on_day, units, requires, excludes):
        if found.kind == "requires":
            rule = found.rule(found.unit, units, weekday)
            if found.unit in books:
                return [(books[found.unit], rule)]
            culprits = [cancels[p] for p in found.others if p in cancels]
            if culprits:
                return [(cell, rule) for cell in culprits]
            continue
        culprits = [books[u] for u in (found.unit, *found.others) if u in books]
        if culprits:
            cell = max(culprits, key=lambda c: c.index)  # the later cell yields
            return [(cell, found.rule(cell.request.unit_id, units, weekday))]
    return []


def _stored_conflicts(plan: _Plan, requires: dict[int, set[int]], excludes: list[tuple[int, int]]) -> None:
    """Mark each asked cell whose stored booking breaks a rule of its day (data from before a rule)."""
    on_days: dict[date, set[int]] = defaultdict(set)
    for (day, unit_id), booking in plan.bookings.items():
        if booking.state in ON_DAY and booking.state not in ATTENDANCE:
            on_days[day].add(unit_id)
    conflicts: dict[tuple[date, int], str] = {}
    for day, on_day in on_days.items():
        weekday = WEEKDAYS[day.weekday()]
        for found in _breaks(on_day, plan.units, requires, excludes):
            for unit_id in (found.unit,) if found.kind == "requires" else (found.unit, *found.others):
                conflicts.setdefault((day, unit_id), found.rule(unit_id, plan.units, weekday))
    for cell in plan.cells:
        cell.conflict = conflicts.get((cell.request.day, cell.request.unit_id), "")


def _check(cell: _Cell, plan: _Plan, promoted: Promotion | None = None) -> CellCheck:
    unit = cell.unit
    places_left = None
    existing = plan.bookings.get((cell.request.day, cell.request.unit_id))
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


# --------------------------------------------------------------------------------------
# The service's API
# --------------------------------------------------------------------------------------


def check_cells(
    db: Session,
    *,
    child_id: int,
    cells: Sequence[CellRequest],
    now: datetime,
    override_notice: bool = False,
    asked_at: datetime | None = None,
    reason: str = "",
    agent: AgentInfo | None = None,
    each_alone: bool = False,
) -> list[CellCheck]:
    """What the rules say of each cell, in the request's order; writes nothing.

    ``asked_at``: when the family asked (a portal submission's time); the notice deadline
    is judged at it. Default ``now``. ``override_notice`` sets the notice deadline aside,
    and ``agent``, when the role matrix lets it unlock cells (régisseur, admin), a locked
    cell, only with a ``reason`` (no agent: the portal or the system, which unlock nothing).
    ``each_alone``: judge every cell as if asked on its own, the day as stored (the
    planning's view of each cell), and tell which stored bookings break a rule of their day.
    """
    options = _Options(override_notice, _may_unlock(agent), reason)
    plan = _evaluate(
        db,
        child_id=child_id,
        cells=cells,
        asked_at=asked_at or now,
        options=options,
        lock=False,
        each_alone=each_alone,
    )
    return [_check(cell, plan) for cell in plan.cells]


def apply_cells(
    db: Session,
    *,
    child_id: int,
    cells: Sequence[CellRequest],
    agent_id: int | None,
    source: Source,
    now: datetime,
    override_notice: bool = False,
    asked_at: datetime | None = None,
    reason: str = "",
    agent: AgentInfo | None = None,
    loaded: Mapping[tuple[date, int], CellStamp] | None = None,
) -> list[CellCheck]:
    """Check again inside the caller's transaction and write the allowed cells; refused ones are left.

    ``loaded``: the cells as the caller's screen loaded them; if any of them changed
    since, :class:`StaleCells` is raised and nothing is written. Flushes, does not
    commit. Returns the checks, with the promoted waiting child of each freed place.
    """
    check_text(reason, "Motif", max_length=REASON_MAX, required=False)  # audited with the override
    options = _Options(override_notice, _may_unlock(agent), reason)
    plan = _evaluate(db, child_id=child_id, cells=cells, asked_at=asked_at or now, options=options, lock=True)
    if loaded:
        clashes = _clashes(db, plan, loaded)
        if clashes:
            raise StaleCells(clashes)
    child = plan.child
    before: list[str] = []
    after: list[str] = []
    overrides: list[str] = []
    results: list[CellCheck] = []
    promotions: list[tuple[Promotion, str]] = []
    for cell in plan.cells:
        unit = cell.unit
        if not cell.allowed or unit is None:
            results.append(_check(cell, plan))
            continue
        key = (cell.request.day, cell.request.unit_id)
        existing = plan.bookings.get(key)
        if existing is not None and existing.state == cell.target:
            results.append(_check(cell, plan))
            continue
        where = f"{short_date(cell.request.day)} {unit.name} – {unit.activity_name}"
        overrides.extend(f"{where} : {text}" for text in cell.overrides)
        before.append(f"{where} : {STATE_LABELS[existing.state] if existing else FREE}")
        after.append(f"{where} : {STATE_LABELS[cell.target] if cell.target else FREE}")
        held = existing is not None and existing.state in HOLDING
        if cell.target is None:
            assert existing is not None
            db.delete(existing)
        elif existing is None:
            enrollment = plan.enrollments[unit.activity_id]
            db.add(
                Booking(
                    child_id=child_id,
                    day=cell.request.day,
                    unit_id=unit.id,
                    enrollment_id=id_of(enrollment),
                    state=cell.target,
                    source=source,
                    changed_by_id=agent_id,
                    changed_at=now,
                )
            )
        else:
            existing.state = cell.target
            existing.source = source
            existing.changed_by_id = agent_id
            existing.changed_at = now
            existing.version += 1
            db.add(existing)
        promoted = None
        frees = held and cell.target not in HOLDING
        room = cell.places is not None and cell.others < cell.places
        if frees and room and key in plan.waiting and cell.group_id is not None:
            db.flush()
            promoted = _promote(
                db,
                day=cell.request.day,
                unit_id=unit.id,
                group_id=cell.group_id,
                child_id=child_id,
                agent_id=agent_id,
                now=now,
            )
            if promoted is not None:
                promotions.append((promoted, where))
                cell.others += 1  # the promoted child holds the place now
        results.append(_check(cell, plan, promoted))
    db.flush()
    if before:
        name = f"{child.first_name} {child.last_name}"
        changed: dict[str, object] = {"child": name, "cells": after}
        if overrides:
            changed |= {"overrides": overrides, "reason": reason.strip()}
        audit.record(
            db,
            action="update",
            entity="booking",
            entity_id=child_id,
            source=source,
            agent_id=agent_id,
            family_id=child.family_id,
            before={"child": name, "cells": before},
            after=changed,
        )
    for promotion, where in promotions:
        _tell_promotion(db, promotion, where=where, agent_id=agent_id)
        audit.record(
            db,
            action="update",
            entity="booking",
            entity_id=promotion.child_id,
            source=Source.SYSTEM,
            agent_id=agent_id,
            family_id=promotion.family_id,
            before={"child": promotion.child_name, "cells": [f"{where} : {STATE_LABELS[BookingState.WAITING_LIST]}"]},
            after={"child": promotion.child_name, "cells": [f"{where} : {STATE_LABELS[BookingState.RESERVED]}"]},
        )
    db.flush()
    return results


def _clashes(db: Session, plan: _Plan, loaded: Mapping[tuple[date, int], CellStamp]) -> list[Clash]:
    """The request's cells whose booking is not the one the caller loaded."""
    changed: list[tuple[_Cell, Booking | None]] = []
    for cell in plan.cells:
        key = (cell.request.day, cell.request.unit_id)
        if key not in loaded:
            continue
        booking = plan.bookings.get(key)
        now = CellStamp(booking.id, booking.version) if booking is not None else FREE_STAMP
        if now != loaded[key]:
            changed.append((cell, booking))
    if not changed:
        return []
    agent_ids = {b.changed_by_id for _, b in changed if b is not None and b.changed_by_id is not None}
    names = {
        agent_id: name
        for agent_id, name in db.exec(
            select_columns(id_col(Agent.id), col(Agent.display_name)).where(col(Agent.id).in_(agent_ids))
        )
    }
    last_change = db.exec(
        select_columns(col(AuditEntry.at), col(Agent.display_name), col(AuditEntry.source))
        .outerjoin(Agent, col(Agent.id) == AuditEntry.agent_id)
        .where(AuditEntry.entity == "booking", AuditEntry.entity_id == id_of(plan.child))
        .order_by(col(AuditEntry.id).desc())
        .limit(1)
    ).first()
    clashes = []
    for cell, booking in changed:
        unit = cell.unit
        if booking is not None:
            who = names.get(booking.changed_by_id or 0) or _SOURCE_WHO.get(booking.source, booking.source)
            at: datetime | None = booking.changed_at
        elif last_change is not None:
            at, name, source = last_change
            who = name or _SOURCE_WHO.get(source, source)
        else:
            who, at = "inconnu", None
        clashes.append(
            Clash(
                day=cell.request.day,
                unit_name=unit.name if unit else "",
                activity_name=unit.activity_name if unit else "",
                state=booking.state if booking is not None else None,
                who=who,
                at=at,
            )
        )
    return clashes


_SOURCE_WHO = {Source.PORTAL: "portail famille", Source.SYSTEM: "système", Source.AGENT: "un agent"}


def _tell_promotion(db: Session, promotion: Promotion, *, where: str, agent_id: int | None) -> None:
    """The family of a promoted child learns it by mail (the outbox sends it)."""
    from regie_tui.services.portal.outbox import queue_mail

    day = short_date(promotion.day)
    queue_mail(
        db,
        family_id=promotion.family_id,
        subject=f"Place confirmée pour {promotion.child_name} le {day}",
        body=(
            f"Bonjour,\n\nUne place s'est libérée : la réservation de {promotion.child_name} "
            f"({where}) quitte la liste d'attente et est confirmée.\n"
        ),
        agent_id=agent_id,
    )


def _promote(
    db: Session, *, day: date, unit_id: int, group_id: int, child_id: int, agent_id: int | None, now: datetime
) -> Promotion | None:
    """Give the freed place to the first waiting child of that day × unit × group."""
    row = db.exec(
        select(Booking, Child)
        .join(Enrollment, col(Enrollment.id) == Booking.enrollment_id)
        .join(Child, col(Child.id) == Booking.child_id)
        .where(
            Booking.unit_id == unit_id,
            Booking.day == day,
            Booking.state == BookingState.WAITING_LIST,
            Booking.child_id != child_id,
            Enrollment.age_group_id == group_id,
        )
        .order_by(col(Booking.changed_at), col(Booking.id))
        .limit(1)
        .with_for_update(of=Booking)
    ).first()
    if row is None:
        return None
    booking, child = row
    booking.state = BookingState.RESERVED
    booking.changed_by_id = agent_id
    booking.changed_at = now
    booking.version += 1
    db.add(booking)
    return Promotion(
        child_id=id_of(child),
        child_name=f"{child.first_name} {child.last_name}",
        family_id=child.family_id,
        booking_id=id_of(booking),
        day=day,
        unit_id=unit_id,
    )


__all__ = [
    "HOLDING",
    "ON_DAY",
    "SCHOOL_TIME",
    "STATE_LABELS",
    "CellCheck",
    "CellRequest",
    "OpeningCalendar",
    "Promotion",
    "apply_cells",
    "check_cells",
    "notice_deadline",
    "notice_text",
    "opening_calendar",
]
