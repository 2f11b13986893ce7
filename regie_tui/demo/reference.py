"""The demo town's fixed part: town, régies, agents, calendar, activities, rates, document types.

Read from ``town.toml`` (shipped in this package); written with explicit ids; returned as a :class:`Reference`
that the family generator uses (ids, prices, opening days, capacities). The activities are written
by :mod:`.activities`.
"""

import hashlib
import io
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from typing import Any, cast

import sqlalchemy as sa
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy.engine import Connection
from sqlmodel import col

from regie_tui.clock import PARIS
from regie_tui.demo.activities import ActivityInfo, write_activities
from regie_tui.demo.bulk import BulkWriter
from regie_tui.models import Agent, AuditEntry, Role
from regie_tui.services.billing.pricing import Bracket
from regie_tui.services.billing.run_invoices import PAYMENT_DELAY_DAYS
from regie_tui.services.bookings.calendar import SchoolYear, school_year
from regie_tui.services.trust.agents import grant_database_role

TOWN_FILE = "town.toml"  # beside this module, in the installed package
INVOICE_DAY = 5  # invoices of a month are issued on the 5th of the next (or the next weekday)


def load_town_settings() -> dict[str, Any]:
    """The demo town's settings, read from the package (works from a wheel as from the sources)."""
    with resources.files(__package__).joinpath(TOWN_FILE).open("rb") as f:
        return tomllib.load(f)


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
    regies = _write_town(writer, settings)
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
    activities = write_activities(
        writer, settings, year, facilities, regies, brackets, families=families, today=today, billed=len(billed_months)
    )

    diets = [(i, d["code"], d["label"]) for i, d in enumerate(settings["diet"], start=1)]
    writer.insert("diet", [(*diet, d.get("health", False)) for diet, d in zip(diets, settings["diet"], strict=True)])
    document_types, document_files = _write_documents(writer, settings, today=today)
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
        document_files={code: [sha for sha, _ in files] for code, files in document_files.items()},
        file_contents={sha: content for files in document_files.values() for sha, content in files},
        billed_months=billed_months,
        audit_ids_taken=conn.execute(sa.select(sa.func.max(col(AuditEntry.id)))).scalar() or 0,
    )


def _sample_files(type_name: str) -> list[tuple[str, bytes]]:
    """Three sample PDFs of a document type, as families send them: (sha256, content)."""
    samples = []
    for variant in range(1, 4):
        content = demo_pdf(
            type_name,
            [
                f"Pièce transmise par une famille (modèle {variant}).",
                "Document de démonstration : aucune donnée réelle.",
            ],
        )
        samples.append((hashlib.sha256(content).hexdigest(), content))
    return samples


def _write_town(writer: BulkWriter, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The town and its régies; the régies' settings with their ids."""
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
    return regies


def _write_documents(
    writer: BulkWriter, settings: dict[str, Any], *, today: date
) -> tuple[dict[str, int], dict[str, list[tuple[str, bytes]]]]:
    """Document types, the structure's documents and the news; the type ids by code and, by code,
    the sample files a family sends (sha256, content)."""
    town = settings["town"]
    document_types = {t["code"]: i for i, t in enumerate(settings["document_type"], start=1)}
    writer.insert(
        "document_type",
        [
            (i, t["name"], t["scope"], t.get("required", False), t.get("validity_months"), t.get("health", False))
            for i, t in enumerate(settings["document_type"], start=1)
        ],
    )
    document_files = {t["code"]: _sample_files(t["name"]) for t in settings["document_type"]}
    files = {sha: content for samples in document_files.values() for sha, content in samples}
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
    return document_types, document_files


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
