"""Pointage: the roster of one activity on one day, and marking who came.

The roster lists the children booked that day on the activity's units, per unit and age
group, with what the staff must know to receive them (diets, health alerts for the roles
allowed to see them, who may collect them) and the totals per unit. Marking goes through
:func:`regie_tui.services.bookings.rules.apply_cells` (action ``set``): the rules of
attendance live there.

Shown: bookings in :data:`ROSTER_STATES` (reserved and the attendance states). Requests
awaiting a decision, the waiting list and refusals are not on the roster: those children
are not expected; a child who comes anyway is added as a présence spéciale.

Queries: a fixed handful whatever the number of children (activity, units, groups, the
opening calendar, the booked lines in one join, then diets, health notes, guardians and
authorised persons each with a sub-query on the day's bookings).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from regie_tui.errors import NotFound, RegieError
from regie_tui.labels import HEALTH_KIND, label
from regie_tui.models import (
    Activity,
    AgeGroup,
    AuthorizedPerson,
    Booking,
    BookingState,
    Child,
    ChildDiet,
    Diet,
    Enrollment,
    EnrollmentStatus,
    Facility,
    Family,
    FamilySearchWord,
    Guardian,
    HealthNote,
    Source,
    Town,
    Unit,
)
from regie_tui.services.bookings.cells import ON_DAY, STATE_LABELS, CellCheck, CellRequest
from regie_tui.services.bookings.opening import opening_calendar
from regie_tui.services.bookings.rules import apply_cells
from regie_tui.services.common.sql import id_col, select_columns
from regie_tui.services.families.search_words import fold, prefix_upper_bound, search_terms
from regie_tui.services.trust.access import CHILD_MEDICAL_DIET, MEDICAL_DIET_HIDDEN, Permission
from regie_tui.services.trust.agents import AgentInfo

#: Booking states on the roster: the children expected, and what became of them.
ROSTER_STATES = (
    BookingState.RESERVED,
    BookingState.PRESENT,
    BookingState.PRESENT_SPECIAL,
    BookingState.ABSENT_JUSTIFIED,
    BookingState.ABSENT_UNJUSTIFIED,
)
#: States an agent may mark from the roster.
MARKS = frozenset(
    {
        BookingState.PRESENT,
        BookingState.PRESENT_SPECIAL,
        BookingState.ABSENT_JUSTIFIED,
        BookingState.ABSENT_UNJUSTIFIED,
    }
)
#: The one health marker shown to roles that may not read health notes.
HEALTH_HIDDEN = "alerte santé (accès réservé)"

#: The most children the walk-in search lists.
WALK_IN_LIMIT = 20


@dataclass(frozen=True)
class RosterLine:
    child_id: int
    first_name: str
    last_name: str
    family_id: int
    family_name: str
    unit_id: int
    group_id: int
    group_name: str
    state: BookingState
    diets: tuple[str, ...]
    health: tuple[str, ...]  # "PAI : …", "allergie : …"; or (HEALTH_HIDDEN,); or ()
    collectors: tuple[str, ...]  # "Marie DURAND (mère)", guardians first

    @property
    def child_name(self) -> str:
        return f"{self.last_name} {self.first_name}"


@dataclass(frozen=True)
class RosterGroup:
    id: int
    name: str
    lines: tuple[RosterLine, ...]


@dataclass(frozen=True)
class UnitTotals:
    booked: int  # children with a booking (reserved, present, absent): présence spéciale apart
    present: int  # present, présence spéciale included
    special: int  # présence spéciale (came without a booking)
    absent_justified: int
    absent_unjustified: int
    not_pointed: int  # still reserved

    def text(self) -> str:
        """'12 réservés · 9 présents (dont 1 sans réservation) · 1 abs. justifiée · … · 2 à pointer'."""
        special = f" (dont {self.special} sans réservation)" if self.special else ""
        return (
            f"{self.booked} réservé{'s' if self.booked > 1 else ''} · "
            f"{self.present} présent{'s' if self.present > 1 else ''}{special} · "
            f"{self.absent_justified} abs. justifiée{'s' if self.absent_justified > 1 else ''} · "
            f"{self.absent_unjustified} abs. non justifiée{'s' if self.absent_unjustified > 1 else ''} · "
            f"{self.not_pointed} à pointer"
        )


@dataclass(frozen=True)
class RosterUnit:
    id: int
    name: str
    start: time
    end: time
    groups: tuple[RosterGroup, ...]
    totals: UnitTotals

    @property
    def hours(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def lines(self) -> tuple[RosterLine, ...]:
        return tuple(line for group in self.groups for line in group.lines)


@dataclass(frozen=True)
class Roster:
    activity_id: int
    activity_name: str
    facility_name: str
    day: date
    closed_reason: str  # "" when the activity opens that day
    units: tuple[RosterUnit, ...]
    sees_health: bool

    @property
    def lines(self) -> tuple[RosterLine, ...]:
        return tuple(line for unit in self.units for line in unit.lines)


@dataclass(frozen=True)
class ActivityChoice:
    id: int
    name: str
    facility_name: str


@dataclass(frozen=True)
class WalkIn:
    """A child enrolled in the activity who may be added as a présence spéciale."""

    child_id: int
    first_name: str
    last_name: str
    family_name: str
    group_name: str
    free_units: tuple[tuple[int, str], ...]  # (unit id, name) the child has no booking on that day


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def activities_on(db: Session, *, day: date) -> list[ActivityChoice]:
    """Activities whose dates contain ``day``, by facility and name (to choose a roster)."""
    rows = db.exec(
        select(id_col(Activity.id), col(Activity.name), col(Facility.name))
        .join(Facility, col(Facility.id) == Activity.facility_id)
        .where(Activity.start_date <= day, Activity.end_date >= day)
        .order_by(col(Facility.name), col(Activity.name))
    ).all()
    return [ActivityChoice(id=i, name=name, facility_name=facility) for i, name, facility in rows]


def _booked_children(unit_ids: list[int], day: date) -> SelectOfScalar[int]:
    """The ids of the children on the roster, as a sub-query (not thousands of bound ids)."""
    return select(Booking.child_id).where(
        col(Booking.unit_id).in_(unit_ids), Booking.day == day, col(Booking.state).in_(ROSTER_STATES)
    )


def roster(db: Session, *, activity_id: int, day: date, agent: AgentInfo) -> Roster:
    """The roster of ``activity_id`` on ``day``: units in position order, children by age group;
    health notes for the roles the matrix lets read them, a marker for the others."""
    agent.require(Permission.DESK)
    sees_health = agent.may(Permission.HEALTH_DATA)
    head = db.exec(
        select(col(Activity.name), col(Facility.name))
        .join(Facility, col(Facility.id) == Activity.facility_id)
        .where(Activity.id == activity_id)
    ).first()
    if head is None:
        raise NotFound(f"Activité n° {activity_id} introuvable.")
    activity_name, facility_name = head
    closed = opening_calendar(db, activity_ids=[activity_id], first=day, last=day).closed_reason(day, activity_id)
    units = db.exec(
        select(Unit).where(Unit.activity_id == activity_id).order_by(col(Unit.position), col(Unit.start_time))
    ).all()
    unit_ids = [u.id for u in units if u.id is not None]
    groups = {
        g.id: g
        for g in db.exec(
            select(AgeGroup).where(AgeGroup.activity_id == activity_id).order_by(col(AgeGroup.position))
        ).all()
    }
    per_unit = _lines_by_unit(db, unit_ids, day, groups, sees_health=sees_health)
    return Roster(
        activity_id=activity_id,
        activity_name=activity_name,
        facility_name=facility_name,
        day=day,
        closed_reason=closed,
        units=_roster_units(units, per_unit, groups),
        sees_health=sees_health,
    )


def _lines_by_unit(
    db: Session, unit_ids: list[int], day: date, groups: dict[int | None, AgeGroup], *, sees_health: bool
) -> dict[int, dict[int, list[RosterLine]]]:
    """The roster's lines by unit then age group, each child with its diets, health and collectors."""
    rows = db.exec(
        select_columns(
            col(Booking.unit_id),
            col(Booking.state),
            id_col(Child.id),
            col(Child.first_name),
            col(Child.last_name),
            col(Child.family_id),
            col(Family.name),
            col(Enrollment.age_group_id),
        )
        .join(Child, col(Child.id) == Booking.child_id)
        .join(Family, col(Family.id) == Child.family_id)
        .join(Enrollment, col(Enrollment.id) == Booking.enrollment_id)
        .where(col(Booking.unit_id).in_(unit_ids), Booking.day == day, col(Booking.state).in_(ROSTER_STATES))
    ).all()
    children = _booked_children(unit_ids, day)
    diets = _diets(db, children, sees_health=sees_health)
    health = _health(db, children, day=day, sees_health=sees_health)
    collectors = _collectors(db, children)

    per_unit: dict[int, dict[int, list[RosterLine]]] = defaultdict(lambda: defaultdict(list))
    for unit_id, state, child_id, first, last, family_id, family_name, group_id in rows:
        group = groups.get(group_id)
        per_unit[unit_id][group_id].append(
            RosterLine(
                child_id=child_id,
                first_name=first,
                last_name=last,
                family_id=family_id,
                family_name=family_name,
                unit_id=unit_id,
                group_id=group_id,
                group_name=group.name if group else "",
                state=BookingState(state),
                diets=diets.get(child_id, ()),
                health=health.get(child_id, ()),
                collectors=collectors.get(family_id, ()),
            )
        )
    return per_unit


