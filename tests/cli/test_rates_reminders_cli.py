"""`regie rates list|set` and `regie reminders list|send`: the grid, a rate set, letters printed and recorded."""

import io
import json
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from regie_tui import cli
from regie_tui.db import make_engine
from regie_tui.models import Invoice, Reminder

from helpers import ADMIN_LOGIN, act_as

runner = CliRunner()


@pytest.fixture(autouse=True)
def login(monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)


def regie(*args: str):
    return runner.invoke(cli.app, list(args))


def age_invoices(url: str, days: int) -> None:
    """Move every invoice ``days`` earlier: on 23/11/2026 September's are then 100 days past due, October's 68."""
    engine = make_engine(url)
    with Session(engine) as db:
        for invoice in db.exec(select(Invoice)):
            invoice.issue_date -= timedelta(days=days)
            invoice.due_date -= timedelta(days=days)
            invoice.period_start -= timedelta(days=days)
            invoice.period_end -= timedelta(days=days)
        db.commit()
    engine.dispose()


def reminders(url: str) -> list[tuple[str, int]]:
    engine = make_engine(url)
    with Session(engine) as db:
        rows = db.exec(
            select(Invoice.number, Reminder.level)
            .join(Invoice, col(Invoice.id) == Reminder.invoice_id)
            .order_by(col(Reminder.id))
        ).all()
    engine.dispose()
    return [(number, level) for number, level in rows]


