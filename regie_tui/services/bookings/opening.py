"""The opening calendar: whether an activity takes children on a day, and if not, why (French).

An activity opens within its dates, on the week days of a period of its own, except a
public holiday (every activity), a school-holiday day (the *school-time* activities only:
:data:`SCHOOL_TIME`) and a closure day of the activity.
"""

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from regie_tui.formatting import short_date
from regie_tui.models import Activity, ActivityKind, ActivityPeriod, Closure, DayOff, DayOffKind
from regie_tui.services.common.sql import id_col, select_columns

#: Activities that follow the school calendar: closed on school-holiday days.
SCHOOL_TIME = frozenset({ActivityKind.AFTER_SCHOOL, ActivityKind.CANTEEN, ActivityKind.WEDNESDAY})
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


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