def _roster_units(
    units: Sequence[Unit], per_unit: dict[int, dict[int, list[RosterLine]]], groups: dict[int | None, AgeGroup]
) -> tuple[RosterUnit, ...]:
    """Each unit with its groups in the activity's order, children by name, and its totals."""
    group_order = {group_id: index for index, group_id in enumerate(groups)}
    roster_units = []
    for unit in units:
        assert unit.id is not None
        by_group = per_unit.get(unit.id, {})
        roster_groups = tuple(
            RosterGroup(
                id=group_id,
                name=lines[0].group_name,
                lines=tuple(
                    sorted(lines, key=lambda line: (fold(line.last_name), fold(line.first_name), line.child_id))
                ),
            )
            for group_id, lines in sorted(by_group.items(), key=lambda item: group_order.get(item[0], len(groups)))
        )
        roster_units.append(
            RosterUnit(
                id=unit.id,
                name=unit.name,
                start=unit.start_time,
                end=unit.end_time,
                groups=roster_groups,
                totals=totals(line.state for group in roster_groups for line in group.lines),
            )
        )
    return tuple(roster_units)


def totals(states: Iterable[BookingState]) -> UnitTotals:
    counts: dict[BookingState, int] = defaultdict(int)
    for state in states:
        counts[state] += 1
    special = counts[BookingState.PRESENT_SPECIAL]
    return UnitTotals(
        booked=sum(counts.values()) - special,
        present=counts[BookingState.PRESENT] + special,
        special=special,
        absent_justified=counts[BookingState.ABSENT_JUSTIFIED],
        absent_unjustified=counts[BookingState.ABSENT_UNJUSTIFIED],
        not_pointed=counts[BookingState.RESERVED],
    )


