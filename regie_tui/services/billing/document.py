"""An invoice as a document: everything its PDF, its screen and ``regie invoices show`` print.

Read in a handful of set-based queries, for one invoice or a whole month of a régie
(18,000 invoices feed the PDF writer without one query per invoice).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, select

from regie_tui import clock, formatting
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import (
    Allocation,
    Child,
    CreditNote,
    DebitBatch,
    DirectDebit,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Mandate,
    Payment,
    Regie,
    Town,
)
from regie_tui.services.common.regies import regie_by_code
from regie_tui.services.common.sql import id_col, id_of, select_columns
from regie_tui.services.payments.sepa.mandates import active_mandate, is_active, mask_iban, planned_debit_date

#: What a line is, in the words printed beside its label when the label does not say it.
LINE_KIND = {
    "service": "Prestation",
    "unbooked_surcharge": "Majoration sans réservation",
    "absence_penalty": "Pénalité d'absence non justifiée",
    "adjustment": "Régularisation",
    "package": "Forfait semaine",
}
PAYMENT_MODE = {
    "cash": "espèces",
    "cheque": "chèque",
    "card": "carte bancaire",
    "transfer": "virement",
    "cesu": "CESU",
    "ancv": "chèques vacances ANCV",
    "payfip": "paiement en ligne PayFiP",
    "direct_debit": "prélèvement SEPA",
}
OTHER_LINES = "Autres lignes"
DESK_PAYMENT = "À la régie : espèces (300 € au plus), chèque, carte bancaire, chèques vacances ANCV."


@dataclass(frozen=True)
class Issuer:
    town: str
    service: str
    address: str
    postal_code: str
    city: str
    phone: str
    email: str
    regie_code: str
    regie_name: str
    creditor_id: str  # ICS, '' when the régie has none


@dataclass(frozen=True)
class DocLine:
    position: int
    label: str
    dates: str  # days of the month: '1, 2, 4'
    quantity: Decimal
    unit_price_cents: int
    amount_cents: int
    kind: str
    basis: str  # why this price (bracket, quotient); '' when not stored

    @property
    def kind_text(self) -> str:
        return LINE_KIND.get(self.kind, self.kind)

    @property
    def text(self) -> str:
        """The label, with what the line is when the label does not already say it."""
        if self.kind == "service" or self.kind_text.lower().split()[0] in self.label.lower():
            return self.label
        return f"{self.kind_text} – {self.label}"


@dataclass(frozen=True)
class ChildLines:
    child_id: int | None
    name: str
    lines: tuple[DocLine, ...]

    @property
    def subtotal_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


@dataclass(frozen=True)
class CreditNoteRef:
    number: str
    issue_date: date
    amount_cents: int
    reason: str


@dataclass(frozen=True)
class PaidRef:
    receipt_number: str
    received_on: date
    mode: str
    amount_cents: int  # the part put on this invoice

    @property
    def mode_text(self) -> str:
        return PAYMENT_MODE.get(self.mode, self.mode)


@dataclass(frozen=True)
class PayFip:
    numcli: str
    refdet: str
    exer: int
    amount_cents: int


@dataclass(frozen=True)
class DebitNotice:
    """SEPA pre-notification: the debit's date and amount, the mandate's RUM and the masked IBAN."""

    debit_date: date
    amount_cents: int
    rum: str
    iban_masked: str
    creditor_id: str
    in_progress: bool  # already in a debit batch not rejected


@dataclass(frozen=True)
class InvoiceDocument:
    id: int
    number: str
    family_id: int
    issuer: Issuer
    debtor_name: str
    debtor_address: str
    issue_date: date
    period_start: date
    period_end: date
    due_date: date
    children: tuple[ChildLines, ...]
    total_cents: int
    credit_notes: tuple[CreditNoteRef, ...]
    payments: tuple[PaidRef, ...]
    status: str  # 'issued' / 'cancelled'
    in_direct_debit: bool
    payfip: PayFip | None
    debit: DebitNotice | None
    appeal_notice: str
    collection_date: date | None = None  # the day of its live direct debit

    @property
    def collection_pending(self) -> bool:
        """In a direct debit not collected yet: paid on paper (the debit is recorded), not in fact."""
        return self.collection_date is not None and self.collection_date >= clock.today()

    @property
    def paid_cents(self) -> int:
        return sum(p.amount_cents for p in self.payments)

    @property
    def credited_cents(self) -> int:
        return sum(c.amount_cents for c in self.credit_notes)

    @property
    def balance_cents(self) -> int:
        """As the family's account computes it: nothing is due on a cancelled invoice."""
        if self.status != InvoiceStatus.ISSUED:
            return 0
        return self.total_cents - self.paid_cents - self.credited_cents

    @property
    def lines(self) -> tuple[DocLine, ...]:
        return tuple(line for child in self.children for line in child.lines)

    @property
    def status_text(self) -> str:
        if self.status == InvoiceStatus.CANCELLED:
            return "Annulée"
        if self.collection_pending and self.collection_date is not None:
            return f"En prélèvement le {formatting.short_date(self.collection_date)}"
        if self.balance_cents <= 0:
            return "Soldée"
        return "En prélèvement" if self.in_direct_debit else "À régler"

    @property
    def period_text(self) -> str:
        return f"du {formatting.short_date(self.period_start)} au {formatting.short_date(self.period_end)}"

    @property
    def how_to_pay(self) -> tuple[str, ...]:
        """What the family reads under « Comment régler »."""
        if self.status == InvoiceStatus.CANCELLED:
            return ("Facture annulée par avoir : rien à régler.",)
        if self.collection_pending and self.collection_date is not None:
            return (
                f"Prélèvement SEPA le {formatting.short_date(self.collection_date)} sur le compte de votre mandat : "
                "rien à faire.",
            )
        if self.balance_cents <= 0:
            return ("Facture soldée : rien à régler.",)
        money = formatting.money
        if self.debit is not None:
            debit = self.debit
            return (
                f"Prélèvement SEPA de {money(debit.amount_cents)} le {formatting.short_date(debit.debit_date)}"
                f" sur le compte {debit.iban_masked}.",
                f"Mandat (RUM) : {debit.rum}"
                + (f" – créancier (ICS) : {debit.creditor_id}" if debit.creditor_id else ""),
                "Ce document vaut pré-notification du prélèvement : vous n'avez rien à faire.",
            )
        texts = []
        if self.payfip is not None:
            texts.append(
                f"En ligne, par carte bancaire (PayFiP), sur l'espace famille : référence {self.payfip.refdet},"
                f" {money(self.payfip.amount_cents)}."
            )
        texts.append(DESK_PAYMENT)
        texts.append(f"À régler avant le {formatting.short_date(self.due_date)}, en rappelant le n° {self.number}.")
        return tuple(texts)


