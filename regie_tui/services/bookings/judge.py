"""The judge of one cell alone: may this child have (or give up) this unit on this day?

Everything but the child's day as a whole (combinations and overlaps: :mod:`.days`), in the
order :mod:`.rules` states: what a ``set`` may give, the opening calendar and the
enrollment, a locked cell, attendance, the cancel of nothing, the notice deadline, capacity.
"""

from dataclasses import dataclass, field
from datetime import date, time

from regie_tui.formatting import short_date
from regie_tui.labels import ENROLLMENT_STATUS, label
from regie_tui.models import ActivityKind, Booking, BookingState, Enrollment, EnrollmentStatus
from regie_tui.services.bookings.cells import ATTENDANCE, STATE_LABELS, CellRequest, notice_text

NO_BOOKING = "Aucune réservation à annuler"
WAITING = "Limite de capacité atteinte : liste d'attente"
_ABSENCES = (BookingState.ABSENT_JUSTIFIED, BookingState.ABSENT_UNJUSTIFIED)


@dataclass(frozen=True)
class UnitTerms:
    """A unit and the terms its activity sets: its dates and its notice deadline."""

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
class JudgedCell:
    """One request cell as evaluated: the state it would get when allowed (None: freed)."""

    index: int
    request: CellRequest
    unit: UnitTerms | None
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


@dataclass(frozen=True)
class Leeway:
    """What the caller may set aside: the notice deadline, a locked cell (``may_unlock``), with a reason."""

    override_notice: bool
    may_unlock: bool
    reason: str


def judge_cell(
    cell: JudgedCell, existing: Booking | None, charged: bool, today: date, leeway: Leeway, closed: str
) -> None:
    """Decide one cell alone (``closed``: why the calendar or the enrollment forbids booking it)."""
    request, unit = cell.request, cell.unit
    assert unit is not None
    state = existing.state if existing is not None else None
    action, wanted = request.action, request.state
    if action == "set":
        cell.rule = _unsettable(wanted)
        if cell.rule:
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
    if (charged or state in ATTENDANCE) and not _unlocked(cell, state, charged, today, leeway, attendance=attendance):
        return
    if attendance:
        assert wanted is not None
        _judge_attendance(cell, state, wanted, booked, today)
        return
    if action == "cancel" and (state is None or state == BookingState.REFUSED):
        cell.rule = NO_BOOKING
        return
    if cell.notice_passed and not _notice_set_aside(cell, unit, leeway):
        return
    cell.allowed = True
    if action == "cancel":
        return
    target = BookingState.WAITING_LIST if action == "set" else BookingState.RESERVED
    if target == BookingState.RESERVED and cell.places is not None and cell.others >= cell.places:
        cell.waiting, cell.target, cell.rule = True, BookingState.WAITING_LIST, WAITING
    else:
        cell.target = target


def _unsettable(wanted: BookingState | None) -> str:
    """Why a ``set`` may not give ``wanted`` ('' when it may): the portal's states are the bannette's."""
    if wanted is None:
        return "État à donner manquant"
    if wanted in (BookingState.REQUESTED, BookingState.REFUSED):
        return f"« {STATE_LABELS[wanted]} » : état d'une demande du portail, décidée dans la bannette"
    return ""


def _lock(state: BookingState | None, charged: bool, day: date, today: date) -> str:
    """Why the cell is locked ('' when it is not): attendance recorded, or charged."""
    if state in ATTENDANCE and day <= today:  # an absence announced ahead is not yet a fact
        return (
            "présence relevée" if state in (BookingState.PRESENT, BookingState.PRESENT_SPECIAL) else "absence relevée"
        )
    return "facturée" if charged else ""


def _unlocked(
    cell: JudgedCell, state: BookingState | None, charged: bool, today: date, leeway: Leeway, *, attendance: bool
) -> bool:
    """Whether the cell may change: not locked, today's attendance corrected, or unlocked with a reason."""
    day = cell.request.day
    lock = _lock(state, charged, day, today)
    if not lock or (attendance and state in ATTENDANCE and day == today and not charged):
        return True
    if not leeway.may_unlock:
        cell.rule = f"Cellule verrouillée : {lock} (modifiable par un régisseur, avec un motif)"
        return False
    if not leeway.reason.strip():
        cell.rule = f"Cellule verrouillée : {lock} ; un motif est obligatoire pour la modifier"
        cell.overridable = "lock"
        return False
    cell.overrides.append(f"cellule verrouillée ({lock})")
    return True


def _judge_attendance(
    cell: JudgedCell, state: BookingState | None, wanted: BookingState, booked: bool, today: date
) -> None:
    """A presence or an absence: what happened is recorded (no notice, no capacity, no combination)."""
    absence = wanted in _ABSENCES
    if cell.request.day > today and not absence:  # an absence may be announced ahead, a presence not
        cell.rule = f"Pointage impossible : le {short_date(cell.request.day)} n'est pas encore arrivé"
        return
    if absence and not booked:
        cell.rule = "Absence impossible : l'enfant n'était pas réservé ce jour-là"
        return
    if wanted == BookingState.PRESENT and not booked:
        wanted = BookingState.PRESENT_SPECIAL  # came without a booking
    elif wanted == BookingState.PRESENT and state == BookingState.PRESENT_SPECIAL:
        wanted = state
    cell.allowed, cell.target = True, wanted


def _notice_set_aside(cell: JudgedCell, unit: UnitTerms, leeway: Leeway) -> bool:
    """Whether a cell past its notice deadline goes on: the agent overrides it, with a reason."""
    text = notice_text(
        notice_days=unit.notice_days, notice_time=unit.notice_time, business_days=unit.notice_business_days
    )
    if not leeway.override_notice:
        cell.rule = f"Délai de prévenance dépassé ({text})"
        cell.overridable = "notice"
        return False
    if not leeway.reason.strip():
        cell.rule = f"Délai de prévenance dépassé ({text}) ; un motif est obligatoire pour passer outre"
        cell.overridable = "notice"
        return False
    cell.overrides.append(f"délai de prévenance dépassé ({text})")
    return True


def enrollment_rule(day: date, unit: UnitTerms, enrollment: Enrollment | None) -> str:
    """Why the child may not book ``unit`` on ``day`` by its enrollment ('' when it may)."""
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
