"""Feuille de présence: the roster of one activity on one day, as the facility director signs it."""

from datetime import datetime
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from regie_tui import formatting
from regie_tui.models import BookingState
from regie_tui.services.bookings.attendance import Roster, RosterUnit

#: What the sheet says of a child already pointed (the boxes stay empty otherwise).
POINTED = {
    BookingState.PRESENT: "Présent",
    BookingState.PRESENT_SPECIAL: "Présence spéciale",
    BookingState.ABSENT_JUSTIFIED: "Absence justifiée",
    BookingState.ABSENT_UNJUSTIFIED: "Absence non justifiée",
}
#: Boxes drawn with ASCII: the standard PDF fonts have no ballot-box glyph.
BOX = "[   ]"
TICKED = "[ X ]"


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    cell = ParagraphStyle("cell", parent=base["BodyText"], fontSize=8, leading=9.5)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=16, spaceAfter=2 * mm),
        "head": ParagraphStyle("head", parent=base["BodyText"], fontSize=10, leading=13),
        "unit": ParagraphStyle("unit", parent=base["Heading3"], spaceBefore=4 * mm, spaceAfter=1 * mm),
        "cell": cell,
        "bold": ParagraphStyle("bold", parent=cell, fontName="Helvetica-Bold"),
        "small": ParagraphStyle("small", parent=base["BodyText"], fontSize=8, textColor=colors.grey),
    }


def _lines(items: tuple[str, ...]) -> str:
    return "<br/>".join(escape(item) for item in items)


def _unit_table(unit: RosterUnit, styles: dict[str, ParagraphStyle]) -> Table:
    cell, bold = styles["cell"], styles["bold"]
    rows: list[list[object]] = [
        [Paragraph(text, bold) for text in ("Enfant", "Groupe", "Régime / alertes", "Peut venir le chercher")]
        + [Paragraph("Présent", bold), Paragraph("Absent", bold), Paragraph("Pointage", bold)]
    ]
    for line in unit.lines:
        alerts = line.diets + line.health
        pointed = POINTED.get(line.state, "")
        present = line.state in (BookingState.PRESENT, BookingState.PRESENT_SPECIAL)
        absent = line.state in (BookingState.ABSENT_JUSTIFIED, BookingState.ABSENT_UNJUSTIFIED)
        rows.append(
            [
                Paragraph(f"<b>{escape(line.last_name)}</b> {escape(line.first_name)}", cell),
                Paragraph(escape(line.group_name), cell),
                Paragraph(_lines(alerts), cell),
                Paragraph(_lines(line.collectors), cell),
                TICKED if present else BOX,
                TICKED if absent else BOX,
                Paragraph(escape(pointed), cell),
            ]
        )
    if len(rows) == 1:
        rows.append([Paragraph("Aucun enfant réservé.", cell), "", "", "", "", "", ""])
    widths = [34 * mm, 20 * mm, 40 * mm, 40 * mm, 15 * mm, 15 * mm, 22 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTSIZE", (4, 1), (5, -1), 10),
                ("ALIGN", (4, 1), (5, -1), "CENTER"),
            ]
        )
    )
    return table


def roster_pdf(roster: Roster, *, town_name: str, printed_at: datetime) -> bytes:
    """The A4 attendance sheet of ``roster``: a table per unit, totals, the director's signature."""
    styles = _styles()
    buffer = BytesIO()
    day = formatting.long_date(roster.day)
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=f"Feuille de présence — {roster.activity_name} — {formatting.short_date(roster.day)}",
        author=town_name,
    )
    printed = formatting.local_datetime(printed_at)

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        page = canvas.getPageNumber()
        canvas.drawString(12 * mm, 8 * mm, f"{town_name} — imprimée le {printed} — page {page}")
        canvas.restoreState()

    story: list[object] = [
        Paragraph("Feuille de présence", styles["title"]),
        Paragraph(f"<b>Activité :</b> {escape(roster.activity_name)}", styles["head"]),
        Paragraph(f"<b>Structure :</b> {escape(roster.facility_name)}", styles["head"]),
        Paragraph(f"<b>Jour :</b> {escape(day)}", styles["head"]),
    ]
    if roster.closed_reason:
        story.append(Paragraph(f"<b>Attention :</b> {escape(roster.closed_reason)}", styles["head"]))
    if not roster.sees_health:
        story.append(Paragraph("Informations sanitaires : accès réservé.", styles["small"]))
    for unit in roster.units:
        story.append(Paragraph(f"{escape(unit.name)} ({unit.hours})", styles["unit"]))
        story.append(_unit_table(unit, styles))
        story.append(Paragraph(f"Totaux : {escape(unit.totals.text())}", styles["cell"]))
    if not roster.units:
        story.append(Paragraph("Cette activité n'a aucune unité.", styles["head"]))
    signature = Table(
        [
            [
                Paragraph("Signature du directeur / de la directrice", styles["bold"]),
                Paragraph("Nom, date et cachet", styles["cell"]),
            ],
            ["", ""],
        ],
        colWidths=[95 * mm, 87 * mm],
        rowHeights=[None, 25 * mm],
    )
    signature.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.6, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [Spacer(1, 6 * mm), KeepTogether([signature])]
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
