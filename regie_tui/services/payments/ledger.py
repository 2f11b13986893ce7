"""Payments: money received, numbered by its receipt, and allocated to invoices.

The one place where a ``payment`` is written. A payment is allocated to the invoices
chosen (in the order given) or else to the family's oldest unpaid invoices of the
régie; what is left stays as the family's credit, which the next payment of that régie
allocates first. Cancelling (an error at the desk) or rejecting (a cheque or a debit
returned unpaid) a payment deletes its allocations, so the invoices reopen.

Rules of the modes:

- espèces: 300 € at most (``CASH_LIMIT_CENTS``);
- chèque: its number and its bank;
- CESU: only the part of an invoice that is childcare (garde d'enfants hors domicile)
  for a child under 6 on the day served, never a meal (a unit named "Repas…" or a
  restauration scolaire activity); surcharges and adjustments without a unit are not
  eligible. The whole CESU amount must fit the eligible parts (no CESU credit, which
  would later pay meals); it never uses the family's earlier credit;
- PayFiP: one invoice, in full, with its transaction reference (unique);
- prélèvement: one invoice (recorded by the SEPA run, not at the desk).

PayFiP, prélèvement and CESU money goes to its invoice(s) only: those modes do not
spend the family's earlier credit first.

A day of a régie's cash journal, once closed by the régisseur, takes no new payment
and no cancellation; a returned cheque is still rejected later (on its own date).

Dates of money movements (``check_money_date``): a desk payment, a cancellation and a
rejection are never dated in the future (after ``clock.today()``; a direct debit is
recorded ahead on its collection date, and may be rejected on it), nor before the 1st of
January of the previous year (``earliest_money_day``: older years are closed accounts,
and 0001-01-01 is a typo), nor on or before a closed day of the régie's cash journal (a
closed day closes everything before it too). PayFiP and direct-debit payments are dated
by their operator and known after the day: a closed day still takes them.

Cash: the non-cancelled cash (espèces) allocations to one invoice, earlier cash credit
included, stay within ``CASH_LIMIT_CENTS`` across every payment of it. A cash payment
that would go beyond is refused; earlier cash credit is only put on an invoice within
what it may still take in cash (the rest stays credit).

An online payment (PayFiP) never exceeds the invoice's balance due at the moment it is
recorded (it must equal it: no partial payment either).
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui import clock, formatting
from regie_tui.clock import PARIS
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import (
    CASH_LIMIT_CENTS,
    Activity,
    ActivityKind,
    Agent,
    Allocation,
    CashDay,
    Child,
    CreditNote,
    CreditNoteLine,
    Family,
    Guardian,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentMode,
    Regie,
    Source,
    Town,
    Unit,
)
from regie_tui.services.billing.accounts import invoice_balances
from regie_tui.services.billing.numbering import NumberKind, take_number
from regie_tui.services.common.regies import regie_by_code
from regie_tui.services.common.sql import id_col, id_of, select_columns
from regie_tui.services.common.validation import check_characters, check_length
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import require_agent

REFERENCE_MAX = 80
BANK_MAX = 80
PAYER_MAX = 200
REASON_MAX = 200
CESU_AGE_LIMIT = 6  # garde d'enfants hors domicile: children under 6

MODE_LABELS = {
    PaymentMode.CASH: "Espèces",
    PaymentMode.CHEQUE: "Chèque",
    PaymentMode.CARD: "Carte bancaire",
    PaymentMode.TRANSFER: "Virement",
    PaymentMode.CESU: "CESU",
    PaymentMode.ANCV: "Chèques vacances ANCV",
    PaymentMode.PAYFIP: "PayFiP (en ligne)",
    PaymentMode.DIRECT_DEBIT: "Prélèvement SEPA",
}
#: The French words a mode is typed with (without accents, lower case).
MODE_WORDS = {
    "especes": PaymentMode.CASH,
    "espece": PaymentMode.CASH,
    "cheque": PaymentMode.CHEQUE,
    "carte": PaymentMode.CARD,
    "cb": PaymentMode.CARD,
    "virement": PaymentMode.TRANSFER,
    "cesu": PaymentMode.CESU,
    "ancv": PaymentMode.ANCV,
    "cheques-vacances": PaymentMode.ANCV,
    "payfip": PaymentMode.PAYFIP,
    "prelevement": PaymentMode.DIRECT_DEBIT,
}
#: The modes an agent records at the desk (a direct debit comes from the SEPA run).
DESK_MODES = (
    PaymentMode.CASH,
    PaymentMode.CHEQUE,
    PaymentMode.CARD,
    PaymentMode.TRANSFER,
    PaymentMode.CESU,
    PaymentMode.ANCV,
    PaymentMode.PAYFIP,
)
#: Modes whose money goes to its own invoice(s) only, without spending earlier credit.
_NO_CREDIT_MODES = frozenset({PaymentMode.PAYFIP, PaymentMode.DIRECT_DEBIT, PaymentMode.CESU})
#: Modes dated by their operator (PayFiP, the bank), known after the day: a closed cash day takes them.
_OPERATOR_DATED = frozenset({PaymentMode.PAYFIP, PaymentMode.DIRECT_DEBIT})
#: Modes a bank or issuer may return unpaid.
REJECTABLE_MODES = frozenset({PaymentMode.CHEQUE, PaymentMode.DIRECT_DEBIT, PaymentMode.CESU, PaymentMode.ANCV})


# --------------------------------------------------------------------- results


@dataclass(frozen=True)
class Allocated:
    """A part of the money put on an invoice; ``from_credit`` when it is earlier credit."""

    invoice_number: str
    amount_cents: int
    balance_after_cents: int
    from_credit: bool = False


@dataclass(frozen=True)
class PaymentRecorded:
    payment_id: int
    receipt_number: str
    family_id: int
    regie_id: int
    mode: PaymentMode
    amount_cents: int
    received_on: date
    allocations: tuple[Allocated, ...]
    credit_used_cents: int  # earlier credit allocated by this payment
    credit_left_cents: int  # the family's credit in the régie afterwards

    @property
    def invoice_number(self) -> str:
        """The (first) invoice the payment settles, '' when it all went to credit."""
        return self.allocations[0].invoice_number if self.allocations else ""

    @property
    def balance_after_cents(self) -> int:
        """What is still due on that invoice."""
        return self.allocations[0].balance_after_cents if self.allocations else 0


@dataclass(frozen=True)
class PaymentUndone:
    receipt_number: str
    family_id: int
    reopened: tuple[tuple[str, int], ...]  # (invoice number, amount no longer paid)


@dataclass(frozen=True)
class OpenInvoice:
    number: str
    regie_id: int
    regie_code: str
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    total_cents: int
    balance_cents: int


@dataclass(frozen=True)
class SituationInvoice:
    number: str
    regie: str
    period_start: date
    issue_date: date
    due_date: date
    total_cents: int
    paid_cents: int
    credited_cents: int
    balance_cents: int
    overdue: bool


@dataclass(frozen=True)
class SituationPayment:
    receipt_number: str
    regie: str
    received_on: date
    mode_label: str
    amount_cents: int
    allocated_cents: int
    reference: str
    state: str  # '', 'annulé', 'rejeté'


@dataclass(frozen=True)
class FinancialSituation:
    """The family's situation financière at a date, as the portal shows it."""

    family_id: int
    family_name: str
    on: date
    invoices: tuple[SituationInvoice, ...]
    payments: tuple[SituationPayment, ...]
    due_cents: int  # sum of the balances of the invoices issued by then
    unpaid_count: int
    credit_cents: int  # money received and not yet allocated

    @property
    def net_due_cents(self) -> int:
        return self.due_cents - self.credit_cents


