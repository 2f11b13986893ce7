"""Hostile values thrown at every CLI command: one French line, never a traceback, no write (issue 15, point 6).

The commands are found by walking the Typer app (as the French help test does), so a new
command is covered without being listed here. Each parameter gets values from a pool
chosen by its type and its help text: integers beyond the database's 64-bit ids, zero and
negative; dates of year 1 and 9999; months and amounts that make no sense; texts that no
column may hold (empty, 10,000 characters, control characters, NUL, bytes that are not
UTF-8, bidirectional overrides); paths that cannot be opened; an option given twice.
Every value drawn is one a command must refuse, so whatever the command, nothing may be
written: a fingerprint of the database (rows of every table, the last audit entry, the
stored files' bytes, SQLite's data_version) is the same before and after.

The walk runs on SQLite (a copy of the seeded town), a few examples per command:
``HOSTILE_EXAMPLES`` raises the number locally. Strings longer than their column
reach the database only with otherwise valid arguments, and only PostgreSQL raises on
them: ``test_strings_longer_than_their_column_are_refused_before_the_database`` gives
each text parameter of each writing command a too-long value beside valid ones, on both
engines.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from regie_tui import cli
from regie_tui.limits import ID_MAX

from helpers import ADMIN_LOGIN, act_as, backend_of

runner = CliRunner()

SQLITE_TOWN = pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "12"))

#: Commands with no agent (schema, demo town): they never touch the régie's rows.
NO_AGENT = {("db", "upgrade"), ("db", "status"), ("seed",)}
#: Commands that record their own run whatever its lines: the portal import keeps a record of
#: each file (name, hash, counts) and what its accepted lines need, never a rejected line's bytes.
RECORDS_ITS_RUN = {("inbox", "import"): {"portal_import", "audit_entry", "stored_file"}}
#: English words of Click's frame and Python's errors: none may reach the agent.
ENGLISH = ("Traceback", "Error:", "Usage:", "Invalid value", "Exception", "Errno")

# ------------------------------------------------------------------ hostile pools

HUGE_IDS = [
    "2147483648",  # 2**31: one beyond the database's ids (PostgreSQL's INTEGER)
    "9223372036854775808",  # 2**63
    "18446744073709551616",  # 2**64
    "-9223372036854775809",
    "1" + "0" * 40,
    "9223372036854775807",  # 2**63 - 1
]
INTEGERS = [*HUGE_IDS, "0", "-1", "1e3", "1.5", "0x1F", "٣", "", " ", "NaN"]
DATES = [
    "9999-12-31",
    "0001-01-01",
    "31/12/9999",
    "01/01/0001",
    "1999-12-31",
    "2100-01-01",
    "00/00/0000",
    "29/02/2027",
    "2026-02-30",
    "2026-11-23T08:00",
    "+2026-11-23",
    "２０２６-１１-２３",
    "",
]
MONTHS = ["9999-12", "0001-01", "2026-00", "2026-13", "12/9999", "2026-1-1", "", "novembre"]
AMOUNTS = [
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "-12,50",
    "-0,01",
    "12,505",
    "1000000,01",
    "99999999999",
    "12,50,1",
    "1_000",
    "١٢",
    "0x10",
    "",
]
#: Texts no column may store: each must be refused wherever it would be written.
TEXTS = [
    "",
    " ",
    "x" * 10_000,
    "é" * 10_000,
    "a\x00b",
    "\x1b[31mrouge\x1b[0m",
    "motif\x07",
    "avant\x7faprès",
    "\u202eevil",
    "a\u2028b",
    "\udcff\udcfe",  # bytes that were not UTF-8 (surrogateescape)
    "\ue000privé",
    "\t",
]
#: Paths that cannot be read or written as asked (beside those of the test's folder).
PATHS = ["/nonexistent/dossier/fichier.pdf", "", "p" * 5000, "a\x00b", "/", "/proc/self/mem"]

ALL = sorted({*INTEGERS, *DATES, *MONTHS, *AMOUNTS, *TEXTS})


# ------------------------------------------------------------------ the commands


def leaf_commands() -> list[tuple[tuple[str, ...], Any]]:
    found: list[tuple[tuple[str, ...], Any]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        subs = getattr(command, "commands", None)
        if subs is None:
            found.append((path, command))
            return
        for name, sub in subs.items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(cli.app), ())
    return found


COMMANDS = {path: command for path, command in leaf_commands() if path not in NO_AGENT}


def kind_of(param: Any) -> str:
    """What values a parameter takes: flag, int, date, month, amount, path, choice or text."""
    descriptor = param.type_descriptor
    help_text = getattr(param, "help", "") or ""
    names = {param.name, *getattr(param, "opts", ())}
    if getattr(param, "is_flag", False):
        return "flag"
    if descriptor.is_path or names & {"file", "FILE"}:
        return "path"
    if descriptor.is_choice:
        return "choice"
    if "int" in str(descriptor.annotation):
        return "int"
    if names & {"--on", "--from", "--to"} or re.search(r"JJ/MM|AAAA-MM-JJ|^(Le )?[Jj]our\b|\b[Dd]ate\b", help_text):
        return "date"
    if names & {"--month"} or "AAAA-MM" in help_text:
        return "month"
    if names & {"--amount", "--surcharge", "--penalty", "--package"} or re.search(r"12,50|4,15", help_text):
        return "amount"
    return "text"


def parameters(command: Any) -> list[Any]:
    return [p for p in command.params if p.name not in ("db", "help")]


def test_the_walk_covers_every_command_and_every_id_is_bounded():
    """Every room is walked; every integer parameter is bounded (ids: like the database's)."""
    assert {path[0] for path in COMMANDS} >= {"agent", "family", "inbox", "booking", "invoices", "payments", "sepa"}
    assert len(COMMANDS) >= 45
    for path, command in COMMANDS.items():
        for param in parameters(command):
            if kind_of(param) == "int":
                assert param.min is not None and param.max is not None, (path, param.name)
                assert param.max <= ID_MAX, (path, param.name)


# ------------------------------------------------------------------ strategies


@st.composite
def command_line(draw: st.DrawFn, command: Any, files: dict[str, str]) -> list[str]:
    """Hostile arguments for ``command``: every value drawn is one it must refuse."""
    pools = {
        "int": INTEGERS,
        "date": DATES,
        "month": MONTHS,
        "amount": AMOUNTS,
        "text": TEXTS,
        "choice": TEXTS,
        "path": [*PATHS, *files.values()],
    }

    def value(param: Any) -> str:
        kind = kind_of(param)
        # Mostly the pool of its kind, now and then any other hostile value (a text given as a
        # date…); a text gets only texts, as a date given as a text would be a fine text.
        pool = pools[kind] if kind in ("text", "path") or draw(st.integers(0, 4)) else ALL
        return draw(st.sampled_from(pool))

    args: list[str] = []
    options: list[list[str]] = []
    for param in parameters(command):
        if param.param_type_name == "argument":
            args.append(value(param))
            continue
        if not param.required and not draw(st.booleans()):
            continue
        name = param.opts[0]
        if kind_of(param) == "flag":
            options.append([name])
            continue
        times = draw(st.integers(1, 3)) if getattr(param, "multiple", False) else 1
        options.extend([name, value(param)] for _ in range(times))
    if options and draw(st.integers(0, 5)) == 0:  # an option given twice
        options.append(draw(st.sampled_from(options)))
    options = draw(st.permutations(options))
    # Arguments first, "--" before them when one looks like an option ("-1"): as a shell user would.
    if any(a.startswith("-") for a in args):
        return [*(part for option in options for part in option), "--", *args]
    return [*args, *(part for option in options for part in option)]


# ------------------------------------------------------------------ the database


@pytest.fixture
def fingerprint(fresh_town_url):
    """A function giving what any write would change in the town at ``fresh_town_url``."""
    engine = sa.create_engine(fresh_town_url)
    tables = sorted(sa.inspect(engine).get_table_names())
    counts = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)
    version: sqlite3.Connection | None = None
    if backend_of(fresh_town_url) == "sqlite":
        version = sqlite3.connect(fresh_town_url.removeprefix("sqlite:///"))

    def take() -> dict[str, Any]:
        with engine.connect() as connection:
            found: dict[str, Any] = dict(connection.exec_driver_sql(counts).all())
            found["max(audit_entry.id)"] = connection.exec_driver_sql("SELECT max(id) FROM audit_entry").scalar()
            found["sum(stored_file.size)"] = connection.exec_driver_sql("SELECT sum(size) FROM stored_file").scalar()
        if version is not None:
            found["data_version"] = version.execute("PRAGMA data_version").fetchone()[0]
        return found

    yield take
    engine.dispose()
    if version is not None:
        version.close()


