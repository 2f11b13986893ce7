"""The school-year calendar: public holidays, school holidays of a zone, and the terms between.

Public holidays come from the ``holidays`` package (names in French), school holidays
from ``vacances_scolaires_france``; both ship their data, nothing is fetched.
A school year runs from 1 September to 31 August. Its *terms* (périodes) are the school
days between two holiday periods; a short closure inside a term (the pont de
l'Ascension) is a *bridge*, not a holiday period.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

import holidays
from vacances_scolaires_france import SchoolHolidayDates  # type: ignore[import-untyped]  # ships no type hints

from regie_tui.codes import DayOffKind

SCHOOL_ZONES = ("A", "B", "C")
BRIDGE_MAX_DAYS = 4  # a school closure this short is a pont, not a holiday period


@dataclass(frozen=True)
class Period:
    """A named, inclusive date range."""

    name: str
    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def days(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)

    def weekdays(self) -> list[date]:
        """Monday to Friday within the period."""
        return [d for d in self.days() if d.isoweekday() <= 5]


@dataclass(frozen=True)
class SchoolYear:
    """One school year of a zone, 1 September to 31 August."""

    zone: str
    start: date
    end: date
    terms: tuple[Period, ...]
    holidays: tuple[Period, ...]
    bridges: tuple[Period, ...]
    public_holidays: dict[date, str] = field(hash=False)

    @property
    def label(self) -> str:
        return f"{self.start.year}-{self.end.year}"

    def days_off(self) -> list[tuple[date, DayOffKind, str]]:
        """Every public holiday and school-holiday day of the year, by day (a public holiday wins)."""
        days: dict[date, tuple[DayOffKind, str]] = {}
        for period in (*self.holidays, *self.bridges):
            for day in period.days():
                days[day] = (DayOffKind.SCHOOL_HOLIDAY, period.name)
        for day, name in self.public_holidays.items():
            days[day] = (DayOffKind.PUBLIC_HOLIDAY, name)
        return [(day, kind, name) for day, (kind, name) in sorted(days.items())]

    def is_school_day(self, day: date) -> bool:
        """A day with classes: in a term, Monday to Friday, neither public holiday nor bridge."""
        return (
            day.isoweekday() <= 5
            and day not in self.public_holidays
            and any(day in term for term in self.terms)
            and not any(day in bridge for bridge in self.bridges)
        )


def public_holidays(years: list[int]) -> dict[date, str]:
    """French public holidays (jours fériés, metropolitan France) of the given years."""
    return dict(sorted(holidays.country_holidays("FR", years=years, language="fr").items()))


@cache
def _school_holiday_dates() -> SchoolHolidayDates:
    return SchoolHolidayDates()


def school_holidays(zone: str, start: date, end: date) -> list[Period]:
    """The school-holiday periods of ``zone`` that meet [start, end], clipped to it."""
    if zone not in SCHOOL_ZONES:
        raise ValueError(f"zone {zone!r}: expected one of {SCHOOL_ZONES}")
    data = _school_holiday_dates()
    key = data.zone_key(zone)
    periods: list[Period] = []
    for year in range(start.year, end.year + 1):
        for day, row in sorted(data.holidays_for_year(year).items()):
            if not (start <= day <= end and row[key]):
                continue
            name = row["nom_vacances"]
            last = periods[-1] if periods else None
            if last and last.name == name and last.end + timedelta(days=1) == day:
                periods[-1] = Period(name, last.start, day)
            else:
                periods.append(Period(name, day, day))
    return periods


def school_year(first_year: int, zone: str) -> SchoolYear:
    """The school year starting in September of ``first_year`` (e.g. 2026 for 2026-2027)."""
    start, end = date(first_year, 9, 1), date(first_year + 1, 8, 31)
    closures = school_holidays(zone, start, end)
    holiday_periods = tuple(p for p in closures if (p.end - p.start).days + 1 > BRIDGE_MAX_DAYS)
    bridges = tuple(p for p in closures if (p.end - p.start).days + 1 <= BRIDGE_MAX_DAYS)
    terms: list[Period] = []
    term_start = start
    for holiday in (*holiday_periods, Period("", end + timedelta(days=1), end)):
        term_end = holiday.start - timedelta(days=1)
        term_start = _next_weekday(term_start)
        term_end = _previous_weekday(term_end)
        if term_start <= term_end:
            terms.append(Period(f"Période {len(terms) + 1}", term_start, term_end))
        term_start = holiday.end + timedelta(days=1)
    return SchoolYear(
        zone=zone,
        start=start,
        end=end,
        terms=tuple(terms),
        holidays=holiday_periods,
        bridges=bridges,
        public_holidays={d: n for d, n in public_holidays([first_year, first_year + 1]).items() if start <= d <= end},
    )


def _next_weekday(day: date) -> date:
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day


def _previous_weekday(day: date) -> date:
    while day.isoweekday() > 5:
        day -= timedelta(days=1)
    return day
