"""The demo town: a realistic régie to train on, from 300 families to a large city.

``seed_demo_town`` fills an empty, migrated database with the town of ``data/town.toml``:
its calendar, activities and rates, then families with their children, enrolments,
a school year of bookings with attendance up to ``today``, invoices for the months
already billed, payments, documents, and work waiting in the bannette.
Rows go to the database in bulk (see ``demo_bulk``), in one transaction.
"""

from dataclasses import dataclass, fields
from datetime import date

import sqlalchemy as sa
from babel.numbers import format_decimal
from sqlalchemy.engine import Engine

from regie_tui.errors import RegieError
from regie_tui.models import Family, Town
from regie_tui.services.demo_bulk import BulkWriter
from regie_tui.services.demo_families import FamilyGenerator
from regie_tui.services.demo_reference import load_town_settings, write_reference

SQLITE_SEED_CACHE_KIB = 256 * 1024  # page cache while loading: the booking indexes stay in memory


@dataclass(frozen=True)
class DemoSummary:
    """What the seed created, as the CLI reports it."""

    families: int
    guardians: int
    children: int
    enrollments: int
    bookings: int
    invoices: int
    payments: int
    credit_notes: int
    pending_change_requests: int
    pending_documents: int
    enrollment_requests: int
    booking_requests: int
    unread_messages: int

    _LABELS = {
        "families": "Familles",
        "guardians": "Responsables légaux",
        "children": "Enfants",
        "enrollments": "Inscriptions",
        "bookings": "Réservations",
        "invoices": "Factures",
        "payments": "Règlements",
        "credit_notes": "Avoirs",
        "pending_change_requests": "Demandes de modification à traiter",
        "pending_documents": "Documents à valider",
        "enrollment_requests": "Demandes d'inscription",
        "booking_requests": "Demandes de réservation",
        "unread_messages": "Messages non lus",
    }

    def lines(self) -> list[str]:
        return [f"{self._LABELS[f.name]} : {format_decimal(getattr(self, f.name), locale='fr_FR')}"
                for f in fields(self)]


def seed_demo_town(
    engine: Engine, *, families: int = 300, seed: int = 1, today: date, admin_login: str,
) -> DemoSummary:
    """Create the demo town in an empty, migrated database; all or nothing.

    The same ``seed`` and ``today`` give the same rows, ids included. Refuses a database
    that already holds families (or a town).
    """
    if families < 1:
        raise RegieError("Le nombre de familles doit être d'au moins 1.")
    settings = load_town_settings()
    with engine.begin() as conn:
        existing = conn.execute(sa.select(sa.func.count()).select_from(Family)).scalar_one()
        if existing:
            raise RegieError(
                f"La base contient déjà des familles : {format_decimal(existing, locale='fr_FR')}. "
                "La ville de démonstration s'installe dans une base sans famille : "
                "créez une nouvelle base (regie db upgrade --db …) ou choisissez-en une autre."
            )
        town = conn.execute(sa.select(Town.name)).scalar_one_or_none()
        if town is not None:
            raise RegieError(
                f"La base contient déjà une collectivité : « {town} ». "
                "La ville de démonstration s'installe dans une base neuve."
            )
        writer = BulkWriter(conn)
        with _fast_sqlite_load(conn):
            reference = write_reference(conn, writer, settings, families=families, today=today,
                                        admin_login=admin_login)
            writer.restart_ids("booking")
            generator = FamilyGenerator(reference, writer, seed=seed)
            generator.generate(families)
            writer.sync_sequences()
        booking_requests = conn.execute(
            sa.text("SELECT count(*) FROM booking WHERE state = 'requested'")
        ).scalar_one()
    counts = generator.counts
    return DemoSummary(
        families=counts["families"],
        guardians=counts["guardians"],
        children=counts["children"],
        enrollments=counts["enrollments"],
        bookings=counts["bookings"],
        invoices=counts["invoices"],
        payments=counts["payments"],
        credit_notes=counts["credit_notes"],
        pending_change_requests=counts["pending_change_requests"],
        pending_documents=counts["pending_documents"],
        enrollment_requests=counts["enrollment_requests"],
        booking_requests=booking_requests,
        unread_messages=counts["unread_messages"],
    )


class _fast_sqlite_load:
    """On SQLite, a large page cache for the load (restored after): index pages stay in memory."""

    def __init__(self, conn: sa.Connection) -> None:
        self._raw = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
        self._previous = None

    def __enter__(self) -> None:
        if self._raw is not None:
            self._previous = self._raw.execute("PRAGMA cache_size").fetchone()[0]
            self._raw.execute(f"PRAGMA cache_size = -{SQLITE_SEED_CACHE_KIB}")

    def __exit__(self, *exc: object) -> None:
        if self._raw is not None:
            self._raw.execute(f"PRAGMA cache_size = {self._previous}")