@dataclass(frozen=True)
class JournalLine:
    receipt_number: str
    family_id: int
    family_name: str
    payer_name: str
    mode: PaymentMode
    mode_label: str
    amount_cents: int
    reference: str
    bank: str
    state: str  # '', 'annulé', 'rejeté'
    state_reason: str
    agent: str
    running_cents: int  # the day's cash balance after this line (cancelled lines count nothing)


@dataclass(frozen=True)
class ModeTotal:
    mode: PaymentMode
    label: str
    count: int
    total_cents: int


@dataclass(frozen=True)
class JournalRegie:
    regie_id: int
    code: str
    name: str
    lines: tuple[JournalLine, ...]
    totals: tuple[ModeTotal, ...]
    count: int
    total_cents: int
    closed: bool
    closed_by: str
    closed_at: datetime | None


@dataclass(frozen=True)
class CashJournal:
    day: date
    regies: tuple[JournalRegie, ...]

    @property
    def count(self) -> int:
        return sum(r.count for r in self.regies)

    @property
    def total_cents(self) -> int:
        return sum(r.total_cents for r in self.regies)

    @property
    def totals(self) -> tuple[ModeTotal, ...]:
        """Totals per mode, all régies together, in the order of the modes."""
        merged: dict[PaymentMode, tuple[int, int]] = {}
        for regie in self.regies:
            for total in regie.totals:
                count, cents = merged.get(total.mode, (0, 0))
                merged[total.mode] = (count + total.count, cents + total.total_cents)
        return tuple(
            ModeTotal(mode=m, label=MODE_LABELS[m], count=merged[m][0], total_cents=merged[m][1])
            for m in PaymentMode
            if m in merged
        )


@dataclass(frozen=True)
class ReceiptAllocation:
    invoice_number: str
    period_start: date
    period_end: date
    amount_cents: int


@dataclass(frozen=True)
class Receipt:
    """What the printed receipt (reçu) says."""

    number: str
    town_name: str
    service_name: str
    town_address: str
    town_phone: str
    town_email: str
    regie_name: str
    received_on: date
    family_id: int
    family_name: str
    family_address: str
    payer_name: str
    mode_label: str
    reference: str
    bank: str
    amount_cents: int
    allocations: tuple[ReceiptAllocation, ...]
    unallocated_cents: int
    agent: str
    state: str
    state_reason: str
    state_on: date | None


@dataclass(frozen=True)
class CashDayClosed:
    regie_id: int
    regie_code: str
    day: date
    payment_count: int
    total_cents: int


# --------------------------------------------------------------------- parsing


def parse_mode(text: str) -> PaymentMode:
    """A mode typed in French: especes, cheque, carte, virement, cesu, ancv, payfip, prelevement."""
    key = text.strip().lower()
    for accented, plain in (("è", "e"), ("é", "e"), ("ê", "e"), (" ", "-")):
        key = key.replace(accented, plain)
    if key in MODE_WORDS:
        return MODE_WORDS[key]
    raise RegieError(
        f"Mode de règlement inconnu « {text} » : especes, cheque, carte, virement, cesu, ancv, payfip ou prelevement."
    )


# --------------------------------------------------------------------- reading


def invoice_balance(db: Session, *, invoice: Invoice) -> int:
    """What is still due on an issued invoice (total - allocations - credit notes)."""
    if invoice.status != InvoiceStatus.ISSUED:
        return 0
    return invoice_balances(db, [id_of(invoice)]).get(id_of(invoice), 0)


_live = (col(Payment.cancelled_on).is_(None), col(Payment.rejected_on).is_(None))
# Per payment, correlated: what its allocations put on invoices (the rest is the family's credit).
_allocated = (
    select(func.coalesce(func.sum(Allocation.amount_cents), 0))
    .where(Allocation.payment_id == Payment.id)
    .correlate(Payment)
    .scalar_subquery()
)


def _credits(db: Session, *, family_id: int, regie_id: int, lock: bool = False) -> list[tuple[int, int]]:
    """(payment id, unallocated cents) of the family's live payments in the régie, oldest first."""
    statement = (
        select(id_col(Payment.id), col(Payment.amount_cents) - _allocated)
        .where(Payment.family_id == family_id, Payment.regie_id == regie_id, *_live)
        .order_by(col(Payment.received_on), col(Payment.id))
    )
    if lock:
        ids = db.exec(
            select(id_col(Payment.id))
            .where(Payment.family_id == family_id, Payment.regie_id == regie_id, *_live)
            .with_for_update()
        ).all()
        if not ids:
            return []
    return [(pid, int(left)) for pid, left in db.exec(statement).all() if left > 0]


def family_credit(db: Session, *, family_id: int, regie_id: int | None = None) -> int:
    """Money of the family received by the régie (every régie: None) and not allocated to any invoice yet."""
    if regie_id is None:
        regie_ids = db.exec(select(Payment.regie_id).where(Payment.family_id == family_id).distinct()).all()
        return sum(family_credit(db, family_id=family_id, regie_id=r) for r in regie_ids)
    return sum(left for _, left in _credits(db, family_id=family_id, regie_id=regie_id))