@pytest.fixture
def files(tmp_path) -> dict[str, str]:
    """Files a path parameter may be given: an existing one (an output must not overwrite it),
    a "PDF" that is not one, an empty file, a folder."""
    fake = tmp_path / "faux.pdf"
    fake.write_bytes(b"MZ\x90\x00 pas un PDF\n")
    empty = tmp_path / "vide.pdf"
    empty.write_bytes(b"")
    return {"fake": str(fake), "empty": str(empty), "folder": str(tmp_path)}


def regie(*args: str, input: bytes | None = None) -> Any:
    return runner.invoke(cli.app, list(args), prog_name="regie", input=input)


def short(argv: list[str]) -> str:
    """The command line as a failure shows it: long values cut."""
    return " ".join(repr(a if len(a) <= 40 else f"{a[:20]}…({len(a)} caractères)") for a in argv)


def file_size(text: str) -> int | None:
    try:
        path = Path(text)
        return path.stat().st_size if path.is_file() else None
    except (OSError, ValueError):
        return None


def assert_answered_in_french(result: Any, argv: list[str]) -> None:
    shown = f"regie {short(argv)}\n{result.output[:2000]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (shown, result.exception)
    assert result.exit_code in (0, 1, 2), shown
    for word in ENGLISH:
        assert word not in result.output, shown
    if result.exit_code:
        assert result.output.strip(), shown


