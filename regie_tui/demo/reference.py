"""The demo town's fixed part: town, régies, agents, calendar, activities, rates, document types.

Read from ``town.toml`` (shipped in this package); written with explicit ids; returned as a :class:`Reference`
that the family generator uses (ids, prices, opening days, capacities).
"""

import hashlib
import io
import math
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import resources
from typing import Any, cast

import sqlalchemy as sa
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy.engine import Connection
from sqlmodel import col

from regie_tui.clock import PARIS
from regie_tui.demo.bulk import BulkWriter, Row
from regie_tui.models import Agent, AuditEntry, Role
from regie_tui.services.billing.invoicing import PAYMENT_DELAY_DAYS
from regie_tui.services.billing.pricing import Bracket
from regie_tui.services.bookings.calendar import Period, SchoolYear, school_year
from regie_tui.services.trust.agents import grant_database_role

TOWN_FILE = "town.toml"  # beside this module, in the installed package
REFERENCE_FAMILIES = 300  # the town size the capacities of town.toml are written for
INVOICE_DAY = 5  # invoices of a month are issued on the 5th of the next (or the next weekday)
ATTENDANCE_TIME = time(18, 45)  # when the day's attendance is recorded


def load_town_settings() -> dict[str, Any]:
    """The demo town's settings, read from the package (works from a wheel as from the sources)."""
    with resources.files(__package__).joinpath(TOWN_FILE).open("rb") as f:
        return tomllib.load(f)


@dataclass(frozen=True)
class UnitInfo:
    id: int
    name: str
    activity: str  # the activity's name (invoice lines: invoicing.line_label)
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


@dataclass(frozen=True)
class MonthInfo:
    index: int
    first: date
    last: date
    issue_date: date
    due_date: date


@dataclass
class Reference:
    settings: dict[str, Any]
    year: SchoolYear
    today: date
    admin_id: int
    accueil_id: int
    regisseur_id: int
    regies: list[dict[str, Any]]  # settings + "id"
    schools: list[dict[str, Any]]  # facility settings + "id"
    activities: list[ActivityInfo]
    brackets: list[Bracket]  # in position order
    diets: list[tuple[int, str, str]]  # id, code, label
    document_types: dict[str, int]  # code -> id
    document_files: dict[str, list[str]]  # document type code -> sha256 of its sample files
    file_contents: dict[str, bytes]  # sha256 -> content of the sample files (what the portal sends)
    billed_months: list[MonthInfo]
    audit_ids_taken: int = 0  # audit entries already in the base (agents added before the seed)


def write_reference(
    conn: Connection,
    writer: BulkWriter,
    settings: dict[str, Any],
    *,
    families: int,
    today: date,
    admin_login: str,
) -> Reference:
    """Insert the town's fixed data and return what the family generator needs."""
    year = school_year(settings["school_year"], settings["town"]["school_zone"])
    town = settings["town"]
    writer.insert(
        "town",
        [
            (
                1,
                town["name"],
                town["service_name"],
                town["address"],
                town["postal_code"],
                town["city"],
                town["phone"],
                town["email"],
                town["school_zone"],
                town["appeal_notice"],
            )
        ],
    )
    regies = [dict(r, id=i) for i, r in enumerate(settings["regie"], start=1)]
    writer.insert(
        "regie",
        [
            (
                r["id"],
                r["code"],
                r["name"],
                r["invoice_prefix"],
                r["sepa_creditor_id"],
                r["payfip_client_number"],
                r["sepa_iban"],
                r["sepa_bic"],
            )
            for r in regies
        ],
    )
    admin_id, accueil_id, regisseur_id = _write_agents(conn, writer, settings, admin_login, year.start)
    writer.insert("day_off", [(writer.day(d), kind.value, name) for d, kind, name in year.days_off()])

    facilities = [dict(f, id=i) for i, f in enumerate(settings["facility"], start=1)]
    writer.insert("facility", [(f["id"], f["name"], f["kind"], f["address"]) for f in facilities])
    brackets = [
        Bracket(
            id=i,
            name=b["name"],
            min_qf=b["min_qf"],
            max_qf=b.get("max_qf"),
            resident=b.get("resident", True),
            position=i,
        )
        for i, b in enumerate(settings["bracket"], start=1)
    ]
    writer.insert("qf_bracket", [(b.id, b.name, b.min_qf, b.max_qf, b.resident, b.position) for b in brackets])

    months = [_month_info(i, _add_months(year.start, i)) for i in range(12)]
    billed_months = [m for m in months if m.issue_date <= today]
    activities = _write_activities(
        writer, settings, year, facilities, regies, brackets, families=families, today=today, billed=len(billed_months)
    )

    diets = [(i, d["code"], d["label"]) for i, d in enumerate(settings["diet"], start=1)]
    writer.insert("diet", [(*diet, d.get("health", False)) for diet, d in zip(diets, settings["diet"], strict=True)])
    document_types = {t["code"]: i for i, t in enumerate(settings["document_type"], start=1)}
    writer.insert(
        "document_type",
        [
            (i, t["name"], t["scope"], t.get("required", False), t.get("validity_months"), t.get("health", False))
            for i, t in enumerate(settings["document_type"], start=1)
        ],
    )
    files: dict[str, bytes] = {}
    document_files: dict[str, list[str]] = {}
    for t in settings["document_type"]:
        document_files[t["code"]] = []
        for variant in range(1, 4):
            content = demo_pdf(
                t["name"],
                [
                    f"Pièce transmise par une famille (modèle {variant}).",
                    "Document de démonstration : aucune donnée réelle.",
                ],
            )
            sha = hashlib.sha256(content).hexdigest()
            files[sha] = content
            document_files[t["code"]].append(sha)
    structure_rows = []
    for i, doc in enumerate(settings["structure_document"], start=1):
        content = demo_pdf(doc["title"], [doc["description"], town["name"] + " – " + town["service_name"]])
        sha = hashlib.sha256(content).hexdigest()
        files[sha] = content
        structure_rows.append(
            (
                i,
                doc["title"],
                doc["description"],
                sha,
                doc["filename"],
                writer.day(doc["published"]),
                doc.get("to_return", False),
            )
        )
    writer.insert("stored_file", [(sha, len(c), "application/pdf", c) for sha, c in files.items()])
    writer.insert("structure_document", structure_rows)
    writer.insert(
        "news",
        [
            (
                i,
                n["title"],
                n["body"],
                writer.day(today + timedelta(days=n["from_days"])),
                writer.day(today + timedelta(days=n["to_days"])) if "to_days" in n else None,
            )
            for i, n in enumerate(settings["news"], start=1)
        ],
    )
    return Reference(
        settings=settings,
        year=year,
        today=today,
        admin_id=admin_id,
        accueil_id=accueil_id,
        regisseur_id=regisseur_id,
        regies=regies,
        schools=[f for f in facilities if f["kind"] == "school"],
        activities=activities,
        brackets=brackets,
        diets=diets,
        document_types=document_types,
        document_files=document_files,
        file_contents={sha: files[sha] for shas in document_files.values() for sha in shas},
        billed_months=billed_months,
        audit_ids_taken=conn.execute(sa.select(sa.func.max(col(AuditEntry.id)))).scalar() or 0,
    )