def open_invoices(db: Session, *, family_id: int, regie_id: int | None = None) -> list[OpenInvoice]:
    """The family's issued invoices with something due, oldest first (issue date, number)."""
    statement = (
        select_columns(
            id_col(Invoice.id),
            col(Invoice.number),
            col(Invoice.regie_id),
            col(Regie.code),
            col(Invoice.period_start),
            col(Invoice.period_end),
            col(Invoice.issue_date),
            col(Invoice.due_date),
            col(Invoice.total_cents),
        )
        .join(Regie, col(Regie.id) == Invoice.regie_id)
        .where(Invoice.family_id == family_id, Invoice.status == InvoiceStatus.ISSUED)
        .order_by(col(Invoice.issue_date), col(Invoice.number))
    )
    if regie_id is not None:
        statement = statement.where(Invoice.regie_id == regie_id)
    rows = db.exec(statement).all()
    balances = invoice_balances(db, [row[0] for row in rows])
    return [
        OpenInvoice(
            number=number,
            regie_id=rid,
            regie_code=code,
            period_start=start,
            period_end=end,
            issue_date=issued,
            due_date=due,
            total_cents=total,
            balance_cents=balances[iid],
        )
        for iid, number, rid, code, start, end, issued, due, total in rows
        if balances.get(iid, 0) > 0
    ]


def regies(db: Session) -> list[tuple[int, str, str]]:
    """(id, code, name) of the town's régies."""
    return [(rid, code, name) for rid, code, name in db.exec(select(id_col(Regie.id), Regie.code, Regie.name)).all()]


def regie_for_payment(
    db: Session, *, family_id: int, service: str | None = None, invoice_numbers: Sequence[str] = ()
) -> int:
    """The régie a payment goes to: the one coded ``service``, else that of the invoices named,
    else the only régie of the town, else that of the family's open invoices (when of one régie)."""
    if db.get(Family, family_id) is None:
        raise NotFound(f"Famille n° {family_id} introuvable.")
    if service:
        return id_of(regie_by_code(db, code=service))
    if invoice_numbers:
        found = set(db.exec(select(Invoice.regie_id).where(col(Invoice.number).in_(invoice_numbers))).all())
        if len(found) > 1:
            raise RegieError("Ces factures sont de régies différentes : un règlement par régie.")
        if found:
            return found.pop()
    every = regies(db)
    if len(every) == 1:
        return every[0][0]
    open_regies = {i.regie_id for i in open_invoices(db, family_id=family_id)}
    if len(open_regies) == 1:
        return open_regies.pop()
    codes = ", ".join(code for _, code, _ in every)
    raise RegieError(f"Précisez la régie ({codes}) : la famille n'a pas de facture ouverte d'une seule régie.")


@dataclass(frozen=True)
class PaymentContext:
    """What the payment dialog shows of a family: its open invoices and its credit per régie."""

    family_id: int
    family_name: str
    regies: tuple[tuple[int, str, str], ...]  # (id, code, name)
    invoices: tuple[OpenInvoice, ...]  # every régie, oldest first
    credits: dict[int, int]  # régie id -> credit
    default_regie_id: int


def payment_context(db: Session, *, family_id: int) -> PaymentContext:
    family = db.get(Family, family_id)
    if family is None:
        raise NotFound(f"Famille n° {family_id} introuvable.")
    every = tuple(regies(db))
    found = tuple(open_invoices(db, family_id=family_id))
    credits = {rid: family_credit(db, family_id=family_id, regie_id=rid) for rid, _, _ in every}
    default = found[0].regie_id if found else every[0][0] if every else 0
    return PaymentContext(family_id, family.name, every, found, credits, default)


# ------------------------------------------------------------ dates of money

#: What dates a money movement: a payment received, its cancellation, its rejection.
MoneyAct = Literal["payment", "cancel", "reject"]
_ACT_WORDS: dict[MoneyAct, tuple[str, str, str]] = {
    # (the date's label, "a …" to say how late, "no … may be dated" for a closed day)
    "payment": ("Date d'encaissement", "un règlement", "aucun règlement ne peut plus être daté"),
    "cancel": ("Date d'annulation", "une annulation", "aucune annulation ne peut plus être datée"),
    "reject": ("Date de rejet", "un rejet", "aucun rejet ne peut plus être daté"),
}


def earliest_money_day(today: date) -> date:
    """The earliest day a money movement may be dated: the 1st of January of the previous year."""
    return date(today.year - 1, 1, 1)


def closed_on_or_after(db: Session, *, regie_id: int, day: date) -> tuple[date, date] | None:
    """(the first closed day of the régie on or after ``day``, its last closed day), or None
    when ``day`` comes after every closed day (a closed day closes every day before it)."""
    first, last = db.exec(
        select(func.min(CashDay.day), func.max(CashDay.day)).where(CashDay.regie_id == regie_id, CashDay.day >= day)
    ).one()
    return None if first is None or last is None else (first, last)


def _closed_text(db: Session, *, regie_id: int, closed: date) -> str:
    regie = db.get(Regie, regie_id)
    code = regie.code if regie is not None else str(regie_id)
    return f"La journée de caisse du {formatting.short_date(closed)} de la régie {code} est clôturée"


def check_money_date(
    db: Session,
    *,
    regie_id: int,
    day: date,
    act: MoneyAct,
    latest: date | None = None,
    closed_days: bool = True,
) -> None:
    """Refuse (in French) a money movement of the régie dated ``day``: after ``latest`` (default
    today; a later day for what is dated ahead, a direct debit), before ``earliest_money_day``
    (the 1st of January of the previous year), or (``closed_days``) on or before a closed day of
    the régie's cash journal. Nothing is written either way."""
    label, what, none = _ACT_WORDS[act]
    today = clock.today()
    latest = today if latest is None else latest
    if day > latest:
        bound = "d'aujourd'hui, le" if latest == today else "du"
        raise RegieError(
            f"{label} {formatting.short_date(day)} dans le futur : {what} se date au plus tard "
            f"{bound} {formatting.short_date(latest)}."
        )
    earliest = earliest_money_day(today)
    if day < earliest:
        raise RegieError(
            f"{label} {formatting.short_date(day)} trop ancienne : {what} se date au plus tôt "
            f"du {formatting.short_date(earliest)} (1er janvier de l'année précédente)."
        )
    if not closed_days:
        return
    closed = closed_on_or_after(db, regie_id=regie_id, day=day)
    if closed is not None:
        first, last = closed
        reopen = last + timedelta(days=1)
        after = (
            f"le {formatting.short_date(reopen)} au plus tôt"
            if reopen <= latest
            else f"toutes les journées jusqu'au {formatting.short_date(last)} sont clôturées"
        )
        which = "de ce jour" if day == first else f"du {formatting.short_date(day)}"
        raise RegieError(f"{_closed_text(db, regie_id=regie_id, closed=first)} : {none} {which} ({after}).")


# ---------------------------------------------------------------------- CESU