def _diets(db: Session, children: SelectOfScalar[int], *, sees_health: bool) -> dict[int, tuple[str, ...]]:
    """The children's diets; a medical one (sans gluten, PAI…) told only to the roles with health data."""
    found: dict[int, list[str]] = defaultdict(list)
    shown = select(ChildDiet.child_id, Diet.label).join(Diet, col(Diet.id) == ChildDiet.diet_id)
    if not sees_health:  # that a child has a medical diet, not which
        shown = shown.where(~col(Diet.health))
        for (child_id,) in db.execute(
            sa.select(CHILD_MEDICAL_DIET.c.child_id).where(CHILD_MEDICAL_DIET.c.child_id.in_(children))
        ):
            found[child_id].append(MEDICAL_DIET_HIDDEN)
    for child_id, text in db.exec(
        shown.where(col(ChildDiet.child_id).in_(children)).order_by(col(ChildDiet.child_id), col(Diet.label))
    ):
        found[child_id].append(text)
    return {child_id: tuple(texts) for child_id, texts in found.items()}


def _health(db: Session, children: SelectOfScalar[int], *, day: date, sees_health: bool) -> dict[int, tuple[str, ...]]:
    """Health notes still valid on ``day``; for other roles, one marker when a child has any."""
    current = or_(col(HealthNote.valid_until).is_(None), col(HealthNote.valid_until) >= day)
    condition = and_(col(HealthNote.child_id).in_(children), current)
    if not sees_health:
        hidden = db.exec(select(HealthNote.child_id).where(condition).distinct()).all()
        return dict.fromkeys(hidden, (HEALTH_HIDDEN,))
    found: dict[int, list[str]] = defaultdict(list)
    for child_id, kind, text in db.exec(
        select(HealthNote.child_id, HealthNote.kind, HealthNote.text)
        .where(condition)
        .order_by(col(HealthNote.child_id), col(HealthNote.id))
    ):
        found[child_id].append(f"{label(HEALTH_KIND, kind)} : {text}")
    return {child_id: tuple(texts) for child_id, texts in found.items()}