# ------------------------------------------------------------------ the walk


@SQLITE_TOWN
@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("HOSTILE_RANDOM") != "1",
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_values_get_one_french_line_and_change_nothing(
    path, data, fresh_town_url, fingerprint, files, monkeypatch, tmp_path
):
    act_as(monkeypatch, ADMIN_LOGIN)
    monkeypatch.chdir(tmp_path)  # a default output file (recu-N.pdf…) would land here
    argv = [*path, "--db", fresh_town_url, *data.draw(command_line(COMMANDS[path], files), label="arguments")]
    before = fingerprint()
    result = regie(*argv)
    assert_answered_in_french(result, argv)
    after = fingerprint()
    if path in RECORDS_ITS_RUN:  # its run's record, and at most the blank lines left of a rejected file
        grown = (after.pop("sum(stored_file.size)") or 0) - (before.pop("sum(stored_file.size)") or 0)
        assert grown <= max((file_size(a) or 0) for a in argv), short(argv)
        for key in (*RECORDS_ITS_RUN[path], "max(audit_entry.id)", "data_version"):
            before.pop(key, None), after.pop(key, None)
    assert after == before, f"regie {short(argv)} wrote to the database:\n{result.output[:2000]}"


# ------------------------------------------------------------------ focused: the parser


def int_params() -> list[tuple[tuple[str, ...], str]]:
    """(command, option or argument) of every integer parameter: ids and bounded counts."""
    found = []
    for path, command in sorted(COMMANDS.items()):
        for param in parameters(command):
            if kind_of(param) == "int":
                found.append((path, param.opts[0] if param.param_type_name == "option" else param.name))
    return found