def _parse_days(dates: str, start: date) -> list[date]:
    """The days of an invoice line ('3, 4, 7' of its month); [] when they cannot be read."""
    days = []
    for part in dates.split(","):
        part = part.strip()
        if not part.isdigit():
            return []
        try:
            days.append(start.replace(day=int(part)))
        except ValueError:
            return []
    return days


def _cesu_eligible(db: Session, invoices: Sequence[Invoice]) -> dict[int, int]:
    """Invoice id -> the part CESU may still pay: non-meal childcare lines of children
    under 6 on the days served, less what credit notes gave back of them and what CESU paid."""
    ids = [id_of(i) for i in invoices]
    starts = {id_of(i): i.period_start for i in invoices}
    rows = db.exec(
        select_columns(
            col(InvoiceLine.invoice_id),
            id_col(InvoiceLine.id),
            col(InvoiceLine.amount_cents),
            col(InvoiceLine.dates),
            col(Unit.name),
            col(Activity.kind),
            col(Child.birth_date),
        )
        .join(Unit, col(Unit.id) == InvoiceLine.unit_id)
        .join(Activity, col(Activity.id) == Unit.activity_id)
        .join(Child, col(Child.id) == InvoiceLine.child_id)
        .where(col(InvoiceLine.invoice_id).in_(ids))
    ).all()
    given_back = dict(
        db.exec(
            select(CreditNoteLine.invoice_line_id, func.sum(CreditNoteLine.amount_cents))
            .join(InvoiceLine, col(InvoiceLine.id) == CreditNoteLine.invoice_line_id)
            .where(col(InvoiceLine.invoice_id).in_(ids))
            .group_by(col(CreditNoteLine.invoice_line_id))
        ).all()
    )
    eligible: dict[int, int] = defaultdict(int)
    for invoice_id, line_id, amount, dates, unit_name, kind, birth in rows:
        if kind == ActivityKind.CANTEEN or unit_name.strip().lower().startswith("repas"):
            continue
        days = _parse_days(dates, starts[invoice_id]) or [starts[invoice_id]]
        young = sum(1 for day in days if formatting.age_on(birth, day) < CESU_AGE_LIMIT)
        part = amount if young == len(days) else (amount * young * 2 + len(days)) // (2 * len(days))
        eligible[invoice_id] += max(0, part - int(given_back.get(line_id, 0)))
    paid_by_cesu = dict(
        db.exec(
            select(Allocation.invoice_id, func.sum(Allocation.amount_cents))
            .join(Payment, col(Payment.id) == Allocation.payment_id)
            .where(col(Allocation.invoice_id).in_(ids), Payment.mode == PaymentMode.CESU)
            .group_by(col(Allocation.invoice_id))
        ).all()
    )
    return {i: max(0, eligible.get(i, 0) - int(paid_by_cesu.get(i, 0))) for i in ids}


# --------------------------------------------------------------------- writing


def _check_mode(mode: PaymentMode, amount_cents: int, reference: str, bank: str, numbers: Sequence[str]) -> None:
    if amount_cents <= 0:
        raise RegieError(f"Montant invalide : {formatting.money(amount_cents)} (il doit être supérieur à zéro).")
    if len(reference) > REFERENCE_MAX:
        raise RegieError(f"Référence trop longue ({len(reference)} caractères, {REFERENCE_MAX} au plus).")
    if len(bank) > BANK_MAX:
        raise RegieError(f"Nom de banque trop long ({len(bank)} caractères, {BANK_MAX} au plus).")
    if mode == PaymentMode.CASH and amount_cents > CASH_LIMIT_CENTS:
        raise RegieError(
            f"Un règlement en espèces est limité à {formatting.money(CASH_LIMIT_CENTS)} "
            f"({formatting.money(amount_cents)} demandés) : proposez un autre mode."
        )
    if mode == PaymentMode.CHEQUE and (not reference or not bank):
        raise RegieError("Un chèque s'enregistre avec son numéro et sa banque.")
    if mode == PaymentMode.PAYFIP:
        if len(numbers) != 1:
            raise RegieError("Un paiement PayFiP règle une seule facture, en entier : indiquez-la.")
        if not reference:
            raise RegieError("Paiement en ligne sans référence de transaction PayFiP.")
    if mode == PaymentMode.DIRECT_DEBIT and len(numbers) != 1:
        raise RegieError("Un prélèvement SEPA règle une seule facture : indiquez-la.")


def _payer_name(db: Session, family: Family) -> str:
    payer = db.exec(
        select(Guardian.first_name, Guardian.last_name)
        .where(Guardian.family_id == family.id)
        .order_by(col(Guardian.is_payer).desc(), col(Guardian.id))
    ).first()
    return f"{payer[0]} {payer[1]}" if payer else family.name


def _target_invoices(db: Session, *, family_id: int, regie_id: int, numbers: Sequence[str]) -> list[Invoice]:
    """The invoices to pay, locked (two desks paying them queue here), in allocation order."""
    if numbers:
        if len(set(numbers)) != len(numbers):
            raise RegieError("La même facture est indiquée deux fois.")
        found = {
            i.number: i for i in db.exec(select(Invoice).where(col(Invoice.number).in_(numbers)).with_for_update())
        }
        chosen = []
        for number in numbers:
            invoice = found.get(number)
            if invoice is None:
                raise NotFound(f"Facture {number} introuvable.")
            if invoice.family_id != family_id:
                raise RegieError(f"La facture {number} n'est pas une facture de cette famille.")
            if invoice.regie_id != regie_id:
                raise RegieError(f"La facture {number} n'est pas de cette régie.")
            if invoice.status != InvoiceStatus.ISSUED:
                raise RegieError(f"La facture {number} est annulée : elle ne peut pas être payée.")
            chosen.append(invoice)
        return chosen
    return list(
        db.exec(
            select(Invoice)
            .where(
                Invoice.family_id == family_id,
                Invoice.regie_id == regie_id,
                Invoice.status == InvoiceStatus.ISSUED,
            )
            .order_by(col(Invoice.issue_date), col(Invoice.number))
            .with_for_update()
        )
    )


