"""`regie --help`, every subcommand's help and the usage errors are French (no database needed).

The commands are found by walking the Click tree Typer builds, so a new command is
checked without touching this file.
"""

import shutil

import pytest
import typer.main
from typer.core import TyperGroup
from typer.testing import CliRunner

from regie_tui import cli

from helpers import act_as

runner = CliRunner()

#: English words of Click's and Typer's frame; none may remain.
ENGLISH = (
    "Usage",
    "Options:",
    "Arguments:",
    "Commands",
    "COMMAND [ARGS]",
    "Show this message",
    "default",
    "required",
    "Error",
    "Try ",
    " range>",
    "<int>",
    "<str>",
)


@pytest.fixture(autouse=True)
def a_desk(tmp_path, sqlite_template, monkeypatch):
    """Every command resolves its agent before reading its arguments: a desk with an agent
    (the first login of an empty database is its administrator) to reach the usage errors."""
    path = tmp_path / "regie.db"
    shutil.copyfile(sqlite_template, path)
    monkeypatch.setenv("REGIE_DATABASE_URL", f"sqlite:///{path}")
    act_as(monkeypatch, "agent.test")


def regie(*args: str):
    return runner.invoke(cli.app, list(args), prog_name="regie")


def command_paths() -> list[tuple[str, ...]]:
    """Every command path: () for `regie` itself, ("db",), ("db", "upgrade")…"""
    paths: list[tuple[str, ...]] = []

    def walk(command, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            if not sub.hidden:
                walk(sub, (*path, name))

    walk(typer.main.get_command(cli.app), ())
    return paths


def command_at(path: tuple[str, ...]):
    command = typer.main.get_command(cli.app)
    for name in path:
        assert isinstance(command, TyperGroup)
        command = command.commands[name]
    return command


def test_the_walk_finds_every_command():
    paths = command_paths()
    assert {
        (),
        ("db",),
        ("db", "upgrade"),
        ("db", "status"),
        ("seed",),
        ("agent",),
        ("agent", "add"),
        ("agent", "list"),
        ("family",),
        ("family", "search"),
        ("family", "show"),
    } <= set(paths)


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(("regie", *p)))
def test_help_is_french(path):
    result = regie(*path, "--help")
    assert result.exit_code == 0, result.output
    text = result.output
    for word in ENGLISH:
        assert word not in text, f"« {word} » dans l'aide de regie {' '.join(path)} :\n{text}"
    assert text.startswith(f"Utilisation : {' '.join(('regie', *path))} [OPTIONS]")
    assert "\nOptions :\n" in text
    assert "--help" in text and "Affiche cette aide et quitte." in text

    command = command_at(path)
    params = [p for p in command.params if not getattr(p, "hidden", False)]
    if hasattr(command, "commands"):
        assert "COMMANDE [ARGUMENTS]..." in text.splitlines()[0]
        assert "\nCommandes :\n" in text
    if any(p.param_type_name == "argument" for p in params):
        assert "\nArguments :\n" in text
    if any(p.required for p in params):
        assert "[obligatoire]" in text


def test_defaults_ranges_and_types_are_french():
    text = regie("seed", "--help").output
    assert "--families <entier>" in text
    assert "[défaut : 300; entre 1 et 200000]" in text
    assert "--db <texte>" in text
    limit = regie("family", "search", "--help").output
    assert "[défaut : 50; entre 1 et 1000]" in limit


def assert_french_usage_error(result, command: str, message: str) -> None:
    assert result.exit_code == 2, result.output
    text = result.output
    for word in ENGLISH:
        assert word not in text, f"« {word} » dans :\n{text}"
    assert text.startswith(f"Utilisation : {command} ")
    assert f"Essayez « {command} --help » pour l'aide." in text
    assert f"Erreur : {message}" in text


def test_unknown_option():
    assert_french_usage_error(regie("--bogus"), "regie", "Option inconnue : --bogus")


def test_unknown_option_with_a_suggestion():
    assert_french_usage_error(
        regie("seed", "--famil", "3"),
        "regie seed",
        "Option inconnue : --famil (options possibles : --admin, --families)",
    )


def test_unknown_command_with_a_suggestion():
    assert_french_usage_error(regie("famly"), "regie", "Commande inconnue : « famly ». Vouliez-vous dire « family » ?")


def test_missing_command():
    assert_french_usage_error(regie("db"), "regie db", "Commande manquante.")


def test_missing_argument():
    assert_french_usage_error(regie("agent", "add"), "regie agent add", "Argument manquant : « login ».")


def test_invalid_integer():
    assert_french_usage_error(
        regie("family", "show", "abc"),
        "regie family show",
        "Valeur invalide pour « family_id » : « abc » n'est pas un nombre entier valide.",
    )


def test_value_below_the_minimum():
    assert_french_usage_error(
        regie("seed", "--families", "0"),
        "regie seed",
        "Valeur invalide pour « --families » : la valeur doit être supérieure ou égale à 1.",
    )


def test_value_above_the_maximum():
    assert_french_usage_error(
        regie("family", "search", "x", "--limit", "5000"),
        "regie family search",
        "Valeur invalide pour « --limit » : la valeur doit être inférieure ou égale à 1000.",
    )


def test_extra_argument():
    assert_french_usage_error(regie("family", "show", "1", "2"), "regie family show", "Argument(s) en trop : 2")


def test_option_without_its_value():
    result = regie("seed", "--families")
    assert result.exit_code == 2, result.output
    assert result.output.strip() == "Erreur : L'option « --families » attend une valeur."
