"""SEPA direct debit: mandates (RUM), the sequence type of their next debit, and when they lapse;
the monthly pain.008 export of open invoices, and the debits the banks return unpaid."""

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from regie_tui import clock, formatting
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import (
    DebitBatch,
    DirectDebit,
    Family,
    Guardian,
    Invoice,
    InvoiceStatus,
    Mandate,
    MandateSequence,
    Payment,
    PaymentMode,
    Regie,
    Town,
)
from regie_tui.services.common.regies import regie_by_code
from regie_tui.services.common.sql import id_of
from regie_tui.services.common.validation import InvalidValue, check_bic, check_characters, check_iban, check_required
from regie_tui.services.payments.ledger import check_money_date, invoice_balance, record_payment, reject_payment
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import require_agent

RUM_MAX_LENGTH = 35
PRE_NOTIFICATION_DAYS = 14  # the debit's amount and date reach the debtor at least this long before
LAPSE_MONTHS = 36  # a mandate unused for this long is no longer valid
#: Order of the payment blocks (one per sequence type) in a direct-debit file.
SEQUENCE_ORDER = ("FRST", "RCUR", "OOFF", "FNAL")


def new_rum(regie_prefix: str, family_id: int, serial: int = 1) -> str:
    """The mandate reference the régie gives a family's n-th mandate: 'POP-0000042-1'."""
    rum = f"{regie_prefix.upper()}-{family_id:07d}-{serial}"
    if len(rum) > RUM_MAX_LENGTH:
        raise ValueError(f"RUM longer than {RUM_MAX_LENGTH} characters: {rum}")
    return rum


def next_sequence(*, recurrent: bool, last_used_on: date | None) -> MandateSequence:
    """FRST for the first debit of a recurrent mandate, RCUR after it, OOFF for a one-off one."""
    if not recurrent:
        return MandateSequence.ONE_OFF
    return MandateSequence.RECURRENT if last_used_on is not None else MandateSequence.FIRST


def lapses_on(mandate: Mandate) -> date:
    """The day a mandate lapses if it is not used before: 36 months after its last use (or signature)."""
    start = mandate.last_used_on or mandate.signed_on
    month = start.month - 1 + LAPSE_MONTHS
    year, month = start.year + month // 12, month % 12 + 1
    day = min(start.day, 28 if month == 2 else 30 if month in (4, 6, 9, 11) else 31)
    return date(year, month, day)


def is_active(mandate: Mandate, on: date) -> bool:
    """Signed, not revoked and not lapsed on ``on``."""
    return (
        mandate.signed_on <= on and (mandate.revoked_on is None or mandate.revoked_on > on) and on < lapses_on(mandate)
    )


def active_mandate(db: Session, *, family_id: int, regie_id: int, on: date) -> Mandate | None:
    """The family's mandate for the régie that can be debited on ``on`` (the latest signed), if any."""
    mandates = db.exec(
        select(Mandate)
        .where(Mandate.family_id == family_id, Mandate.regie_id == regie_id)
        .order_by(col(Mandate.signed_on).desc(), col(Mandate.id).desc())
    ).all()
    return next((m for m in mandates if is_active(m, on)), None)


def planned_debit_date(due_date: date) -> date:
    """The day an invoice is debited for a family with a mandate: its due date.

    Invoices fall due 30 days after their issue, beyond the 14 days of pre-notification
    the invoice itself gives (it prints this date and the RUM).
    """
    return due_date


# ----------------------------------------------------------------------------------------
# Mandates: created, listed, revoked
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MandateView:
    id: int
    rum: str
    family_id: int
    regie_id: int
    regie_code: str
    regie_name: str
    debtor_name: str
    debtor_address: str
    iban: str
    bic: str
    signed_on: date
    recurrent: bool
    next_sequence: str  # FRST, RCUR or OOFF
    last_used_on: date | None
    lapses_on: date
    revoked_on: date | None
    active: bool  # can be debited today

    @property
    def iban_masked(self) -> str:
        """'FR76 **** **** **** **** ***0 189': the country, check digits and last four characters."""
        return mask_iban(self.iban)

    @property
    def state(self) -> str:
        """What the agent reads of the mandate's state, in French."""
        if self.revoked_on is not None:
            return f"Révoqué le {formatting.short_date(self.revoked_on)}"
        if not self.active:
            if not self.recurrent and self.last_used_on is not None:
                return "Utilisé (ponctuel)"
            return f"Caduc depuis le {formatting.short_date(self.lapses_on)}"
        return "Actif"


def short_iban(iban: str) -> str:
    """'FR76…0189': enough for a list at 80 columns."""
    compact = iban.replace(" ", "")
    return f"{compact[:4]}…{compact[-4:]}" if len(compact) > 8 else compact