def _record(
    db: Session,
    *,
    family_id: int,
    regie_id: int,
    mode: PaymentMode,
    amount_cents: int,
    received_on: date,
    agent_id: int | None,
    reference: str,
    bank: str,
    payer_name: str,
    invoice_numbers: Sequence[str],
    source: Source,
) -> tuple[PaymentRecorded, Payment]:
    reference, bank, payer_name = reference.strip(), bank.strip(), " ".join(payer_name.split())
    for text, label in ((reference, "Référence"), (bank, "Banque"), (payer_name, "Payeur")):
        check_characters(text, label)
    check_length(payer_name, "Payeur", max_length=PAYER_MAX)
    numbers = [n.strip() for n in invoice_numbers if n.strip()]
    _check_mode(mode, amount_cents, reference, bank, numbers)
    family = db.get(Family, family_id)
    if family is None:
        raise NotFound(f"Famille n° {family_id} introuvable.")
    regie = db.get(Regie, regie_id)
    if regie is None:
        raise NotFound(f"Régie n° {regie_id} introuvable.")
    # Money is received today or before; only a direct debit is recorded ahead, on its collection date.
    check_money_date(
        db,
        regie_id=regie_id,
        day=received_on,
        act="payment",
        latest=max(received_on, clock.today()) if mode == PaymentMode.DIRECT_DEBIT else None,
        closed_days=mode not in _OPERATOR_DATED,
    )
    if mode == PaymentMode.PAYFIP:
        known = db.exec(
            select(Payment.receipt_number).where(Payment.mode == PaymentMode.PAYFIP, Payment.reference == reference)
        ).first()
        if known is not None:
            raise RegieError(f"Le paiement en ligne {reference} est déjà enregistré (reçu {known}).")
    invoices = _target_invoices(db, family_id=family_id, regie_id=regie_id, numbers=numbers)
    balances = invoice_balances(db, [id_of(i) for i in invoices])
    if numbers:
        for invoice in invoices:
            if balances.get(id_of(invoice), 0) <= 0:
                raise RegieError(f"La facture {invoice.number} est déjà réglée.")
    else:
        invoices = [i for i in invoices if balances.get(id_of(i), 0) > 0]
    caps = {id_of(i): balances[id_of(i)] for i in invoices}
    if mode == PaymentMode.PAYFIP:
        invoice = invoices[0]
        due_now = caps[id_of(invoice)]
        if amount_cents > due_now:
            raise RegieError(
                f"Le paiement en ligne de {formatting.money(amount_cents)} dépasse le solde dû de la facture "
                f"{invoice.number} à ce jour ({formatting.money(due_now)}) : il ne peut pas lui être affecté."
            )
        if amount_cents < due_now:
            raise RegieError(
                f"Le paiement en ligne de {formatting.money(amount_cents)} ne correspond pas au solde de la facture "
                f"{invoice.number} ({formatting.money(due_now)}) : le paiement partiel n'est pas admis."
            )
    if mode == PaymentMode.CESU:
        eligible = _cesu_eligible(db, invoices)
        caps = {i: min(cap, eligible.get(i, 0)) for i, cap in caps.items()}
        payable = sum(caps.values())
        if amount_cents > payable:
            raise RegieError(
                "Le CESU ne règle que l'accueil (hors repas) des enfants de moins de 6 ans : "
                f"{formatting.money(payable)} au plus sur "
                + ("ces factures" if numbers else "les factures ouvertes")
                + f", {formatting.money(amount_cents)} demandés."
            )

    credits = [] if mode in _NO_CREDIT_MODES else _credits(db, family_id=family_id, regie_id=regie_id, lock=True)
    credit_rows = (
        db.exec(
            select(id_col(Payment.id), Payment.receipt_number, Payment.mode).where(
                col(Payment.id).in_([c[0] for c in credits])
            )
        ).all()
        if credits
        else []
    )
    receipts = {pid: number for pid, number, _ in credit_rows}
    cash_credits = {pid for pid, _, credit_mode in credit_rows if credit_mode == PaymentMode.CASH}
    rooms = _cash_rooms(db, [id_of(i) for i in invoices]) if mode == PaymentMode.CASH or cash_credits else {}

    # The allocations, decided before anything is written: (payment id, None for this one; invoice; cents).
    plan: list[tuple[int | None, Invoice, int]] = []
    new_money = amount_cents
    for invoice in invoices:
        invoice_id = id_of(invoice)
        due = caps[invoice_id]
        for index, (credit_id, left) in enumerate(credits):
            if due == 0:
                break
            part = min(due, left)
            if credit_id in cash_credits:  # earlier cash: only within what the invoice may still take in cash
                part = min(part, rooms[invoice_id])
                rooms[invoice_id] -= part
            if part > 0:
                plan.append((credit_id, invoice, part))
                due -= part
                credits[index] = (credit_id, left - part)
        if due > 0 and new_money > 0:
            part = min(due, new_money)
            if mode == PaymentMode.CASH:
                _check_cash_room(invoice.number, part, rooms[invoice_id])
                rooms[invoice_id] -= part
            plan.append((None, invoice, part))
            new_money -= part

    receipt = take_number(db, kind=NumberKind.RECEIPT, regie_prefix=regie.invoice_prefix, month=received_on)
    payment = Payment(
        receipt_number=receipt,
        family_id=family_id,
        regie_id=regie_id,
        mode=mode,
        amount_cents=amount_cents,
        received_on=received_on,
        reference=reference,
        bank=bank,
        payer_name=(payer_name or _payer_name(db, family))[:PAYER_MAX],
        created_by_id=agent_id,
    )
    db.add(payment)
    db.flush()
    allocated: list[Allocated] = []
    used: list[dict[str, object]] = []
    for earlier, invoice, part in plan:
        invoice_id = id_of(invoice)
        _add_allocation(
            db, payment_id=id_of(payment) if earlier is None else earlier, invoice_id=invoice_id, cents=part
        )
        balances[invoice_id] -= part
        allocated.append(Allocated(invoice.number, part, balances[invoice_id], from_credit=earlier is not None))
        if earlier is not None:
            used.append({"receipt": receipts[earlier], "invoice": invoice.number, "amount_cents": part})
    db.flush()
    credit_left = new_money + sum(left for _, left in credits)
    recorded = PaymentRecorded(
        payment_id=id_of(payment),
        receipt_number=receipt,
        family_id=family_id,
        regie_id=regie_id,
        mode=mode,
        amount_cents=amount_cents,
        received_on=received_on,
        allocations=tuple(allocated),
        credit_used_cents=sum(a.amount_cents for a in allocated if a.from_credit),
        credit_left_cents=credit_left,
    )
    if source == Source.AGENT:
        audit.record(
            db,
            action="payment",
            entity="payment",
            entity_id=payment.id,
            agent_id=agent_id,
            family_id=family_id,
            after={
                "receipt": receipt,
                "mode": mode.value,
                "amount_cents": amount_cents,
                "received_on": received_on.isoformat(),
                "reference": reference,
                "bank": bank,
                "allocations": [
                    {"invoice": a.invoice_number, "amount_cents": a.amount_cents}
                    for a in allocated
                    if not a.from_credit
                ],
                "credit_used": used,
                "credit_left_cents": credit_left,
            },
        )
    return recorded, payment


