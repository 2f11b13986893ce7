"""The SEPA direct-debit file a bank takes (ISO 20022 ``pain.008.001.02``, CORE scheme).

One ``PmtInf`` per sequence type (FRST, RCUR, OOFF, FNAL), the creditor's ICS in each,
one ``DrctDbtTxInf`` per invoice. Names and free texts are cut down to the EPC's basic
Latin character set and to the lengths of the schema. Built with the standard library
(lxml is only needed by the tests that validate the file against the official XSD).
"""

import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from regie_tui.services.payments.sepa.batches import SEQUENCE_ORDER, DebitLine, payment_info_id
from regie_tui.services.payments.sepa.export import ExportSummary

if TYPE_CHECKING:
    from sqlmodel import Session

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"
NAME_MAX = 70
REMITTANCE_MAX = 140
ID_MAX = 35
NOT_PROVIDED = "NOTPROVIDED"

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "’": "'", "‘": "'", "&": "+"})
_OUTSIDE_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
_OUTSIDE_ID = re.compile(r"[^A-Za-z0-9/\-?:().,'+]")


def sepa_text(text: str, limit: int) -> str:
    """``text`` in the EPC basic character set ('Hélène Noël & fils' -> 'Helene Noel + fils'), cut to ``limit``."""
    folded = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    cleaned = " ".join(_OUTSIDE_SEPA.sub(" ", plain).split())
    return cleaned[:limit].rstrip()


def sepa_id(text: str) -> str:
    """An identifier (message, end-to-end, mandate): basic characters, no spaces, 35 at most,
    not starting or ending with '/' and without '//' (EPC rule)."""
    cleaned = _OUTSIDE_ID.sub("", sepa_text(text, 200)).replace("//", "/").strip("/")
    return cleaned[:ID_MAX].rstrip("/")


@dataclass(frozen=True)
class Creditor:
    name: str
    iban: str
    bic: str
    creditor_id: str  # ICS, e.g. FR72ZZZ123456


def amount(cents: int) -> str:
    """'1234.50' for 123450 cents."""
    return f"{cents // 100}.{cents % 100:02d}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def _nest(parent: ET.Element, path: str) -> ET.Element:
    """Nested empty elements 'A/B/C'; returns C."""
    element = parent
    for tag in path.split("/"):
        element = _sub(element, tag)
    return element


def _path(parent: ET.Element, path: str, text: str) -> ET.Element:
    """Nested elements 'A/B/C' with ``text`` in the last one."""
    element = _nest(parent, path)
    element.text = text
    return element


def pain008(
    *,
    message_id: str,
    created_at: datetime,
    initiating_party: str,
    creditor: Creditor,
    collection_date: date,
    lines: Sequence[DebitLine],
) -> bytes:
    """The pain.008.001.02 document, UTF-8 encoded with its XML declaration."""
    if not lines:
        raise ValueError("a direct-debit file needs at least one transaction")
    unknown = {line.sequence for line in lines} - set(SEQUENCE_ORDER)
    if unknown:
        raise ValueError(f"unknown sequence types: {sorted(unknown)}")
    document = ET.Element("Document", {"xmlns": NAMESPACE})
    root = _sub(document, "CstmrDrctDbtInitn")
    header = _sub(root, "GrpHdr")
    _sub(header, "MsgId", sepa_id(message_id))
    _sub(header, "CreDtTm", created_at.replace(microsecond=0, tzinfo=None).isoformat())
    _sub(header, "NbOfTxs", str(len(lines)))
    _sub(header, "CtrlSum", amount(sum(line.amount_cents for line in lines)))
    _path(header, "InitgPty/Nm", sepa_text(initiating_party, NAME_MAX))
    for sequence in SEQUENCE_ORDER:
        block = [line for line in lines if line.sequence == sequence]
        if block:
            _payment_block(root, message_id, sequence, creditor, collection_date, block)
    ET.indent(document)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(document, encoding="unicode").encode()


