"""The invoice on paper: A4, French, drawn straight on a ReportLab canvas (fast enough for a month).

Layout is computed first (rows with their heights, wrapped to their column), then
paginated, then drawn: a long invoice flows over several pages, each with its footer
"page i/n" and the table's header repeated.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from regie_tui import formatting
from regie_tui.errors import RegieError
from regie_tui.services.billing.document import InvoiceDocument, quantity_text

FONT = "RegieSans"
#: Registered too, for the other documents (receipts, reminders); the invoice draws its bold
#: with FONT (see _bold): a second embedded font would cost every invoice file a quarter of its time.
BOLD = "RegieSans-Bold"
STROKED = 2  # text render mode "fill, then stroke": the bold look
#: Glyphs a French invoice needs; U+202F (narrow no-break space) separates thousands.
REQUIRED_GLYPHS = "€éèêàçœŒÉÀÇ«»’\u202f\u00a0"

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 15 * mm
RIGHT = PAGE_WIDTH - 15 * mm
TOP = PAGE_HEIGHT - 15 * mm
BOTTOM = 22 * mm
# The lines' table: label column, then right edges of quantity, unit price, amount.
LABEL_WIDTH = 100 * mm
QTY_RIGHT = LEFT + 120 * mm
PRICE_RIGHT = LEFT + 147 * mm
GREY = (0.35, 0.35, 0.35)
LIGHT = (0.85, 0.85, 0.85)

_fonts_lock = threading.Lock()
_fonts_ready = False


def font_file(style: str = "Regular") -> Path:
    """Source Sans Pro (``Regular``, ``Bold``), shipped by the font-source-sans-pro package (SIL OFL)."""
    return Path(str(resources.files("font_source_sans_pro") / "files" / f"SourceSansPro-{style}.ttf"))


def register_fonts() -> None:
    """Register the fonts once per process (the invoice embeds FONT only: its bold is drawn, see _bold)."""
    global _fonts_ready
    with _fonts_lock:
        if _fonts_ready:
            return
        pdfmetrics.registerFont(TTFont(FONT, str(font_file())))
        pdfmetrics.registerFont(TTFont(BOLD, str(font_file("Bold"))))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)
        _fonts_ready = True


def missing_glyphs(font_name: str = FONT, text: str = REQUIRED_GLYPHS) -> str:
    """The characters of ``text`` the registered font cannot draw ('' when it has them all)."""
    register_fonts()
    face: Any = pdfmetrics.getFont(font_name).face
    return "".join(ch for ch in text if ord(ch) not in face.charToGlyph)


def pdf_money(cents: int) -> str:
    """French amounts as printed: '1 234,56 €' with a narrow no-break space between thousands (as Babel)."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros:,}".replace(",", "\u202f") + f",{rest:02d}\u00a0€"


# ------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Row:
    """One band of the flowing part of the invoice."""

    kind: str  # child, line, subtotal, total, heading, text, gap, rule
    height: float
    texts: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()  # right-aligned: quantity, unit price, amount (or one amount)
    size: float = 9
    bold: bool = False
    table: bool = False  # inside the lines' table (its header repeats on a new page)
    keep: bool = False  # on the same page as the next row (the totals stay together)


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """``text`` cut into lines of at most ``width`` points (most fit on one: one measure then)."""
    if "\n" not in text and pdfmetrics.stringWidth(text, font, size) <= width:
        return [text]
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(simpleSplit(paragraph, font, size, width) or [""])
    return lines