def invoice_document(db: Session, *, number: str) -> InvoiceDocument:
    """The invoice numbered ``number`` (with or without spaces around it)."""
    wanted = number.strip()
    documents = _documents(db, col(Invoice.number) == wanted, single=True)
    if not documents:
        raise NotFound(f"Aucune facture n° « {wanted} ».")
    return documents[0]


def month_documents(db: Session, *, regie_code: str, month: date) -> list[InvoiceDocument]:
    """Every invoice of the régie for the month of ``month``, by number."""
    regie_id = id_of(regie_by_code(db, code=regie_code))
    first = month.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    where = and_(col(Invoice.regie_id) == regie_id, col(Invoice.period_start).between(first, last))
    return _documents(db, where, single=False)


@dataclass(frozen=True)
class _Reads:
    """What the documents of a set of invoices need, each read once for all of them."""

    town: Town
    regies: dict[int, Regie]
    issuers: dict[int, Issuer]
    lines: dict[int, list[tuple[Any, ...]]]
    paid: dict[int, list[PaidRef]]
    credits: dict[int, list[CreditNoteRef]]
    debiting: dict[int, tuple[date, int]]  # invoices in a live debit: the collection date, the amount
    mandates: dict[tuple[int, int], list[Mandate]]  # (family, régie) -> mandates, latest signed first