def _payment_block(
    root: ET.Element,
    message_id: str,
    sequence: str,
    creditor: Creditor,
    collection_date: date,
    lines: list[DebitLine],
) -> None:
    info = _sub(root, "PmtInf")
    _sub(info, "PmtInfId", sepa_id(payment_info_id(message_id, sequence)))
    _sub(info, "PmtMtd", "DD")
    _sub(info, "BtchBookg", "true")
    _sub(info, "NbOfTxs", str(len(lines)))
    _sub(info, "CtrlSum", amount(sum(line.amount_cents for line in lines)))
    kind = _sub(info, "PmtTpInf")
    _path(kind, "SvcLvl/Cd", "SEPA")
    _path(kind, "LclInstrm/Cd", "CORE")
    _sub(kind, "SeqTp", sequence)
    _sub(info, "ReqdColltnDt", collection_date.isoformat())
    _path(info, "Cdtr/Nm", sepa_text(creditor.name, NAME_MAX))
    _path(info, "CdtrAcct/Id/IBAN", creditor.iban)
    _path(info, "CdtrAgt/FinInstnId/BIC", creditor.bic)
    _sub(info, "ChrgBr", "SLEV")
    scheme = _nest(info, "CdtrSchmeId/Id/PrvtId/Othr")
    _sub(scheme, "Id", creditor.creditor_id)
    _path(scheme, "SchmeNm/Prtry", "SEPA")
    for line in lines:
        transaction = _sub(info, "DrctDbtTxInf")
        _path(transaction, "PmtId/EndToEndId", sepa_id(line.end_to_end_id))
        _sub(transaction, "InstdAmt", amount(line.amount_cents), Ccy="EUR")
        mandate = _nest(transaction, "DrctDbtTx/MndtRltdInf")
        _sub(mandate, "MndtId", sepa_id(line.rum))
        _sub(mandate, "DtOfSgntr", line.signed_on.isoformat())
        agent = _nest(transaction, "DbtrAgt/FinInstnId")
        if line.debtor_bic:
            _sub(agent, "BIC", line.debtor_bic)
        else:
            _path(agent, "Othr/Id", NOT_PROVIDED)
        _path(transaction, "Dbtr/Nm", sepa_text(line.debtor_name, NAME_MAX) or "Debiteur")
        _path(transaction, "DbtrAcct/Id/IBAN", line.debtor_iban)
        _path(transaction, "RmtInf/Ustrd", sepa_text(line.remittance, REMITTANCE_MAX))


def batch_xml(db: "Session", *, batch_id: int, creditor_iban: str = "", creditor_bic: str = "") -> bytes:
    """The pain.008 file of a batch, made from what the database holds (the same file each time).

    The creditor's account is the régie's (``regie.sepa_iban``, ``sepa_bic``) unless given."""
    from regie_tui.services.common.validation import check_bic, check_iban
    from regie_tui.services.payments.sepa.batches import batch_content, creditor_account

    content = batch_content(db, batch_id=batch_id)
    if not creditor_iban or not creditor_bic:
        creditor_iban, creditor_bic = creditor_account(db, batch_id=batch_id)
    return pain008(
        message_id=content.message_id,
        created_at=content.created_at,
        initiating_party=content.creditor_name,
        creditor=Creditor(
            name=content.creditor_name,
            iban=check_iban(creditor_iban),
            bic=check_bic(creditor_bic, required=True),
            creditor_id=content.creditor_id,
        ),
        collection_date=content.collection_date,
        lines=content.lines,
    )


def export_file(
    db: "Session",
    *,
    regie_code: str,
    month: date,
    collection_date: date,
    today: date,
    agent_id: int | None,
    creditor_iban: str = "",
    creditor_bic: str = "",
    now: datetime | None = None,
) -> tuple[bytes, ExportSummary]:
    """Export the month's debits (``sepa.export.export_debits``, in the caller's transaction) and make
    their file; the régie's account is checked first, so a bad one writes nothing."""
    from regie_tui.services.common.regies import regie_by_code
    from regie_tui.services.common.validation import check_bic, check_iban
    from regie_tui.services.payments.sepa.batches import regie_account
    from regie_tui.services.payments.sepa.export import export_debits

    if not creditor_iban or not creditor_bic:
        creditor_iban, creditor_bic = regie_account(regie_by_code(db, code=regie_code))
    iban = check_iban(creditor_iban)
    bic = check_bic(creditor_bic, required=True)
    summary = export_debits(
        db,
        regie_code=regie_code,
        month=month,
        collection_date=collection_date,
        today=today,
        agent_id=agent_id,
        now=now,
    )
    return batch_xml(db, batch_id=summary.batch_id, creditor_iban=iban, creditor_bic=bic), summary
