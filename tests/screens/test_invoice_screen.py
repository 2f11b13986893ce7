"""Facture: the invoice as its PDF shows it, scrolled at 80×24; i writes the PDF, Échap goes back."""

import io

import pytest
from pypdf import PdfReader
from textual.containers import VerticalScroll

from regie_tui.screens.dialogs import TextPrompt
from regie_tui.screens.invoice_view import InvoiceScreen

from pilot import screen_text, settle

UNPAID = "pop-F261000012"
PAID = "pop-F260900001"


async def open_invoice(pilot, number: str) -> InvoiceScreen:
    await settle(pilot)
    pilot.app.push_screen(InvoiceScreen(number))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, InvoiceScreen)
    return screen


async def test_invoice_reads_scrolls_prints_and_goes_back(make_app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        before = app.screen
        screen = await open_invoice(pilot, UNPAID)
        doc = screen.document
        assert doc is not None and doc.number == UNPAID
        text = screen_text(app)
        assert f"Facture n° {UNPAID}" in text and "À régler" in text
        assert doc.children[0].name in text
        # the end of the invoice is below: scroll to it
        await pilot.press("end")
        await settle(pilot)
        text = screen_text(app)
        balance = doc.balance_cents
        assert "Reste à payer" in text and f"{balance // 100},{balance % 100:02d} €" in text
        assert "Comment régler" in text or "Voies et délais de recours" in text
        assert screen.query_one("#invoice-scroll", VerticalScroll).scroll_y > 0

        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("enter")  # the proposed path: the current folder
        await settle(pilot)
        target = tmp_path / f"facture-{UNPAID}.pdf"
        assert target.exists()
        assert any(str(target) in str(n.message) for n in app._notifications)
        printed = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(target.read_bytes())).pages)
        assert f"N° {UNPAID}" in printed

        # a second print proposes the same path: refused, asked again, nothing overwritten
        await pilot.press("i")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TextPrompt)
        assert any("existe déjà" in str(n.message) for n in app._notifications)
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is before


async def test_unknown_invoice_is_said(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_invoice(pilot, "pop-F000")
        assert any("Aucune facture n° « pop-F000 »" in str(n.message) for n in app._notifications)


@pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)
def test_snapshot_paid_invoice_80x24(snap_compare, make_app):
    async def open_paid(pilot):
        await open_invoice(pilot, PAID)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=open_paid)
