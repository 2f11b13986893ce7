"""The demo town's activities, written from ``town.toml``: their periods and closures, units and
rates, combination rules, age groups and capacities; and what the family generator needs of
each (:class:`ActivityInfo`: ids, prices, opening days, places).

Ids are given in the order rows are made (each table's next number), so the same settings
always give the same town.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from regie_tui.clock import PARIS
from regie_tui.demo.bulk import BulkWriter, Row
from regie_tui.services.billing.pricing import Bracket
from regie_tui.services.bookings.calendar import Period, SchoolYear

REFERENCE_FAMILIES = 300  # the town size the capacities of town.toml are written for
ATTENDANCE_TIME = time(18, 45)  # when the day's attendance is recorded
TABLES = ("activity", "activity_period", "unit", "unit_rule", "age_group", "capacity", "closure", "rate")


@dataclass(frozen=True)
class UnitInfo:
    id: int
    name: str
    activity: str  # the activity's name (invoice lines: run_invoices.line_label)
    package: str | None  # the package its booking triggers, e.g. "Forfait semaine"
    rates: tuple[int, ...]  # cents, in the order of Reference.brackets
    surcharge: int  # unbooked surcharge, cents
    penalty: int  # unjustified absence penalty, cents
    packages: tuple[int, ...] | None  # package (forfait) price per week, by bracket, for a unit with a package
    rate_ids: tuple[int, ...]  # the rate rows, in the order of Reference.brackets


@dataclass(frozen=True)
class GroupInfo:
    id: int
    name: str
    min_age: int
    max_age: int
    level: str  # "maternelle" or "elementaire": the school level the group is meant for


# One opening day of an activity, precomputed once for every child:
# (db day, ISO weekday, before today, billed month index or -1, day of month, attendance instant)
DayInfo = tuple[Any, int, bool, int, int, Any]


@dataclass
class ActivityInfo:
    id: int
    code: str
    kind: str
    name: str
    regie_index: int
    school_code: str | None  # the school of a per-school activity
    start: date
    end: date
    units: list[UnitInfo]
    groups: list[GroupInfo]
    days: list[DayInfo]
    first_days: list[date]  # date of days[i], for bisecting a start date
    places: dict[int, int]  # usual places by group id (every unit alike)
    day_places: dict[tuple[int, Any], int] = field(default_factory=dict)  # (group id, db day) overrides
    rule_units: tuple[int, ...] = ()  # units that need a partner unit the same day (Repas)


def write_activities(
    writer: BulkWriter,
    settings: dict[str, Any],
    year: SchoolYear,
    facilities: list[dict[str, Any]],
    regies: list[dict[str, Any]],
    brackets: list[Bracket],
    *,
    families: int,
    today: date,
    billed: int,
) -> list[ActivityInfo]:
    """Every activity of ``town.toml`` (one per school, per holiday period… as its entry says)."""
    rows = _ActivityRows(writer, settings, year, brackets, scale=max(1.0, families / REFERENCE_FAMILIES))
    facility_by_code = {f["code"]: f for f in facilities}
    regie_index = {r["code"]: i for i, r in enumerate(regies)}
    activities: list[ActivityInfo] = []
    for spec in settings["activity"]:
        for name, facility, periods, school_code in _instances(spec, year, facility_by_code, facilities):
            index = regie_index[spec["regie"]]
            activity_id = rows.activity(spec, name, regies[index]["id"], facility["id"], periods)
            open_days = rows.open_days(spec, activity_id, periods)
            units, unit_ids = rows.units(spec, activity_id, name)
            rule_units = rows.rules(spec, unit_ids)
            groups, places = rows.groups(spec, activity_id, units)
            day_places = rows.day_places(spec, groups, units, places, open_days)
            activities.append(
                ActivityInfo(
                    id=activity_id,
                    code=spec["code"],
                    kind=spec["kind"],
                    name=name,
                    regie_index=index,
                    school_code=school_code,
                    start=periods[0].start,
                    end=periods[-1].end,
                    units=units,
                    groups=groups,
                    days=rows.days(open_days, today=today, billed=billed),
                    first_days=open_days,
                    places=places,
                    day_places=day_places,
                    rule_units=tuple(rule_units),
                )
            )
    for table in TABLES:  # in foreign-key order
        writer.insert(table, rows.rows[table])
    return activities


class _ActivityRows:
    """The rows of the activities' tables, made in order (a row's id: its table's next number)."""

    def __init__(
        self, writer: BulkWriter, settings: dict[str, Any], year: SchoolYear, brackets: list[Bracket], *, scale: float
    ) -> None:
        self.writer = writer
        self.settings = settings
        self.year = year
        self.brackets = brackets
        self.scale = scale
        self.rows: dict[str, list[Row]] = {table: [] for table in TABLES}
        self.attendance_at: dict[date, Any] = {}

    def next_id(self, table: str) -> int:
        return len(self.rows[table]) + 1

    def activity(self, spec: dict[str, Any], name: str, regie_id: int, facility_id: int, periods: list[Period]) -> int:
        """The activity's row and its periods' rows; its id."""
        w = self.writer
        activity_id = self.next_id("activity")
        start, end = periods[0].start, periods[-1].end
        self.rows["activity"].append(
            (
                activity_id,
                regie_id,
                facility_id,
                name,
                spec["kind"],
                w.day(start),
                w.day(end),
                spec["notice_days"],
                w.time(spec["notice_time"]),
                spec.get("notice_business_days", False),
                True,
            )
        )
        for period in periods:
            self.rows["activity_period"].append(
                (
                    self.next_id("activity_period"),
                    activity_id,
                    period.name,
                    w.day(period.start),
                    w.day(period.end),
                    spec["weekdays"],
                )
            )
        return activity_id

    def open_days(self, spec: dict[str, Any], activity_id: int, periods: list[Period]) -> list[date]:
        """The days the activity opens: its week days in its periods, but public holidays and its closures
        (whose rows are written)."""
        weekdays = {int(c) for c in spec["weekdays"]}
        year = self.year
        open_days = [
            d for p in periods for d in p.days() if d.isoweekday() in weekdays and d not in year.public_holidays
        ]
        closed = _closures(spec, self.settings.get("closure", []), year, open_days)
        for day, reason in closed.items():
            self.rows["closure"].append((self.next_id("closure"), activity_id, self.writer.day(day), reason))
        return [d for d in open_days if d not in closed]

    def units(self, spec: dict[str, Any], activity_id: int, name: str) -> tuple[list[UnitInfo], dict[str, int]]:
        """The activity's units and their rates (one per bracket, from the start of the year)."""
        w = self.writer
        units: list[UnitInfo] = []
        unit_ids: dict[str, int] = {}
        for position, unit in enumerate(spec["unit"], start=1):
            unit_id = self.next_id("unit")
            unit_ids[unit["name"]] = unit_id
            self.rows["unit"].append(
                (
                    unit_id,
                    activity_id,
                    unit["name"],
                    w.time(unit["start"]),
                    w.time(unit["end"]),
                    position,
                    unit.get("package"),
                )
            )
            surcharge = unit.get("unbooked_surcharge", 0)
            penalty = unit.get("absence_penalty", 0)
            packages = unit.get("package_rates")
            rate_ids = []
            for i, (bracket, amount) in enumerate(zip(self.brackets, unit["rates"], strict=True)):
                rate_ids.append(self.next_id("rate"))
                self.rows["rate"].append(
                    (
                        rate_ids[-1],
                        unit_id,
                        bracket.id,
                        w.day(self.year.start),
                        amount,
                        surcharge,
                        penalty,
                        packages[i] if packages else None,
                    )
                )
            units.append(
                UnitInfo(
                    unit_id,
                    unit["name"],
                    name,
                    unit.get("package"),
                    tuple(unit["rates"]),
                    surcharge,
                    penalty,
                    tuple(packages) if packages else None,
                    tuple(rate_ids),
                )
            )
        return units, unit_ids

    def rules(self, spec: dict[str, Any], unit_ids: dict[str, int]) -> list[int]:
        """The units' ``requires_one_of`` rules; the units that need a partner."""
        rule_units = []
        for unit in spec["unit"]:
            for other in unit.get("requires_one_of", []):
                self.rows["unit_rule"].append(
                    (self.next_id("unit_rule"), unit_ids[unit["name"]], unit_ids[other], "requires_one_of")
                )
            if unit.get("requires_one_of"):
                rule_units.append(unit_ids[unit["name"]])
        return rule_units

    def groups(
        self, spec: dict[str, Any], activity_id: int, units: list[UnitInfo]
    ) -> tuple[list[GroupInfo], dict[int, int]]:
        """The age groups and their usual places on every unit (scaled to the town's size)."""
        groups: list[GroupInfo] = []
        places: dict[int, int] = {}
        for position, group in enumerate(spec["group"], start=1):
            group_id = self.next_id("age_group")
            self.rows["age_group"].append(
                (group_id, activity_id, group["name"], group["min_age"], group["max_age"], position)
            )
            groups.append(GroupInfo(group_id, group["name"], group["min_age"], group["max_age"], group["level"]))
            places[group_id] = math.ceil(group["places"] * self.scale)
            for unit in units:
                self.rows["capacity"].append((self.next_id("capacity"), group_id, unit.id, None, places[group_id]))
        return groups, places

    def day_places(
        self,
        spec: dict[str, Any],
        groups: list[GroupInfo],
        units: list[UnitInfo],
        places: dict[int, int],
        open_days: list[date],
    ) -> dict[tuple[int, Any], int]:
        """The days ``town.toml`` reduces the places of the activity: (group id, db day) → places."""
        day_places: dict[tuple[int, Any], int] = {}
        for override in self.settings.get("capacity_override", []):
            if override["activity"] != spec["code"]:
                continue
            for day in override["days"]:
                if day not in open_days:
                    continue
                for group in groups:
                    reduced = math.ceil(places[group.id] * override["share"])
                    day_places[(group.id, self.writer.day(day))] = reduced
                    for unit in units:
                        self.rows["capacity"].append(
                            (self.next_id("capacity"), group.id, unit.id, self.writer.day(day), reduced)
                        )
        return day_places

    def days(self, open_days: list[date], *, today: date, billed: int) -> list[DayInfo]:
        """Each opening day as the generator reads it (:data:`DayInfo`)."""
        year = self.year
        days: list[DayInfo] = []
        for day in open_days:
            if day not in self.attendance_at:
                self.attendance_at[day] = self.writer.instant(datetime.combine(day, ATTENDANCE_TIME, PARIS))
            month = (day.year - year.start.year) * 12 + day.month - year.start.month
            days.append(
                (
                    self.writer.day(day),
                    day.isoweekday(),
                    day < today,
                    month if month < billed else -1,
                    day.day,
                    self.attendance_at[day],
                )
            )
        return days


