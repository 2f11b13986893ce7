"""Lettres de relance: one A4 page per overdue invoice, all the selection in one PDF file."""

from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import BinaryIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from regie_tui import formatting
from regie_tui.services.billing.reminders import ReminderLetter

#: Fallback fonts (no narrow no-break space: replaced by plain spaces).
FONT = "Helvetica"
BOLD = "Helvetica-Bold"

TITLES = {1: "Relance n° 1", 2: "Relance n° 2", 3: "Relance n° 3 – avant émission d'un titre de recettes"}

OPENING = {
    1: (
        "Sauf erreur de notre part, la facture ci-dessous n'est pas entièrement réglée à ce jour, "
        "alors que sa date d'échéance est dépassée. Il s'agit peut-être d'un simple oubli : nous vous "
        "remercions de bien vouloir régler le solde dû dans les meilleurs délais."
    ),
    2: (
        "Malgré notre premier courrier, la facture ci-dessous reste impayée. Nous vous demandons de "
        "régler le solde dû sous quinze jours. Si vous rencontrez des difficultés de paiement, "
        "contactez la régie : un échéancier peut être étudié."
    ),
    3: (
        "Malgré nos relances, la facture ci-dessous reste impayée. Sans règlement du solde dû sous "
        "quinze jours, la somme fera l'objet d'un titre de recettes exécutoire émis par la collectivité "
        "et transmis au comptable public (Direction générale des finances publiques), chargé de son "
        "recouvrement, y compris par les voies d'exécution prévues par la loi ; des frais de poursuite "
        "pourront alors s'ajouter. Les règlements à la régie ne seront plus possibles une fois le titre émis."
    ),
}


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    unicode: bool  # draws U+202F and U+00A0 (else they are printed as plain spaces)


def _fonts() -> Fonts:
    """The invoice's TTF fonts (reports/invoice_pdf.py) when they can be registered, else Helvetica."""
    try:
        from regie_tui.reports.invoice_pdf import BOLD as TTF_BOLD
        from regie_tui.reports.invoice_pdf import FONT as TTF_FONT
        from regie_tui.reports.invoice_pdf import register_fonts

        register_fonts()
    except Exception:  # the font package or the module missing: the standard fonts still print the letter
        return Fonts(FONT, BOLD, unicode=False)
    return Fonts(TTF_FONT, TTF_BOLD, unicode=True)


def _styles(fonts: Fonts) -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName=fonts.regular, fontSize=10, leading=13.5)
    return {
        "body": body,
        "issuer": ParagraphStyle("issuer", parent=body, fontSize=9, leading=11.5),
        "debtor": ParagraphStyle("debtor", parent=body, fontSize=10.5, leading=14, leftIndent=95 * mm),
        "right": ParagraphStyle("right", parent=body, alignment=2),
        "title": ParagraphStyle("title", parent=body, fontName=fonts.bold, fontSize=15, leading=19, spaceAfter=2 * mm),
        "firm": ParagraphStyle("firm", parent=body, fontName=fonts.bold),
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=colors.grey),
    }


@dataclass(frozen=True)
class _Writer:
    """Text as the fonts print it: without U+202F and U+00A0 when they cannot draw them, escaped."""

    fonts: Fonts

    def plain(self, text: str) -> str:
        return text if self.fonts.unicode else text.replace("\u202f", " ").replace("\u00a0", " ")

    def money(self, cents: int) -> str:
        return self.plain(formatting.money(cents))

    def text(self, text: str) -> str:
        return escape(self.plain(text))


def _heading(letter: ReminderLetter, styles: dict[str, ParagraphStyle], write: _Writer) -> list[object]:
    """The issuer, the debtor, the place and date, the title, the subject and the opening."""
    issuer = letter.issuer
    body = styles["body"]
    issuer_lines = [
        f"<b>{write.text(issuer.town)}</b>",
        write.text(issuer.service),
        write.text(issuer.regie),
        write.text(issuer.address),
        write.text(f"{issuer.postal_code} {issuer.city}"),
        write.text(f"Tél. {issuer.phone} · {issuer.email}"),
    ]
    address = "<br/>".join(write.text(line) for line in letter.debtor_address.splitlines() if line.strip())
    return [
        Paragraph("<br/>".join(issuer_lines), styles["issuer"]),
        Spacer(1, 8 * mm),
        Paragraph(f"<b>{write.text(letter.debtor_name)}</b><br/>{address}", styles["debtor"]),
        Spacer(1, 10 * mm),
        Paragraph(write.text(f"{issuer.city}, le {formatting.long_date(letter.sent_on)}"), styles["right"]),
        Spacer(1, 6 * mm),
        Paragraph(write.text(TITLES[letter.level]), styles["title"]),
        Paragraph(write.text(f"Objet : facture n° {letter.invoice_number} impayée"), styles["firm"]),
        Spacer(1, 4 * mm),
        Paragraph("Madame, Monsieur,", body),
        Spacer(1, 2 * mm),
        Paragraph(write.text(OPENING[letter.level]), styles["firm"] if letter.level == 3 else body),
        Spacer(1, 5 * mm),
    ]


