"""`regie invoices show NUMBER [--json]` and `regie invoices pdf …`: the invoice in the terminal and on paper."""

import io
import json

import pytest
from pypdf import PdfReader
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from regie_tui import cli
from regie_tui.db import make_engine
from regie_tui.models import Invoice, InvoiceLine, Regie

from helpers import ADMIN_LOGIN, act_as

runner = CliRunner()
UNPAID = "pop-F261000012"


@pytest.fixture(autouse=True)
def login(monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)


def regie(*args: str):
    return runner.invoke(cli.app, list(args))


def pdf_text(path) -> str:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u202f", " ").replace("\u00a0", " ")


def stored(url: str, number: str) -> tuple[int, list[int]]:
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            invoice = db.exec(select(Invoice).where(Invoice.number == number)).one()
            amounts = db.exec(
                select(InvoiceLine.amount_cents)
                .where(InvoiceLine.invoice_id == invoice.id)
                .order_by(col(InvoiceLine.position))
            ).all()
            return invoice.total_cents, list(amounts)
    finally:
        engine.dispose()


def month_numbers(url: str, code: str, month: str) -> list[str]:
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            numbers = db.exec(
                select(Invoice.number)
                .join(Regie, col(Regie.id) == Invoice.regie_id)
                .where(Regie.code == code)
                .order_by(Invoice.number)
            ).all()
    finally:
        engine.dispose()
    year, number = month.split("-")
    return [n for n in numbers if n.startswith(f"{code}-F{year[2:]}{number}")]


def test_show_json_has_the_database_figures(town_url):
    total, amounts = stored(town_url, UNPAID)
    result = regie("invoices", "show", UNPAID, "--json", "--db", town_url)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["number"] == UNPAID
    assert data["total"]["cents"] == total
    assert sorted(line["amount"]["cents"] for child in data["children"] for line in child["lines"]) == sorted(amounts)
    assert data["paid"]["cents"] == 0 and data["balance_due"]["cents"] == total
    assert data["payfip"]["refdet"] == UNPAID and data["payfip"]["numcli"] == "012345"


def test_show_plain_prints_what_the_pdf_prints(town_url, tmp_path):
    shown = regie("invoices", "show", UNPAID, "--db", town_url)
    assert shown.exit_code == 0, shown.output
    data = json.loads(regie("invoices", "show", UNPAID, "--json", "--db", town_url).stdout)
    target = tmp_path / "f.pdf"
    assert regie("invoices", "pdf", UNPAID, "--out", str(target), "--db", town_url).exit_code == 0
    printed = pdf_text(target)
    plain = shown.output.replace("\u00a0", " ")
    for child in data["children"]:
        assert child["name"] in plain and child["name"] in printed
        for line in child["lines"]:
            amount = line["amount"]["text"].replace("\u00a0", " ")
            assert amount in plain and amount in printed
    balance = data["balance_due"]["text"].replace("\u00a0", " ")
    assert f"Reste à payer : {balance}" in plain and f"Reste à payer\n{balance}" in printed
    assert f"Facture n° {UNPAID}" in plain


def test_pdf_default_name_never_overwrites(town_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = regie("invoices", "pdf", UNPAID, "--db", town_url)
    assert result.exit_code == 0, result.output
    target = tmp_path / f"facture-{UNPAID}.pdf"
    assert f"Facture {UNPAID} écrite" in result.output
    assert f"N° {UNPAID}" in pdf_text(target)
    before = target.read_bytes()
    again = regie("invoices", "pdf", UNPAID, "--db", town_url)
    assert again.exit_code == 1 and "existe déjà" in again.output
    assert target.read_bytes() == before


def test_pdf_of_a_month_one_file_each_or_one_for_all(town_url, tmp_path):
    numbers = month_numbers(town_url, "pop", "2026-10")
    assert len(numbers) == 12
    folder = tmp_path / "octobre"
    result = regie("invoices", "pdf", "--month", "2026-10", "--regie", "pop", "--out", str(folder), "--db", town_url)
    assert result.exit_code == 0, result.output
    assert "12 factures écrites" in result.output
    assert sorted(p.name for p in folder.iterdir()) == [f"facture-{n}.pdf" for n in numbers]
    assert f"N° {numbers[0]}" in pdf_text(folder / f"facture-{numbers[0]}.pdf")

    result = regie(
        "invoices",
        "pdf",
        "--month",
        "2026-10",
        "--regie",
        "pop",
        "--out",
        str(tmp_path),
        "--single",
        "--db",
        town_url,
    )
    assert result.exit_code == 0, result.output
    text = pdf_text(tmp_path / "factures-pop-2026-10.pdf")
    assert all(f"N° {n}" in text for n in numbers)

    again = regie("invoices", "pdf", "--month", "2026-10", "--regie", "pop", "--out", str(folder), "--db", town_url)
    assert again.exit_code == 1 and "existe déjà" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Donnez un numéro de facture"),
        (("pop-F261000012", "--month", "2026-10"), "pas les deux"),
        (("pop-F000",), "Aucune facture n° « pop-F000 »"),
        (("--month", "2026-10", "--regie", "cantine", "--out", "x"), "Régie « cantine » inconnue"),
        (("--month", "octobre", "--regie", "pop", "--out", "x"), "Mois invalide"),
        (("--month", "2025-01", "--regie", "pop", "--out", "x"), "Aucune facture de la régie « pop » pour 01/2025"),
    ],
)
def test_errors_are_one_french_line(town_url, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = regie("invoices", "pdf", *args, "--db", town_url)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("*.pdf"))