def _cash_rooms(db: Session, invoice_ids: Sequence[int]) -> dict[int, int]:
    """Invoice id -> what it may still take in cash: the limit less its live cash allocations."""
    if not invoice_ids:
        return {}
    paid = dict(
        db.exec(
            select(Allocation.invoice_id, func.sum(Allocation.amount_cents))
            .join(Payment, col(Payment.id) == Allocation.payment_id)
            .where(
                col(Allocation.invoice_id).in_(invoice_ids),
                Payment.mode == PaymentMode.CASH,
                col(Payment.cancelled_on).is_(None),
            )
            .group_by(col(Allocation.invoice_id))
        ).all()
    )
    return {i: max(0, CASH_LIMIT_CENTS - int(paid.get(i, 0))) for i in invoice_ids}


def _check_cash_room(number: str, cents: int, room: int) -> None:
    """Refuse putting ``cents`` of cash on the invoice ``number`` that may take only ``room`` more."""
    if cents <= room:
        return
    limit = formatting.money(CASH_LIMIT_CENTS)
    already = formatting.money(CASH_LIMIT_CENTS - room)
    left = (
        f"{formatting.money(room)} au plus peuvent encore y être réglés en espèces"
        if room
        else "plus rien ne peut y être réglé en espèces"
    )
    raise RegieError(
        f"Espèces limitées à {limit} par facture : la facture {number} en a déjà reçu {already}, {left} "
        f"({formatting.money(cents)} demandés). Proposez un autre mode pour le reste."
    )


def _add_allocation(db: Session, *, payment_id: int, invoice_id: int, cents: int) -> None:
    existing = db.exec(
        select(Allocation).where(Allocation.payment_id == payment_id, Allocation.invoice_id == invoice_id)
    ).first()
    if existing is None:
        db.add(Allocation(payment_id=payment_id, invoice_id=invoice_id, amount_cents=cents))
    else:
        existing.amount_cents += cents
        db.add(existing)


def record_payment(
    db: Session,
    *,
    family_id: int,
    regie_id: int,
    mode: PaymentMode,
    amount_cents: int,
    received_on: date,
    agent_id: int | None,
    reference: str = "",
    bank: str = "",
    payer_name: str = "",
    invoice_numbers: Sequence[str] = (),
) -> PaymentRecorded:
    """Record a payment in the caller's transaction and allocate it (see the module's rules)."""
    recorded, _ = _record(
        db,
        family_id=family_id,
        regie_id=regie_id,
        mode=mode,
        amount_cents=amount_cents,
        received_on=received_on,
        agent_id=agent_id,
        reference=reference,
        bank=bank,
        payer_name=payer_name,
        invoice_numbers=invoice_numbers,
        source=Source.AGENT,
    )
    return recorded


def record_online_payment(
    db: Session,
    *,
    family_id: int,
    invoice_number: str,
    amount_cents: int,
    paid_at: datetime,
    reference: str,
    agent_id: int | None,
) -> PaymentRecorded:
    """Record a PayFiP payment of one invoice, in full, in the caller's transaction."""
    number = invoice_number.strip()
    reference = reference.strip()
    if not reference:
        raise RegieError("Paiement en ligne sans référence de transaction PayFiP.")
    if paid_at.utcoffset() is None:
        raise RegieError("Date du paiement en ligne sans fuseau horaire.")
    if amount_cents <= 0:
        raise RegieError(f"Montant du paiement en ligne invalide : {formatting.money(amount_cents)}.")
    invoice = db.exec(select(Invoice).where(Invoice.number == number)).first()
    if invoice is None:
        raise NotFound(f"Facture {number} introuvable.")
    recorded, payment = _record(
        db,
        family_id=family_id,
        regie_id=invoice.regie_id,
        mode=PaymentMode.PAYFIP,
        amount_cents=amount_cents,
        received_on=paid_at.astimezone(PARIS).date(),
        agent_id=agent_id,
        reference=reference,
        bank="",
        payer_name=invoice.debtor_name,
        invoice_numbers=[number],
        source=Source.PORTAL,
    )
    audit.record(
        db,
        action="online_payment",
        entity="payment",
        entity_id=payment.id,
        source=Source.AGENT if agent_id is not None else Source.PORTAL,
        agent_id=agent_id,
        family_id=family_id,
        after={
            "invoice": number,
            "amount_cents": amount_cents,
            "reference": reference,
            "receipt": recorded.receipt_number,
        },
    )
    db.flush()
    return recorded


def _payment_to_undo(db: Session, receipt_number: str, reason: str) -> tuple[Payment, str]:
    reason = " ".join(reason.split())
    if not reason:
        raise RegieError("Motif obligatoire.")
    if len(reason) > REASON_MAX:
        raise RegieError(f"Motif trop long : {REASON_MAX} caractères au plus.")
    check_characters(reason, "Motif")
    payment = db.exec(select(Payment).where(Payment.receipt_number == receipt_number.strip()).with_for_update()).first()
    if payment is None:
        raise NotFound(f"Reçu {receipt_number.strip()} introuvable.")
    if payment.cancelled_on is not None:
        raise RegieError(f"Le règlement {payment.receipt_number} est déjà annulé.")
    if payment.rejected_on is not None:
        raise RegieError(f"Le règlement {payment.receipt_number} est déjà rejeté.")
    return payment, reason


def _undo_allocations(db: Session, payment: Payment) -> tuple[tuple[str, int], ...]:
    """Delete the payment's allocations (the invoices reopen); (invoice number, cents) of each."""
    rows = db.exec(
        select(Allocation, Invoice.number)
        .join(Invoice, col(Invoice.id) == Allocation.invoice_id)
        .where(Allocation.payment_id == payment.id)
        .order_by(col(Invoice.issue_date), col(Invoice.number))
    ).all()
    for allocation, _ in rows:
        db.delete(allocation)
    return tuple((number, allocation.amount_cents) for allocation, number in rows)


