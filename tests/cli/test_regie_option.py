"""`--regie CODE` chooses the régie; `--service CODE`, its old name, is still read (scripts written
before the rename) and hidden from the help; both together are refused in French.

The commands are found by walking the Click tree Typer builds, as the French help test does.
"""

import json

import pytest
import typer.main
from typer._click import Command
from typer.core import TyperOption
from typer.testing import CliRunner

from regie_tui import cli

from helpers import ADMIN_LOGIN, act_as

runner = CliRunner()

SQLITE_TOWN = pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def login(monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)


def regie(*args: str):
    return runner.invoke(cli.app, list(args), prog_name="regie")


def commands_with_a_regie() -> dict[tuple[str, ...], Command]:
    found: dict[tuple[str, ...], Command] = {}

    def walk(command: Command, path: tuple[str, ...]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))
        if any("--regie" in getattr(p, "opts", ()) for p in getattr(command, "params", [])):
            found[path] = command

    walk(typer.main.get_command(cli.app), ())
    return found


COMMANDS = commands_with_a_regie()


def test_every_command_that_took_service_takes_regie():
    assert set(COMMANDS) == {
        ("invoices", "run"),
        ("invoices", "pdf"),
        ("payments", "add"),
        ("payments", "journal"),
        ("payments", "close"),
        ("sepa", "export"),
        ("sepa", "mandate-add"),
        ("reminders", "list"),
        ("reminders", "send"),
    }


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_the_old_name_is_read_but_hidden_from_the_help(path):
    params = {opt: p for p in COMMANDS[path].params if isinstance(p, TyperOption) for opt in p.opts}
    assert params["--service"].hidden and not params["--regie"].hidden
    text = regie(*path, "--help").output
    assert "--regie <texte>" in text and "code de la régie" in text.lower()
    assert "--service" not in text


@SQLITE_TOWN
def test_the_old_name_gives_the_same_answer(town_url):
    args = ("reminders", "list", "--on", "10/02/2027", "--json", "--db", town_url)
    new = regie(*args, "--regie", "alsh")
    old = regie(*args, "--service", "alsh")
    assert new.exit_code == old.exit_code == 0, old.output
    assert json.loads(old.stdout) == json.loads(new.stdout)
    assert all(i["service"] == "alsh" for i in json.loads(old.stdout)["invoices"])


@SQLITE_TOWN
def test_the_old_name_alone_satisfies_a_required_regie(town_url):
    month = ("invoices", "run", "--month", "2026-10", "--dry-run", "--json", "--db", town_url)
    old = regie(*month, "--service", "alsh")
    assert old.exit_code == 0, old.output
    assert json.loads(old.stdout) == json.loads(regie(*month, "--regie", "alsh").stdout)
    missing = regie(*month)
    assert missing.exit_code == 2 and "Erreur : Option manquante : « --regie »." in missing.output


@SQLITE_TOWN
@pytest.mark.parametrize("order", [("--regie", "--service"), ("--service", "--regie")])
def test_both_names_together_are_refused_in_french(town_url, order):
    first, second = order
    result = regie("invoices", "run", "--month", "2026-10", first, "pop", second, "pop", "--dry-run", "--db", town_url)
    assert result.exit_code == 2, result.output
    assert "Utilisation : regie invoices run" in result.output
    assert (
        "Erreur : Les options « --regie » et « --service » (son ancien nom) sont données ensemble : "
        "une seule valeur est attendue."
    ) in result.output
    assert "Facturation" not in result.output


def test_a_mistyped_option_is_never_told_the_old_name():
    result = regie("invoices", "run", "--servic", "pop", "--db", "sqlite:////nonexistent/regie.db")
    assert result.exit_code == 2
    assert "--servic" in result.output and "--service" not in result.output
    result = regie("invoices", "run", "--reg", "pop", "--db", "sqlite:////nonexistent/regie.db")
    assert "(options possibles : --regie)" in result.output