def _collectors(db: Session, children: SelectOfScalar[int]) -> dict[int, tuple[str, ...]]:
    """Per family: its guardians (payer first), then the authorised persons who may collect."""
    families = select(Child.family_id).where(col(Child.id).in_(children))
    found: dict[int, list[str]] = defaultdict(list)
    for family_id, first, last, relationship in db.exec(
        select(Guardian.family_id, Guardian.first_name, Guardian.last_name, Guardian.relationship)
        .where(col(Guardian.family_id).in_(families))
        .order_by(col(Guardian.family_id), col(Guardian.is_payer).desc(), col(Guardian.id))
    ):
        found[family_id].append(_person(first, last, relationship))
    for family_id, first, last, relationship in db.exec(
        select(
            AuthorizedPerson.family_id,
            AuthorizedPerson.first_name,
            AuthorizedPerson.last_name,
            AuthorizedPerson.relationship,
        )
        .where(col(AuthorizedPerson.family_id).in_(families), col(AuthorizedPerson.may_collect))
        .order_by(col(AuthorizedPerson.family_id), col(AuthorizedPerson.id))
    ):
        found[family_id].append(_person(first, last, relationship))
    return {family_id: tuple(names) for family_id, names in found.items()}


def _person(first: str, last: str, relationship: str) -> str:
    return f"{first} {last} ({relationship})" if relationship else f"{first} {last}"


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def mark(
    db: Session,
    *,
    child_id: int,
    day: date,
    unit_id: int,
    state: BookingState,
    agent: AgentInfo,
    now: datetime,
    reason: str = "",
) -> CellCheck:
    """Point one child on one unit (present, absent justified or not; PRESENT on a free cell
    becomes a présence spéciale). Refused by the rules: nothing written, ``rule`` says why.

    Flushes, does not commit (one transaction per mark: the caller's).
    """
    if state not in MARKS:
        raise RegieError(f"Pointage impossible : « {STATE_LABELS[state]} » n'est pas un état de présence.")
    checks = apply_cells(
        db,
        child_id=child_id,
        cells=[CellRequest(day=day, unit_id=unit_id, action="set", state=state)],
        agent_id=agent.id,
        source=Source.AGENT,
        now=now,
        reason=reason.strip(),
        agent=agent,
    )
    return checks[0]


def walk_in_candidates(db: Session, *, activity_id: int, day: date, text: str) -> list[WalkIn]:
    """Children with an accepted enrollment in the activity on ``day``, with at least one unit
    not booked that day, whose names (or family name) start with each typed word; 20 at most."""
    terms = search_terms(text)
    if not terms:
        return []
    conditions: list[ColumnElement[bool]] = [
        col(Enrollment.activity_id) == activity_id,
        col(Enrollment.status) == EnrollmentStatus.ACCEPTED,
        or_(col(Enrollment.start_date).is_(None), col(Enrollment.start_date) <= day),
        or_(col(Enrollment.end_date).is_(None), col(Enrollment.end_date) >= day),
    ]
    # Each word narrows the families by the search index (one range each), then the child's
    # own names are matched below.
    conditions += [
        col(Child.family_id).in_(
            select(FamilySearchWord.family_id).where(
                FamilySearchWord.word >= term, FamilySearchWord.word < prefix_upper_bound(term)
            )
        )
        for term in terms
    ]
    rows = db.exec(
        select_columns(
            id_col(Child.id), col(Child.first_name), col(Child.last_name), col(Family.name), col(AgeGroup.name)
        )
        .join(Enrollment, col(Enrollment.child_id) == Child.id)
        .join(Family, col(Family.id) == Child.family_id)
        .join(AgeGroup, col(AgeGroup.id) == Enrollment.age_group_id)
        .where(*conditions)
        .order_by(col(Child.last_name), col(Child.first_name), col(Child.id))
        .limit(200)
    ).all()
    matching = [row for row in rows if _matches(terms, row[1], row[2], row[3])]
    if not matching:
        return []
    units = db.exec(
        select(id_col(Unit.id), col(Unit.name))
        .where(Unit.activity_id == activity_id)
        .order_by(col(Unit.position), col(Unit.start_time))
    ).all()
    taken: dict[int, set[int]] = defaultdict(set)
    for child_id, unit_id in db.exec(
        select(Booking.child_id, Booking.unit_id).where(
            col(Booking.child_id).in_([row[0] for row in matching]),
            Booking.day == day,
            col(Booking.unit_id).in_([unit_id for unit_id, _ in units]),
            col(Booking.state).in_(ON_DAY),
        )
    ):
        taken[child_id].add(unit_id)
    found = []
    for child_id, first, last, family_name, group_name in matching:
        free = tuple((unit_id, name) for unit_id, name in units if unit_id not in taken[child_id])
        if free:
            found.append(WalkIn(child_id, first, last, family_name, group_name, free))
    return found[:WALK_IN_LIMIT]


def _matches(terms: list[str], *names: str) -> bool:
    words = [word for name in names for part in fold(name).split() for word in (part, *part.split("-")[1:])]
    return all(any(word.startswith(term) for word in words) for term in terms)


def town_name(db: Session) -> str:
    """The collectivité's name, printed on the attendance sheet."""
    town = db.get(Town, 1)
    return town.name if town is not None else ""
