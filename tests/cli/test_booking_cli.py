"""`regie booking set|list`: the planning's rules and French refusals, for scripts."""

import json

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from regie_tui import cli
from regie_tui.models import AuditEntry, Booking

from booking_world import World, build
from helpers import act_as

runner = CliRunner()


@pytest.fixture
def world(engine, monkeypatch) -> World:
    act_as(monkeypatch, "jpetit")  # the world's accueil agent
    return build(engine)


def regie(db_url: str, *args: str):
    return runner.invoke(cli.app, [*args, "--db", db_url])


def test_set_books_frees_and_refuses_in_french(engine, db_url, world):
    lea = str(world.kids["Léa"])
    booked = regie(db_url, "booking", "set", lea, "09/12/2026", str(world.matin), "reserved")
    assert booked.exit_code == 0, booked.output
    assert "09/12/2026 Matin – Mercredi : réservée." in booked.output
    refused = regie(db_url, "booking", "set", lea, "2026-12-09", str(world.journee), "reserved")
    assert refused.exit_code == 1
    assert "Refusé — 09/12/2026 Journée – Mercredi : Journée impossible avec Matin le même jour" in refused.output
    late = regie(db_url, "booking", "set", lea, "2026-11-24", str(world.acc_soir), "reserved")
    assert late.exit_code == 1 and "Délai de prévenance dépassé (la veille à 15:00)" in late.output
    unknown = regie(db_url, "booking", "set", lea, "2026-11-24", str(world.acc_soir), "booked")
    assert unknown.exit_code == 1 and "État inconnu : « booked »" in unknown.output
    freed = regie(db_url, "booking", "set", lea, "09/12/2026", str(world.matin), "free")
    assert freed.exit_code == 0 and "Matin – Mercredi : libre." in freed.output
    with Session(engine) as db:
        assert db.exec(select(Booking).where(Booking.child_id == int(lea))).all() == []


def test_force_needs_a_reason_and_audits_it(engine, db_url, world):
    lea = str(world.kids["Léa"])
    args = ["booking", "set", lea, "2026-11-24", str(world.acc_soir), "reserved", "--force"]
    no_reason = regie(db_url, *args)
    assert no_reason.exit_code == 1 and "--force demande un motif" in no_reason.output
    forced = regie(db_url, *args, "--reason", "Appel de la mère, accord de la directrice")
    assert forced.exit_code == 0, forced.output
    with Session(engine) as db:
        entry = db.exec(select(AuditEntry).where(AuditEntry.entity == "booking")).one()
    assert entry.after is not None
    assert entry.after["reason"] == "Appel de la mère, accord de la directrice"
    assert entry.after is not None
    assert entry.after["overrides"] == [
        "24/11/2026 Acc soir – Périscolaire : délai de prévenance dépassé (la veille à 15:00)"
    ]


def test_list_gives_each_cell_its_state_and_appearance(db_url, world):
    lea = str(world.kids["Léa"])
    assert regie(db_url, "booking", "set", lea, "09/12/2026", str(world.matin), "reserved").exit_code == 0
    listed = regie(db_url, "booking", "list", lea, "--from", "2026-12-09", "--to", "09/12/2026", "--json")
    assert listed.exit_code == 0, listed.output
    cells = {(c["day"], c["unit"]): c for c in json.loads(listed.output)}
    assert cells[("2026-12-09", "Matin")] == {
        "day": "2026-12-09",
        "unit_id": world.matin,
        "unit": "Matin",
        "activity": "Mercredi",
        "state": "reserved",
        "appearance": "presence",
        "appearance_label": "Présence (réservée)",
    }
    assert cells[("2026-12-09", "Journée")]["state"] is None
    assert cells[("2026-12-09", "Acc soir")]["appearance"] == "impossible"  # no périscolaire on Wednesdays
    plain = regie(db_url, "booking", "list", lea, "--from", "09/12/2026", "--to", "09/12/2026")
    assert f"09/12/2026 {world.matin:>4} Matin – Mercredi : ● Présence" in plain.output.splitlines()
    backwards = regie(db_url, "booking", "list", lea, "--from", "10/12/2026", "--to", "09/12/2026")
    assert backwards.exit_code == 1 and "--to précède --from" in backwards.output


def test_the_database_may_be_given_before_the_command(db_url, world):
    lea = str(world.kids["Léa"])
    result = runner.invoke(
        cli.app, ["--db", db_url, "booking", "list", lea, "--from", "09/12/2026", "--to", "09/12/2026"]
    )
    assert result.exit_code == 0, result.output
    assert "Léa" in result.output