def given_to(path: tuple[str, ...], param: str, value: str) -> list[str]:
    """``value`` for the option ``param``, or for the argument ``param`` after plausible
    values of the arguments before it (so that the parser reaches it)."""
    if param.startswith("--"):
        return [param, value]
    before: list[str] = []
    for other in parameters(COMMANDS[path]):
        if other.param_type_name != "argument":
            continue
        if other.name == param:
            return ["--", *before, value]
        kind = kind_of(other)
        choices = other.type_descriptor.choices
        before.append(
            str(choices[0].value) if kind == "choice" and choices else {"int": "1", "date": "2026-11-23"}.get(kind, "x")
        )
    raise AssertionError((path, param))


@SQLITE_TOWN
@pytest.mark.parametrize(("path", "param"), int_params(), ids=lambda x: " ".join(x) if isinstance(x, tuple) else x)
def test_every_integer_beyond_its_bounds_is_refused_by_the_parser_in_french(path, param, town_url, monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)
    for value in ("2147483648", "9223372036854775808", "18446744073709551616", "0"):
        given = given_to(path, param, value)
        result = regie(*path, "--db", town_url, *given)
        assert_answered_in_french(result, [*path, *given])
        assert result.exit_code == 2, result.output
        assert re.search(r"Erreur : Valeur invalide pour « .+ » : la valeur doit être", result.output), result.output


@SQLITE_TOWN
@pytest.mark.parametrize(
    ("args", "label"),
    [
        (("payments", "journal", "9999-12-31"), "Date"),
        (("payments", "journal", "01/01/0001"), "Date"),
        (("roster", "0001-01-01", "--activity", "1"), "Date"),
        (("booking", "list", "1", "--from", "2026-11-01", "--to", "9999-12-31"), "--to"),
        (("rates", "list", "--on", "9999-12-31"), "Date"),
        (("reminders", "list", "--on", "0001-01-01"), "Date"),
        (
            ("publish", "news", "--title", "T", "--text", "T", "--from", "2026-11-23", "--to", "9999-12-31"),
            "Date de fin",
        ),
        (("occupancy", "--activity", "1", "--month", "9999-12"), "Mois"),
        (("invoices", "run", "--month", "0001-01", "--regie", "pop", "--dry-run"), "Mois"),
        (("payments", "add", "1", "--mode", "especes", "--amount", "5", "--on", "0001-01-01"), "Date d'encaissement"),
    ],
    ids=lambda x: " ".join(x) if isinstance(x, tuple) else x,
)
def test_dates_outside_the_regies_years_are_refused_in_french(args, label, town_url, monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)
    result = regie(*args, "--db", town_url)
    assert_answered_in_french(result, list(args))
    assert result.exit_code == 1
    assert f"Erreur : {label} : " in result.output and "hors des années de la régie (2000 à 2099)" in result.output


@SQLITE_TOWN
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("invoices", "credit", "pop-F261000001", "--reason", "a", "--reason", "b"),
            "L'option « --reason » est donnée plusieurs fois",
        ),
        (
            ("invoices", "credit", "pop-F261000001", "--reason", "a", "--line", "1", "--line", "1"),
            "La ligne 1 est donnée plusieurs fois",
        ),
        (
            ("payments", "add", "1", "--mode", "especes", "--amount", "5", "--amount", "6"),
            "L'option « --amount » est donnée plusieurs fois",
        ),
        (
            ("payments", "add", "1", "--mode", "especes", "--amount", "5", "--invoice", "X", "--invoice", " X"),
            "La facture X est donnée plusieurs fois",
        ),
        (("family", "search", "a", "--limit", "3", "--limit", "4"), "L'option « --limit » est donnée plusieurs fois"),
        (("family", "search", "a\x00b"), "caractère nul"),
        (("invoices", "show", "pop-F\udce9"), "ce n'est pas un texte UTF-8 valide"),
    ],
    ids=lambda x: " ".join(repr(a) for a in x) if isinstance(x, tuple) else "",
)
def test_repeated_options_nul_and_bytes_not_utf8_are_refused_and_nothing_runs(
    args, message, fresh_town_url, fingerprint, monkeypatch
):
    act_as(monkeypatch, ADMIN_LOGIN)
    before = fingerprint()
    result = regie(*args, "--db", fresh_town_url)
    assert_answered_in_french(result, list(args))
    assert result.exit_code in (1, 2) and message in result.output, result.output
    assert fingerprint() == before