def _instances(
    spec: dict[str, Any],
    year: SchoolYear,
    facility_by_code: dict[str, dict[str, Any]],
    facilities: list[dict[str, Any]],
) -> list[tuple[str, dict[str, Any], list[Period], str | None]]:
    """(name, facility, periods, school code) of each activity a town.toml entry stands for."""
    if spec["schedule"] == "holidays":
        out: list[tuple[str, dict[str, Any], list[Period], str | None]] = []
        for holiday in year.holidays:
            weekdays = holiday.weekdays()
            if not weekdays:
                continue
            label = holiday.name[0].lower() + holiday.name[1:]
            name = spec["name"].format(holiday=label, year=weekdays[0].year)
            out.append(
                (name, facility_by_code[spec["facility"]], [Period(holiday.name, weekdays[0], weekdays[-1])], None)
            )
        return out
    terms = list(year.terms)
    if spec.get("per_school"):
        return [(f"{spec['name']} {f['short']}", f, terms, f["code"]) for f in facilities if f["kind"] == "school"]
    return [(spec["name"], facility_by_code[spec["facility"]], terms, None)]


def _closures(
    spec: dict[str, Any],
    closures: list[dict[str, Any]],
    year: SchoolYear,
    open_days: list[date],
) -> dict[date, str]:
    """Closed days among ``open_days``: town.toml closures, and the bridges for term activities."""
    periods = [Period(c["reason"], c["start"], c["end"]) for c in closures if c["activity"] == spec["code"]]
    if spec["schedule"] == "terms":
        periods += year.bridges
    closed = {day: p.name for p in periods for day in open_days if day in p}
    return dict(sorted(closed.items()))