def _lines(db: Session, ids: Any) -> dict[int, list[tuple[Any, ...]]]:
    lines: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in db.exec(
        select_columns(
            col(InvoiceLine.invoice_id),
            col(InvoiceLine.position),
            col(InvoiceLine.child_id),
            col(Child.first_name),
            col(Child.last_name),
            col(InvoiceLine.label),
            col(InvoiceLine.dates),
            col(InvoiceLine.quantity),
            col(InvoiceLine.unit_price_cents),
            col(InvoiceLine.amount_cents),
            col(InvoiceLine.kind),
            col(InvoiceLine.basis),
        )
        .outerjoin(Child, col(Child.id) == InvoiceLine.child_id)
        .where(col(InvoiceLine.invoice_id).in_(ids))
        .order_by(col(InvoiceLine.invoice_id), col(InvoiceLine.position))
    ):
        lines[row[0]].append(row)
    return lines


def _paid(db: Session, ids: Any) -> dict[int, list[PaidRef]]:
    paid: dict[int, list[PaidRef]] = defaultdict(list)
    for invoice_id, receipt, received_on, mode, amount in db.exec(
        select_columns(
            col(Allocation.invoice_id),
            col(Payment.receipt_number),
            col(Payment.received_on),
            col(Payment.mode),
            col(Allocation.amount_cents),
        )
        .join(Payment, col(Payment.id) == Allocation.payment_id)
        .where(col(Allocation.invoice_id).in_(ids))
        .order_by(col(Payment.received_on), col(Payment.id))
    ):
        paid[invoice_id].append(PaidRef(receipt, received_on, str(getattr(mode, "value", mode)), amount))
    return paid


def _credit_notes(db: Session, ids: Any) -> dict[int, list[CreditNoteRef]]:
    credits: dict[int, list[CreditNoteRef]] = defaultdict(list)
    for invoice_id, number, issued, amount, reason in db.exec(
        select_columns(
            col(CreditNote.invoice_id),
            col(CreditNote.number),
            col(CreditNote.issue_date),
            col(CreditNote.amount_cents),
            col(CreditNote.reason),
        )
        .where(col(CreditNote.invoice_id).in_(ids))
        .order_by(col(CreditNote.issue_date), col(CreditNote.id))
    ):
        credits[invoice_id].append(CreditNoteRef(number, issued, amount, reason))
    return credits


def _debiting(db: Session, ids: Any) -> dict[int, tuple[date, int]]:
    """Invoices in a debit batch not rejected: the batch's collection date and the amount debited."""
    return {
        invoice_id: (collection_date, amount)
        for invoice_id, collection_date, amount in db.exec(
            select_columns(col(DirectDebit.invoice_id), col(DebitBatch.collection_date), col(DirectDebit.amount_cents))
            .join(DebitBatch, col(DebitBatch.id) == DirectDebit.batch_id)
            .where(col(DirectDebit.invoice_id).in_(ids), col(DirectDebit.rejected_on).is_(None))
        )
    }


def _mandates(
    db: Session, where: ColumnElement[bool], invoices: Sequence[Any], *, single: bool
) -> dict[tuple[int, int], list[Mandate]]:
    """The families' mandates for the régies billed, latest signed first (``active_mandate``'s order)."""
    mandates: dict[tuple[int, int], list[Mandate]] = defaultdict(list)
    if single:
        first = invoices[0]
        mandate = active_mandate(db, family_id=first[3], regie_id=first[2], on=first[6])
        if mandate is not None:
            mandates[(first[3], first[2])].append(mandate)
        return mandates
    families = select(Invoice.family_id).where(where)
    for mandate in db.exec(
        select(Mandate)
        .where(col(Mandate.family_id).in_(families), col(Mandate.regie_id).in_(sorted({row[2] for row in invoices})))
        .order_by(col(Mandate.signed_on).desc(), col(Mandate.id).desc())
    ):
        mandates[(mandate.family_id, mandate.regie_id)].append(mandate)
    return mandates