@SQLITE_TOWN
@pytest.mark.parametrize("amount", ["nan", "1e400", "-12,50", "12,505", "1000000,01", "Infinity", "١٢"])
def test_absurd_amounts_are_refused_in_french(amount, fresh_town_url, fingerprint, monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)
    before = fingerprint()
    for args in (
        ("payments", "add", "1", "--mode", "especes", "--amount", amount, "--regie", "pop"),
        ("invoices", "credit", "pop-F261000001", "--reason", "Erreur", "--amount", amount),
        ("rates", "set", "1", "0-650", "--from", "2027-01-01", "--amount", amount),
    ):
        result = regie(*args, "--db", fresh_town_url)
        assert_answered_in_french(result, list(args))
        assert result.exit_code == 1 and re.search(r"(Montant|Tarif) : ", result.output), result.output
    assert fingerprint() == before


@SQLITE_TOWN
def test_a_pasted_page_of_words_is_a_search_not_a_database_error(town_url, monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)
    result = regie("family", "search", "a " * 5000, "--db", town_url)
    assert result.exit_code == 0 and "famille(s)" in result.output, result.output


@SQLITE_TOWN
def test_what_is_echoed_back_is_text_never_markup_nor_a_terminal_escape(town_url, monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)
    closing = regie("invoices", "show", "[/]", "--db", town_url)
    assert closing.exit_code == 1 and "« [/] »" in closing.output, closing.output
    escape = regie("payments", "cancel", "\x1b[2J", "--reason", "x", "--db", town_url)
    assert escape.exit_code == 1 and "\x1b" not in escape.output and "\\x1b[2J" in escape.output, escape.output


# ------------------------------------------------------------------ focused: lengths, both engines


def town_facts(url: str, folder: Path) -> dict[str, str]:
    """Valid values from the town at ``url``, so that a command reaches the text it writes."""
    engine = sa.create_engine(url)
    with engine.connect() as db:

        def one(sql: str) -> str:
            return str(db.execute(sa.text(sql)).scalar_one())

        facts = {
            "item": one("SELECT min(id) FROM submission WHERE status = 'pending' AND kind <> 'message'"),
            "invoice": one("SELECT min(number) FROM invoice WHERE status = 'issued' AND number LIKE 'pop-%'"),
            "receipt": one("SELECT max(receipt_number) FROM payment WHERE cancelled_on IS NULL"),
            "rum": one("SELECT min(rum) FROM mandate WHERE revoked_on IS NULL"),
            "child": one("SELECT min(child_id) FROM enrollment WHERE status = 'accepted'"),
            "unit": one(
                "SELECT min(u.id) FROM unit u JOIN enrollment e ON e.activity_id = u.activity_id "
                "WHERE e.child_id = (SELECT min(child_id) FROM enrollment WHERE status = 'accepted')"
            ),
        }
    engine.dispose()
    pdf = folder / "reglement.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    return facts | {"pdf": str(pdf)}


def long(limit: int) -> str:
    return "é" * (limit + 1)


