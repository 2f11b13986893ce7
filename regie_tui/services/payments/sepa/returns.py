"""SEPA returns: a debit the bank returns unpaid (rejected by hand or read from the bank's
pain.002 status report) rejects its payment, so its invoice is due again; a first debit
rejected leaves the mandate at FRST, and a closed account or a missing mandate revokes it."""

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui import clock, formatting
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import DebitBatch, DirectDebit, Invoice, Mandate, MandateSequence, Payment
from regie_tui.services.common.sql import id_of
from regie_tui.services.common.validation import InvalidValue, check_characters
from regie_tui.services.payments.money_dates import check_money_date
from regie_tui.services.payments.sepa.batches import payment_info_id
from regie_tui.services.payments.sepa.mandates import next_sequence
from regie_tui.services.payments.undoing import reject_payment
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import require_agent

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


def _debit_to_reject(db: Session, end_to_end_id: str) -> DirectDebit:
    """The debit of that end-to-end id, locked; refused when unknown or already rejected."""
    debit = db.exec(select(DirectDebit).where(DirectDebit.end_to_end_id == end_to_end_id).with_for_update()).first()
    if debit is None:
        raise NotFound(f"Prélèvement « {end_to_end_id} » introuvable (référence de bout en bout).")
    if debit.rejected_on is not None:
        raise RegieError(
            f"Le prélèvement {end_to_end_id} est déjà rejeté (le {formatting.short_date(debit.rejected_on)} : "
            f"{debit.rejection_reason})."
        )
    return debit


def _payment_to_reject(db: Session, debit: DirectDebit, rejected_on: date) -> tuple[Payment | None, date]:
    """The debit's payment still standing, and the day its rejection is dated (checked)."""
    payment = db.get(Payment, debit.payment_id) if debit.payment_id is not None else None
    if payment is None or payment.rejected_on is not None:
        return None, rejected_on
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
    return payment, payment_rejected_on


def _mandate_after_reject(
    db: Session, mandate: Mandate, debit: DirectDebit, code: str | None, rejected_on: date
) -> tuple[dict[str, object], bool]:
    """Move the mandate back (a rejected FRST: FRST again) or revoke it (``REVOKING_REASONS``);
    its state before, for the audit, and whether it was revoked."""
    before: dict[str, object] = {
        "next_sequence": MandateSequence(mandate.next_sequence).value,
        "revoked_on": mandate.revoked_on,
    }
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
    return before, revoked


def _checked_reason(reason: str) -> tuple[str, str | None]:
    """The reject's reason as recorded (200 characters at most), and its bank code if it has one."""
    label, code = reason_text(reason)
    if not label:
        raise InvalidValue("Motif du rejet obligatoire (code bancaire comme AM04, ou texte).")
    return check_characters(label, "Motif du rejet")[:200], code


def _audit_reject(
    db: Session,
    debit: DirectDebit,
    invoice: Invoice,
    mandate: Mandate,
    before: dict[str, object],
    revoked: bool,
    agent_id: int | None,
) -> None:
    assert debit.rejected_on is not None
    audit.record(
        db,
        action="reject_direct_debit",
        entity="direct_debit",
        entity_id=debit.id,
        agent_id=agent_id,
        family_id=invoice.family_id,
        before={"mandate": {k: v.isoformat() if isinstance(v, date) else v for k, v in before.items()}},
        after={
            "end_to_end_id": debit.end_to_end_id,
            "invoice": invoice.number,
            "rejected_on": debit.rejected_on.isoformat(),
            "reason": debit.rejection_reason,
            "mandate_revoked": revoked,
            "mandate_next_sequence": MandateSequence(mandate.next_sequence).value,
        },
    )
    db.flush()


def reject_debit(
    db: Session, *, end_to_end_id: str, rejected_on: date, reason: str, agent_id: int | None
) -> RejectedDebit:
    """Record that the bank returned a debit unpaid: its payment is rejected (the invoice is due
    again); a rejected first debit leaves the mandate at FRST; a closed account, a missing mandate…
    revoke it.

    Refused, nothing written: a reject dated in the future or before the 1st of January of the
    previous year, or whose payment's rejection would be dated on or before a closed day of the
    régie's cash journal (``money_dates.check_money_date``)."""
    require_agent(db, agent_id, Permission.SEPA_COLLECT)
    wanted = end_to_end_id.strip()
    debit = _debit_to_reject(db, wanted)
    label, code = _checked_reason(reason)
    invoice = db.get(Invoice, debit.invoice_id)
    mandate = db.exec(select(Mandate).where(Mandate.id == debit.mandate_id).with_for_update()).one()
    if invoice is None:  # a foreign key: cannot happen
        raise NotFound(f"Facture du prélèvement {wanted} introuvable.")
    # The dates of money, checked before anything is written: the bank's date is not in the
    # future nor absurdly old, and the payment's rejection falls after the closed days.
    check_money_date(db, regie_id=invoice.regie_id, day=rejected_on, act="reject", closed_days=False)
    payment, payment_rejected_on = _payment_to_reject(db, debit, rejected_on)
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
    before, revoked = _mandate_after_reject(db, mandate, debit, code, rejected_on)
    _audit_reject(db, debit, invoice, mandate, before, revoked, agent_id)
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