def demo_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF, byte-identical for the same text (ReportLab's invariant mode)."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    page.setTitle(title)
    page.setFont("Helvetica-Bold", 16)
    page.drawString(72, 770, title)
    page.setFont("Helvetica", 10)
    for i, line in enumerate(lines):
        page.drawString(72, 740 - 16 * i, line)
    page.showPage()
    page.save()
    return buffer.getvalue()


def _write_agents(
    conn: Connection,
    writer: BulkWriter,
    settings: dict[str, Any],
    admin_login: str,
    year_start: date,
) -> tuple[int, int, int]:
    """The administrator and the demo agents; agents already in the base are kept as they are."""
    # Ids read from the table are never None (the model's ``int | None`` is for objects not yet added).
    existing = cast(dict[str, int], dict(conn.execute(sa.select(col(Agent.login), col(Agent.id))).all()))
    next_id = max(existing.values(), default=0) + 1
    created_at = writer.instant(datetime.combine(year_start - timedelta(days=90), time(9), PARIS))
    wanted = [(admin_login, "Administrateur", Role.ADMIN.value)]
    wanted += [(a["login"], a["display_name"], a["role"]) for a in settings["agent"]]
    ids: list[int] = []
    rows = []
    for login, display_name, role in wanted:
        if login not in existing:
            existing[login] = next_id
            rows.append((next_id, login, display_name, role, True, created_at))
            next_id += 1
        ids.append(existing[login])
    writer.insert("agent", rows)
    for _, login, _, role, _, _ in rows:  # on PostgreSQL, each new agent's login role in its group role
        grant_database_role(conn, login, Role(role))
    by_role = {role: agent_id for (_, _, role), agent_id in zip(wanted, ids, strict=True)}
    return ids[0], by_role.get(Role.ACCUEIL.value, ids[0]), by_role.get(Role.REGISSEUR.value, ids[0])


def _write_activities(
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
    scale = max(1.0, families / REFERENCE_FAMILIES)
    facility_by_code = {f["code"]: f for f in facilities}
    regie_index = {r["code"]: i for i, r in enumerate(regies)}
    attendance_at: dict[date, Any] = {}
    rows: dict[str, list[Row]] = {
        t: [] for t in ("activity", "activity_period", "unit", "unit_rule", "age_group", "capacity", "closure", "rate")
    }
    activities: list[ActivityInfo] = []
    for spec in settings["activity"]:
        for name, facility, periods, school_code in _instances(spec, year, facility_by_code, facilities):
            activity_id = len(rows["activity"]) + 1
            start, end = periods[0].start, periods[-1].end
            rows["activity"].append(
                (
                    activity_id,
                    regies[regie_index[spec["regie"]]]["id"],
                    facility["id"],
                    name,
                    spec["kind"],
                    writer.day(start),
                    writer.day(end),
                    spec["notice_days"],
                    writer.time(spec["notice_time"]),
                    spec.get("notice_business_days", False),
                    True,
                )
            )
            for period in periods:
                rows["activity_period"].append(
                    (
                        len(rows["activity_period"]) + 1,
                        activity_id,
                        period.name,
                        writer.day(period.start),
                        writer.day(period.end),
                        spec["weekdays"],
                    )
                )
            weekdays = {int(c) for c in spec["weekdays"]}
            open_days = [
                d for p in periods for d in p.days() if d.isoweekday() in weekdays and d not in year.public_holidays
            ]
            closed = _closures(spec, settings.get("closure", []), year, open_days)
            for day, reason in closed.items():
                rows["closure"].append((len(rows["closure"]) + 1, activity_id, writer.day(day), reason))
            open_days = [d for d in open_days if d not in closed]

            units: list[UnitInfo] = []
            unit_ids: dict[str, int] = {}
            for position, unit in enumerate(spec["unit"], start=1):
                unit_id = len(rows["unit"]) + 1
                unit_ids[unit["name"]] = unit_id
                rows["unit"].append(
                    (
                        unit_id,
                        activity_id,
                        unit["name"],
                        writer.time(unit["start"]),
                        writer.time(unit["end"]),
                        position,
                        unit.get("package"),
                    )
                )
                surcharge = unit.get("unbooked_surcharge", 0)
                penalty = unit.get("absence_penalty", 0)
                packages = unit.get("package_rates")
                rate_ids = []
                for i, (bracket, amount) in enumerate(zip(brackets, unit["rates"], strict=True)):
                    rate_ids.append(len(rows["rate"]) + 1)
                    rows["rate"].append(
                        (
                            rate_ids[-1],
                            unit_id,
                            bracket.id,
                            writer.day(year.start),
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
            rule_units = []
            for unit in spec["unit"]:
                for other in unit.get("requires_one_of", []):
                    rows["unit_rule"].append(
                        (len(rows["unit_rule"]) + 1, unit_ids[unit["name"]], unit_ids[other], "requires_one_of")
                    )
                if unit.get("requires_one_of"):
                    rule_units.append(unit_ids[unit["name"]])

            groups: list[GroupInfo] = []
            places: dict[int, int] = {}
            for position, group in enumerate(spec["group"], start=1):
                group_id = len(rows["age_group"]) + 1
                rows["age_group"].append(
                    (group_id, activity_id, group["name"], group["min_age"], group["max_age"], position)
                )
                groups.append(GroupInfo(group_id, group["name"], group["min_age"], group["max_age"], group["level"]))
                places[group_id] = math.ceil(group["places"] * scale)
                for unit in units:
                    rows["capacity"].append((len(rows["capacity"]) + 1, group_id, unit.id, None, places[group_id]))
            day_places: dict[tuple[int, Any], int] = {}
            for override in settings.get("capacity_override", []):
                if override["activity"] != spec["code"]:
                    continue
                for day in override["days"]:
                    if day not in open_days:
                        continue
                    for group in groups:
                        reduced = math.ceil(places[group.id] * override["share"])
                        day_places[(group.id, writer.day(day))] = reduced
                        for unit in units:
                            rows["capacity"].append(
                                (len(rows["capacity"]) + 1, group.id, unit.id, writer.day(day), reduced)
                            )

            days: list[DayInfo] = []
            for day in open_days:
                if day not in attendance_at:
                    attendance_at[day] = writer.instant(datetime.combine(day, ATTENDANCE_TIME, PARIS))
                month = (day.year - year.start.year) * 12 + day.month - year.start.month
                days.append(
                    (
                        writer.day(day),
                        day.isoweekday(),
                        day < today,
                        month if month < billed else -1,
                        day.day,
                        attendance_at[day],
                    )
                )
            activities.append(
                ActivityInfo(
                    id=activity_id,
                    code=spec["code"],
                    kind=spec["kind"],
                    name=name,
                    regie_index=regie_index[spec["regie"]],
                    school_code=school_code,
                    start=start,
                    end=end,
                    units=units,
                    groups=groups,
                    days=days,
                    first_days=open_days,
                    places=places,
                    day_places=day_places,
                    rule_units=tuple(rule_units),
                )
            )
    for table, table_rows in rows.items():  # in foreign-key order
        writer.insert(table, table_rows)
    return activities


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


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    return date(day.year + index // 12, index % 12 + 1, 1)


def _month_info(index: int, first: date) -> MonthInfo:
    following = _add_months(first, 1)
    issue = following.replace(day=INVOICE_DAY)
    while issue.isoweekday() > 5:
        issue += timedelta(days=1)
    return MonthInfo(
        index=index,
        first=first,
        last=following - timedelta(days=1),
        issue_date=issue,
        due_date=issue + timedelta(days=PAYMENT_DELAY_DAYS),
    )