def _figures(letter: ReminderLetter, write: _Writer) -> Table:
    """The invoice's figures, the balance due last (in bold)."""
    fonts = write.fonts
    rows = [
        ["Facture n°", letter.invoice_number],
        ["Date de la facture", formatting.short_date(letter.issue_date)],
        [
            "Période",
            f"du {formatting.short_date(letter.period_start)} au {formatting.short_date(letter.period_end)}",
        ],
        ["Date d'échéance", f"{formatting.short_date(letter.due_date)} (dépassée de {letter.age_days} jours)"],
        ["Montant de la facture", write.money(letter.total_cents)],
        ["Déjà réglé (règlements, avoirs)", write.money(letter.paid_cents)],
        ["Solde dû", write.money(letter.balance_cents)],
    ]
    table = Table(rows, colWidths=[55 * mm, 90 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), fonts.regular),
                ("FONTNAME", (0, -1), (-1, -1), fonts.bold),
                ("FONTSIZE", (0, 0), (-1, -1), 10),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#eeeeee")),
                ("ALIGN", (1, 4), (1, -1), "RIGHT"),
            ]
        )
    )
    return table


def _how_to_pay(letter: ReminderLetter, styles: dict[str, ParagraphStyle], write: _Writer) -> list[object]:
    """How to pay (online, at the desk), then the closing of the letter."""
    issuer = letter.issuer
    body = styles["body"]
    payfip = (
        f"en ligne par carte bancaire (PayFiP) depuis votre espace famille, avec la référence "
        f"<b>{write.text(letter.payfip_reference)}</b>"
    )
    if issuer.payfip_client_number:
        payfip += f" (identifiant de la collectivité {write.text(issuer.payfip_client_number)})"
    return [
        Paragraph("<b>Comment régler</b>", body),
        Paragraph(
            f"– {payfip} ;<br/>"
            f"– à la régie ({write.text(issuer.address)}, {write.text(issuer.postal_code)} {write.text(issuer.city)}) "
            "par chèque à l'ordre du Trésor public, espèces (300 € au plus), carte bancaire, "
            "chèques vacances ou CESU selon le service ;<br/>"
            f"– en rappelant le numéro de facture {write.text(letter.invoice_number)}.",
            body,
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            "Si vous avez réglé cette somme entre-temps, nous vous prions de ne pas tenir compte de ce courrier.",
            body,
        ),
        Spacer(1, 3 * mm),
        Paragraph(
            "Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées.",
            body,
        ),
        Spacer(1, 6 * mm),
        Paragraph(write.text(f"Le régisseur – {issuer.regie}"), styles["right"]),
    ]


def _letter(letter: ReminderLetter, styles: dict[str, ParagraphStyle], fonts: Fonts) -> list[object]:
    write = _Writer(fonts)
    return [
        *_heading(letter, styles, write),
        _figures(letter, write),
        Spacer(1, 5 * mm),
        *_how_to_pay(letter, styles, write),
    ]


def reminders_pdf(letters: Sequence[ReminderLetter]) -> bytes:
    """The letters, one page each, as PDF bytes."""
    if not letters:
        raise ValueError("no letter to print")
    buffer = BytesIO()
    _build(letters, buffer)
    return buffer.getvalue()


def _build(letters: Sequence[ReminderLetter], target: BinaryIO) -> None:
    fonts = _fonts()
    styles = _styles(fonts)
    doc = SimpleDocTemplate(
        target,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title="Relances",
        author=letters[0].issuer.town,
    )
    story: list[object] = []
    for index, letter in enumerate(letters):
        if index:
            story.append(PageBreak())
        story += _letter(letter, styles, fonts)
    doc.build(story)