def _rows(doc: InvoiceDocument) -> list[Row]:
    rows: list[Row] = []
    for child in doc.children:
        rows.append(Row("child", 14, texts=(child.name,), bold=True, table=True))
        for line in child.lines:
            label = _wrap(line.text, FONT, 9, LABEL_WIDTH)
            details = _wrap(f"Jours : {line.dates}", FONT, 7.5, LABEL_WIDTH) if line.dates else []
            if line.basis:
                details += _wrap(f"Base : {line.basis}", FONT, 7.5, LABEL_WIDTH)
            height = 11 * len(label) + 9 * len(details) + 3
            figures = (quantity_text(line.quantity), pdf_money(line.unit_price_cents), pdf_money(line.amount_cents))
            rows.append(Row("line", height, texts=tuple(label), details=tuple(details), figures=figures, table=True))
        rows.append(
            Row(
                "subtotal",
                14,
                texts=(f"Sous-total {child.name}",),
                figures=(pdf_money(child.subtotal_cents),),
                table=True,
            )
        )
    if not doc.children:
        rows.append(Row("text", 14, texts=("Aucune ligne.",), table=True))
    rows.append(Row("rule", 8, keep=True))
    rows.append(
        Row("total", 15, texts=("Total de la facture",), figures=(pdf_money(doc.total_cents),), bold=True, keep=True)
    )
    for credit in doc.credit_notes:
        text = f"Avoir n° {credit.number} du {formatting.short_date(credit.issue_date)}"
        rows.append(Row("total", 13, texts=(text,), figures=(pdf_money(-credit.amount_cents),), keep=True))
    for paid in doc.payments:
        text = f"reçu n° {paid.receipt_number} du {formatting.short_date(paid.received_on)} ({paid.mode_text})"
        rows.append(Row("total", 11, texts=(text,), figures=(pdf_money(paid.amount_cents),), size=7.5, keep=True))
    rows.append(Row("total", 13, texts=("Déjà réglé",), figures=(pdf_money(-doc.paid_cents),), keep=True))
    rows.append(Row("total", 18, texts=("Reste à payer",), figures=(pdf_money(doc.balance_cents),), size=11, bold=True))
    rows.append(Row("gap", 8))
    rows.append(Row("heading", 16, texts=("Comment régler",), size=10.5, bold=True))
    for text in doc.how_to_pay:
        wrapped = _wrap(text, FONT, 9, RIGHT - LEFT)
        rows.append(Row("text", 11.5 * len(wrapped), texts=tuple(wrapped)))
    if doc.payfip is not None:
        payfip = doc.payfip
        text = f"Identifiants PayFiP : n° client {payfip.numcli} – référence {payfip.refdet} – exercice {payfip.exer}"
        rows.append(Row("text", 11.5, texts=(text,), size=8))
    rows.append(Row("gap", 8))
    appeal = _wrap(doc.appeal_notice, FONT, 7.5, RIGHT - LEFT)
    rows.append(Row("text", 9.5 * len(appeal), texts=tuple(appeal), size=7.5))
    return rows


FIRST_FLOW_TOP = TOP - 62 * mm
NEXT_FLOW_TOP = TOP - 16
TABLE_HEADER = 16


def _paginate(rows: list[Row]) -> list[list[Row]]:
    pages: list[list[Row]] = [[]]
    room = FIRST_FLOW_TOP - BOTTOM - TABLE_HEADER
    for index, row in enumerate(rows):
        needed = row.height
        if row.keep and (index == 0 or not rows[index - 1].keep):  # a block kept together: all of it
            following = index
            while following < len(rows) - 1 and rows[following].keep:
                following += 1
                needed += rows[following].height
        if needed > room and pages[-1]:
            pages.append([])
            room = NEXT_FLOW_TOP - BOTTOM - (TABLE_HEADER if row.table else 0)
        pages[-1].append(row)
        room -= row.height
    return pages


# ------------------------------------------------------------------------ drawing


def _bold(c: Canvas, size: float) -> int:
    """The bold look: the one embedded font filled then stroked (a second font in every file costs a quarter
    of the time and half the size); returns the text render mode to draw with."""
    c.setFont(FONT, size)
    c.setLineWidth(size * 0.04)
    c.setStrokeColorRGB(0, 0, 0)
    return STROKED


def _draw_header(c: Canvas, doc: InvoiceDocument) -> None:
    issuer = doc.issuer
    y = TOP - 4
    _bold(c, 12)
    c.drawString(LEFT, y, issuer.town, mode=STROKED)
    c.setFont(FONT, 9)
    for text in (
        issuer.service,
        issuer.regie_name,
        issuer.address,
        f"{issuer.postal_code} {issuer.city}",
        f"Tél. {issuer.phone} – {issuer.email}",
    ):
        y -= 11
        c.drawString(LEFT, y, text)
    if issuer.creditor_id:
        y -= 11
        c.drawString(LEFT, y, f"Créancier SEPA (ICS) : {issuer.creditor_id}")

    _bold(c, 18)
    c.drawRightString(RIGHT, TOP - 8, "FACTURE", mode=STROKED)
    _bold(c, 11)
    c.drawRightString(RIGHT, TOP - 24, f"N° {doc.number}", mode=STROKED)
    c.setFont(FONT, 9)
    y = TOP - 38
    for text in (
        f"Date d'émission : {formatting.short_date(doc.issue_date)}",
        f"Période : {doc.period_text}",
        f"Échéance : {formatting.short_date(doc.due_date)}",
    ):
        c.drawRightString(RIGHT, y, text)
        y -= 11
    _bold(c, 9)
    c.drawRightString(RIGHT, y, f"Statut : {doc.status_text}", mode=STROKED)

    # The debtor, where a window envelope shows it.
    x, y = LEFT + 100 * mm, TOP - 30 * mm
    c.setFont(FONT, 8)
    c.setFillColorRGB(*GREY)
    c.drawString(x, y, "Facturé à")
    c.setFillColorRGB(0, 0, 0)
    y -= 13
    _bold(c, 10)
    c.drawString(x, y, doc.debtor_name, mode=STROKED)
    c.setFont(FONT, 10)
    for text in doc.debtor_address.split("\n"):
        y -= 12
        c.drawString(x, y, text)