#: (command line, the text's limit, what the refusal says): every text a command writes to a
#: column with a length, given one character too many.
LENGTH_CASES = [
    (("inbox", "refuse", "{item}", "--reason", 500), "Motif : 500 caractères au plus (501 saisis)."),
    (("inbox", "template-add", 500), "Motif : 500 caractères au plus (501 saisis)."),
    (("invoices", "credit", "{invoice}", "--reason", 500), "Motif de l'avoir : 500 caractères au plus (501 saisis)."),
    (
        (
            "payments",
            "add",
            "1",
            "--mode",
            "cheque",
            "--amount",
            "10",
            "--regie",
            "pop",
            "--bank",
            "B",
            "--reference",
            80,
        ),
        "Référence trop longue (81 caractères, 80 au plus).",
    ),
    (
        (
            "payments",
            "add",
            "1",
            "--mode",
            "cheque",
            "--amount",
            "10",
            "--regie",
            "pop",
            "--reference",
            "1",
            "--bank",
            80,
        ),
        "Nom de banque trop long (81 caractères, 80 au plus).",
    ),
    (
        ("payments", "add", "1", "--mode", "especes", "--amount", "10", "--regie", "pop", "--payer", 200),
        "Payeur : 200 caractères au plus (201 saisis).",
    ),
    (("payments", "cancel", "{receipt}", "--reason", 200), "Motif trop long : 200 caractères au plus."),
    (("payments", "reject", "{receipt}", "--reason", 200), "Motif trop long : 200 caractères au plus."),
    (
        (
            "sepa",
            "mandate-add",
            "1",
            "--regie",
            "pop",
            "--iban",
            "FR7630006000011234567890189",
            "--signed",
            "2026-11-02",
            "--name",
            140,
        ),
        "Titulaire du compte : 140 caractères au plus.",
    ),
    (
        (
            "sepa",
            "mandate-add",
            "1",
            "--regie",
            "pop",
            "--iban",
            "FR7630006000011234567890189",
            "--signed",
            "2026-11-02",
            "--address",
            280,
        ),
        "Adresse du titulaire du compte : 280 caractères au plus.",
    ),
    (("sepa", "mandate-revoke", "{rum}", "--reason", 200), "Motif de la révocation : 200 caractères au plus."),
    (
        ("publish", "news", "--text", "Texte", "--from", "2026-11-23", "--to", "2026-12-01", "--title", 200),
        "Titre : 200 caractères au plus (201 saisis).",
    ),
    (
        ("publish", "news", "--title", "Titre", "--from", "2026-11-23", "--to", "2026-12-01", "--text", 5000),
        "Texte : 5\u00a0000 caractères au plus (5\u00a0001 saisis).",
    ),
    (("publish", "document", "{pdf}", "--title", 200), "Titre : 200 caractères au plus (201 saisis)."),
    (
        ("publish", "document", "{pdf}", "--title", "Règlement", "--description", 1000),
        "Description : 1\u00a0000 caractères au plus (1\u00a0001 saisis).",
    ),
    (
        ("booking", "set", "{child}", "2026-11-24", "{unit}", "reserved", "--force", "--reason", 500),
        "Motif : 500 caractères au plus (501 saisis).",
    ),
    (("agent", "add", "nouvel.agent", "--name", 120), "Nom affiché invalide : 1 à 120 caractères imprimables."),
]


def test_the_length_cases_name_the_columns_limits():
    """The limits above are the columns' own (a column that changes fails here, not in production)."""
    from regie_tui import models
    from regie_tui.services.common.validation import column_length

    columns: dict[int, list[Any]] = {
        500: [models.Submission.reason, models.RefusalTemplate.text, models.CreditNote.reason],
        80: [models.Payment.reference, models.Payment.bank],
        200: [
            models.Payment.payer_name,
            models.Payment.cancel_reason,
            models.News.title,
            models.StructureDocument.title,
        ],
        140: [models.Mandate.debtor_name],
        280: [models.Mandate.debtor_address],
        5000: [models.News.body],
        1000: [models.StructureDocument.description],
        120: [models.Agent.display_name],
    }
    assert {(limit, column_length(c)) for limit, cs in columns.items() for c in cs} == {(n, n) for n in columns}


