"""Export RGPD of a family: a readable PDF in French of everything held about it, and the
export's folder (the JSON, the PDF, the documents' files: reports/rgpd_folder.py).

The PDF is read from the export's JSON-ready data (services/families/rgpd_export.py), so that both
say the same: the family file, health notes, enrollments, bookings (counted by child, month,
unit and state; the JSON lists them day by day), invoices, credit notes, payments,
mandates, documents, messages, portal requests and the history.
"""

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from regie_tui import formatting
from regie_tui.labels import (
    AUDIT_ACTION,
    AUDIT_ENTITY,
    AUDIT_FIELD,
    AUDIT_VALUE,
    CONSENT_KIND,
    DOCUMENT_STATUS,
    ENROLLMENT_STATUS,
    HEALTH_KIND,
    INVOICE_STATUS,
    SEX,
    SUBMISSION_KIND,
    label,
)
from regie_tui.reports.invoice_pdf import BOLD, FONT, register_fonts
from regie_tui.services.bookings.cells import STATE_LABELS
from regie_tui.services.families.rgpd_export import FamilyExport
from regie_tui.services.payments.modes import MODE_LABELS

PAGE_WIDTH = A4[0] - 30 * mm
#: A table cell's text is cut beyond this (a cell taller than a page cannot be laid out);
#: the JSON holds it whole, and messages are printed whole, outside any table.
CELL_MAX = 700
#: Booking states and payment modes by their stored value.
BOOKING_STATES = {state.value: text for state, text in STATE_LABELS.items()}
PAYMENT_MODES = {mode.value: text for mode, text in MODE_LABELS.items()}
SUBMISSION_STATUS = {"pending": "En attente", "accepted": "Acceptée", "refused": "Refusée", "recorded": "Enregistrée"}


def _plain(text: str) -> str:
    """Plain spaces in money and dates: the text reads (and extracts) the same everywhere."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def _money(cents: int | None) -> str:
    return _plain(formatting.money(cents or 0))


def _day(value: str | None) -> str:
    return formatting.short_date(date.fromisoformat(value)) if value else ""


def _instant(value: str | None) -> str:
    return formatting.local_datetime(datetime.fromisoformat(value).astimezone(UTC)) if value else ""


def _text(value: Any) -> str:
    return escape(_plain("" if value is None else str(value))).replace("\n", "<br/>")


def _cut(value: Any) -> Any:
    text = "" if value is None else str(value)
    return text if len(text) <= CELL_MAX else f"{text[:CELL_MAX]}… (suite dans le fichier JSON)"


def _yes(value: Any) -> str:
    return "oui" if value else "non"


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName=FONT, fontSize=9, leading=11.5)
    return {
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=8, leading=10),
        "head": ParagraphStyle("head", parent=body, fontName=BOLD, fontSize=8, leading=10),
        "title": ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=15, leading=19, spaceAfter=2 * mm),
        "section": ParagraphStyle(
            "section", parent=body, fontName=BOLD, fontSize=11.5, leading=15, spaceBefore=5 * mm, spaceAfter=1.5 * mm
        ),
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=colors.grey),
    }


class _Story:
    """The PDF's flowables, section by section."""

    def __init__(self) -> None:
        self.styles = _styles()
        self.flowables: list[Flowable] = []

    def para(self, text: str, style: str = "body") -> None:
        self.flowables.append(Paragraph(text, self.styles[style]))

    def section(self, title: str) -> None:
        self.para(_text(title), "section")

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[float]) -> None:
        """A table with its header repeated on each page (or « Aucun. » when there is no row)."""
        cell, head = self.styles["cell"], self.styles["head"]
        data: list[list[Any]] = [[Paragraph(_text(h), head) for h in headers]]
        data += [[Paragraph(_text(_cut(v)), cell) for v in row] for row in rows]
        if len(data) == 1:
            self.para("Aucun.")
            return
        total = sum(widths)
        table = Table(data, colWidths=[PAGE_WIDTH * w / total for w in widths], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ]
            )
        )
        self.flowables.append(table)

    def pairs(self, pairs: Sequence[tuple[str, Any]]) -> None:
        self.table(("Donnée", "Valeur"), pairs, (1, 3))


