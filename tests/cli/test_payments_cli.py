"""`regie payments …`: add, journal (table and JSON), receipt PDF, cancel, reject, close."""

import io
import json
from datetime import date

import pytest
from pypdf import PdfReader
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from regie_tui import cli
from regie_tui.db import make_engine
from regie_tui.models import Agent, Role
from regie_tui.services.payments.account import open_invoices

from helpers import ADMIN_LOGIN, act_as

runner = CliRunner()


@pytest.fixture(autouse=True)
def login(monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)


def regie(*args: str):
    return runner.invoke(cli.app, list(args))


def oldest_open(url: str, family_id: int = 1):
    engine = make_engine(url)
    with Session(engine) as db:
        found = open_invoices(db, family_id=family_id)[0]
    engine.dispose()
    return found


def test_add_prints_the_receipt_and_the_journal_shows_it(fresh_town_url, tmp_path):
    invoice = oldest_open(fresh_town_url)
    code = invoice.number.split("-")[0]
    result = regie(
        "payments", "add", "1", "--mode", "cheque", "--amount", "12,50", "--reference", "1234567",
        "--bank", "Crédit Agricole", "--invoice", invoice.number, "--db", fresh_town_url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Règlement enregistré : reçu" in result.output and "12,50" in result.output
    assert f"{invoice.number} : 12,50" in result.output
    receipt = result.output.split("reçu ")[1].split(",")[0]
    assert receipt.startswith(f"{code}-R2611")

    data = json.loads(regie("payments", "journal", "2026-11-23", "--json", "--db", fresh_town_url).stdout)
    lines = [p for r in data["regies"] for p in r["payments"]]
    mine = next(p for p in lines if p["receipt"] == receipt)
    assert (mine["mode"], mine["amount_cents"], mine["reference"], mine["state"]) == ("cheque", 1250, "1234567", "ok")
    assert data["totals"]["cheque"]["total_cents"] >= 1250

    table = regie("payments", "journal", "23/11/2026", "--db", fresh_town_url)
    assert table.exit_code == 0, table.output
    assert "Journal de caisse du lundi 23 novembre 2026" in table.output and receipt in table.output

    target = tmp_path / "recu.pdf"
    printed = regie("payments", "receipt", receipt, "--out", str(target), "--db", fresh_town_url)
    assert printed.exit_code == 0, printed.output
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(target.read_bytes())).pages)
    assert f"Reçu n° {receipt}" in text
    assert "12,50 €" in text and "Chèque" in text and "1234567" in text and "Crédit Agricole" in text
    assert invoice.number in text and "lundi 23 novembre 2026" in text
    again = regie("payments", "receipt", receipt, "--out", str(target), "--db", fresh_town_url)
    assert again.exit_code == 1 and "existe déjà" in again.output

    no_reason = regie("payments", "reject", receipt, "--reason", " ", "--db", fresh_town_url)
    assert no_reason.exit_code == 1 and "Motif obligatoire" in no_reason.output
    rejected = regie("payments", "reject", receipt, "--reason", "Sans provision", "--db", fresh_town_url)
    assert rejected.exit_code == 0, rejected.output
    assert f"Facture {invoice.number} rouverte : 12,50" in rejected.output
    assert oldest_open(fresh_town_url).balance_cents == invoice.balance_cents
    target.unlink()
    regie("payments", "receipt", receipt, "--out", str(target), "--db", fresh_town_url)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(target.read_bytes())).pages)
    assert "REJETÉ" in text and "Sans provision" in text