def mask_iban(iban: str) -> str:
    """An IBAN shown on screen: its country and check digits, then only its last four characters."""
    compact = iban.replace(" ", "")
    if len(compact) < 9:
        return compact
    hidden = compact[:4] + "*" * (len(compact) - 8) + compact[-4:]
    return " ".join(hidden[i : i + 4] for i in range(0, len(hidden), 4))


def _usable(mandate: Mandate, on: date) -> bool:
    """Active on ``on``, and not a one-off mandate already used."""
    return is_active(mandate, on) and (mandate.recurrent or mandate.last_used_on is None)


def _view(mandate: Mandate, regie: Regie, today: date) -> MandateView:
    return MandateView(
        id=id_of(mandate),
        rum=mandate.rum,
        family_id=mandate.family_id,
        regie_id=mandate.regie_id,
        regie_code=regie.code,
        regie_name=regie.name,
        debtor_name=mandate.debtor_name,
        debtor_address=mandate.debtor_address,
        iban=mandate.iban,
        bic=mandate.bic,
        signed_on=mandate.signed_on,
        recurrent=mandate.recurrent,
        next_sequence=MandateSequence(mandate.next_sequence).value,
        last_used_on=mandate.last_used_on,
        lapses_on=lapses_on(mandate),
        revoked_on=mandate.revoked_on,
        active=_usable(mandate, today),
    )


def regie_account(regie: Regie) -> tuple[str, str]:
    """The régie's account (IBAN, BIC) its direct debits go to; a French error when it has none."""
    if not regie.sepa_iban or not regie.sepa_bic:
        raise RegieError(
            f"La régie {regie.code} n'a pas de compte de prélèvement (IBAN et BIC) : "
            "donnez-les avec --creditor-iban et --creditor-bic."
        )
    return regie.sepa_iban, regie.sepa_bic


def creditor_account(db: Session, *, batch_id: int) -> tuple[str, str]:
    """The account of the régie of a batch."""
    batch = db.get(DebitBatch, batch_id)
    if batch is None:
        raise NotFound(f"Lot de prélèvements {batch_id} introuvable.")
    return regie_account(_regie(db, batch.regie_id))


def _regie(db: Session, regie_id: int) -> Regie:
    regie = db.get(Regie, regie_id)
    if regie is None:
        raise NotFound(f"Régie n° {regie_id} introuvable.")
    return regie


def mandate_regies(db: Session) -> list[tuple[int, str, str]]:
    """(id, code, name) of the régies that collect by direct debit (they have an ICS)."""
    rows = db.exec(select(Regie).where(col(Regie.sepa_creditor_id).is_not(None)).order_by(col(Regie.code))).all()
    return [(id_of(r), r.code, r.name) for r in rows if r.sepa_creditor_id]


def family_payer(db: Session, *, family_id: int) -> tuple[str, str]:
    """The account holder a new mandate names by default: the paying guardian (or the family) and the address."""
    family = db.get(Family, family_id)
    if family is None:
        raise NotFound(f"Famille n° {family_id} introuvable.")
    payer = db.exec(select(Guardian).where(Guardian.family_id == family_id, col(Guardian.is_payer))).first()
    name = f"{payer.first_name} {payer.last_name}" if payer is not None else family.name
    lines = [family.address, family.address_extra, f"{family.postal_code} {family.city}".strip()]
    return name.strip(), ", ".join(line.strip() for line in lines if line.strip())


