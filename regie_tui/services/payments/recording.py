"""Recording a payment: the one place where a ``payment`` is written, numbered by its receipt.

A payment is allocated to the invoices chosen (in the order given) or else to the family's
oldest unpaid invoices of the régie; what is left stays as the family's credit, which the
next payment of that régie allocates first (see ``payments.allocation``). PayFiP, prélèvement
and CESU money goes to its invoice(s) only: those modes do not spend earlier credit first.

- CESU: the whole amount must fit the eligible parts (``payments.cesu``; no CESU credit, which
  would later pay meals); it never uses the family's earlier credit;
- PayFiP: one invoice, with its transaction reference (unique); the payment never exceeds the
  invoice's balance due at the moment it is recorded (it must equal it: no partial payment).

A desk payment is dated as ``payments.money_dates`` allows; a day of a régie's cash journal,
once closed by the régisseur, takes no new payment (PayFiP and direct debits excepted).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlmodel import Session, col, select

from regie_tui import clock, formatting
from regie_tui.clock import PARIS
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import Family, Guardian, Invoice, InvoiceStatus, Payment, PaymentMode, Regie, Source
from regie_tui.services.billing.accounts import invoice_balances
from regie_tui.services.billing.numbering import NumberKind, take_number
from regie_tui.services.common.sql import id_of
from regie_tui.services.common.validation import check_characters, check_length
from regie_tui.services.payments.allocation import Allocated, AllocationPlan, plan_allocations, write_allocations
from regie_tui.services.payments.cesu import cesu_eligible
from regie_tui.services.payments.modes import OPERATOR_DATED, PAYER_MAX, check_mode
from regie_tui.services.payments.money_dates import check_money_date
from regie_tui.services.trust import audit


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
class _Request:
    """A payment as asked: by an agent at the desk, the SEPA run, or the portal (PayFiP)."""

    family_id: int
    regie_id: int
    mode: PaymentMode
    amount_cents: int
    received_on: date
    agent_id: int | None
    reference: str
    bank: str
    payer_name: str
    numbers: Sequence[str]
    source: Source


def _cleaned(request: _Request) -> _Request:
    """The request with its texts trimmed and checked, and the mode's rules applied."""
    reference, bank = request.reference.strip(), request.bank.strip()
    payer_name = " ".join(request.payer_name.split())
    for text, label in ((reference, "Référence"), (bank, "Banque"), (payer_name, "Payeur")):
        check_characters(text, label)
    check_length(payer_name, "Payeur", max_length=PAYER_MAX)
    numbers = [n.strip() for n in request.numbers if n.strip()]
    check_mode(request.mode, request.amount_cents, reference, bank, numbers)
    return replace(request, reference=reference, bank=bank, payer_name=payer_name, numbers=numbers)


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


def _check_dates_and_reference(db: Session, request: _Request) -> None:
    """The day the money is received, and a PayFiP transaction not recorded before."""
    # Money is received today or before; only a direct debit is recorded ahead, on its collection date.
    direct_debit = request.mode == PaymentMode.DIRECT_DEBIT
    check_money_date(
        db,
        regie_id=request.regie_id,
        day=request.received_on,
        act="payment",
        latest=max(request.received_on, clock.today()) if direct_debit else None,
        closed_days=request.mode not in OPERATOR_DATED,
    )
    if request.mode == PaymentMode.PAYFIP:
        known = db.exec(
            select(Payment.receipt_number).where(
                Payment.mode == PaymentMode.PAYFIP, Payment.reference == request.reference
            )
        ).first()
        if known is not None:
            raise RegieError(f"Le paiement en ligne {request.reference} est déjà enregistré (reçu {known}).")


def _check_payfip_amount(amount_cents: int, invoice: Invoice, due_now: int) -> None:
    """An online payment pays its invoice's balance, no more and no less."""
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


def _cesu_caps(db: Session, request: _Request, invoices: Sequence[Invoice], caps: dict[int, int]) -> dict[int, int]:
    """The caps cut to what CESU may pay of each invoice; refused when the amount does not fit."""
    eligible = cesu_eligible(db, invoices)
    caps = {i: min(cap, eligible.get(i, 0)) for i, cap in caps.items()}
    payable = sum(caps.values())
    if request.amount_cents > payable:
        raise RegieError(
            "Le CESU ne règle que l'accueil (hors repas) des enfants de moins de 6 ans : "
            f"{formatting.money(payable)} au plus sur "
            + ("ces factures" if request.numbers else "les factures ouvertes")
            + f", {formatting.money(request.amount_cents)} demandés."
        )
    return caps