def _document(row: Any, reads: _Reads) -> InvoiceDocument:
    """One invoice's document: its figures, then how it is paid (PayFiP, or the debit of its mandate)."""
    invoice_id, number, regie_id, family_id, start, end, issued, due, total, status, debtor, address = row
    regie = reads.regies[regie_id]
    debiting = reads.debiting
    document = InvoiceDocument(
        id=invoice_id,
        number=number,
        family_id=family_id,
        issuer=reads.issuers[regie_id],
        debtor_name=debtor,
        debtor_address=address,
        issue_date=issued,
        period_start=start,
        period_end=end,
        due_date=due,
        children=_children(reads.lines.get(invoice_id, [])),
        total_cents=total,
        credit_notes=tuple(reads.credits.get(invoice_id, ())),
        payments=tuple(reads.paid.get(invoice_id, ())),
        status=str(getattr(status, "value", status)),
        in_direct_debit=invoice_id in debiting,
        collection_date=debiting[invoice_id][0] if invoice_id in debiting else None,
        payfip=None,
        debit=None,
        appeal_notice=reads.town.appeal_notice,
    )
    balance = document.balance_cents
    payfip = debit = None
    mandate = next((m for m in reads.mandates.get((family_id, regie_id), ()) if is_active(m, issued)), None)
    if mandate is None and regie.payfip_client_number and balance > 0:
        payfip = PayFip(regie.payfip_client_number, number, issued.year, balance)
    if mandate is not None and balance > 0:
        debit_date, amount = debiting.get(invoice_id, (planned_debit_date(due), balance))
        debit = DebitNotice(
            debit_date=debit_date,
            amount_cents=amount,
            rum=mandate.rum,
            iban_masked=mask_iban(mandate.iban),
            creditor_id=regie.sepa_creditor_id or "",
            in_progress=document.in_direct_debit,
        )
    return replace(document, payfip=payfip, debit=debit)


def _documents(db: Session, where: ColumnElement[bool], *, single: bool) -> list[InvoiceDocument]:
    invoices = db.exec(
        select_columns(
            id_col(Invoice.id),
            col(Invoice.number),
            col(Invoice.regie_id),
            col(Invoice.family_id),
            col(Invoice.period_start),
            col(Invoice.period_end),
            col(Invoice.issue_date),
            col(Invoice.due_date),
            col(Invoice.total_cents),
            col(Invoice.status),
            col(Invoice.debtor_name),
            col(Invoice.debtor_address),
        )
        .where(where)
        .order_by(col(Invoice.number))
    ).all()
    if not invoices:
        return []
    ids: Any = [invoices[0][0]] if single else select(Invoice.id).where(where)
    town = db.exec(select(Town)).first()
    if town is None:
        raise RegieError("La collectivité n'est pas renseignée dans la base.")
    regies = {id_of(regie): regie for regie in db.exec(select(Regie))}
    reads = _Reads(
        town=town,
        regies=regies,
        issuers={regie_id: _issuer(town, regie) for regie_id, regie in regies.items()},
        lines=_lines(db, ids),
        paid=_paid(db, ids),
        credits=_credit_notes(db, ids),
        debiting=_debiting(db, ids),
        mandates=_mandates(db, where, invoices, single=single),
    )
    return [_document(row, reads) for row in invoices]


def _issuer(town: Town, regie: Regie) -> Issuer:
    return Issuer(
        town=town.name,
        service=town.service_name,
        address=town.address,
        postal_code=town.postal_code,
        city=town.city,
        phone=town.phone,
        email=town.email,
        regie_code=regie.code,
        regie_name=regie.name,
        creditor_id=regie.sepa_creditor_id or "",
    )


def _children(rows: list[tuple[Any, ...]]) -> tuple[ChildLines, ...]:
    """Lines grouped per child, children in the order of their first line; lines of no child last."""
    groups: dict[int | None, tuple[str, list[DocLine]]] = {}
    for _, position, child_id, first, last, label, dates, quantity, price, amount, kind, basis in rows:
        name = f"{first} {last}" if child_id is not None and first is not None else OTHER_LINES
        group = groups.setdefault(child_id, (name, []))
        group[1].append(
            DocLine(
                position=position,
                label=label,
                dates=dates or "",
                quantity=Decimal(quantity),
                unit_price_cents=price,
                amount_cents=amount,
                kind=str(getattr(kind, "value", kind)),
                basis=basis or "",
            )
        )
    ordered = sorted(groups.items(), key=lambda item: item[0] is None)
    return tuple(ChildLines(child_id, name, tuple(lines)) for child_id, (name, lines) in ordered)


def quantity_text(quantity: Decimal) -> str:
    """17 -> '17', 1.50 -> '1,5'."""
    return formatting.number(
        quantity.quantize(Decimal(1)) if quantity == quantity.to_integral() else quantity.normalize()
    )