@pytest.mark.parametrize(
    ("args", "message"), LENGTH_CASES, ids=lambda x: " ".join(map(str, x[:3])) if isinstance(x, tuple) else ""
)
def test_strings_longer_than_their_column_are_refused_before_the_database(
    args, message, fresh_town_url, fingerprint, monkeypatch, tmp_path
):
    """Same French line on SQLite (which would store them) and PostgreSQL (which would raise)."""
    act_as(monkeypatch, ADMIN_LOGIN)
    facts = town_facts(fresh_town_url, tmp_path)
    argv = [long(a) if isinstance(a, int) else a.format(**facts) for a in args]
    before = fingerprint()
    result = regie(*argv, "--db", fresh_town_url)
    assert_answered_in_french(result, argv)
    assert result.exit_code == 1 and message in result.output, result.output
    assert fingerprint() == before
    # One character less is a text the column holds: not refused for its length.
    argv = [long(a - 1) if isinstance(a, int) else a.format(**facts) for a in args]
    assert message not in regie(*argv, "--db", fresh_town_url).output


# ------------------------------------------------------------------ focused: the portal's file


def portal_line(url: str, portal_id: str, **extra: Any) -> bytes:
    engine = sa.create_engine(url)
    with engine.connect() as db:
        row = db.execute(sa.text("SELECT family_id, email FROM portal_account ORDER BY id")).first()
        assert row is not None
        family, email = row
    engine.dispose()
    common = {"id": portal_id, "family": family, "account": email, "submitted_at": "2026-11-22T18:30:00+01:00"}
    return json.dumps({**common, "kind": "login", **extra} if not extra else {**common, **extra}).encode()


def last_import(url: str) -> dict[str, Any]:
    """The last run's record, its kept file and its audit entry."""
    engine = sa.create_engine(url)
    with engine.connect() as db:
        run = db.execute(sa.text("SELECT * FROM portal_import ORDER BY id DESC")).mappings().first()
        assert run is not None
        kept = db.execute(sa.text("SELECT size, content FROM stored_file WHERE sha256 = :s"), {"s": run["file_sha256"]})
        size, content = kept.one()
        audit = db.execute(
            sa.text("SELECT after FROM audit_entry WHERE entity = 'portal_import' AND entity_id = :i"), {"i": run["id"]}
        ).scalar_one()
    engine.dispose()
    return {
        **run,
        "kept_size": size,
        "kept": bytes(content),
        "audit": audit if isinstance(audit, dict) else json.loads(audit),
    }


def test_deeply_nested_and_huge_lines_are_rejected_and_their_bytes_never_stored(fresh_town_url, monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)
    url = fresh_town_url
    deep_list = b"[" * 100_000 + b"]" * 100_000
    nested = portal_line(
        url, "p-nested", kind="message", subject="Objet", body="Texte", recipient=[[[[[[[[["x"]]]]]]]]]
    )
    huge = portal_line(url, "p-huge", kind="message", subject="Objet", body="x" * (16 * 1024 * 1024))
    good = portal_line(url, "p-good")
    data = b"\n".join([good, deep_list, nested, huge, b""])

    result = regie("inbox", "import", "-", "--json", "--db", url, input=data)

    assert result.exit_code == 1, result.output[:2000]
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["stored"], summary["known"]) == (4, 1, 0)
    # The nested line's id is told when it was read before its depth was judged.
    assert [(r["line"], r["reason"]) for r in summary["rejected"]] == [
        (2, "JSON trop imbriqué (8 niveaux au plus)."),
        (3, "JSON trop imbriqué (8 niveaux au plus)."),
        (4, "ligne trop longue (16 Mo, 15 Mo au plus) : elle n'est pas lue."),
    ]
    assert [r["id"] for r in summary["rejected"]] in ([None, "p-nested", None], [None, None, None])
    run = last_import(url)
    # Kept: the accepted line, the rejected ones emptied (the numbers stay true); the file's
    # own hash and size are in the run's audit entry.
    assert run["kept"] == b"\n".join([good, b"", b"", b"", b""]) and run["kept_size"] == len(good) + 4
    assert (run["read"], run["stored"], run["rejected"]) == (4, 1, 3)
    assert run["audit"]["sha256"] == hashlib.sha256(data).hexdigest() and run["audit"]["bytes"] == len(data)


