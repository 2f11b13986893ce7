"""An invoice document as ``regie invoices show --json`` prints it: every figure in cents and
as French text, every date as ISO and as French text."""

from datetime import date
from typing import Any

from regie_tui import formatting
from regie_tui.services.billing.document import ChildLines, DebitNotice, InvoiceDocument, Issuer, PayFip, quantity_text


def _money(cents: int) -> dict[str, Any]:
    return {"cents": cents, "text": formatting.money(cents)}


def _day(day: date) -> dict[str, str]:
    return {"iso": day.isoformat(), "text": formatting.short_date(day)}


def _issuer(issuer: Issuer) -> dict[str, Any]:
    return {
        "town": issuer.town,
        "service": issuer.service,
        "regie": issuer.regie_name,
        "regie_code": issuer.regie_code,
        "address": f"{issuer.address}, {issuer.postal_code} {issuer.city}",
        "phone": issuer.phone,
        "email": issuer.email,
        "creditor_id": issuer.creditor_id,
    }


def _child(child: ChildLines) -> dict[str, Any]:
    return {
        "child_id": child.child_id,
        "name": child.name,
        "subtotal": _money(child.subtotal_cents),
        "lines": [
            {
                "position": line.position,
                "label": line.text,
                "kind": line.kind,
                "kind_text": line.kind_text,
                "dates": line.dates,
                "quantity": str(line.quantity),
                "quantity_text": quantity_text(line.quantity),
                "unit_price": _money(line.unit_price_cents),
                "amount": _money(line.amount_cents),
                "basis": line.basis,
            }
            for line in child.lines
        ],
    }


def _payfip(payfip: PayFip | None) -> dict[str, Any] | None:
    if payfip is None:
        return None
    return {
        "numcli": payfip.numcli,
        "refdet": payfip.refdet,
        "exer": payfip.exer,
        "montant": _money(payfip.amount_cents),
    }


def _direct_debit(debit: DebitNotice | None) -> dict[str, Any] | None:
    if debit is None:
        return None
    return {
        "date": _day(debit.debit_date),
        "amount": _money(debit.amount_cents),
        "rum": debit.rum,
        "iban": debit.iban_masked,
        "creditor_id": debit.creditor_id,
        "in_progress": debit.in_progress,
    }


def as_json(doc: InvoiceDocument) -> dict[str, Any]:
    """What ``regie invoices show --json`` prints: every figure in cents and as French text."""
    return {
        "number": doc.number,
        "family_id": doc.family_id,
        "status": doc.status,
        "status_text": doc.status_text,
        "in_direct_debit": doc.in_direct_debit,
        "issuer": _issuer(doc.issuer),
        "debtor": {"name": doc.debtor_name, "address": doc.debtor_address},
        "issue_date": _day(doc.issue_date),
        "period": {"start": _day(doc.period_start), "end": _day(doc.period_end), "text": doc.period_text},
        "due_date": _day(doc.due_date),
        "children": [_child(child) for child in doc.children],
        "total": _money(doc.total_cents),
        "credit_notes": [
            {"number": c.number, "date": _day(c.issue_date), "amount": _money(c.amount_cents), "reason": c.reason}
            for c in doc.credit_notes
        ],
        "payments": [
            {
                "receipt_number": p.receipt_number,
                "date": _day(p.received_on),
                "mode": p.mode,
                "mode_text": p.mode_text,
                "amount": _money(p.amount_cents),
            }
            for p in doc.payments
        ],
        "paid": _money(doc.paid_cents),
        "credited": _money(doc.credited_cents),
        "balance_due": _money(doc.balance_cents),
        "payfip": _payfip(doc.payfip),
        "direct_debit": _direct_debit(doc.debit),
        "how_to_pay": list(doc.how_to_pay),
        "appeal_notice": doc.appeal_notice,
    }
