"""The `regie` command as a user types it: messages in French, never a traceback."""

import json

import pytest
from typer.testing import CliRunner

from regie_tui import cli

from helpers import ADMIN_LOGIN, act_as

runner = CliRunner()


@pytest.fixture(autouse=True)
def login(monkeypatch):
    """Who runs the command (the OS login): the seeded town's admin by default."""
    act_as(monkeypatch, ADMIN_LOGIN)


def regie(*args: str):
    return runner.invoke(cli.app, list(args))


def test_db_upgrade_creates_then_reports_up_to_date(empty_db_url):
    first = regie("db", "upgrade", "--db", empty_db_url)
    assert first.exit_code == 0, first.output
    assert "Schéma créé" in first.output
    again = regie("db", "upgrade", "--db", empty_db_url)
    assert "Schéma déjà à jour" in again.output


def test_opening_a_missing_sqlite_file_says_what_to_run(tmp_path):
    missing = tmp_path / "absente.db"
    result = regie("family", "search", "x", "--db", f"sqlite:///{missing}")
    assert result.exit_code == 1
    assert "n'existe pas" in result.output and "regie db upgrade" in result.output
    assert "Traceback" not in result.output
    assert not missing.exists()


def test_a_file_that_is_not_a_database_is_refused_cleanly(tmp_path):
    junk = tmp_path / "notes.db"
    junk.write_text("ceci n'est pas une base" * 100)
    result = regie("family", "search", "x", "--db", f"sqlite:///{junk}")
    assert result.exit_code == 1
    assert "n'est pas une base de données regie-tui" in result.output


def test_unreachable_server_is_a_clear_message():
    result = regie("family", "search", "x", "--db", "postgresql+psycopg://regie:secret@127.0.0.1:1/regie")
    assert result.exit_code == 1
    assert "Impossible de joindre le serveur" in result.output
    assert "secret" not in result.output


def test_unknown_login_is_refused(town_url, monkeypatch):
    act_as(monkeypatch, "inconnu")
    result = regie("family", "search", "a", "--db", town_url)
    assert result.exit_code == 1
    assert "« inconnu » n'est pas un agent de la régie" in result.output


def test_family_search_and_show_as_json(town_url):
    listing = regie("family", "search", "", "--db", town_url, "--json")
    assert listing.exit_code == 0, listing.output
    families = json.loads(listing.output)
    assert len(families) == 12
    first = families[0]
    # Searching the family's name without accents and in lower case finds it.
    from regie_tui.services.families.search_words import fold

    found = json.loads(regie("family", "search", fold(first["name"]), "--db", town_url, "--json").output)
    assert first["id"] in [f["id"] for f in found]
    shown = regie("family", "show", str(first["id"]), "--db", town_url, "--json")
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.output)
    assert detail["name"] == first["name"]
    assert detail["balance_cents"] == sum(i["balance_cents"] for i in detail["invoices"])
    assert detail["balance_cents"] == first["balance_cents"]
    assert sum(g["is_payer"] for g in detail["guardians"]) == 1


def test_family_show_unknown_id(town_url):
    result = regie("family", "show", "99999", "--db", town_url)
    assert result.exit_code == 1
    assert "Aucune famille n° 99999" in result.output


def test_agent_add_by_admin_then_refused_to_the_new_desk_agent(fresh_town_url, monkeypatch):
    added = regie("agent", "add", "jpetit", "--role", "accueil", "--name", "Julie Petit", "--db", fresh_town_url)
    assert added.exit_code == 0, added.output
    assert "Agent « jpetit » ajouté (Accueil)" in added.output
    act_as(monkeypatch, "jpetit")
    refused = regie("agent", "add", "autre", "--db", fresh_town_url)
    assert refused.exit_code == 1
    assert "réservé aux rôles administrateur" in refused.output


def test_same_seed_same_town_byte_for_byte_on_both_engines(tmp_path, pg_cluster):
    """The same seed prints the same town whether it lives in SQLite or PostgreSQL."""
    sqlite_url = f"sqlite:///{tmp_path / 'a.db'}"
    postgres_url = pg_cluster.create_database(pg_cluster.new_name("seed"))
    outputs = [regie("seed", "--db", url, "--families", "6", "--seed", "3") for url in (sqlite_url, postgres_url)]
    assert outputs[0].exit_code == 0, outputs[0].output
    assert outputs[0].output == outputs[1].output
    assert "Familles : 6" in outputs[0].output
    for family_id in ("1", "6"):
        shown = [regie("family", "show", family_id, "--db", url, "--json").output for url in (sqlite_url, postgres_url)]
        assert shown[0] == shown[1]
    searched = [regie("family", "search", "", "--db", url, "--json").output for url in (sqlite_url, postgres_url)]
    assert searched[0] == searched[1]
    other = f"sqlite:///{tmp_path / 'b.db'}"
    regie("seed", "--db", other, "--families", "6", "--seed", "4")
    assert regie("family", "show", "1", "--db", other, "--json").output != shown[0]


def test_seeding_a_town_twice_is_refused_and_changes_nothing(fresh_town_url):
    before = regie("family", "search", "", "--db", fresh_town_url, "--json").output
    again = regie("seed", "--db", fresh_town_url, "--families", "5")
    assert again.exit_code == 1
    assert "contient déjà des familles" in again.output
    assert regie("family", "search", "", "--db", fresh_town_url, "--json").output == before


def test_a_new_sqlite_base_is_its_desks_alone(tmp_path):
    base = tmp_path / "regie.db"
    created = regie("db", "upgrade", "--db", f"sqlite:///{base}")
    assert created.exit_code == 0, created.output
    assert base.stat().st_mode & 0o777 == 0o600  # health data: the desk's account only


def test_a_town_seeded_after_its_first_agents_were_added(empty_db_url):
    """The DBA's order on PostgreSQL: schema, agents, then the demo town (ids after the agents')."""
    assert regie("db", "upgrade", "--db", empty_db_url).exit_code == 0
    assert regie("agent", "add", "jdupont", "--db", empty_db_url).exit_code == 0
    seeded = regie("seed", "--db", empty_db_url, "--families", "3", "--admin", ADMIN_LOGIN)
    assert seeded.exit_code == 0, seeded.output
    assert "Familles : 3" in seeded.output