@SQLITE_TOWN
def test_control_characters_sent_by_the_portal_are_rejected_with_the_line(fresh_town_url, monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)
    family = json.loads(portal_line(fresh_town_url, "p-x"))["family"]
    change = {"kind": "change", "entity": "family", "entity_id": family, "field": "city", "old": None}
    data = b"\n".join(
        [
            portal_line(fresh_town_url, "p-city", **change, new="Lyon\u001b[2J"),
            portal_line(fresh_town_url, "p-rtl", **change, new="\u202eNOYL"),
        ]
    )
    result = regie("inbox", "import", "-", "--json", "--db", fresh_town_url, input=data)
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["rejected"] == [
        {"line": 1, "id": "p-city", "reason": "commune : caractère non admis (U+001B)."},
        {"line": 2, "id": "p-rtl", "reason": "commune : caractère non admis (U+202E)."},
    ]


@SQLITE_TOWN
def test_a_file_named_in_latin_1_is_imported_its_name_kept_readable(fresh_town_url, monkeypatch, tmp_path):
    act_as(monkeypatch, ADMIN_LOGIN)
    path = Path(os.fsdecode(bytes(tmp_path) + b"/donn\xe9es-\x1b.jsonl"))
    path.write_bytes(portal_line(fresh_town_url, "p-latin") + b"\n")
    result = regie("inbox", "import", str(path), "--db", fresh_town_url)
    assert result.exit_code == 0, result.output
    assert last_import(fresh_town_url)["filename"] == "donn\ufffdes-?.jsonl"


# ------------------------------------------------------------------ focused: a "PDF" that is not one


@SQLITE_TOWN
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "reglement.pdf",
            b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
            "« reglement.pdf » n'est pas un PDF : c'est une image PNG.",
        ),
        ("reglement.pdf", b"MZ\x90\x00 un programme", "« reglement.pdf » n'est ni un PDF, ni une image JPEG ou PNG"),
        ("photo.png", b"%PDF-1.4\n%%EOF\n", "« photo.png » n'est pas une image PNG : c'est un PDF."),
        ("plan\x1b.pdf", b"%PDF-1.4\n%%EOF\n", "Nom de fichier : caractère non admis (U+001B)."),
    ],
)
def test_a_file_said_to_be_a_pdf_must_be_one(
    name, content, message, fresh_town_url, fingerprint, monkeypatch, tmp_path
):
    act_as(monkeypatch, ADMIN_LOGIN)
    path = tmp_path / name
    path.write_bytes(content)
    before = fingerprint()
    result = regie("publish", "document", str(path), "--title", "Règlement", "--db", fresh_town_url)
    assert_answered_in_french(result, ["publish", "document", str(path)])
    assert result.exit_code == 1 and message in result.output, result.output
    assert fingerprint() == before


def test_the_largest_id_is_looked_for_and_one_more_is_refused_on_both_engines(town_url, fresh_town_url, monkeypatch):
    """PostgreSQL's ids are 32-bit: the parser and the portal import stop there, on both engines."""
    act_as(monkeypatch, ADMIN_LOGIN)
    largest = regie("family", "show", "2147483647", "--db", town_url)
    assert largest.exit_code == 1 and "Aucune famille n° 2147483647" in largest.output, largest.output
    beyond = regie("family", "show", "2147483648", "--db", town_url)
    assert beyond.exit_code == 2 and "Traceback" not in beyond.output
    good = portal_line(fresh_town_url, "p-good", kind="message", subject="Objet", body="Bonne ligne")
    bad = json.dumps({**json.loads(good), "id": "p-bad", "family": 2**31}).encode()
    result = regie("inbox", "import", "-", "--db", fresh_town_url, "--json", input=good + b"\n" + bad)
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["stored"] == 1 and [r["line"] for r in summary["rejected"]] == [2]
