"""A child's reservation grid: rows are units grouped by activity, columns are days.

Every cell gets one appearance of the portal's legend (domain.md), derived from the stored
state and the rules of :mod:`.rules` judged for that cell alone; and a French
explanation for the status line (why it is impossible, which rule, who booked it and
when). Edits go through the same rules: :func:`check_edits` at the key press,
:func:`save_edits` in one transaction, refused with :class:`~.cells.StaleCells`
when a cell changed since the grid was loaded.

A grid loads one child over one period (a day, a week, a month): a fixed handful of
queries whatever the number of cells.
"""

import calendar as month_calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import or_
from sqlmodel import Session, col, select

from regie_tui.errors import NotFound
from regie_tui.formatting import local_datetime, money, short_date
from regie_tui.models import (
    Activity,
    ActivityKind,
    Agent,
    Booking,
    BookingState,
    Charge,
    Child,
    Enrollment,
    EnrollmentStatus,
    Family,
    Invoice,
    InvoiceLine,
    Source,
    Unit,
)
from regie_tui.services.bookings.cells import (
    FREE_STAMP,
    STATE_LABELS,
    CellCheck,
    CellRequest,
    CellStamp,
    notice_deadline,
)
from regie_tui.services.bookings.opening import opening_calendar
from regie_tui.services.bookings.rules import apply_cells, check_cells
from regie_tui.services.common.sql import id_col, select_columns
from regie_tui.services.trust.agents import AgentInfo