def _payable(db: Session, request: _Request) -> tuple[list[Invoice], dict[int, int], dict[int, int]]:
    """The invoices the payment goes to (locked), their balances, and what it may put on each."""
    invoices = _target_invoices(db, family_id=request.family_id, regie_id=request.regie_id, numbers=request.numbers)
    balances = invoice_balances(db, [id_of(i) for i in invoices])
    if request.numbers:
        for invoice in invoices:
            if balances.get(id_of(invoice), 0) <= 0:
                raise RegieError(f"La facture {invoice.number} est déjà réglée.")
    else:
        invoices = [i for i in invoices if balances.get(id_of(i), 0) > 0]
    caps = {id_of(i): balances[id_of(i)] for i in invoices}
    if request.mode == PaymentMode.PAYFIP:
        _check_payfip_amount(request.amount_cents, invoices[0], caps[id_of(invoices[0])])
    if request.mode == PaymentMode.CESU:
        caps = _cesu_caps(db, request, invoices, caps)
    return invoices, balances, caps


def _audit_payment(db: Session, request: _Request, recorded: PaymentRecorded, used: list[dict[str, object]]) -> None:
    audit.record(
        db,
        action="payment",
        entity="payment",
        entity_id=recorded.payment_id,
        agent_id=request.agent_id,
        family_id=request.family_id,
        after={
            "receipt": recorded.receipt_number,
            "mode": request.mode.value,
            "amount_cents": request.amount_cents,
            "received_on": request.received_on.isoformat(),
            "reference": request.reference,
            "bank": request.bank,
            "allocations": [
                {"invoice": a.invoice_number, "amount_cents": a.amount_cents}
                for a in recorded.allocations
                if not a.from_credit
            ],
            "credit_used": used,
            "credit_left_cents": recorded.credit_left_cents,
        },
    )


def _write(
    db: Session, request: _Request, family: Family, regie: Regie, plan: AllocationPlan, balances: dict[int, int]
) -> tuple[PaymentRecorded, Payment]:
    """The payment under a new receipt number, then its allocations as planned (audited when an agent's)."""
    receipt = take_number(db, kind=NumberKind.RECEIPT, regie_prefix=regie.invoice_prefix, month=request.received_on)
    payment = Payment(
        receipt_number=receipt,
        family_id=request.family_id,
        regie_id=request.regie_id,
        mode=request.mode,
        amount_cents=request.amount_cents,
        received_on=request.received_on,
        reference=request.reference,
        bank=request.bank,
        payer_name=(request.payer_name or _payer_name(db, family))[:PAYER_MAX],
        created_by_id=request.agent_id,
    )
    db.add(payment)
    db.flush()
    allocated, used = write_allocations(db, plan, payment_id=id_of(payment), balances=balances)
    db.flush()
    recorded = PaymentRecorded(
        payment_id=id_of(payment),
        receipt_number=receipt,
        family_id=request.family_id,
        regie_id=request.regie_id,
        mode=request.mode,
        amount_cents=request.amount_cents,
        received_on=request.received_on,
        allocations=tuple(allocated),
        credit_used_cents=sum(a.amount_cents for a in allocated if a.from_credit),
        credit_left_cents=plan.credit_left_cents,
    )
    if request.source == Source.AGENT:
        _audit_payment(db, request, recorded, used)
    return recorded, payment


def _record(db: Session, asked: _Request) -> tuple[PaymentRecorded, Payment]:
    """Check, plan and write a payment; nothing is written when it is refused."""
    request = _cleaned(asked)
    family = db.get(Family, request.family_id)
    if family is None:
        raise NotFound(f"Famille n° {request.family_id} introuvable.")
    regie = db.get(Regie, request.regie_id)
    if regie is None:
        raise NotFound(f"Régie n° {request.regie_id} introuvable.")
    _check_dates_and_reference(db, request)
    invoices, balances, caps = _payable(db, request)
    plan = plan_allocations(
        db,
        family_id=request.family_id,
        regie_id=request.regie_id,
        mode=request.mode,
        amount_cents=request.amount_cents,
        invoices=invoices,
        caps=caps,
    )
    return _write(db, request, family, regie, plan, balances)


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
    request = _Request(
        family_id=family_id,
        regie_id=regie_id,
        mode=mode,
        amount_cents=amount_cents,
        received_on=received_on,
        agent_id=agent_id,
        reference=reference,
        bank=bank,
        payer_name=payer_name,
        numbers=invoice_numbers,
        source=Source.AGENT,
    )
    recorded, _ = _record(db, request)
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
    request = _Request(
        family_id=family_id,
        regie_id=invoice.regie_id,
        mode=PaymentMode.PAYFIP,
        amount_cents=amount_cents,
        received_on=paid_at.astimezone(PARIS).date(),
        agent_id=agent_id,
        reference=reference,
        bank="",
        payer_name=invoice.debtor_name,
        numbers=[number],
        source=Source.PORTAL,
    )
    recorded, payment = _record(db, request)
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