def _draw_table_header(c: Canvas, y: float) -> float:
    c.setFillColorRGB(0.93, 0.93, 0.93)
    c.rect(LEFT, y - 12, RIGHT - LEFT, 14, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    _bold(c, 8.5)
    c.drawString(LEFT + 2, y - 8, "Détail du calcul (par enfant)", mode=STROKED)
    c.drawRightString(QTY_RIGHT, y - 8, "Quantité", mode=STROKED)
    c.drawRightString(PRICE_RIGHT, y - 8, "Prix unitaire", mode=STROKED)
    c.drawRightString(RIGHT - 2, y - 8, "Montant", mode=STROKED)
    return y - TABLE_HEADER


def _draw_row(c: Canvas, row: Row, y: float) -> None:
    kind = row.kind
    if kind == "line":
        c.setFont(FONT, 9)
        base = y - 9
        for text in row.texts:
            c.drawString(LEFT + 8, base, text)
            base -= 11
        qty, price, amount = row.figures
        c.drawRightString(QTY_RIGHT, y - 9, qty)
        c.drawRightString(PRICE_RIGHT, y - 9, price)
        c.drawRightString(RIGHT - 2, y - 9, amount)
        if row.details:
            c.setFont(FONT, 7.5)
            c.setFillColorRGB(*GREY)
            for text in row.details:
                base += 2
                c.drawString(LEFT + 8, base, text)
                base -= 9
            c.setFillColorRGB(0, 0, 0)
    elif kind == "child":
        _bold(c, 9.5)
        c.drawString(LEFT + 2, y - 10, row.texts[0], mode=STROKED)
    elif kind == "subtotal":
        c.setStrokeColorRGB(*LIGHT)
        c.setLineWidth(0.5)
        c.line(PRICE_RIGHT - 30 * mm, y - 1, RIGHT, y - 1)
        c.setFont(FONT, 8.5)
        c.drawRightString(PRICE_RIGHT, y - 10, row.texts[0])
        c.drawRightString(RIGHT - 2, y - 10, row.figures[0])
    elif kind == "total":
        mode = None
        if row.bold:
            mode = _bold(c, row.size)
        else:
            c.setFont(FONT, row.size)
        c.drawRightString(PRICE_RIGHT, y - row.size - 1, row.texts[0], mode=mode)
        c.drawRightString(RIGHT - 2, y - row.size - 1, row.figures[0], mode=mode)
        if row.size > 10:
            c.setStrokeColorRGB(0, 0, 0)
            c.setLineWidth(0.8)
            c.rect(PRICE_RIGHT + 4, y - row.height + 1, RIGHT - PRICE_RIGHT - 4, row.height - 2, stroke=1, fill=0)
    elif kind == "heading":
        _bold(c, row.size)
        c.drawString(LEFT, y - row.size - 2, row.texts[0], mode=STROKED)
    elif kind == "text":
        c.setFont(FONT, row.size)
        step = row.height / max(1, len(row.texts))
        base = y - row.size - 1
        for text in row.texts:
            c.drawString(LEFT, base, text)
            base -= step
    elif kind == "rule":
        c.setStrokeColorRGB(0, 0, 0)
        c.setLineWidth(0.8)
        c.line(LEFT, y - 3, RIGHT, y - 3)


def _draw_invoice(c: Canvas, doc: InvoiceDocument) -> None:
    pages = _paginate(_rows(doc))
    footer_head = f"{doc.issuer.town} – {doc.issuer.regie_name} – facture n° {doc.number}"
    for number, rows in enumerate(pages, start=1):
        if number == 1:
            _draw_header(c, doc)
            y = FIRST_FLOW_TOP
        else:
            _bold(c, 10)
            c.drawString(LEFT, TOP - 4, f"Facture n° {doc.number} (suite) – {doc.debtor_name}", mode=STROKED)
            y = NEXT_FLOW_TOP
        if rows and rows[0].table:
            y = _draw_table_header(c, y)
        for row in rows:
            _draw_row(c, row, y)
            y -= row.height
        c.setFont(FONT, 7)
        c.setFillColorRGB(*GREY)
        c.drawString(LEFT, 10 * mm, footer_head)
        c.drawRightString(RIGHT, 10 * mm, f"page {number}/{len(pages)}")
        c.setFillColorRGB(0, 0, 0)
        c.showPage()


def _canvas(target: str | Path | IO[bytes], title: str, author: str) -> Canvas:
    register_fonts()
    c = Canvas(target if not isinstance(target, Path) else str(target), pagesize=A4, pageCompression=1)
    c.setTitle(title)
    c.setAuthor(author)
    c.setCreator("regie-tui")
    return c


def _save(c: Canvas) -> None:
    """Save with binary (not ASCII85) streams: a fifth smaller, and faster to write."""
    previous = rl_config.useA85
    rl_config.useA85 = 0
    try:
        c.save()
    finally:
        rl_config.useA85 = previous


def write_invoice_pdf(doc: InvoiceDocument, target: str | Path | IO[bytes]) -> None:
    """Write the invoice's PDF to ``target`` (a path, or a binary file object)."""
    c = _canvas(target, f"Facture {doc.number}", doc.issuer.town)
    _draw_invoice(c, doc)
    _save(c)


def write_month_pdf(docs: Sequence[InvoiceDocument] | Iterable[InvoiceDocument], target: str | Path | IO[bytes]) -> int:
    """Write several invoices in one PDF, each from a new page; returns how many."""
    docs = list(docs)
    title = f"Factures {docs[0].number} à {docs[-1].number}" if docs else "Factures"
    c = _canvas(target, title, docs[0].issuer.town if docs else "")
    for doc in docs:
        _draw_invoice(c, doc)
    _save(c)
    return len(docs)


def invoice_pdf_bytes(doc: InvoiceDocument) -> bytes:
    """The invoice's PDF as bytes."""
    from io import BytesIO

    buffer = BytesIO()
    write_invoice_pdf(doc, buffer)
    return buffer.getvalue()


def invoice_file_name(number: str) -> str:
    return f"facture-{number}.pdf"


#: The month's invoices, inherited by forked workers (nothing to pickle).
_forked_docs: Sequence[InvoiceDocument] = ()


def _write_slice(folder: str, start: int, stop: int, docs: Sequence[InvoiceDocument] | None = None) -> int:
    """Write ``docs`` (or, in a forked worker, the inherited documents start:stop) into ``folder``."""
    chosen = _forked_docs[start:stop] if docs is None else docs
    for doc in chosen:
        with open(Path(folder) / invoice_file_name(doc.number), "xb") as file:
            write_invoice_pdf(doc, file)
    return len(chosen)


def write_invoice_files(docs: Sequence[InvoiceDocument], folder: Path, *, processes: int = 1) -> list[Path]:
    """One PDF per invoice in ``folder`` (``facture-<number>.pdf``), never over an existing file.

    With ``processes`` > 1 the invoices are shared between that many processes (forked
    where the platform allows it: the documents are then not copied).
    """
    global _forked_docs
    paths = [folder / invoice_file_name(doc.number) for doc in docs]
    existing = next((path for path in paths if path.exists()), None)
    if existing is not None:
        raise RegieError(f"Le fichier « {existing} » existe déjà : choisissez un autre dossier.")
    processes = max(1, min(processes, len(docs) // 50 or 1))
    register_fonts()  # once, before a fork: the workers inherit it
    if processes == 1:
        _write_slice(str(folder), 0, len(docs), docs)
        return paths
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    bounds = [len(docs) * i // processes for i in range(processes + 1)]
    forked = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forked else None)
    _forked_docs = docs
    try:
        with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
            jobs = [
                pool.submit(_write_slice, str(folder), start, stop, None if forked else docs[start:stop])
                for start, stop in zip(bounds, bounds[1:], strict=False)
            ]
            for job in jobs:
                job.result()
    finally:
        _forked_docs = ()
    return paths