def create_mandate(
    db: Session,
    *,
    family_id: int,
    regie_id: int,
    debtor_name: str,
    debtor_address: str,
    iban: str,
    bic: str,
    signed_on: date,
    recurrent: bool,
    agent_id: int | None,
    today: date | None = None,
) -> MandateView:
    """Record a signed mandate under a new RUM; it replaces the family's active mandate for the
    régie (revoked today). French errors for a bad IBAN/BIC, a date in the future, a lapsed one."""
    today = today or clock.today()
    # Locks the family (PostgreSQL): two desks adding a mandate to it take serials in turn.
    family = db.exec(select(Family).where(Family.id == family_id).with_for_update()).first()
    if family is None:
        raise NotFound(f"Famille n° {family_id} introuvable.")
    regie = _regie(db, regie_id)
    if not regie.sepa_creditor_id:
        raise RegieError(f"La régie « {regie.name} » n'a pas d'identifiant créancier SEPA (ICS) : pas de mandat.")
    name = " ".join(check_required(debtor_name, "Titulaire du compte").split())
    if len(name) > 140:
        raise InvalidValue("Titulaire du compte : 140 caractères au plus.")
    address = ", ".join(part.strip() for part in debtor_address.splitlines() if part.strip())
    if not address:
        raise InvalidValue("Adresse du titulaire du compte obligatoire.")
    if len(address) > 280:
        raise InvalidValue("Adresse du titulaire du compte : 280 caractères au plus.")
    check_characters(name, "Titulaire du compte")
    check_characters(address, "Adresse du titulaire du compte")
    checked_iban = check_iban(iban)
    if not _in_sepa_zone(checked_iban):
        raise InvalidValue(f"IBAN hors de la zone SEPA : « {checked_iban} » ne peut pas être prélevé.")
    checked_bic = check_bic(bic)
    if signed_on > today:
        raise InvalidValue(f"Date de signature dans le futur : {formatting.short_date(signed_on)}.")
    mandate = Mandate(
        family_id=family_id,
        regie_id=regie_id,
        rum="-",
        debtor_name=name,
        debtor_address=address,
        iban=checked_iban,
        bic=checked_bic,
        signed_on=signed_on,
        recurrent=recurrent,
        next_sequence=next_sequence(recurrent=recurrent, last_used_on=None),
    )
    if lapses_on(mandate) <= today:
        raise InvalidValue(
            f"Mandat signé le {formatting.short_date(signed_on)} et jamais utilisé : caduc après "
            f"{LAPSE_MONTHS} mois (depuis le {formatting.short_date(lapses_on(mandate))})."
        )
    existing = db.exec(select(Mandate).where(Mandate.family_id == family_id, Mandate.regie_id == regie_id)).all()
    taken = {m.rum for m in existing}
    serial = len(existing) + 1
    while new_rum(regie.invoice_prefix, family_id, serial) in taken:
        serial += 1
    mandate.rum = new_rum(regie.invoice_prefix, family_id, serial)
    for old in existing:
        if old.revoked_on is None:
            old.revoked_on = max(today, old.signed_on)
            db.add(old)
            audit.record(
                db,
                action="revoke_mandate",
                entity="mandate",
                entity_id=old.id,
                agent_id=agent_id,
                family_id=family_id,
                before={"revoked_on": None},
                after={"revoked_on": old.revoked_on.isoformat(), "reason": f"Remplacé par le mandat {mandate.rum}"},
            )
    db.add(mandate)
    db.flush()
    audit.record(
        db,
        action="create_mandate",
        entity="mandate",
        entity_id=mandate.id,
        agent_id=agent_id,
        family_id=family_id,
        after={
            "rum": mandate.rum,
            "regie": regie.code,
            "debtor_name": name,
            "iban": mask_iban(checked_iban),
            "bic": checked_bic,
            "signed_on": signed_on.isoformat(),
            "recurrent": recurrent,
        },
    )
    db.flush()
    return _view(mandate, regie, today)


def _in_sepa_zone(iban: str) -> bool:
    from schwifty import IBAN

    return bool(IBAN(iban).in_sepa_zone)


def find_mandate(db: Session, *, rum: str, today: date | None = None) -> MandateView:
    """A mandate by its RUM (as typed: case and spaces ignored)."""
    wanted = "".join(rum.split()).upper()
    mandate = db.exec(select(Mandate).where(func.upper(Mandate.rum) == wanted)).first()
    if mandate is None:
        raise NotFound(f"Mandat « {rum.strip()} » introuvable.")
    return _view(mandate, _regie(db, mandate.regie_id), today or clock.today())


def revoke_mandate(
    db: Session, *, mandate_id: int, on: date, reason: str, agent_id: int | None, today: date | None = None
) -> MandateView:
    """End a mandate from ``on`` (the family's letter, a closed account…): it is no longer debited."""
    mandate = db.exec(select(Mandate).where(Mandate.id == mandate_id).with_for_update()).first()
    if mandate is None:
        raise NotFound(f"Mandat n° {mandate_id} introuvable.")
    why = " ".join(reason.split())
    if not why:
        raise InvalidValue("Motif de la révocation obligatoire.")
    if len(why) > 200:
        raise InvalidValue("Motif de la révocation : 200 caractères au plus.")
    check_characters(why, "Motif de la révocation")
    if mandate.revoked_on is not None:
        raise RegieError(f"Le mandat {mandate.rum} est déjà révoqué (le {formatting.short_date(mandate.revoked_on)}).")
    if on < mandate.signed_on:
        raise InvalidValue(
            f"Révocation au {formatting.short_date(on)} : avant la signature du mandat "
            f"({formatting.short_date(mandate.signed_on)})."
        )
    mandate.revoked_on = on
    db.add(mandate)
    audit.record(
        db,
        action="revoke_mandate",
        entity="mandate",
        entity_id=mandate.id,
        agent_id=agent_id,
        family_id=mandate.family_id,
        before={"revoked_on": None},
        after={"revoked_on": on.isoformat(), "reason": why},
    )
    db.flush()
    return _view(mandate, _regie(db, mandate.regie_id), today or clock.today())


