"""`regie publish`: documents and news for the portal, as an agent types the commands."""

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from regie_tui import cli

from helpers import ADMIN_LOGIN, act_as

runner = CliRunner()
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture(autouse=True)
def login(monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)


def regie(*args: str):
    return runner.invoke(cli.app, ["publish", *args])


def listing(url: str) -> dict[str, Any]:
    result = regie("list", "--db", url, "--json")
    assert result.exit_code == 0, result.output
    listed: dict[str, Any] = json.loads(result.output)
    return listed


def test_publish_news_and_document_then_list_and_withdraw(fresh_town_url, tmp_path):
    url = fresh_town_url
    before = listing(url)

    added = regie(
        "news",
        "--title",
        "Fermeture",
        "--text",
        "Fermé le 11/12.",
        "--from",
        "23/11/2026",
        "--to",
        "11/12/2026",
        "--db",
        url,
    )
    assert added.exit_code == 0, added.output
    assert "publiée du 23/11/2026 au 11/12/2026" in added.output
    later = regie(
        "news", "--title", "Noël", "--text", "Spectacle.", "--from", "2026-12-15", "--to", "19/12/2026", "--db", url
    )
    assert later.exit_code == 0, later.output

    pdf = tmp_path / "fiche-sanitaire.pdf"
    pdf.write_bytes(PDF)
    published = regie("document", str(pdf), "--title", "Fiche sanitaire", "--to-return", "--db", url)
    assert published.exit_code == 0, published.output
    assert "« Fiche sanitaire » publié (à retourner par les familles)" in published.output

    after = listing(url)
    news = {n["title"]: n for n in after["news"]}
    assert news["Fermeture"]["state_label"] == "en ligne" and news["Noël"]["state_label"] == "à venir"
    assert news["Noël"]["published_from"] == "2026-12-15"
    (document,) = [d for d in after["documents"] if d["title"] == "Fiche sanitaire"]
    assert document["to_return"] and document["filename"] == "fiche-sanitaire.pdf"
    assert document["media_type"] == "application/pdf" and document["state_label"] == "en ligne"
    assert len(after["documents"]) == len(before["documents"]) + 1

    table = regie("list", "--db", url)
    assert table.exit_code == 0, table.output
    assert "Documents de la structure" in table.output and "Actualités" in table.output
    assert "Fiche sanitaire" in table.output and "à venir" in table.output

    gone = regie("withdraw", "news", str(news["Fermeture"]["id"]), "--db", url)
    assert gone.exit_code == 0, gone.output
    assert f"Actualité n° {news['Fermeture']['id']} retirée du portail." in gone.output
    assert regie("withdraw", "document", str(document["id"]), "--db", url).exit_code == 0
    states = {n["title"]: n["state_label"] for n in listing(url)["news"]}
    assert states["Fermeture"] == "retirée"
    assert {d["id"]: d["state_label"] for d in listing(url)["documents"]}[document["id"]] == "retirée"

    again = regie("withdraw", "news", str(news["Fermeture"]["id"]), "--db", url)
    assert again.exit_code == 1
    assert "L'actualité « Fermeture » est déjà retirée" in again.output


def test_refusals_are_french_and_exit_1(fresh_town_url, tmp_path):
    url = fresh_town_url
    text = tmp_path / "reglement.pdf"
    text.write_text("pas un PDF")
    result = regie("document", str(text), "--title", "Règlement", "--db", url)
    assert result.exit_code == 1
    assert "« reglement.pdf » n'est ni un PDF, ni une image JPEG ou PNG" in result.output
    assert "Traceback" not in result.output

    bad_dates = regie("news", "--title", "T", "--text", "X", "--from", "10/12/2026", "--to", "01/12/2026", "--db", url)
    assert bad_dates.exit_code == 1
    assert "La date de fin (01/12/2026) précède la date de début (10/12/2026)" in bad_dates.output
    not_a_date = regie("news", "--title", "T", "--text", "X", "--from", "31/02/2026", "--to", "01/12/2026", "--db", url)
    assert not_a_date.exit_code == 1
    assert "Date de début : « 31/02/2026 » n'est pas une date valide (JJ/MM/AAAA)" in not_a_date.output

    missing = regie("withdraw", "document", "9999", "--db", url)
    assert missing.exit_code == 1 and "introuvable" in missing.output
    wrong_kind = regie("withdraw", "affiche", "1", "--db", url)
    assert wrong_kind.exit_code == 2
    assert all(n["title"] != "T" for n in listing(url)["news"])