def pdf_text(path) -> list[str]:
    """Each page's text, spaces (no-break ones included) and line ends as single spaces."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(path.read_bytes())).pages]


def test_rates_list_table_and_json(town_url):
    result = regie("rates", "list", "--db", town_url)
    assert result.exit_code == 0, result.output
    assert "Tarifs en vigueur le 23/11/2026" in result.output
    assert "0-650" in result.output and "Extérieur" in result.output
    data = json.loads(regie("rates", "list", "--on", "23/11/2026", "--json", "--db", town_url).stdout)
    matin = next(u for u in data["units"] if u["activity"] == "Périscolaire Jules Ferry" and u["unit"] == "Acc matin")
    assert matin["rates"]["0-650"]["amount_cents"] == 120
    assert matin["rates"]["Extérieur"]["unbooked_surcharge_cents"] == 100
    assert matin["invoiced_until"] == "2026-10-31"


def test_rates_set_and_refusals(fresh_town_url, monkeypatch):
    data = json.loads(regie("rates", "list", "--json", "--db", fresh_town_url).stdout)
    matin = next(u for u in data["units"] if u["activity"] == "Périscolaire Jules Ferry" and u["unit"] == "Acc matin")
    unit = str(matin["unit_id"])

    done = regie("rates", "set", unit, "0-650", "--from", "01/01/2027", "--amount", "1,35", "--db", fresh_town_url)
    assert done.exit_code == 0, done.output
    assert "Nouveau tarif : Acc matin" in done.output and "1,35" in done.output and "01/01/2027" in done.output
    after = json.loads(regie("rates", "list", "--on", "2027-01-04", "--json", "--db", fresh_town_url).stdout)
    cell = next(u for u in after["units"] if u["unit_id"] == matin["unit_id"])["rates"]["0-650"]
    # surcharge and penalty kept from the rate in force when not given
    assert (cell["amount_cents"], cell["unbooked_surcharge_cents"], cell["valid_from"]) == (135, 100, "2027-01-01")

    locked = regie("rates", "set", unit, "1", "--from", "15/10/2026", "--amount", "2", "--db", fresh_town_url)
    assert locked.exit_code == 1 and "déjà facturé jusqu'au 31/10/2026" in locked.output
    typo = regie("rates", "set", unit, "1", "--from", "01/02/2027", "--amount", "4,155", "--db", fresh_town_url)
    assert typo.exit_code == 1 and "n'est pas un montant" in typo.output
    unknown = regie("rates", "set", unit, "Tranche Z", "--from", "01/02/2027", "--amount", "2", "--db", fresh_town_url)
    assert unknown.exit_code == 1 and "Tranche « Tranche Z » inconnue" in unknown.output

    act_as(monkeypatch, "smoreau")  # the town's accueil agent
    refused = regie("rates", "set", unit, "1", "--from", "01/02/2027", "--amount", "2", "--db", fresh_town_url)
    assert refused.exit_code == 1 and "réservé aux rôles administrateur" in refused.output


def test_reminders_list(town_url):
    today = regie("reminders", "list", "--db", town_url)
    assert today.exit_code == 0, today.output
    assert "Aucune facture à relancer." in today.output
    data = json.loads(regie("reminders", "list", "--on", "10/02/2027", "--json", "--db", town_url).stdout)
    assert [b["label"] for b in data["buckets"]] == ["30 à 59 jours", "60 à 89 jours", "90 jours et plus"]
    assert sum(b["count"] for b in data["buckets"]) == len(data["invoices"]) > 0
    assert {i["level_due"] for i in data["invoices"]} == {2, 3}
    alsh = json.loads(
        regie("reminders", "list", "--on", "10/02/2027", "--regie", "alsh", "--json", "--db", town_url).stdout
    )
    assert alsh["invoices"] and all(i["service"] == "alsh" for i in alsh["invoices"])


def test_reminders_send_writes_the_letters_and_records_them(fresh_town_url, tmp_path):
    age_invoices(fresh_town_url, 80)
    data = json.loads(regie("reminders", "list", "--json", "--db", fresh_town_url).stdout)
    level3 = [i for i in data["invoices"] if i["level_due"] == 3]
    assert level3
    target = tmp_path / "relances.pdf"
    sent = regie("reminders", "send", "--level", "3", "--out", str(target), "--db", fresh_town_url)
    assert sent.exit_code == 0, sent.output
    assert f"écrite{'s' if len(level3) > 1 else ''} dans" in sent.output
    pages = pdf_text(target)
    assert len(pages) == len(level3)
    first, invoice = pages[0], level3[0]
    assert "Relance n° 3" in first and "titre de recettes" in first and "comptable public" in first
    assert f"Objet : facture n° {invoice['number']} impayée" in first
    assert invoice["debtor"] in first and "Ville de Rivebelle" in first
    balance = f"{invoice['balance_cents'] // 100},{invoice['balance_cents'] % 100:02d} €"
    assert f"Solde dû {balance}" in first
    assert "Date d'échéance" in first and "PayFiP" in first and f"référence {invoice['number']}" in first
    assert reminders(fresh_town_url) == [(i["number"], 3) for i in level3]

    # one invoice by number, at its level (2); the same again is refused: nothing to print
    level2 = next(i for i in data["invoices"] if i["level_due"] == 2)
    other = tmp_path / "une.pdf"
    one = regie("reminders", "send", "--invoice", level2["number"], "--out", str(other), "--db", fresh_town_url)
    assert one.exit_code == 0, one.output
    assert "Relance n° 2" in pdf_text(other)[0]
    again = regie(
        "reminders", "send", "--invoice", level2["number"], "--out", str(tmp_path / "b.pdf"), "--db", fresh_town_url
    )
    assert again.exit_code == 1 and "déjà envoyées" in again.output
    assert not (tmp_path / "b.pdf").exists()
    assert reminders(fresh_town_url)[-1] == (level2["number"], 2)

    # an existing file is never overwritten, and then nothing is recorded
    count = len(reminders(fresh_town_url))
    exists = regie("reminders", "send", "--level", "2", "--out", str(other), "--db", fresh_town_url)
    assert exists.exit_code == 1 and "existe déjà" in exists.output
    assert len(reminders(fresh_town_url)) == count
    both = regie(
        "reminders", "send", "--level", "2", "--invoice", "x", "--out", str(tmp_path / "c.pdf"), "--db", fresh_town_url
    )
    assert both.exit_code == 1 and "soit des factures" in both.output