def cancel_payment(
    db: Session, *, receipt_number: str, reason: str, agent_id: int | None, cancelled_on: date | None = None
) -> PaymentUndone:
    """Cancel a payment entered by mistake, while its cash day is open; its invoices reopen.

    Refused when the payment's day is on or before a closed day of the régie's cash journal,
    and for a cancellation dated as ``check_money_date`` refuses (default: today)."""
    payment, reason = _payment_to_undo(db, receipt_number, reason)
    closed = closed_on_or_after(db, regie_id=payment.regie_id, day=payment.received_on)
    if closed is not None:
        raise RegieError(
            f"{_closed_text(db, regie_id=payment.regie_id, closed=closed[0])} : le règlement "
            f"{payment.receipt_number} du {formatting.short_date(payment.received_on)} ne peut plus être annulé "
            "(un chèque ou un prélèvement impayé se rejette)."
        )
    day = cancelled_on or clock.today()
    check_money_date(db, regie_id=payment.regie_id, day=day, act="cancel")
    payment.cancelled_on = day
    payment.cancel_reason = reason
    payment.cancelled_by_id = agent_id
    return _undone(db, payment, "payment_cancel", {"cancelled_on": payment.cancelled_on.isoformat()}, reason, agent_id)


def _undone(
    db: Session, payment: Payment, action: str, when: dict[str, str], reason: str, agent_id: int | None
) -> PaymentUndone:
    """A cancelled or rejected payment: its allocations deleted (its invoices reopen), audited with them."""
    reopened = _undo_allocations(db, payment)
    db.add(payment)
    audit.record(
        db,
        action=action,
        entity="payment",
        entity_id=payment.id,
        agent_id=agent_id,
        family_id=payment.family_id,
        before={"allocations": [{"invoice": n, "amount_cents": c} for n, c in reopened]},
        after={"receipt": payment.receipt_number, **when, "reason": reason},
    )
    db.flush()
    return PaymentUndone(receipt_number=payment.receipt_number, family_id=payment.family_id, reopened=reopened)


def reject_payment(
    db: Session, *, receipt_number: str, rejected_on: date, reason: str, agent_id: int | None
) -> PaymentUndone:
    """A cheque or a debit returned unpaid: the payment stays in its day's journal, its invoices reopen.

    The rejection is dated on or after the payment, by today (a debit recorded ahead: by its
    collection date), never on or before a closed day of the régie (``check_money_date``)."""
    payment, reason = _payment_to_undo(db, receipt_number, reason)
    if payment.mode not in REJECTABLE_MODES:
        raise RegieError(
            f"Un règlement « {MODE_LABELS[payment.mode]} » ne revient pas impayé : annulez-le s'il est erroné."
        )
    if rejected_on < payment.received_on:
        raise RegieError(
            f"Date de rejet {formatting.short_date(rejected_on)} antérieure à l'encaissement "
            f"({formatting.short_date(payment.received_on)})."
        )
    check_money_date(
        db,
        regie_id=payment.regie_id,
        day=rejected_on,
        act="reject",
        latest=max(clock.today(), payment.received_on),
    )
    payment.rejected_on = rejected_on
    payment.rejection_reason = reason
    return _undone(db, payment, "payment_reject", {"rejected_on": rejected_on.isoformat()}, reason, agent_id)


# ----------------------------------------------------------------- situation


def _state(payment_cancelled: date | None, rejected: date | None) -> str:
    return "annulé" if payment_cancelled else "rejeté" if rejected else ""


def family_situation(db: Session, *, family_id: int, on: date) -> FinancialSituation:
    """Invoices issued by ``on`` with what was paid (payments received by then) and
    credited (credit notes issued by then), the payments received by then, the balance due.

    Cancelled and rejected payments have no allocations left: they count nothing.
    """
    family = db.get(Family, family_id)
    if family is None:
        raise NotFound(f"Famille n° {family_id} introuvable.")
    rows = db.exec(
        select_columns(
            id_col(Invoice.id),
            col(Invoice.number),
            col(Regie.code),
            col(Invoice.period_start),
            col(Invoice.issue_date),
            col(Invoice.due_date),
            col(Invoice.total_cents),
            col(Invoice.status),
        )
        .join(Regie, col(Regie.id) == Invoice.regie_id)
        .where(Invoice.family_id == family_id, Invoice.issue_date <= on)
        .order_by(col(Invoice.issue_date).desc(), col(Invoice.number).desc())
    ).all()
    ids = [row[0] for row in rows]
    paid = dict(
        db.exec(
            select(Allocation.invoice_id, func.sum(Allocation.amount_cents))
            .join(Payment, col(Payment.id) == Allocation.payment_id)
            .where(col(Allocation.invoice_id).in_(ids), Payment.received_on <= on)
            .group_by(col(Allocation.invoice_id))
        ).all()
    )
    credited = dict(
        db.exec(
            select(CreditNote.invoice_id, func.sum(CreditNote.amount_cents))
            .where(col(CreditNote.invoice_id).in_(ids), CreditNote.issue_date <= on)
            .group_by(col(CreditNote.invoice_id))
        ).all()
    )
    invoices = []
    for iid, number, code, start, issued, due, total, status in rows:
        p, c = int(paid.get(iid, 0)), int(credited.get(iid, 0))
        balance = total - p - c if status == InvoiceStatus.ISSUED else 0
        invoices.append(
            SituationInvoice(number, code, start, issued, due, total, p, c, balance, balance > 0 and due < on)
        )
    payment_rows = db.exec(
        select_columns(
            col(Payment.receipt_number),
            col(Regie.code),
            col(Payment.received_on),
            col(Payment.mode),
            col(Payment.amount_cents),
            _allocated,
            col(Payment.reference),
            col(Payment.cancelled_on),
            col(Payment.rejected_on),
        )
        .join(Regie, col(Regie.id) == Payment.regie_id)
        .where(Payment.family_id == family_id, Payment.received_on <= on)
        .order_by(col(Payment.received_on).desc(), col(Payment.receipt_number).desc())
    ).all()
    payments = []
    credit = 0
    for receipt, code, received, mode, amount, alloc, reference, cancelled, rejected in payment_rows:
        state = _state(cancelled, rejected)
        if not state:
            credit += amount - int(alloc)
        payments.append(
            SituationPayment(
                receipt, code, received, MODE_LABELS[PaymentMode(mode)], amount, int(alloc), reference, state
            )
        )
    return FinancialSituation(
        family_id=family_id,
        family_name=family.name,
        on=on,
        invoices=tuple(invoices),
        payments=tuple(payments),
        due_cents=sum(i.balance_cents for i in invoices),
        unpaid_count=sum(1 for i in invoices if i.balance_cents > 0),
        credit_cents=credit,
    )


# ---------------------------------------------------------------- cash journal