def family_mandates(db: Session, *, family_id: int, today: date | None = None) -> list[MandateView]:
    """The family's mandates, newest signed first."""
    today = today or clock.today()
    rows = db.exec(
        select(Mandate, Regie)
        .join(Regie, col(Regie.id) == Mandate.regie_id)
        .where(Mandate.family_id == family_id)
        .order_by(col(Mandate.signed_on).desc(), col(Mandate.id).desc())
    ).all()
    return [_view(mandate, regie, today) for mandate, regie in rows]


# ----------------------------------------------------------------------------------------
# Export: the month's open invoices of families with a mandate, as a pain.008 file
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedDebit:
    invoice_id: int
    invoice_number: str
    issue_date: date
    family_id: int
    debtor_name: str
    amount_cents: int
    mandate_id: int
    rum: str
    sequence: str


@dataclass(frozen=True)
class ExportPlan:
    regie_id: int
    regie_code: str
    regie_name: str
    creditor_id: str
    month: date
    collection_date: date
    debits: list[PlannedDebit]

    @property
    def total_cents(self) -> int:
        return sum(d.amount_cents for d in self.debits)

    def by_sequence(self) -> dict[str, tuple[int, int]]:
        """Sequence type -> (number of debits, total in cents), in the file's order."""
        totals: dict[str, tuple[int, int]] = {}
        for sequence in SEQUENCE_ORDER:
            chosen = [d.amount_cents for d in self.debits if d.sequence == sequence]
            if chosen:
                totals[sequence] = (len(chosen), sum(chosen))
        return totals


@dataclass(frozen=True)
class ExportSummary:
    batch_id: int
    message_id: str
    regie_code: str
    collection_date: date
    count: int
    total_cents: int
    by_sequence: dict[str, tuple[int, int]]
    debits: list[PlannedDebit]
    end_to_end_ids: list[str]


