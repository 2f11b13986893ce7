"""`regie invoices run` and `regie invoices credit`: preview, issue, re-run, two runs at once, a run killed."""

import json
import signal
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from regie_tui import cli
from regie_tui.db import make_engine
from regie_tui.models import Charge, Invoice, InvoiceStatus
from regie_tui.services.billing import invoicing

from helpers import ADMIN_LOGIN, act_as, agent_url, backend_of

runner = CliRunner()
NOVEMBER = ["invoices", "run", "--month", "2026-11", "--service", "pop"]


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
    october = regie(fresh_town_url, "invoices", "run", "--month", "2026-10", "--service", "alsh")
    assert "Facturation alsh d'octobre 2026 : rien à facturer" in october.output

    refused = regie(fresh_town_url, "invoices", "credit", "pop-F261100001", "--reason", " ")
    assert refused.exit_code == 1 and "motif obligatoire" in refused.output
    credit = regie(fresh_town_url, "invoices", "credit", "pop-F261100001", "--reason", "Erreur de pointage")
    assert credit.exit_code == 0, credit.output
    assert "Avoir pop-A261100001" in credit.output and "la facture est annulée" in credit.output
    rebilled = regie(fresh_town_url, *NOVEMBER, "--json")
    assert json.loads(rebilled.output)["first_number"] == f"pop-F2611{count + 1:05d}"


def test_a_month_not_started_and_an_unknown_service_are_refused(town_url):
    future = regie(town_url, "invoices", "run", "--month", "2027-01", "--service", "pop", "--dry-run")
    assert future.exit_code == 1 and "janvier 2027 n'a pas commencé" in future.output
    unknown = regie(town_url, "invoices", "run", "--month", "2026-11", "--service", "x", "--dry-run")
    assert unknown.exit_code == 1 and "Service « x » inconnu (services : alsh, pop)" in unknown.output
    bad = regie(town_url, "invoices", "run", "--month", "novembre", "--service", "pop")
    assert bad.exit_code == 1 and "Mois invalide" in bad.output


def _process(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "regie_tui", *NOVEMBER, "--db", agent_url(url)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_runs_at_once_never_duplicate(fresh_town_url):
    planned = json.loads(regie(fresh_town_url, *NOVEMBER, "--dry-run", "--json").output)["invoice_count"]
    first, second = _process(fresh_town_url), _process(fresh_town_url)
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    codes = [p.returncode for p in (first, second)]
    issued = [out for (out, _err), code in zip(outputs, codes, strict=True) if code == 0 and "émise" in out]
    assert len(issued) == 1, outputs  # one issues; the other waits then finds nothing, or is refused
    for (out, err), code in zip(outputs, codes, strict=True):
        if code == 0 and "émise" not in out:
            assert "rien à facturer" in out
        elif code != 0:
            assert "Un autre poste" in err or "verrouill" in err, err
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
    process = _process(fresh_town_url)
    assert process.stderr is not None
    # Past "Factures et lignes" (where the numbers are taken) on PostgreSQL; the first step on SQLite.
    wanted = invoicing.STEPS[2] if holder is not None else invoicing.STEPS[0]
    watchdog = threading.Timer(60, process.kill)  # a run that never gets there fails the test, not the suite
    watchdog.start()
    while wanted not in (line := process.stderr.readline()):
        assert line, "the run ended before the expected step"
    watchdog.cancel()
    if holder is not None:
        time.sleep(0.5)  # now waiting on the series' lock, its charges written
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
