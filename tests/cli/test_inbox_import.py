"""`regie inbox import FILE`: what the régie (or the portal's cron) reads, and the exit status."""

import json

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from regie_tui import cli
from regie_tui.db import make_engine
from regie_tui.models import Agent, PortalAccount, PortalImport, Submission
from regie_tui.services.common.sql import id_col

from helpers import ADMIN_LOGIN, act_as

runner = CliRunner()
YESTERDAY = "2026-11-22T18:30:00+01:00"  # REGIE_TODAY is 2026-11-23: never in the future


@pytest.fixture(autouse=True)
def login(monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)


def regie(*args: str, input: bytes | None = None):
    return runner.invoke(cli.app, list(args), input=input)


@pytest.fixture
def account(fresh_town_url) -> tuple[int, str]:
    engine = make_engine(fresh_town_url)
    with Session(engine) as db:
        row = db.exec(select(PortalAccount.family_id, PortalAccount.email).order_by(col(PortalAccount.id))).first()
        assert row is not None
        family, email = row
    engine.dispose()
    return family, email


def portal_file(family: int, email: str, *extra: str) -> bytes:
    common = {"family": family, "account": email, "submitted_at": YESTERDAY}
    lines = [
        json.dumps({"id": "cli-1", "kind": "login", **common}),
        json.dumps({"id": "cli-2", "kind": "message", **common, "subject": "Absence", "body": "Malade."}),
        *extra,
    ]
    return ("\n".join(lines) + "\n").encode()


def last_run(url: str) -> PortalImport:
    engine = make_engine(url)
    with Session(engine) as db:
        run = db.exec(select(PortalImport).order_by(col(PortalImport.id).desc())).first()
        assert run is not None
    engine.dispose()
    return run


def test_a_clean_file_exits_0_with_the_summary_line(fresh_town_url, account, tmp_path):
    path = tmp_path / "portail.jsonl"
    path.write_bytes(portal_file(*account))

    result = regie("inbox", "import", str(path), "--db", fresh_town_url)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["Lignes lues : 2 · enregistrées : 2 · déjà reçues : 0 · rejetées : 0"]
    run = last_run(fresh_town_url)
    assert (run.filename, run.read, run.stored) == ("portail.jsonl", 2, 2)
    engine = make_engine(fresh_town_url)
    with Session(engine) as db:
        admin = db.exec(select(id_col(Agent.id)).where(Agent.login == ADMIN_LOGIN)).one()
        assert set(db.exec(select(Submission.portal_id).where(col(Submission.portal_id).startswith("cli-")))) == {
            "cli-1",
            "cli-2",
        }
    engine.dispose()
    assert run.agent_id == admin

    again = regie("inbox", "import", str(path), "--db", fresh_town_url)
    assert again.exit_code == 0
    assert again.stdout.startswith("Lignes lues : 2 · enregistrées : 0 · déjà reçues : 2 · rejetées : 0")


def test_rejected_lines_exit_1_one_line_each(fresh_town_url, account, tmp_path):
    family, email = account
    bad_account = json.dumps(
        {"id": "cli-3", "kind": "login", "family": family, "account": "x@y.fr", "submitted_at": YESTERDAY}
    )
    path = tmp_path / "portail.jsonl"
    path.write_bytes(portal_file(family, email, "", bad_account, "{oops"))

    result = regie("inbox", "import", str(path), "--db", fresh_town_url)

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "Lignes lues : 4 · enregistrées : 2 · déjà reçues : 0 · rejetées : 2",
        f"ligne 4 (cli-3) : le compte « x@y.fr » n'est pas celui de la famille n° {family}.",
        "ligne 5 : JSON invalide (colonne 2).",
    ]
    assert "Traceback" not in result.output


def test_json_output_is_the_contract_object(fresh_town_url, account):
    family, email = account
    data = portal_file(family, email, '{"id": "cli-9", "kind": "gift"}')

    result = regie("inbox", "import", "-", "--json", "--db", fresh_town_url, input=data)

    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert body == {
        "read": 3,
        "stored": 2,
        "known": 0,
        "rejected": [{"line": 3, "id": "cli-9", "reason": 'type de demande inconnu : "gift".'}],
    }
    assert list(body) == ["read", "stored", "known", "rejected"]
    assert last_run(fresh_town_url).filename == "(entrée standard)"


def test_a_stranger_imports_nothing_the_portals_account_imports_audited(fresh_town_url, account, monkeypatch):
    act_as(monkeypatch, "portail-cron")
    refused = regie("inbox", "import", "-", "--db", fresh_town_url, input=portal_file(*account))
    assert refused.exit_code == 1 and "n'est pas un agent" in refused.output
    act_as(monkeypatch, ADMIN_LOGIN)
    assert regie("agent", "add", "portail-cron", "--role", "portail", "--db", fresh_town_url).exit_code == 0
    act_as(monkeypatch, "portail-cron")
    result = regie("inbox", "import", "-", "--db", fresh_town_url, input=portal_file(*account))
    assert result.exit_code == 0, result.output
    engine = make_engine(fresh_town_url)
    with Session(engine) as db:
        portal = db.exec(select(id_col(Agent.id)).where(Agent.login == "portail-cron")).one()
    engine.dispose()
    assert last_run(fresh_town_url).agent_id == portal


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_file_that_cannot_be_opened_exits_2(db_url, tmp_path):
    missing = regie("inbox", "import", str(tmp_path / "absent.jsonl"), "--db", db_url)
    assert missing.exit_code == 2
    assert "impossible d'ouvrir" in missing.stderr and "fichier introuvable" in missing.stderr
    folder = regie("inbox", "import", str(tmp_path), "--db", db_url)
    assert folder.exit_code == 2
    assert "c'est un dossier" in folder.stderr
    assert "Traceback" not in missing.output + folder.output