def cash_journal(db: Session, *, day: date, regie_id: int | None = None) -> CashJournal:
    """The payments received on ``day`` per régie, with totals per mode and the running balance.

    A cancelled payment is listed and counts nothing; a rejected one was received that
    day and counts (its rejection is on its own date).
    """
    regie_statement = select(Regie).order_by(col(Regie.id))
    if regie_id is not None:
        regie_statement = regie_statement.where(Regie.id == regie_id)
    found = list(db.exec(regie_statement))
    if regie_id is not None and not found:
        raise NotFound(f"Régie n° {regie_id} introuvable.")
    agents = dict(db.exec(select(id_col(Agent.id), Agent.display_name)).all())
    rows = db.exec(
        select(Payment, Family.name)
        .join(Family, col(Family.id) == Payment.family_id)
        .where(Payment.received_on == day, col(Payment.regie_id).in_([id_of(r) for r in found]))
        .order_by(col(Payment.created_at), col(Payment.receipt_number))
    ).all()
    closed_days = {
        c.regie_id: c
        for c in db.exec(
            select(CashDay).where(CashDay.day == day, col(CashDay.regie_id).in_([id_of(r) for r in found]))
        )
    }
    by_regie: dict[int, list[tuple[Payment, str]]] = defaultdict(list)
    for payment, family_name in rows:
        by_regie[payment.regie_id].append((payment, family_name))
    journal = []
    for regie in found:
        lines = []
        running = 0
        per_mode: dict[PaymentMode, tuple[int, int]] = {}
        for payment, family_name in by_regie[id_of(regie)]:
            state = _state(payment.cancelled_on, payment.rejected_on)
            if state != "annulé":
                running += payment.amount_cents
                count, cents = per_mode.get(payment.mode, (0, 0))
                per_mode[payment.mode] = (count + 1, cents + payment.amount_cents)
            lines.append(
                JournalLine(
                    receipt_number=payment.receipt_number,
                    family_id=payment.family_id,
                    family_name=family_name,
                    payer_name=payment.payer_name,
                    mode=payment.mode,
                    mode_label=MODE_LABELS[payment.mode],
                    amount_cents=payment.amount_cents,
                    reference=payment.reference,
                    bank=payment.bank,
                    state=state,
                    state_reason=(payment.cancel_reason or payment.rejection_reason or "") if state else "",
                    agent=agents.get(payment.created_by_id, "portail") if payment.created_by_id else "portail",
                    running_cents=running,
                )
            )
        totals = tuple(
            ModeTotal(mode=m, label=MODE_LABELS[m], count=per_mode[m][0], total_cents=per_mode[m][1])
            for m in PaymentMode
            if m in per_mode
        )
        closed = closed_days.get(id_of(regie))
        journal.append(
            JournalRegie(
                regie_id=id_of(regie),
                code=regie.code,
                name=regie.name,
                lines=tuple(lines),
                totals=totals,
                count=sum(t.count for t in totals),
                total_cents=running,
                closed=closed is not None,
                closed_by=agents.get(closed.closed_by_id, "") if closed and closed.closed_by_id else "",
                closed_at=closed.closed_at if closed else None,
            )
        )
    return CashJournal(day=day, regies=tuple(journal))


def close_cash_day(db: Session, *, regie_id: int, day: date, agent_id: int) -> CashDayClosed:
    """Close a day of a régie's cash journal (régisseur or administrator): its payments are locked."""
    require_agent(db, agent_id, Permission.CLOSE_CASH_DAY)
    if day > clock.today():
        raise RegieError(
            f"Le {formatting.short_date(day)} n'est pas encore passé : la journée ne se clôt pas d'avance."
        )
    journal = cash_journal(db, day=day, regie_id=regie_id).regies[0]
    if journal.closed:
        raise RegieError(
            f"La journée de caisse du {formatting.short_date(day)} ({journal.code}) est déjà close"
            + (f" par {journal.closed_by}." if journal.closed_by else ".")
        )
    db.add(
        CashDay(
            regie_id=regie_id,
            day=day,
            payment_count=journal.count,
            total_cents=journal.total_cents,
            closed_by_id=agent_id,
        )
    )
    audit.record(
        db,
        action="cash_day_close",
        entity="cash_day",
        entity_id=None,
        agent_id=agent_id,
        after={
            "regie": journal.code,
            "day": day.isoformat(),
            "payment_count": journal.count,
            "total_cents": journal.total_cents,
            "totals": {t.mode.value: t.total_cents for t in journal.totals},
        },
    )
    db.flush()
    return CashDayClosed(
        regie_id=regie_id,
        regie_code=journal.code,
        day=day,
        payment_count=journal.count,
        total_cents=journal.total_cents,
    )


# --------------------------------------------------------------------- receipt


def receipt(db: Session, *, receipt_number: str) -> Receipt:
    """What the receipt of a payment prints."""
    payment = db.exec(select(Payment).where(Payment.receipt_number == receipt_number.strip())).first()
    if payment is None:
        raise NotFound(f"Reçu {receipt_number.strip()} introuvable.")
    family = db.get(Family, payment.family_id)
    regie = db.get(Regie, payment.regie_id)
    town = db.get(Town, 1)
    assert family is not None and regie is not None  # foreign keys
    allocations = tuple(
        ReceiptAllocation(number, start, end, cents)
        for number, start, end, cents in db.exec(
            select_columns(
                col(Invoice.number), col(Invoice.period_start), col(Invoice.period_end), col(Allocation.amount_cents)
            )
            .join(Invoice, col(Invoice.id) == Allocation.invoice_id)
            .where(Allocation.payment_id == payment.id)
            .order_by(col(Invoice.issue_date), col(Invoice.number))
        ).all()
    )
    agent = db.get(Agent, payment.created_by_id) if payment.created_by_id else None
    state = _state(payment.cancelled_on, payment.rejected_on)
    address = "\n".join(
        part for part in (family.address, family.address_extra, f"{family.postal_code} {family.city}".strip()) if part
    )
    return Receipt(
        number=payment.receipt_number,
        town_name=town.name if town else "",
        service_name=town.service_name if town else "",
        town_address=f"{town.address}, {town.postal_code} {town.city}" if town else "",
        town_phone=town.phone if town else "",
        town_email=town.email if town else "",
        regie_name=regie.name,
        received_on=payment.received_on,
        family_id=payment.family_id,
        family_name=family.name,
        family_address=address,
        payer_name=payment.payer_name,
        mode_label=MODE_LABELS[payment.mode],
        reference=payment.reference,
        bank=payment.bank,
        amount_cents=payment.amount_cents,
        allocations=allocations,
        unallocated_cents=0 if state else payment.amount_cents - sum(a.amount_cents for a in allocations),
        agent=agent.display_name if agent else "Paiement en ligne",
        state=state,
        state_reason=(payment.cancel_reason or payment.rejection_reason or "") if state else "",
        state_on=payment.cancelled_on or payment.rejected_on,
    )