def test_cash_rules_modes_and_amounts_in_french(fresh_town_url):
    over = regie(
        "payments", "add", "1", "--mode", "espèces", "--amount", "300,01", "--regie", "pop", "--db", fresh_town_url
    )
    assert over.exit_code == 1 and "limité à 300,00" in over.output
    bad = regie(
        "payments", "add", "1", "--mode", "especes", "--amount", "douze", "--regie", "pop", "--db", fresh_town_url
    )
    assert bad.exit_code == 1 and "Montant : « douze » n'est pas un montant" in bad.output
    mode = regie("payments", "add", "1", "--mode", "bitcoin", "--amount", "12", "--db", fresh_town_url)
    assert mode.exit_code == 1 and "Mode de règlement inconnu" in mode.output
    debit = regie("payments", "add", "1", "--mode", "prelevement", "--amount", "12", "--db", fresh_town_url)
    assert debit.exit_code == 1 and "lot SEPA" in debit.output
    invoice = oldest_open(fresh_town_url)
    code = invoice.number.split("-")[0]
    ok = regie(
        "payments", "add", "1", "--mode", "especes", "--amount", "300", "--regie", code, "--json",
        "--db", fresh_town_url,
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    done = json.loads(ok.stdout)
    assert done["amount_cents"] == 30000 and done["mode"] == "cash"
    assert sum(a["amount_cents"] for a in done["allocations"]) + done["credit_left_cents"] == 30000
    assert done["allocations"][0]["invoice"] == invoice.number  # the oldest first
    cancelled = regie("payments", "cancel", done["receipt"], "--reason", "Erreur de saisie", "--db", fresh_town_url)
    assert cancelled.exit_code == 0, cancelled.output
    assert "annulé" in cancelled.output


def test_close_the_day_needs_the_regisseur(fresh_town_url, monkeypatch):
    engine = make_engine(fresh_town_url)
    with Session(engine) as db:
        accueil = db.exec(select(Agent.login).where(Agent.role == Role.ACCUEIL)).first()
        assert accueil is not None
    engine.dispose()
    act_as(monkeypatch, accueil)
    refused = regie("payments", "close", "2026-11-23", "--regie", "pop", "--db", fresh_town_url)
    assert refused.exit_code == 1 and "régisseur" in refused.output
    act_as(monkeypatch, ADMIN_LOGIN)
    closed = regie("payments", "close", "2026-11-23", "--regie", "pop", "--db", fresh_town_url)
    assert closed.exit_code == 0, closed.output
    assert "Journée de caisse du 23/11/2026 (pop) close" in closed.output
    data = json.loads(
        regie("payments", "journal", "2026-11-23", "--regie", "pop", "--json", "--db", fresh_town_url).stdout
    )
    assert data["regies"][0]["closed"] is True
    late = regie("payments", "add", "1", "--mode", "carte", "--amount", "5", "--regie", "pop", "--db", fresh_town_url)
    assert late.exit_code == 1 and "La journée de caisse du 23/11/2026 de la régie pop est clôturée" in late.output


def test_an_unknown_family_is_named(fresh_town_url):
    unknown = regie("payments", "add", "99999", "--mode", "carte", "--amount", "5", "--db", fresh_town_url)
    assert unknown.exit_code == 1 and "Famille n° 99999 introuvable." in unknown.output


def payment_rows(url: str) -> list[tuple[str, date | None, date | None]]:
    """Every payment as (receipt, cancelled on, rejected on): what a refusal must leave as it was."""
    from regie_tui.models import Payment

    engine = make_engine(url)
    with Session(engine) as db:
        rows = db.exec(
            select(Payment.receipt_number, col(Payment.cancelled_on), col(Payment.rejected_on)).order_by(
                col(Payment.id)
            )
        ).all()
    engine.dispose()
    return list(rows)


def test_a_payment_is_dated_after_the_closed_days_by_today_and_not_before_last_year(fresh_town_url):
    closed = regie("payments", "close", "2026-11-20", "--regie", "pop", "--db", fresh_town_url)
    assert closed.exit_code == 0, closed.output
    before = payment_rows(fresh_town_url)
    on_closed = (
        "La journée de caisse du 20/11/2026 de la régie pop est clôturée : aucun règlement ne peut plus être daté"
    )
    for on, message in [
        ("2026-11-20", f"{on_closed} de ce jour (le 21/11/2026 au plus tôt)."),
        ("02/11/2026", f"{on_closed} du 02/11/2026 (le 21/11/2026 au plus tôt)."),
        (
            "2026-11-24",
            "Date d'encaissement 24/11/2026 dans le futur : un règlement se date au plus tard d'aujourd'hui, "
            "le 23/11/2026.",
        ),
        (
            "2024-12-31",
            "Date d'encaissement 31/12/2024 trop ancienne : un règlement se date au plus tôt du 01/01/2025 "
            "(1er janvier de l'année précédente).",
        ),
    ]:
        result = regie(
            "payments", "add", "1", "--mode", "especes", "--amount", "5", "--regie", "pop", "--on", on,
            "--db", fresh_town_url,
        )  # fmt: skip
        assert result.exit_code == 1, result.output
        assert f"Erreur : {message}" in result.output
        assert "Traceback" not in result.output
    assert payment_rows(fresh_town_url) == before
    ok = regie(
        "payments", "add", "1", "--mode", "carte", "--amount", "5", "--regie", "pop", "--on", "21/11/2026",
        "--json", "--db", fresh_town_url,
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["received_on"] == "2026-11-21"


def test_cancel_and_reject_are_refused_on_or_before_a_closed_day_and_in_the_future(fresh_town_url):
    def add(on: str) -> str:
        done = regie(
            "payments", "add", "1", "--mode", "cheque", "--amount", "5", "--reference", "1234567", "--bank", "CIC",
            "--regie", "pop", "--on", on, "--json", "--db", fresh_town_url,
        )  # fmt: skip
        assert done.exit_code == 0, done.output
        receipt: str = json.loads(done.stdout)["receipt"]
        return receipt

    older, newer = add("2026-11-19"), add("2026-11-21")
    assert regie("payments", "close", "2026-11-20", "--regie", "pop", "--db", fresh_town_url).exit_code == 0
    before = payment_rows(fresh_town_url)
    cancel = regie("payments", "cancel", older, "--reason", "Erreur", "--db", fresh_town_url)
    assert cancel.exit_code == 1
    assert (
        f"Erreur : La journée de caisse du 20/11/2026 de la régie pop est clôturée : le règlement {older} du "
        "19/11/2026 ne peut plus être annulé" in cancel.output
    )
    for receipt, on, message in [
        (
            older,
            "2026-11-20",
            "La journée de caisse du 20/11/2026 de la régie pop est clôturée : aucun rejet ne peut plus être daté "
            "de ce jour (le 21/11/2026 au plus tôt).",
        ),
        (
            newer,
            "2026-11-24",
            "Date de rejet 24/11/2026 dans le futur : un rejet se date au plus tard d'aujourd'hui, le 23/11/2026.",
        ),
    ]:
        result = regie("payments", "reject", receipt, "--reason", "Impayé", "--on", on, "--db", fresh_town_url)
        assert result.exit_code == 1, result.output
        assert f"Erreur : {message}" in result.output
    assert payment_rows(fresh_town_url) == before
    rejected = regie("payments", "reject", older, "--reason", "Impayé", "--on", "2026-11-21", "--db", fresh_town_url)
    assert rejected.exit_code == 0, rejected.output
    cancelled = regie("payments", "cancel", newer, "--reason", "Erreur", "--db", fresh_town_url)
    assert cancelled.exit_code == 0, cancelled.output
