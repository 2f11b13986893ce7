"""`regie invoices run` and `regie invoices credit`: preview, issue, re-run, two runs at once, a run killed."""

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from regie_tui import cli
from regie_tui.db import for_writing, make_engine
from regie_tui.models import Charge, Invoice, InvoiceStatus
from regie_tui.services.billing import invoicing

from helpers import ADMIN_LOGIN, act_as, agent_url, backend_of, wait_for_lock_waiters

runner = CliRunner()
NOVEMBER = ["invoices", "run", "--month", "2026-11", "--regie", "pop"]


@pytest.fixture(autouse=True)
def as_admin(monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)


def regie(url: str, *args: str):
    return runner.invoke(cli.app, [*args, "--db", url])


def november_invoices(url: str) -> list[str]:
    engine = make_engine(url)
    with Session(engine) as db:
        numbers = db.exec(select(Invoice.number).where(Invoice.number.like("pop-F2611%"))).all()  # type: ignore[attr-defined]
    engine.dispose()
    return sorted(numbers)


def test_preview_issue_rerun_and_credit(fresh_town_url):
    preview = regie(fresh_town_url, *NOVEMBER, "--dry-run", "--json")
    assert preview.exit_code == 0, preview.output
    planned = json.loads(preview.output)
    assert planned["dry_run"] and planned["invoice_count"] > 5 and planned["first_number"] is None
    assert planned["total_cents"] == sum(f["total_cents"] for f in planned["families"])
    assert set(planned["anomaly_counts"]) >= {"Réservé sans pointage", "QF absent ou expiré"}
    assert november_invoices(fresh_town_url) == []

    issued = regie(fresh_town_url, *NOVEMBER)
    assert issued.exit_code == 0, issued.output
    count = planned["invoice_count"]
    assert f"émise : {count} facture(s)" in issued.output
    assert all(len(line) <= 80 for line in issued.output.splitlines())
    assert f"du n° pop-F261100001 au n° pop-F2611{count:05d}" in issued.output
    assert november_invoices(fresh_town_url) == [f"pop-F2611{n:05d}" for n in range(1, count + 1)]

    again = regie(fresh_town_url, *NOVEMBER)
    assert (
        again.exit_code == 0
        and "pop de novembre 2026 : rien à facturer (aucune prestation non facturée)" in again.output
    )
    october = regie(fresh_town_url, "invoices", "run", "--month", "2026-10", "--regie", "alsh")
    assert "Facturation alsh d'octobre 2026 : rien à facturer" in october.output

    refused = regie(fresh_town_url, "invoices", "credit", "pop-F261100001", "--reason", " ")
    assert refused.exit_code == 1 and "motif obligatoire" in refused.output
    credit = regie(fresh_town_url, "invoices", "credit", "pop-F261100001", "--reason", "Erreur de pointage")
    assert credit.exit_code == 0, credit.output
    assert "Avoir pop-A261100001" in credit.output and "la facture est annulée" in credit.output
    rebilled = regie(fresh_town_url, *NOVEMBER, "--json")
    assert json.loads(rebilled.output)["first_number"] == f"pop-F2611{count + 1:05d}"


def test_a_month_not_started_and_an_unknown_service_are_refused(town_url):
    future = regie(town_url, "invoices", "run", "--month", "2027-01", "--regie", "pop", "--dry-run")
    assert future.exit_code == 1 and "janvier 2027 n'a pas commencé" in future.output
    unknown = regie(town_url, "invoices", "run", "--month", "2026-11", "--regie", "x", "--dry-run")
    assert unknown.exit_code == 1 and "Régie « x » inconnue (régies : alsh, pop)" in unknown.output
    bad = regie(town_url, "invoices", "run", "--month", "novembre", "--regie", "pop")
    assert bad.exit_code == 1 and "Mois invalide" in bad.output


#: `python -m regie_tui …`, saying "write lock" on stderr as each of its writing units of work
#: begins, that is on SQLite just before it waits for the database's write lock (BEGIN IMMEDIATE).
ANNOUNCED = r"""
import runpy, sys
import sqlalchemy as sa
from regie_tui.db import WRITES

@sa.event.listens_for(sa.engine.Engine, "begin")
def announce(connection):
    if connection.get_execution_options().get(WRITES):
        print("write lock", file=sys.stderr, flush=True)

runpy.run_module("regie_tui", run_name="__main__", alter_sys=True)
"""


