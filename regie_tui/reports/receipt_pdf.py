"""Reçu: the numbered receipt of a payment, one A4 page."""

from datetime import datetime
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from regie_tui import formatting
from regie_tui.reports.invoice_pdf import BOLD, FONT, register_fonts
from regie_tui.services.payments.receipts import Receipt


def _plain(text: str) -> str:
    """Plain spaces in money and dates: the receipt's text reads (and extracts) the same everywhere."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def _money(cents: int) -> str:
    return _plain(formatting.money(cents))


def _text(text: str) -> str:
    return escape(_plain(text)).replace("\n", "<br/>")


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName=FONT, fontSize=10, leading=13.5)
    return {
        "body": body,
        "issuer": ParagraphStyle("issuer", parent=body, fontSize=9, leading=11.5),
        "payer": ParagraphStyle("payer", parent=body, fontSize=10.5, leading=14, leftIndent=95 * mm),
        "title": ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=15, leading=19, spaceAfter=2 * mm),
        "bold": ParagraphStyle("bold", parent=body, fontName=BOLD),
        "warning": ParagraphStyle("warning", parent=body, fontName=BOLD, textColor=colors.HexColor("#a00000")),
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=colors.grey),
    }


def _heading(receipt: Receipt, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The issuer, the family addressed, the title, and the payment's state when it does not stand."""
    story: list[Flowable] = [
        Paragraph(
            "<br/>".join(
                _text(part)
                for part in (
                    receipt.town_name,
                    receipt.service_name,
                    receipt.regie_name,
                    receipt.town_address,
                    " · ".join(p for p in (receipt.town_phone, receipt.town_email) if p),
                )
                if part
            ),
            styles["issuer"],
        ),
        Spacer(1, 6 * mm),
        Paragraph(
            f"<b>{_text(receipt.family_name)}</b><br/>{_text(receipt.family_address)}",
            styles["payer"],
        ),
        Spacer(1, 8 * mm),
        Paragraph(f"Reçu n° {_text(receipt.number)}", styles["title"]),
    ]
    if receipt.state:
        word = "ANNULÉ" if receipt.state == "annulé" else "REJETÉ (impayé)"
        when = f" le {formatting.short_date(receipt.state_on)}" if receipt.state_on else ""
        story.append(Paragraph(f"Règlement {word}{when} : {_text(receipt.state_reason)}", styles["warning"]))
    return story


def _details(receipt: Receipt, styles: dict[str, ParagraphStyle]) -> Table:
    """The payment: its date, family, payer, mode, reference and bank, amount."""
    details = [
        ("Date d'encaissement", formatting.long_date(receipt.received_on)),
        ("Famille", f"{receipt.family_name} (dossier n° {receipt.family_id})"),
        ("Payé par", receipt.payer_name),
        ("Mode de règlement", receipt.mode_label),
    ]
    if receipt.reference:
        details.append(("Référence", receipt.reference))
    if receipt.bank:
        details.append(("Banque", receipt.bank))
    details.append(("Montant reçu", _money(receipt.amount_cents)))
    table = Table(
        [[Paragraph(_text(k), styles["bold"]), Paragraph(_text(v), styles["body"])] for k, v in details],
        colWidths=[50 * mm, 110 * mm],
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    return table


def _allocations(receipt: Receipt, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Where the money went (the invoices and the part put on each), and the credit left."""
    body, bold = styles["body"], styles["bold"]
    story: list[Flowable] = []
    if receipt.allocations:
        rows: list[list[object]] = [
            [Paragraph(t, bold) for t in ("Facture", "Période", "Montant affecté")],
        ]
        for part in receipt.allocations:
            period = f"{formatting.short_date(part.period_start)} – {formatting.short_date(part.period_end)}"
            rows.append(
                [Paragraph(_text(part.invoice_number), body), Paragraph(period, body), _money(part.amount_cents)]
            )
        allocations = Table(rows, colWidths=[55 * mm, 65 * mm, 40 * mm], repeatRows=1)
        allocations.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                    ("ALIGN", (2, 1), (2, -1), "RIGHT"),
                    ("FONTNAME", (0, 0), (-1, -1), FONT),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        story += [Paragraph("Affectation du règlement", bold), Spacer(1, 2 * mm), allocations, Spacer(1, 3 * mm)]
    elif not receipt.state:
        story.append(Paragraph("Ce règlement n'est affecté à aucune facture.", body))
    if receipt.unallocated_cents > 0:
        story.append(
            Paragraph(
                f"Reste en crédit au compte de la famille : <b>{_money(receipt.unallocated_cents)}</b> "
                "(il sera déduit des prochaines factures réglées).",
                body,
            )
        )
    return story


def _closing(receipt: Receipt, styles: dict[str, ParagraphStyle], printed_at: datetime) -> list[Flowable]:
    """Who received the money, when the receipt was printed, and whether it is a discharge."""
    return [
        Spacer(1, 10 * mm),
        Paragraph(f"Encaissé par : {_text(receipt.agent)}, pour le régisseur de recettes.", styles["body"]),
        Spacer(1, 4 * mm),
        Paragraph(
            f"Reçu édité le {_plain(formatting.local_datetime(printed_at))}. "
            + (
                "Ce règlement n'a pas été encaissé : ce reçu ne vaut pas quittance."
                if receipt.state
                else "Ce reçu vaut quittance pour la somme reçue ci-dessus."
            ),
            styles["small"],
        ),
    ]


def receipt_pdf(receipt: Receipt, *, printed_at: datetime) -> bytes:
    """The receipt as PDF bytes, in the invoice's font."""
    register_fonts()
    styles = _styles()
    story = _heading(receipt, styles)
    story += [Spacer(1, 3 * mm), _details(receipt, styles), Spacer(1, 5 * mm)]
    story += _allocations(receipt, styles)
    story += _closing(receipt, styles, printed_at)
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"Reçu {receipt.number}",
        author=receipt.town_name,
    )
    doc.build(story)
    return buffer.getvalue()
