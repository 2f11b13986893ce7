"""The demo town: a realistic régie to train on, from 300 families to a large city.

``seed_demo_town`` fills an empty, migrated database with the town of ``town.toml``:
its calendar, activities and rates, then families with their children, enrolments,
a school year of bookings with attendance up to ``today``, invoices for the months
already billed, payments, documents, and work waiting in the bannette.
Rows go to the database in bulk (see ``demo.bulk``), in one transaction.
"""

import multiprocessing
import os
import queue
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date
from typing import ClassVar

import sqlalchemy as sa
from babel.numbers import format_decimal
from sqlalchemy.engine import Engine
from sqlmodel import col

from regie_tui.demo.bulk import BulkWriter
from regie_tui.demo.families import FamilyGenerator, generate_into
from regie_tui.demo.reference import Reference, load_town_settings, write_reference
from regie_tui.errors import RegieError
from regie_tui.models import Family, Town

SQLITE_SEED_CACHE_KIB = 32 * 1024  # page cache (and index sort memory) while loading
PARALLEL_FROM_FAMILIES = 2_000  # below, a second process costs more than it saves


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

    _LABELS: ClassVar[dict[str, str]] = {
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
        return [
            f"{self._LABELS[f.name]} : {format_decimal(getattr(self, f.name), locale='fr_FR')}" for f in fields(self)
        ]


def seed_demo_town(
    engine: Engine,
    *,
    families: int = 300,
    seed: int = 1,
    today: date,
    admin_login: str,
) -> DemoSummary:
    """Create the demo town in an empty, migrated database; all or nothing.

    The same ``seed`` and ``today`` give the same rows, ids included. Refuses a database
    that already holds families (or a town).
    """
    if families < 1:
        raise RegieError("Le nombre de familles doit être d'au moins 1.")
    settings = load_town_settings()
    with engine.connect() as conn, _sqlite_bulk_mode(conn), conn.begin():
        _refuse_populated(conn)
        writer = BulkWriter(conn)
        reference = write_reference(conn, writer, settings, families=families, today=today, admin_login=admin_login)
        writer.restart_ids("booking")
        with writer.load_deferred("booking"):
            counts = _generate(writer, reference, seed=seed, families=families)
        writer.sync_sequences()
    return DemoSummary(**{f.name: counts[f.name] for f in fields(DemoSummary)})


def _generate(writer: BulkWriter, reference: Reference, *, seed: int, families: int) -> Counter[str]:
    """Generate the families and write them; a large town is generated in a second process.

    The rows are the same either way (one generator, in family order): the child process
    only lets generation and writing run side by side on two cores. As with any spawned
    process, a script calling this for a large town needs the ``if __name__ == "__main__":``
    guard (the child imports the main module).
    """
    if families < PARALLEL_FROM_FAMILIES or (os.cpu_count() or 1) < 2:
        generator = FamilyGenerator(reference, writer, seed=seed)
        for batch in generator.batches(families):
            writer.write(batch)
        return generator.counts
    context = multiprocessing.get_context("spawn")  # no inherited database connection
    channel = context.Queue(maxsize=3)
    process = context.Process(
        target=generate_into,
        args=(channel, reference, writer.postgresql, seed, families),
        name="regie-demo-generator",
        daemon=True,
    )
    process.start()
    try:
        while True:
            try:
                kind, payload = channel.get(timeout=1)
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError(
                        "Le générateur de la ville de démonstration s'est arrêté "
                        f"sans explication (code {process.exitcode})."
                    ) from None
                continue
            if kind == "batch":
                writer.write(payload)
            elif kind == "done":
                return Counter(payload)
            else:
                raise RuntimeError(f"Le générateur de la ville de démonstration a échoué :\n{payload}")
    finally:
        if process.is_alive():
            process.terminate()
        process.join()


def _refuse_populated(conn: sa.Connection) -> None:
    existing = conn.execute(sa.select(sa.func.count()).select_from(Family)).scalar_one()
    if existing:
        raise RegieError(
            f"La base contient déjà des familles : {format_decimal(existing, locale='fr_FR')}. "
            "La ville de démonstration s'installe dans une base sans famille : "
            "créez une nouvelle base (regie db upgrade --db …) ou choisissez-en une autre."
        )
    town = conn.execute(sa.select(col(Town.name))).scalar_one_or_none()
    if town is not None:
        raise RegieError(
            f"La base contient déjà une collectivité : « {town} ». "
            "La ville de démonstration s'installe dans une base neuve."
        )


@contextmanager
def _sqlite_bulk_mode(conn: sa.Connection) -> Iterator[None]:
    """On SQLite, for the load only: a larger page cache, and foreign keys not re-checked row by row.

    The generator assigns every key itself (the tests check the result with
    ``PRAGMA foreign_key_check``); checking 10 million booking rows one by one would
    cost a tenth of the load. The pragmas are set outside the transaction, as SQLite requires.
    """
    raw = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
    if raw is None:
        yield
        return
    saved = {name: raw.execute(f"PRAGMA {name}").fetchone()[0] for name in ("cache_size", "foreign_keys", "threads")}
    raw.execute(f"PRAGMA cache_size = -{SQLITE_SEED_CACHE_KIB}")
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("PRAGMA threads = 2")  # index builds sort with a helper thread
    try:
        yield
    finally:
        for name, value in saved.items():
            raw.execute(f"PRAGMA {name} = {value}")
