"""The demo town: a realistic régie to train on, from 300 families to a large city.

``seed_demo_town`` fills an empty, migrated database with the town of ``town.toml``:
its calendar, activities and rates, then families with their children, enrollments,
a school year of bookings with attendance up to ``today``, invoices for the months
already billed, payments, documents and messages. Rows go to the database in bulk
(see ``demo.bulk``), in one transaction.

What waits in the bannette comes in as in production: the generator writes the
portal's file of the last days (JSON Lines, portal-submissions.md), the seed keeps it
(:func:`write_portal_file`) and imports it with ``services.portal.intake``, in the same
transaction, at the seed's "now" (today 07:30), so that the database stays the same
byte for byte for the same seed and day.
"""

import multiprocessing
import os
import queue
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar

import sqlalchemy as sa
from babel.numbers import format_decimal
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from regie_tui.db import for_writing
from regie_tui.demo.billing import charge_seeded_invoices
from regie_tui.demo.bulk import BulkWriter
from regie_tui.demo.families import FamilyGenerator, generate_into
from regie_tui.demo.generator import seed_now
from regie_tui.demo.reference import Reference, load_town_settings, write_reference
from regie_tui.errors import RegieError
from regie_tui.models import Family, Town
from regie_tui.services.portal.pending import pending_counts

SQLITE_SEED_CACHE_KIB = 32 * 1024  # page cache (and index sort memory) while loading
PARALLEL_FROM_FAMILIES = 2_000  # below, a second process costs more than it saves
# The name the demo portal gives its file, as recorded in the import (the same whatever the database).
PORTAL_FILENAME = "portail-famille.jsonl"
COUNTED = ("families", "guardians", "children", "enrollments", "bookings", "invoices", "payments", "credit_notes")


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
    portal_lines: int
    pending_changes: int
    pending_documents: int
    enrollment_requests: int
    booking_requests: int
    pending_messages: int
    pending_payments: int
    portal_file: str  # where the portal's file was written (not in lines(): it depends on the machine)

    _LABELS: ClassVar[dict[str, str]] = {
        "families": "Familles",
        "guardians": "Responsables légaux",
        "children": "Enfants",
        "enrollments": "Inscriptions",
        "bookings": "Réservations",
        "invoices": "Factures",
        "payments": "Règlements",
        "credit_notes": "Avoirs",
        "portal_lines": "Envois du portail importés",
        "pending_changes": "Modifications à valider",
        "pending_documents": "Documents à valider",
        "enrollment_requests": "Demandes d'inscription",
        "booking_requests": "Demandes de réservation",
        "pending_messages": "Messages à traiter",
        "pending_payments": "Paiements en ligne à affecter",
    }

    def lines(self) -> list[str]:
        return [
            f"{label} : {format_decimal(getattr(self, name), locale='fr_FR')}" for name, label in self._LABELS.items()
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
    with for_writing(engine).connect() as conn, _sqlite_bulk_mode(conn), conn.begin():
        _refuse_populated(conn)
        writer = BulkWriter(conn)
        reference = write_reference(conn, writer, settings, families=families, today=today, admin_login=admin_login)
        writer.restart_ids("booking")
        with writer.load_deferred("booking"):
            counts, portal_data = _generate(writer, reference, seed=seed, families=families)
        charge_seeded_invoices(conn)
        writer.sync_sequences()  # the import numbers its rows from the sequences
        path = write_portal_file(engine, portal_data)
        lines = _import_portal_file(conn, portal_data, now=seed_now(today))
        pending = pending_counts(conn)
    return DemoSummary(
        **{name: counts[name] for name in COUNTED},
        portal_lines=lines,
        pending_changes=pending.changes,
        pending_documents=pending.documents,
        enrollment_requests=pending.enrollment_requests,
        booking_requests=pending.booking_requests,
        pending_messages=pending.messages,
        pending_payments=pending.payments,
        portal_file=str(path),
    )


def write_portal_file(engine: Engine, data: bytes) -> Path:
    """Keep the portal's file the seed imports: beside a SQLite database, else in the temporary
    folder under a name of its own. It holds families' files, health documents among them:
    readable by this account only from its first byte (0600, never through a planted link).

    ``regie inbox import`` can read it again (nothing changes: every line is already known).
    """
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(str(url.database))
        path = database.with_name(f"{database.stem}-{PORTAL_FILENAME}")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    else:
        descriptor, name = tempfile.mkstemp(prefix=f"regie-{url.database or 'demo'}-", suffix=f"-{PORTAL_FILENAME}")
        path = Path(name)
    with os.fdopen(descriptor, "wb") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(data)
    return path


def _import_portal_file(conn: sa.Connection, data: bytes, *, now: datetime) -> int:
    """Import the portal's file in the seed's transaction, as the portal's cron would; every line must pass."""
    from regie_tui.services.portal.intake.run import import_submissions

    with Session(bind=conn) as session:  # joins the seed's transaction: committed (or not) with it
        summary = import_submissions(session, data=data, filename=PORTAL_FILENAME, agent=None, now=now)
        if summary.rejected:
            reasons = "\n".join(f"ligne {r.line} ({r.id}) : {r.reason}" for r in summary.rejected[:10])
            raise RuntimeError(
                f"La ville de démonstration a produit {len(summary.rejected)} ligne(s) du portail "
                f"refusée(s) :\n{reasons}"
            )
        session.commit()
    return summary.stored


def _generate(writer: BulkWriter, reference: Reference, *, seed: int, families: int) -> tuple[Counter[str], bytes]:
    """Generate the families and write them, and return the counts and the portal's file.

    A large town is generated in a second process.

    The rows are the same either way (one generator, in family order): the child process
    only lets generation and writing run side by side on two cores. As with any spawned
    process, a script calling this for a large town needs the ``if __name__ == "__main__":``
    guard (the child imports the main module).
    """
    if families < PARALLEL_FROM_FAMILIES or (os.cpu_count() or 1) < 2:
        generator = FamilyGenerator(reference, writer, seed=seed)
        for batch in generator.batches(families):
            writer.write(batch)
        return generator.counts, generator.portal_file()
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
                counts, portal_data = payload
                return Counter(counts), portal_data
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