def _changes(entry: dict[str, Any]) -> str:
    """An audit entry's before → after, field by field, with the French field names."""
    before, after = entry.get("before") or {}, entry.get("after") or {}
    parts = []
    for key in sorted(set(before) | set(after)):
        old, new = _shown(before.get(key)), _shown(after.get(key))
        if key in before and key in after:
            parts.append(f"{label(AUDIT_FIELD, key)} : {old} → {new}")
        elif key in after:
            parts.append(f"{label(AUDIT_FIELD, key)} : {new}")
        else:
            parts.append(f"{label(AUDIT_FIELD, key)} : {old} (avant)")
    return " ; ".join(parts)


def _shown(value: Any) -> str:
    """A value of an audit entry as the history shows it (codes in French)."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return label(AUDIT_VALUE, str(value))


def _booking_counts(data: dict[str, Any], children: dict[int, str]) -> list[tuple[str, str, str, str]]:
    """Bookings counted by child, month, activity and unit: « 12 présent, 2 absence justifiée »."""
    counts: dict[tuple[int, str, str, str], Counter[str]] = {}
    for b in data["bookings"]:
        key = (b["child_id"], b["day"][:7], b["activity_name"], b["unit_name"])
        counts.setdefault(key, Counter())[b["state"]] += 1
    rows = []
    for (child_id, month, activity, unit), states in sorted(counts.items()):
        shown = ", ".join(f"{n} {BOOKING_STATES.get(s, s)}" for s, n in sorted(states.items()))
        rows.append(
            (
                children.get(child_id, str(child_id)),
                formatting.month_name(date.fromisoformat(f"{month}-01")),
                f"{activity} – {unit}",
                shown,
            )
        )
    return rows


def rgpd_pdf(export: FamilyExport, *, printed_at: datetime) -> bytes:
    """The export as a readable PDF (A4, French)."""
    register_fonts()
    data = export.data
    family = data["family"]
    children = {c["id"]: f"{c['first_name']} {c['last_name']}" for c in data["children"]}
    story = _Story()
    story.para(f"Export RGPD – famille {_text(family['name'])} (dossier n° {family['id']})", "title")
    by = data["exported_by"]
    story.para(
        f"Toutes les données détenues par la régie sur ce foyer, au {_text(_instant(data['exported_at']))}, "
        f"exportées par {_text(by['name'])} ({_text(by['login'])}). Le fichier JSON joint "
        f"({_text(export.names.json)}) contient les mêmes données, complètes (réservations jour par jour)."
    )
    for write in (_household, _care, _enrollments, _invoices, _payments, _exchanges, _history):
        write(story, data, children)
    story.flowables.append(Spacer(1, 6 * mm))
    story.para(
        f"Édité le {_text(_plain(formatting.local_datetime(printed_at)))}. Données conservées selon la "
        "délibération de la collectivité ; droits d'accès, de rectification et d'effacement (dans les limites "
        "des obligations légales, notamment comptables) auprès du service.",
        "small",
    )

    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Export RGPD – famille {family['name']}",
    )
    doc.build(story.flowables, onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()


def _household(story: _Story, data: dict[str, Any], children: dict[int, str]) -> None:
    """The household: the family, its guardians and its children."""
    family = data["family"]
    story.section("Foyer")
    story.pairs(
        [
            ("Nom", family["name"]),
            ("Adresse", " ".join(p for p in (family["address"], family["address_extra"]) if p)),
            ("Commune", f"{family['postal_code']} {family['city']}".strip()),
            ("Résident", _yes(family["resident"])),
            ("Notes", family["notes"]),
            ("Créé le", _instant(family["created_at"])),
            ("Archivé le", _instant(family["archived_at"])),
            ("Solde dû", _money(data["balance_cents"])),
        ]
    )
    story.section("Responsables légaux")
    story.table(
        ("Nom", "Lien", "Payeur", "Téléphones", "E-mail", "Employeur"),
        [
            (
                f"{g['first_name']} {g['last_name']}",
                g["relationship"],
                _yes(g["is_payer"]),
                " / ".join(p for p in (g["mobile_phone"], g["home_phone"], g["work_phone"]) if p),
                g["email"],
                g["employer"],
            )
            for g in data["guardians"]
        ],
        (3, 1.5, 1.3, 3, 3.5, 2),
    )
    diets: dict[int, list[str]] = {}
    for d in data["diets"]:
        diets.setdefault(d["child_id"], []).append(d["label"])
    story.section("Enfants")
    story.table(
        ("Prénom et nom", "Né(e) le", "Sexe", "École", "Classe", "Régimes"),
        [
            (
                children[c["id"]],
                _day(c["birth_date"]),
                label(SEX, c["sex"]),
                c["school"],
                c["school_class"],
                ", ".join(diets.get(c["id"], [])),
            )
            for c in data["children"]
        ],
        (3, 1.6, 1, 3, 1.2, 2.5),
    )


def _care(story: _Story, data: dict[str, Any], children: dict[int, str]) -> None:
    """Health notes, authorized persons, consents, quotients and the portal account."""
    story.section("Informations sanitaires")
    story.table(
        ("Enfant", "Type", "Information", "Valable jusqu'au"),
        [
            (children.get(n["child_id"], ""), label(HEALTH_KIND, n["kind"]), n["text"], _day(n["valid_until"]))
            for n in data["health_notes"]
        ],
        (2.5, 1.5, 6, 1.6),
    )
    story.section("Personnes autorisées et à prévenir")
    story.table(
        ("Nom", "Lien", "Téléphone", "Récupère l'enfant", "À prévenir"),
        [
            (
                f"{p['first_name']} {p['last_name']}",
                p["relationship"],
                p["phone"],
                _yes(p["may_collect"]),
                _yes(p["emergency_contact"]),
            )
            for p in data["authorized_persons"]
        ],
        (3, 2, 2, 1.5, 1.5),
    )
    story.section("Consentements")
    story.table(
        ("Consentement", "Donné", "Le"),
        [(label(CONSENT_KIND, c["kind"]), _yes(c["granted"]), _instant(c["at"])) for c in data["consents"]],
        (3, 1, 2),
    )
    story.section("Quotients familiaux")
    story.table(
        ("Quotient", "Source", "Du", "Au"),
        [(str(q["value"]), q["source"], _day(q["valid_from"]), _day(q["valid_to"])) for q in data["quotients"]],
        (1, 1, 1, 1),
    )
    story.section("Compte du portail famille")
    account = data["portal_account"]
    if account is None:
        story.para("Aucun compte.")
    else:
        logins = account["logins"]
        story.pairs(
            [
                ("E-mail", account["email"]),
                ("Activé le", _instant(account["activated_at"])),
                ("Rester connecté", _yes(account["stay_signed_in"])),
                ("Connexions", f"{len(logins)} (dernière : {_instant(logins[-1]['at']) if logins else '—'})"),
            ]
        )


def _enrollments(story: _Story, data: dict[str, Any], children: dict[int, str]) -> None:
    """Enrollments, and bookings counted by month."""
    story.section("Inscriptions")
    story.table(
        ("Enfant", "Activité", "Groupe", "Statut", "Demandée le"),
        [
            (
                children.get(e["child_id"], ""),
                e["activity_name"],
                e["age_group_name"],
                label(ENROLLMENT_STATUS, e["status"]),
                _instant(e["requested_at"]),
            )
            for e in data["enrolments"]
        ],
        (2.5, 4, 2, 1.5, 2),
    )
    story.section(f"Réservations ({len(data['bookings'])} jours × unités, par mois)")
    story.table(("Enfant", "Mois", "Activité – unité", "États"), _booking_counts(data, children), (2.5, 2, 4, 4))


def _invoices(story: _Story, data: dict[str, Any], children: dict[int, str]) -> None:
    """Invoices, each with its lines."""
    story.section("Factures")
    story.table(
        ("Numéro", "Période", "Émise le", "Total", "Réglé", "Avoirs", "Solde", "Statut"),
        [
            (
                i["number"],
                f"{_day(i['period_start'])} – {_day(i['period_end'])}",
                _day(i["issue_date"]),
                _money(i["total_cents"]),
                _money(i["paid_cents"]),
                _money(i["credited_cents"]),
                _money(i["balance_cents"]),
                label(INVOICE_STATUS, i["status"]),
            )
            for i in data["invoices"]
        ],
        (2.6, 3.2, 1.6, 1.5, 1.5, 1.5, 1.5, 1.3),
    )
    for invoice in data["invoices"]:
        story.para(f"<b>Facture {_text(invoice['number'])}</b> – débiteur : {_text(invoice['debtor_name'])}", "cell")
        story.table(
            ("Enfant", "Prestation", "Jours", "Qté", "Prix unitaire", "Montant"),
            [
                (
                    children.get(line["child_id"], "") if line["child_id"] else "",
                    line["label"],
                    line["dates"],
                    line["quantity"],
                    _money(line["unit_price_cents"]),
                    _money(line["amount_cents"]),
                )
                for line in invoice["lines"]
            ],
            (2.2, 4, 3, 0.8, 1.6, 1.6),
        )


def _payments(story: _Story, data: dict[str, Any], children: dict[int, str]) -> None:
    """Credit notes, payments and SEPA mandates."""
    credit_notes = [(i["number"], n) for i in data["invoices"] for n in i["credit_notes"]]
    story.section("Avoirs")
    story.table(
        ("Numéro", "Facture", "Le", "Montant", "Motif"),
        [
            (n["number"], number, _day(n["issue_date"]), _money(n["amount_cents"]), n["reason"])
            for number, n in credit_notes
        ],
        (2.5, 2.5, 1.6, 1.5, 4),
    )
    story.section("Règlements")
    story.table(
        ("Reçu", "Reçu le", "Mode", "Montant", "Payé par", "Affecté à", "État"),
        [
            (
                p["receipt_number"],
                _day(p["received_on"]),
                PAYMENT_MODES.get(p["mode"], p["mode"]),
                _money(p["amount_cents"]),
                p["payer_name"],
                ", ".join(f"{a['invoice_number']} ({_money(a['amount_cents'])})" for a in p["allocations"]),
                "annulé" if p["cancelled_on"] else "rejeté" if p["rejected_on"] else "",
            )
            for p in data["payments"]
        ],
        (2.4, 1.6, 1.8, 1.5, 2.4, 3.4, 1.1),
    )
    story.section("Mandats SEPA")
    story.table(
        ("RUM", "Titulaire", "IBAN", "BIC", "Signé le", "Révoqué le"),
        [
            (m["rum"], m["debtor_name"], m["iban"], m["bic"], _day(m["signed_on"]), _day(m["revoked_on"]))
            for m in data["mandates"]
        ],
        (2.6, 2.4, 3.6, 1.6, 1.5, 1.5),
    )


def _exchanges(story: _Story, data: dict[str, Any], children: dict[int, str]) -> None:
    """Documents, messages, the régie's mails and the portal's requests."""
    story.section("Documents")
    story.table(
        ("Document", "Fichier", "Statut", "Reçu le", "Valable jusqu'au", "Copie dans l'export"),
        [
            (
                d["document_type_name"] + (f" ({children.get(d['child_id'], '')})" if d["child_id"] else ""),
                f"{d['filename']} ({formatting.file_size(d['size'])})",
                label(DOCUMENT_STATUS, d["status"]),
                _instant(d["submitted_at"]),
                _day(d["valid_to"]),
                d["exported_as"],
            )
            for d in data["documents"]
        ],
        (3, 3, 1.3, 1.8, 1.5, 3.4),
    )
    story.section("Messages")
    if not data["messages"]:
        story.para("Aucun.")
    for m in data["messages"]:
        way = "reçu de la famille" if m["direction"] == "incoming" else "envoyé par le service"
        story.para(f"<b>{_text(_instant(m['sent_at']))} – {way} – {_text(m['subject'])}</b>")
        story.para(_text(m["body"]))
        story.flowables.append(Spacer(1, 1.5 * mm))
    story.section("Courriels de la régie")
    story.table(
        ("Créé le", "À", "Objet", "État"),
        [(_instant(m["created_at"]), m["to_address"], m["subject"], m["status"]) for m in data["mails"]],
        (1.8, 3.5, 5, 1.2),
    )
    story.section("Demandes envoyées par le portail")
    story.table(
        ("Le", "Type", "Demande", "Statut", "Motif"),
        [
            (
                _instant(s["submitted_at"]),
                label(SUBMISSION_KIND, s["kind"]),
                s["summary"],
                label(SUBMISSION_STATUS, s["status"]),
                s["reason"],
            )
            for s in data["submissions"]
        ],
        (1.8, 1.8, 5, 1.5, 3),
    )


def _history(story: _Story, data: dict[str, Any], children: dict[int, str]) -> None:
    """The family file's audit trail."""
    story.section("Historique du dossier")
    story.table(
        ("Le", "Par", "Action", "Sur", "Détail"),
        [
            (
                _instant(h["at"]),
                h["agent_login"] or ("portail" if h["source"] == "portal" else "système"),
                label(AUDIT_ACTION, h["action"]),
                label(AUDIT_ENTITY, h["entity"]),
                _changes(h),
            )
            for h in data["history"]
        ],
        (1.8, 1.6, 2, 1.8, 6.5),
    )


def _footer(canvas: Any, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 7.5)
    canvas.setFillGray(0.4)
    canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"page {doc.page}")
    canvas.restoreState()
