"""`regie roster DATE --activity ID [--pdf FILE]`: the roster as a table, JSON, and the PDF sheet."""

import io
import json

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from regie_tui import cli

from helpers import ADMIN_LOGIN, act_as

runner = CliRunner()
CHILDREN = ["Mace", "Marguerite", "Robin", "Alix", "Aurélie", "Langlois", "Agathe", "Alain"]


@pytest.fixture(autouse=True)
def login(monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)


def regie(*args: str):
    return runner.invoke(cli.app, list(args))


def test_pdf_sheet_lists_the_children(town_url, tmp_path):
    target = tmp_path / "feuille.pdf"
    result = regie("roster", "23/11/2026", "--activity", "1", "--pdf", str(target), "--db", town_url)
    assert result.exit_code == 0, result.output
    assert "Feuille de présence écrite" in result.output
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(target.read_bytes())).pages)
    assert "Feuille de présence" in text
    assert "Périscolaire Jules Ferry" in text and "lundi 23 novembre 2026" in text
    assert all(name in text for name in CHILDREN)
    assert "Signature du directeur / de la directrice" in text
    assert "Appareil dentaire" in text  # the admin sees health notes

    again = regie("roster", "2026-11-23", "--activity", "1", "--pdf", str(target), "--db", town_url)
    assert again.exit_code == 1
    assert "existe déjà" in again.output


def test_table_and_json(town_url):
    result = regie("roster", "2026-11-23", "--activity", "1", "--db", town_url)
    assert result.exit_code == 0, result.output
    assert "Acc matin" in result.output and "Acc soir" in result.output
    assert "Totaux : 3 réservés" in result.output
    data = json.loads(regie("roster", "2026-11-23", "--activity", "1", "--json", "--db", town_url).stdout)
    assert [u["name"] for u in data["units"]] == ["Acc matin", "Acc soir"]
    assert [line["last_name"] for line in data["units"][0]["lines"]] == ["Mace", "Robin", "Robin"]


def test_plain_table_is_one_line_per_child_at_80_columns(town_url):
    """Piped (80 columns): each child on one line, long cells cut with "…", the child's name whole."""
    result = regie("roster", "2026-11-23", "--activity", "1", "--db", town_url)
    assert result.exit_code == 0, result.output
    data = json.loads(regie("roster", "2026-11-23", "--activity", "1", "--json", "--db", town_url).stdout)
    lines = result.output.splitlines()
    assert lines[0] == "Périscolaire Jules Ferry — Groupe scolaire Jules Ferry — lundi 23 novembre 2026"
    for unit in data["units"]:
        title = lines.index(f"{unit['name']} ({unit['hours']})")
        assert lines[title + 1].split()[:3] == ["Enfant", "Groupe", "Pointage"]
        rows = lines[title + 3 : title + 3 + len(unit["lines"])]
        for row, child in zip(rows, unit["lines"], strict=True):
            assert row.startswith(f"{child['last_name']} {child['first_name']} ")
            assert child["group"] in row
            collectors = ", ".join(child["collectors"])
            assert collectors[:8] in row
            if len(collectors) > 20:
                assert row.endswith("…")
        assert lines[title + 3 + len(unit["lines"])].startswith("Totaux : ")
    assert all(len(row) <= 80 for row in lines if not row.startswith("Totaux"))
    assert "… " in result.output or "…\n" in result.output  # something was cut


def test_bad_date_is_a_french_error(town_url):
    result = regie("roster", "31/02/2026", "--activity", "1", "--db", town_url)
    assert result.exit_code == 1
    assert "n'est pas une date valide" in result.output
    assert "Traceback" not in result.output


def test_unknown_activity(town_url):
    result = regie("roster", "2026-11-23", "--activity", "999", "--db", town_url)
    assert result.exit_code == 1
    assert "Activité n° 999 introuvable" in result.output