class View(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


NEXT_VIEW = {View.WEEK: View.MONTH, View.MONTH: View.DAY, View.DAY: View.WEEK}


def period_of(view: View, day: date) -> tuple[date, date]:
    """The first and last day shown by ``view`` around ``day``."""
    if view == View.DAY:
        return day, day
    if view == View.WEEK:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    last = month_calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def shift(view: View, day: date, steps: int) -> date:
    """``day`` moved by ``steps`` periods of ``view`` (the same day of the month when it exists)."""
    if view == View.DAY:
        return day + timedelta(days=steps)
    if view == View.WEEK:
        return day + timedelta(weeks=steps)
    month_index = day.year * 12 + day.month - 1 + steps
    year, month = divmod(month_index, 12)
    last = month_calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


class Appearance(StrEnum):
    """What a cell shows: the portal's legend, plus a free cell."""

    FREE = "free"
    PRESENCE = "presence"
    PRESENCE_SPECIAL = "presence_special"
    ABSENCE = "absence"
    IMPOSSIBLE = "impossible"
    NOT_ALLOWED = "not_allowed"
    CAPACITY = "capacity"
    LOCKED = "locked"
    REQUESTED = "requested"
    PAYABLE = "payable"
    BILLED = "billed"
    PACKAGE = "package"
    WAITING_LIST = "waiting_list"


@dataclass(frozen=True)
class LegendEntry:
    appearance: Appearance
    glyph: str
    label: str


#: The legend, in the portal's order; a glyph for each, so that no colour is needed.
LEGEND = (
    LegendEntry(Appearance.FREE, "·", "Libre (réservable)"),
    LegendEntry(Appearance.PRESENCE, "●", "Présence (réservée)"),
    LegendEntry(Appearance.PRESENCE_SPECIAL, "+", "Présence spéciale (venu sans réservation)"),
    LegendEntry(Appearance.ABSENCE, "a", "Absence (a : justifiée, A : non justifiée)"),
    LegendEntry(Appearance.IMPOSSIBLE, "×", "Réservation/annulation impossible (- : fermé)"),
    LegendEntry(Appearance.NOT_ALLOWED, "!", "Non autorisée (combinaison d'unités)"),
    LegendEntry(Appearance.CAPACITY, "C", "Limite de capacité atteinte"),
    LegendEntry(Appearance.LOCKED, "✓", "Réel (verrouillé : présence relevée)"),
    LegendEntry(Appearance.REQUESTED, "?", "En attente de validation"),
    LegendEntry(Appearance.PAYABLE, "€", "Payante (à régler)"),
    LegendEntry(Appearance.BILLED, "F", "Facturé"),
    LegendEntry(Appearance.PACKAGE, "*", "Déclenche un forfait"),
    LegendEntry(Appearance.WAITING_LIST, "L", "Réservation en liste d'attente"),
)
GLYPHS = {entry.appearance: entry.glyph for entry in LEGEND}
CLOSED_GLYPH = "-"
UNJUSTIFIED_GLYPH = "A"


@dataclass(frozen=True)
class GridRow:
    """A unit of an activity the child is enrolled in."""

    unit_id: int
    unit_name: str
    start: time
    end: time
    activity_id: int
    activity_name: str
    package: str | None
    notice_days: int
    notice_time: time
    notice_business_days: bool

    @property
    def hours(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class GridCell:
    day: date
    unit_id: int
    state: BookingState | None  # None: free
    appearance: Appearance
    glyph: str
    stamp: CellStamp  # as loaded: the save is refused if it changed since
    explanation: str  # the status line's French sentence


@dataclass(frozen=True)
class ChildGrid:
    child_id: int
    child_name: str
    family_id: int
    family_name: str
    first: date
    last: date
    rows: tuple[GridRow, ...]
    days: tuple[date, ...]
    closed_days: frozenset[date]  # no row of the grid opens that day
    cells: Mapping[tuple[date, int], GridCell]

    def cell(self, day: date, unit_id: int) -> GridCell:
        return self.cells[(day, unit_id)]


_KIND_ORDER = {kind: i for i, kind in enumerate(ActivityKind)}
_WHO = {Source.PORTAL: "le portail famille", Source.SYSTEM: "le système", Source.AGENT: "un agent"}


def _rows(db: Session, *, child_id: int, first: date, last: date) -> list[GridRow]:
    """The units of the activities the child is enrolled in (accepted) or booked on over the period."""
    booked_activities = (
        select(Unit.activity_id)
        .join(Booking, col(Booking.unit_id) == Unit.id)
        .where(Booking.child_id == child_id, Booking.day >= first, Booking.day <= last)
    )
    enrolled = select(Enrollment.activity_id).where(
        Enrollment.child_id == child_id, Enrollment.status == EnrollmentStatus.ACCEPTED
    )
    rows = db.exec(
        select_columns(
            id_col(Unit.id),
            col(Unit.name),
            col(Unit.start_time),
            col(Unit.end_time),
            col(Unit.position),
            col(Unit.package),
            id_col(Activity.id),
            col(Activity.name),
            col(Activity.kind),
            col(Activity.start_date),
            col(Activity.notice_days),
            col(Activity.notice_time),
            col(Activity.notice_business_days),
        )
        .join(Activity, col(Activity.id) == Unit.activity_id)
        .where(
            or_(
                col(Activity.id).in_(booked_activities),
                col(Activity.id).in_(enrolled) & (col(Activity.start_date) <= last) & (col(Activity.end_date) >= first),
            )
        )
    ).all()
    rows = sorted(rows, key=lambda r: (_KIND_ORDER[ActivityKind(r[8])], r[9], r[7], r[4], r[0]))
    return [
        GridRow(unit_id, name, start, end, activity_id, activity, package, *notice)
        for unit_id, name, start, end, _, package, activity_id, activity, _, _, *notice in rows
    ]


def child_grid(db: Session, *, child_id: int, first: date, last: date, now: datetime) -> ChildGrid:
    """The child's grid from ``first`` to ``last``: every cell's appearance and explanation."""
    found = db.exec(
        select_columns(col(Child.first_name), col(Child.last_name), col(Child.family_id), col(Family.name))
        .join(Family, col(Family.id) == Child.family_id)
        .where(Child.id == child_id)
    ).first()
    if found is None:
        raise NotFound(f"Enfant introuvable (n° {child_id}).")
    first_name, last_name, family_id, family_name = found
    rows = _rows(db, child_id=child_id, first=first, last=last)
    days = tuple(first + timedelta(days=i) for i in range((last - first).days + 1))
    bookings = _bookings(db, child_id, first, last)
    charges = _charges(db, family_id, child_id, first, last)
    opening = opening_calendar(db, activity_ids={row.activity_id for row in rows}, first=first, last=last)
    closed_by_row = {(day, row.unit_id): opening.closed_reason(day, row.activity_id) for day in days for row in rows}
    requests = _requests(days, rows, bookings, closed_by_row)
    checks = check_cells(db, child_id=child_id, cells=requests, now=now, each_alone=True) if requests else []
    judged = {(check.day, check.unit_id): check for check in checks}
    cells: dict[tuple[date, int], GridCell] = {}
    for day in days:
        for row in rows:
            key = (day, row.unit_id)
            found_booking, who = bookings.get(key, (None, None))
            check = judged.get(key)
            if check is None:
                cells[key] = GridCell(
                    day,
                    row.unit_id,
                    None,
                    Appearance.IMPOSSIBLE,
                    CLOSED_GLYPH,
                    CellStamp(found_booking.id, found_booking.version) if found_booking else FREE_STAMP,
                    f"Réservation impossible : {closed_by_row[key]}",
                )
            else:
                cells[key] = _cell(check, row, found_booking, who, charges, closed_by_row[key])
    closed_days = frozenset(day for day in days if rows and all(closed_by_row[(day, r.unit_id)] for r in rows))
    return ChildGrid(
        child_id=child_id,
        child_name=f"{first_name} {last_name}",
        family_id=family_id,
        family_name=family_name,
        first=first,
        last=last,
        rows=tuple(rows),
        days=days,
        closed_days=closed_days,
        cells=cells,
    )


def _bookings(
    db: Session, child_id: int, first: date, last: date
) -> dict[tuple[date, int], tuple[Booking, str | None]]:
    """The child's bookings over the period, each with the name of the agent who last changed it."""
    return {
        (b.day, b.unit_id): (b, name)
        for b, name in db.exec(
            select(Booking, Agent.display_name)
            .outerjoin(Agent, col(Agent.id) == Booking.changed_by_id)
            .where(Booking.child_id == child_id, Booking.day >= first, Booking.day <= last)
        )
    }


def _charges(db: Session, family_id: int, child_id: int, first: date, last: date) -> dict[int, tuple[int, str | None]]:
    """Booking id → (amount charged, number of the invoice that billed it, if any)."""
    return {
        booking_id: (amount, number)
        for booking_id, amount, number in db.exec(
            select_columns(col(Charge.booking_id), col(Charge.amount_cents), col(Invoice.number))
            .outerjoin(InvoiceLine, col(InvoiceLine.id) == Charge.invoice_line_id)
            .outerjoin(Invoice, col(Invoice.id) == InvoiceLine.invoice_id)
            .where(
                Charge.family_id == family_id,
                Charge.child_id == child_id,
                Charge.day >= first,
                Charge.day <= last,
                col(Charge.booking_id).is_not(None),
            )
        )
    }


def _requests(
    days: Sequence[date],
    rows: Sequence[GridRow],
    bookings: Mapping[tuple[date, int], tuple[Booking, str | None]],
    closed_by_row: Mapping[tuple[date, int], str],
) -> list[CellRequest]:
    """What the rules judge: each booked cell (may it be freed?) and each free cell of an open day."""
    requests = []
    for day in days:
        for row in rows:
            stored = bookings.get((day, row.unit_id))
            held = stored is not None and stored[0].state != BookingState.REFUSED
            if held or not closed_by_row[(day, row.unit_id)]:
                requests.append(CellRequest(day=day, unit_id=row.unit_id, action="cancel" if held else "book"))
    return requests


def _cell(
    check: CellCheck,
    row: GridRow,
    booking: Booking | None,
    who: str | None,
    charges: Mapping[int, tuple[int, str | None]],
    closed: str,
) -> GridCell:
    state = booking.state if booking is not None and booking.state != BookingState.REFUSED else None
    stamp = CellStamp(booking.id, booking.version) if booking is not None else FREE_STAMP

    def made(appearance: Appearance, explanation: str, glyph: str | None = None) -> GridCell:
        return GridCell(check.day, check.unit_id, state, appearance, glyph or GLYPHS[appearance], stamp, explanation)

    if state is None:
        refused = " (demande du portail refusée)" if booking is not None else ""
        if not check.allowed:
            glyph = CLOSED_GLYPH if closed else None
            return made(Appearance.IMPOSSIBLE, f"Réservation impossible : {check.rule}{refused}", glyph)
        places = _places(check)
        if check.waiting_list:
            return made(
                Appearance.CAPACITY, f"Limite de capacité atteinte : une réservation irait en liste d'attente{refused}"
            )
        deadline = _deadline_text(check, row)
        if row.package:
            return made(Appearance.PACKAGE, f"Libre : la réserver déclenche le « {row.package} »{deadline}{places}")
        return made(Appearance.FREE, f"Libre{deadline}{places}{refused}")
    assert booking is not None
    author = who or _WHO.get(booking.source, "un agent")
    at = local_datetime(booking.changed_at)
    history = f"{STATE_LABELS[state].capitalize()} — par {author}, le {at}"
    charge = charges.get(booking.id or 0)
    if charge is not None:
        amount, number = charge
        if number:
            return made(Appearance.BILLED, f"Facturé (facture {number}, {money(amount)}) — {history}")
        return made(Appearance.PAYABLE, f"Payante : prestation de {money(amount)} à facturer — {history}")
    if state == BookingState.PRESENT:
        return made(Appearance.LOCKED, f"Réel verrouillé : {history}")
    if state == BookingState.PRESENT_SPECIAL:
        return made(Appearance.PRESENCE_SPECIAL, history)
    if state in (BookingState.ABSENT_JUSTIFIED, BookingState.ABSENT_UNJUSTIFIED):
        glyph = UNJUSTIFIED_GLYPH if state == BookingState.ABSENT_UNJUSTIFIED else None
        return made(Appearance.ABSENCE, history, glyph)
    if state == BookingState.REQUESTED:
        return made(Appearance.REQUESTED, f"{history} (à décider dans la bannette)")
    if state == BookingState.WAITING_LIST:
        return made(
            Appearance.WAITING_LIST, f"En liste d'attente — par {author}, le {local_datetime(booking.changed_at)}"
        )
    if check.conflict:
        return made(Appearance.NOT_ALLOWED, f"Non autorisée : {check.conflict} — {history}")
    if not check.allowed:
        return made(Appearance.PRESENCE, f"{history} — annulation impossible : {check.rule}")
    return made(Appearance.PRESENCE, f"{history}{_deadline_text(check, row, verb='annulable')}")


def _places(check: CellCheck) -> str:
    if check.places_left is None:
        return ""
    return f" — {check.places_left} place(s) restante(s)"


def _deadline_text(check: CellCheck, row: GridRow, *, verb: str = "réservable") -> str:
    deadline = notice_deadline(
        check.day, notice_days=row.notice_days, notice_time=row.notice_time, business_days=row.notice_business_days
    )
    return f" — {verb} avant le {short_date(deadline.date())} à {deadline:%H:%M}"


def check_edits(
    db: Session,
    *,
    child_id: int,
    edits: Sequence[CellRequest],
    agent: AgentInfo,
    now: datetime,
    override_notice: bool = False,
    reason: str = "",
) -> list[CellCheck]:
    """What the rules say of the grid's pending edits, judged together (the key press)."""
    return check_cells(
        db,
        child_id=child_id,
        cells=edits,
        now=now,
        override_notice=override_notice,
        reason=reason,
        agent=agent,
    )


def save_edits(
    db: Session,
    *,
    child_id: int,
    edits: Sequence[CellRequest],
    loaded: Mapping[tuple[date, int], CellStamp],
    agent: AgentInfo,
    now: datetime,
    override_notice: bool = False,
    reason: str = "",
) -> list[CellCheck]:
    """Write the pending edits in the caller's transaction; StaleCells if a cell moved since loaded."""
    return apply_cells(
        db,
        child_id=child_id,
        cells=edits,
        agent_id=agent.id,
        source=Source.AGENT,
        now=now,
        override_notice=override_notice,
        reason=reason,
        agent=agent,
        loaded=loaded,
    )


__all__ = [
    "CLOSED_GLYPH",
    "LEGEND",
    "NEXT_VIEW",
    "Appearance",
    "ChildGrid",
    "GridCell",
    "GridRow",
    "View",
    "check_edits",
    "child_grid",
    "period_of",
    "save_edits",
    "shift",
]