def _process(url: str, *, announced: bool = False) -> subprocess.Popen[str]:
    """`regie invoices run` for November in a process of its own, on ``url`` as given by agent_url."""
    return subprocess.Popen(
        [sys.executable, *(["-c", ANNOUNCED] if announced else ["-m", "regie_tui"]), *NOVEMBER, "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _waiting_for_the_write_lock(process: subprocess.Popen[str]) -> None:
    """(SQLite) Wait until the run says it begins a writing unit of work."""
    assert process.stderr is not None
    watchdog = threading.Timer(60, process.kill)  # a run that never gets there fails the test, not the suite
    watchdog.start()
    try:
        while "write lock" not in (line := process.stderr.readline()):
            assert line, "the run ended before it began to write"
    finally:
        watchdog.cancel()


@contextmanager
def _regie_locked(url: str) -> Iterator[Callable[[list[subprocess.Popen[str]]], None]]:
    """Hold what a run of the pop régie waits for while the block starts runs: on PostgreSQL the
    régie's row (FOR UPDATE, the run's first lock), on SQLite the write lock (BEGIN IMMEDIATE).
    Yields ``queued(runs)``, which returns once every run waits for it; released at the end."""
    engine = make_engine(url)
    holder = for_writing(engine).connect()
    holder.begin()  # SQLite: BEGIN IMMEDIATE
    if backend_of(url) == "postgresql":
        holder.execute(sa.text("SELECT id FROM regie WHERE code = 'pop' FOR UPDATE"))

        def queued(runs: list[subprocess.Popen[str]]) -> None:
            wait_for_lock_waiters(url, len(runs))

    else:

        def queued(runs: list[subprocess.Popen[str]]) -> None:
            for run in runs:
                _waiting_for_the_write_lock(run)

    try:
        yield queued
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()


def test_two_runs_at_once_never_duplicate(fresh_town_url):
    """The second run starts while the first waits for the régie: it waits in turn, then finds
    nothing left to bill (never a duplicate, never a refusal), on both engines."""
    planned = json.loads(regie(fresh_town_url, *NOVEMBER, "--dry-run", "--json").output)["invoice_count"]
    url = agent_url(fresh_town_url)  # (on SQLite it writes: before the lock)
    with _regie_locked(fresh_town_url) as queued:
        first, second = _process(url, announced=True), _process(url, announced=True)
        queued([first, second])
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    codes = [p.returncode for p in (first, second)]
    assert codes == [0, 0], outputs
    issued = [out for out, _err in outputs if "émise" in out]
    assert len(issued) == 1, outputs  # one issues; the other waited for it, then found nothing
    assert sum("rien à facturer" in out for out, _err in outputs) == 1, outputs
    assert november_invoices(fresh_town_url) == [f"pop-F2611{n:05d}" for n in range(1, planned + 1)]


def test_a_run_killed_midway_leaves_nothing(fresh_town_url):
    engine = make_engine(fresh_town_url)
    holder = None
    if backend_of(fresh_town_url) == "postgresql":
        # Hold the invoice series: the run blocks when it takes its numbers, after writing its charges.
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO number_sequence (series, last_value) VALUES ('invoice:pop-F2611', 0)"))
        holder = engine.connect()
        holder.begin()
        holder.execute(sa.text("SELECT * FROM number_sequence WHERE series = 'invoice:pop-F2611' FOR UPDATE"))
    process = _process(agent_url(fresh_town_url))
    assert process.stderr is not None
    # Past "Factures et lignes" (where the numbers are taken) on PostgreSQL; the first step on SQLite.
    wanted = invoicing.STEPS[2] if holder is not None else invoicing.STEPS[0]
    watchdog = threading.Timer(60, process.kill)  # a run that never gets there fails the test, not the suite
    watchdog.start()
    while wanted not in (line := process.stderr.readline()):
        assert line, "the run ended before the expected step"
    watchdog.cancel()
    if holder is not None:
        wait_for_lock_waiters(fresh_town_url, 1)  # now waiting on the series' lock, its charges written
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    if holder is not None:
        holder.rollback()
        holder.close()
    with Session(engine) as db:
        invoices = len(november_invoices(fresh_town_url))
        charges = db.exec(select(func.count()).select_from(Charge).where(Charge.invoice_line_id.is_(None))).one()  # type: ignore[union-attr]
        cancelled = db.exec(
            select(func.count()).select_from(Invoice).where(Invoice.status == InvoiceStatus.CANCELLED)
        ).one()
    engine.dispose()
    assert charges == 0 and cancelled == 0
    if holder is not None:
        assert invoices == 0
    # All or nothing: either no invoice, or the whole run (SQLite may have finished before the kill).
    rerun = regie(fresh_town_url, *NOVEMBER, "--json")
    assert rerun.exit_code == 0
    assert invoices == 0 or json.loads(rerun.output)["invoice_count"] == 0