def _month_range(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following


def prepare_export(
    db: Session, *, regie_code: str, month: date, collection_date: date, today: date, agent_id: int | None
) -> ExportPlan:
    """The debits a file for the régie's invoices of ``month`` would hold: open invoices (balance
    due) of families with a mandate usable on the collection date, not already in a live collection.

    Refuses a collection date that is not in the future, or less than 14 days after the issue of
    any of these invoices (the pre-notification the invoice gives)."""
    require_agent(db, agent_id, Permission.SEPA_COLLECT)
    regie = regie_by_code(db, code=regie_code)
    regie_id = id_of(regie)
    if not regie.sepa_creditor_id:
        raise RegieError(f"La régie « {regie.name} » n'a pas d'identifiant créancier SEPA (ICS) : pas de prélèvement.")
    if collection_date <= today:
        raise InvalidValue(
            f"Date de prélèvement {formatting.short_date(collection_date)} : elle doit être postérieure à "
            f"aujourd'hui ({formatting.short_date(today)})."
        )
    mandates: dict[int, Mandate] = {}
    candidates = db.exec(
        select(Mandate)
        .where(Mandate.regie_id == regie_id, col(Mandate.signed_on) <= collection_date)
        .where(or_(col(Mandate.revoked_on).is_(None), col(Mandate.revoked_on) > collection_date))
        .order_by(col(Mandate.signed_on), col(Mandate.id))
    ).all()
    for mandate in candidates:  # the latest signed usable one wins, as active_mandate() chooses
        if _usable(mandate, collection_date):
            mandates[mandate.family_id] = mandate
    first, following = _month_range(month)
    live = select(DirectDebit.id).where(DirectDebit.invoice_id == Invoice.id, col(DirectDebit.rejected_on).is_(None))
    invoices = db.exec(
        select(Invoice)
        .where(
            Invoice.regie_id == regie_id,
            Invoice.status == InvoiceStatus.ISSUED,
            col(Invoice.period_start) >= first,
            col(Invoice.period_start) < following,
            col(Invoice.family_id).in_(list(mandates)),
            ~live.exists(),
        )
        .order_by(col(Invoice.number))
    ).all()
    debits = []
    for invoice in invoices:
        balance = invoice_balance(db, invoice=invoice)
        if balance <= 0:
            continue
        mandate = mandates[invoice.family_id]
        debits.append(
            PlannedDebit(
                invoice_id=id_of(invoice),
                invoice_number=invoice.number,
                issue_date=invoice.issue_date,
                family_id=invoice.family_id,
                debtor_name=mandate.debtor_name,
                amount_cents=balance,
                mandate_id=id_of(mandate),
                rum=mandate.rum,
                sequence=MandateSequence(mandate.next_sequence).value,
            )
        )
    too_soon = [d for d in debits if collection_date < d.issue_date + timedelta(days=PRE_NOTIFICATION_DAYS)]
    if too_soon:
        latest = max(too_soon, key=lambda d: (d.issue_date, d.invoice_number))
        earliest = latest.issue_date + timedelta(days=PRE_NOTIFICATION_DAYS)
        others = f" (et {len(too_soon) - 1} autre(s))" if len(too_soon) > 1 else ""
        raise InvalidValue(
            f"Prélèvement le {formatting.short_date(collection_date)} trop tôt : la facture "
            f"{latest.invoice_number}{others} émise le {formatting.short_date(latest.issue_date)} annonce le "
            f"prélèvement {PRE_NOTIFICATION_DAYS} jours avant ; date de prélèvement au plus tôt le "
            f"{formatting.short_date(earliest)}."
        )
    return ExportPlan(
        regie_id=regie_id,
        regie_code=regie.code,
        regie_name=regie.name,
        creditor_id=regie.sepa_creditor_id,
        month=first,
        collection_date=collection_date,
        debits=debits,
    )


def export_debits(
    db: Session,
    *,
    regie_code: str,
    month: date,
    collection_date: date,
    today: date,
    agent_id: int | None,
    now: datetime | None = None,
) -> ExportSummary:
    """Put the planned debits in a batch, in the caller's transaction: one ``direct_debit`` and one
    payment (prélèvement) per invoice, the mandates moved on (FRST -> RCUR). The file itself is
    made from the batch by :func:`regie_tui.reports.sepa_xml.export_file` (services never import
    reports); the caller commits, then writes the file (see cli_sepa)."""
    plan = prepare_export(
        db, regie_code=regie_code, month=month, collection_date=collection_date, today=today, agent_id=agent_id
    )
    if not plan.debits:
        raise RegieError(
            f"Aucune facture à prélever pour {plan.regie_code} en {plan.month:%m/%Y} : pas de facture ouverte "
            "d'une famille ayant un mandat actif, hors prélèvements en cours."
        )
    regie = _regie(db, plan.regie_id)
    created = now or clock.now()
    message_id = f"{regie.invoice_prefix.upper()}{created.astimezone(clock.PARIS):%y%m%d%H%M%S}{secrets.token_hex(3)}"
    batch = DebitBatch(
        regie_id=plan.regie_id,
        message_id=message_id,
        collection_date=collection_date,
        transaction_count=len(plan.debits),
        total_cents=plan.total_cents,
        created_by_id=agent_id,
        created_at=created,
    )
    db.add(batch)
    db.flush()
    end_to_end_ids = []
    for debit in plan.debits:
        # Locks the mandate (PostgreSQL): a concurrent export waits, then sees it moved on.
        mandate = db.exec(select(Mandate).where(Mandate.id == debit.mandate_id).with_for_update()).one()
        attempts = db.exec(
            select(func.count()).select_from(DirectDebit).where(DirectDebit.invoice_id == debit.invoice_id)
        ).one()
        end_to_end_id = f"{debit.invoice_number}-{attempts + 1}"
        row = DirectDebit(
            batch_id=id_of(batch),
            invoice_id=debit.invoice_id,
            mandate_id=debit.mandate_id,
            amount_cents=debit.amount_cents,
            sequence=MandateSequence(mandate.next_sequence),
            end_to_end_id=end_to_end_id,
        )
        db.add(row)
        try:
            db.flush()
        except IntegrityError:
            raise RegieError(
                f"La facture {debit.invoice_number} vient d'être mise en prélèvement sur un autre poste : "
                "rien n'a été exporté, relancez l'exportation."
            ) from None
        recorded = record_payment(
            db,
            family_id=debit.family_id,
            regie_id=plan.regie_id,
            mode=PaymentMode.DIRECT_DEBIT,
            amount_cents=debit.amount_cents,
            received_on=collection_date,
            agent_id=agent_id,
            reference=f"Prélèvement SEPA {debit.rum}",
            payer_name=debit.debtor_name,
            invoice_numbers=[debit.invoice_number],
        )
        row.payment_id = recorded.payment_id
        db.add(row)
        mandate.last_used_on = collection_date
        mandate.next_sequence = next_sequence(recurrent=mandate.recurrent, last_used_on=collection_date)
        db.add(mandate)
        end_to_end_ids.append(end_to_end_id)
    audit.record(
        db,
        action="sepa_export",
        entity="debit_batch",
        entity_id=batch.id,
        agent_id=agent_id,
        after={
            "message_id": message_id,
            "regie": plan.regie_code,
            "month": plan.month.isoformat(),
            "collection_date": collection_date.isoformat(),
            "count": len(plan.debits),
            "total_cents": plan.total_cents,
            "invoices": [d.invoice_number for d in plan.debits],
        },
    )
    db.flush()
    return ExportSummary(
        batch_id=id_of(batch),
        message_id=message_id,
        regie_code=plan.regie_code,
        collection_date=collection_date,
        count=len(plan.debits),
        total_cents=plan.total_cents,
        by_sequence=plan.by_sequence(),
        debits=plan.debits,
        end_to_end_ids=end_to_end_ids,
    )


def payment_info_id(message_id: str, sequence: str) -> str:
    """The id of a file's block of one sequence type: 'POP261123101010ab12cd-FRST'."""
    return f"{message_id[:30]}-{sequence}"


@dataclass(frozen=True)
class DebitLine:
    """One transaction of a direct-debit file."""

    end_to_end_id: str
    amount_cents: int
    sequence: str  # FRST, RCUR, OOFF or FNAL
    rum: str
    signed_on: date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str  # "" when unknown: NOTPROVIDED
    remittance: str  # the invoice number


@dataclass(frozen=True)
class BatchContent:
    """What a batch's file says, read back from the database."""

    message_id: str
    created_at: datetime  # in Paris
    creditor_name: str  # the town (the régie's name without a town row)
    creditor_id: str  # ICS
    collection_date: date
    lines: list[DebitLine]


def batch_content(db: Session, *, batch_id: int) -> BatchContent:
    """A batch and its debits as they were exported (the file can be made again from it)."""
    batch = db.get(DebitBatch, batch_id)
    if batch is None:
        raise NotFound(f"Lot de prélèvements n° {batch_id} introuvable.")
    regie = _regie(db, batch.regie_id)
    town = db.get(Town, 1)
    creditor_name = town.name if town is not None else regie.name
    rows = db.exec(
        select(DirectDebit, Mandate, Invoice)
        .join(Mandate, col(Mandate.id) == DirectDebit.mandate_id)
        .join(Invoice, col(Invoice.id) == DirectDebit.invoice_id)
        .where(DirectDebit.batch_id == batch_id)
        .order_by(col(DirectDebit.id))
    ).all()
    lines = [
        DebitLine(
            end_to_end_id=debit.end_to_end_id,
            amount_cents=debit.amount_cents,
            sequence=MandateSequence(debit.sequence).value,
            rum=mandate.rum,
            signed_on=mandate.signed_on,
            debtor_name=mandate.debtor_name,
            debtor_iban=mandate.iban,
            debtor_bic=mandate.bic,
            remittance=invoice.number,
        )
        for debit, mandate, invoice in rows
    ]
    created = batch.created_at if batch.created_at.tzinfo else batch.created_at.replace(tzinfo=UTC)
    return BatchContent(
        message_id=batch.message_id,
        created_at=created.astimezone(clock.PARIS),
        creditor_name=creditor_name,
        creditor_id=regie.sepa_creditor_id or "",
        collection_date=batch.collection_date,
        lines=lines,
    )


def collection_dates(db: Session, *, invoice_ids: list[int]) -> dict[int, date]:
    """The collection date of the invoices in a live (not rejected) direct debit."""
    if not invoice_ids:
        return {}
    rows = db.exec(
        select(col(DirectDebit.invoice_id), col(DebitBatch.collection_date))
        .join(DebitBatch, col(DebitBatch.id) == DirectDebit.batch_id)
        .where(col(DirectDebit.invoice_id).in_(invoice_ids), col(DirectDebit.rejected_on).is_(None))
    ).all()
    return dict(rows)


def collection_text(day: date, today: date) -> str:
    """'En prélèvement le 05/12/2026' until that day, then 'Prélevée le 05/12/2026'."""
    return f"{'En prélèvement' if day >= today else 'Prélevée'} le {formatting.short_date(day)}"


# ----------------------------------------------------------------------------------------
# Rejects: a debit returned unpaid reopens its invoice
# ----------------------------------------------------------------------------------------

#: The common ISO reason codes of a rejected or returned direct debit, in French.
REASONS = {
    "AC01": "Numéro de compte (IBAN) incorrect",
    "AC04": "Compte clôturé",
    "AC06": "Compte bloqué",
    "AC13": "Compte du débiteur : type de compte invalide",
    "AG01": "Prélèvement interdit sur ce compte",
    "AG02": "Code opération invalide",
    "AM04": "Provision insuffisante",
    "AM05": "Prélèvement en double",
    "BE05": "Créancier non reconnu",
    "CNOR": "Banque du créancier non joignable",
    "DNOR": "Banque du débiteur non joignable",
    "FF01": "Format de fichier invalide",
    "MD01": "Pas de mandat",
    "MD02": "Données du mandat manquantes ou erronées",
    "MD06": "Remboursement demandé par le débiteur",
    "MD07": "Débiteur décédé",
    "MS02": "Refus du débiteur",
    "MS03": "Motif non communiqué par la banque",
    "RC01": "BIC incorrect",
    "RR01": "Identification du débiteur manquante (réglementaire)",
    "RR02": "Nom ou adresse du débiteur manquant (réglementaire)",
    "RR03": "Nom ou adresse du créancier manquant (réglementaire)",
    "RR04": "Motif réglementaire",
    "SL01": "Service spécifique de la banque du débiteur",
}
#: Codes after which the mandate cannot be debited again: it is revoked with the reject.
REVOKING_REASONS = frozenset({"AC01", "AC04", "MD01", "MD07"})
PAIN_002 = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"


def reason_text(reason: str) -> tuple[str, str | None]:
    """('AM04 – Provision insuffisante', 'AM04') for a known code; (the text, None) otherwise."""
    text = " ".join(reason.split())
    code = text.upper()
    if code in REASONS:
        return f"{code} – {REASONS[code]}", code
    if re.fullmatch(r"[A-Z0-9]{4}", code):
        return f"{code} – Motif bancaire {code}", code
    return text, None


@dataclass(frozen=True)
class RejectedDebit:
    end_to_end_id: str
    invoice_id: int
    invoice_number: str
    family_id: int
    amount_cents: int
    reason: str
    rejected_on: date
    mandate_rum: str
    mandate_revoked: bool


def reject_debit(
    db: Session, *, end_to_end_id: str, rejected_on: date, reason: str, agent_id: int | None
) -> RejectedDebit:
    """Record that the bank returned a debit unpaid: its payment is rejected (the invoice is due
    again); a rejected first debit leaves the mandate at FRST; a closed account, a missing mandate…
    revoke it.

    Refused, nothing written: a reject dated in the future or before the 1st of January of the
    previous year, or whose payment's rejection would be dated on or before a closed day of the
    régie's cash journal (``payments.check_money_date``)."""
    require_agent(db, agent_id, Permission.SEPA_COLLECT)
    wanted = end_to_end_id.strip()
    debit = db.exec(select(DirectDebit).where(DirectDebit.end_to_end_id == wanted).with_for_update()).first()
    if debit is None:
        raise NotFound(f"Prélèvement « {wanted} » introuvable (référence de bout en bout).")
    if debit.rejected_on is not None:
        raise RegieError(
            f"Le prélèvement {wanted} est déjà rejeté (le {formatting.short_date(debit.rejected_on)} : "
            f"{debit.rejection_reason})."
        )
    label, code = reason_text(reason)
    if not label:
        raise InvalidValue("Motif du rejet obligatoire (code bancaire comme AM04, ou texte).")
    label = check_characters(label, "Motif du rejet")[:200]
    invoice = db.get(Invoice, debit.invoice_id)
    mandate = db.exec(select(Mandate).where(Mandate.id == debit.mandate_id).with_for_update()).one()
    if invoice is None:  # a foreign key: cannot happen
        raise NotFound(f"Facture du prélèvement {wanted} introuvable.")
    # The dates of money, checked before anything is written: the bank's date is not in the
    # future nor absurdly old, and the payment's rejection falls after the closed days.
    check_money_date(db, regie_id=invoice.regie_id, day=rejected_on, act="reject", closed_days=False)
    payment = db.get(Payment, debit.payment_id) if debit.payment_id is not None else None
    if payment is not None and payment.rejected_on is not None:
        payment = None
    if payment is not None:
        # A reject before the collection date (pre-settlement) dates the payment's reject on
        # that day: the payment cannot be rejected before it was received.
        payment_rejected_on = max(rejected_on, payment.received_on)
        check_money_date(
            db,
            regie_id=payment.regie_id,
            day=payment_rejected_on,
            act="reject",
            latest=max(clock.today(), payment.received_on),
        )
    debit.rejected_on = rejected_on
    debit.rejection_reason = label
    db.add(debit)
    db.flush()
    if payment is not None:
        reject_payment(
            db,
            receipt_number=payment.receipt_number,
            rejected_on=payment_rejected_on,
            reason=label,
            agent_id=agent_id,
        )
    before = {"next_sequence": MandateSequence(mandate.next_sequence).value, "revoked_on": mandate.revoked_on}
    if debit.sequence == MandateSequence.FIRST:
        # The first debit did not go through: the next one is a first one again.
        used = db.exec(
            select(func.max(DebitBatch.collection_date))
            .select_from(DirectDebit)
            .join(DebitBatch, col(DebitBatch.id) == DirectDebit.batch_id)
            .where(DirectDebit.mandate_id == mandate.id, col(DirectDebit.rejected_on).is_(None))
        ).one()
        mandate.last_used_on = used
        mandate.next_sequence = next_sequence(recurrent=mandate.recurrent, last_used_on=used)
    revoked = code in REVOKING_REASONS and mandate.revoked_on is None
    if revoked:
        mandate.revoked_on = rejected_on
    db.add(mandate)
    audit.record(
        db,
        action="reject_direct_debit",
        entity="direct_debit",
        entity_id=debit.id,
        agent_id=agent_id,
        family_id=invoice.family_id,
        before={"mandate": {k: v.isoformat() if isinstance(v, date) else v for k, v in before.items()}},
        after={
            "end_to_end_id": wanted,
            "invoice": invoice.number,
            "rejected_on": rejected_on.isoformat(),
            "reason": label,
            "mandate_revoked": revoked,
            "mandate_next_sequence": MandateSequence(mandate.next_sequence).value,
        },
    )
    db.flush()
    return RejectedDebit(
        end_to_end_id=wanted,
        invoice_id=id_of(invoice),
        invoice_number=invoice.number,
        family_id=invoice.family_id,
        amount_cents=debit.amount_cents,
        reason=label,
        rejected_on=rejected_on,
        mandate_rum=mandate.rum,
        mandate_revoked=revoked,
    )


@dataclass(frozen=True)
class RejectsImported:
    message_id: str  # the original file's MsgId named by the report
    rejected: list[RejectedDebit]
    already: list[str]  # end-to-end ids rejected before (the same report imported again)
    unknown: list[str]  # end-to-end ids not found in the database


@dataclass(frozen=True)
class _StatusReport:
    message_id: str
    created_on: date
    group_rejected: str | None  # the reason code when the whole file was rejected
    blocks_rejected: dict[str, str | None]  # PmtInfId -> reason code
    transactions: list[tuple[str, str | None]]  # (end-to-end id, reason code) of RJCT ones


def _parse_pain002(data: bytes) -> _StatusReport:
    import xml.etree.ElementTree as ET

    refused = RegieError("Ce fichier n'est pas un rapport de statut SEPA pain.002.001.03 lisible.")
    if b"<!DOCTYPE" in data[:2048] or b"<!ENTITY" in data:
        raise refused  # no entities: a bank's report never needs them
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        raise refused from None
    ns = {"p": PAIN_002}
    report = root.find("p:CstmrPmtStsRpt", ns)
    if root.tag != f"{{{PAIN_002}}}Document" or report is None:
        raise refused

    def text(element: ET.Element | None, path: str) -> str:
        found = element.find(path, ns) if element is not None else None
        return (found.text or "").strip() if found is not None else ""

    created = text(report, "p:GrpHdr/p:CreDtTm")
    try:
        created_on = datetime.fromisoformat(created[:19]).date()
    except ValueError:
        raise refused from None
    group = report.find("p:OrgnlGrpInfAndSts", ns)
    group_rejected = None
    if text(group, "p:GrpSts") == "RJCT":
        group_rejected = text(group, "p:StsRsnInf/p:Rsn/p:Cd") or "MS03"
    blocks: dict[str, str | None] = {}
    transactions = []
    for block in report.findall("p:OrgnlPmtInfAndSts", ns):
        if text(block, "p:PmtInfSts") == "RJCT":
            blocks[text(block, "p:OrgnlPmtInfId")] = text(block, "p:StsRsnInf/p:Rsn/p:Cd") or None
        for tx in block.findall("p:TxInfAndSts", ns):
            if text(tx, "p:TxSts") == "RJCT":
                transactions.append((text(tx, "p:OrgnlEndToEndId"), text(tx, "p:StsRsnInf/p:Rsn/p:Cd") or None))
    return _StatusReport(
        message_id=text(group, "p:OrgnlMsgId"),
        created_on=created_on,
        group_rejected=group_rejected,
        blocks_rejected=blocks,
        transactions=transactions,
    )


def import_rejects(db: Session, *, data: bytes, agent_id: int | None) -> RejectsImported:
    """Record the rejected debits of a bank's status report (pain.002.001.03), dated by the report."""
    require_agent(db, agent_id, Permission.SEPA_COLLECT)
    report = _parse_pain002(data)
    wanted: dict[str, str] = {e2e: code or "MS03" for e2e, code in report.transactions if e2e}
    if report.group_rejected or report.blocks_rejected:
        batch = db.exec(select(DebitBatch).where(DebitBatch.message_id == report.message_id)).first()
        if batch is None:
            raise NotFound(f"Le rapport porte sur le fichier {report.message_id}, inconnu de la régie.")
        rows = db.exec(select(DirectDebit).where(DirectDebit.batch_id == batch.id)).all()
        for row in rows:
            if report.group_rejected:
                code = report.group_rejected
            else:
                block = payment_info_id(batch.message_id, MandateSequence(row.sequence).value)
                if block not in report.blocks_rejected:
                    continue
                code = report.blocks_rejected[block] or "MS03"
            wanted.setdefault(row.end_to_end_id, code)
    rejected: list[RejectedDebit] = []
    already: list[str] = []
    unknown: list[str] = []
    for e2e, code in wanted.items():
        debit = db.exec(select(DirectDebit).where(DirectDebit.end_to_end_id == e2e)).first()
        if debit is None:
            unknown.append(e2e)
        elif debit.rejected_on is not None:
            already.append(e2e)
        else:
            rejected.append(
                reject_debit(db, end_to_end_id=e2e, rejected_on=report.created_on, reason=code, agent_id=agent_id)
            )
    return RejectsImported(message_id=report.message_id, rejected=rejected, already=already, unknown=unknown)
