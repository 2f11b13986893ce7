"""The portal's submissions file: each line checked alone, stored whole or rejected with its reason."""

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.clock import PARIS
from regie_tui.db import make_engine
from regie_tui.models import (
    Activity,
    AgeGroup,
    AuditEntry,
    AuthorizedPerson,
    Child,
    Document,
    DocumentScope,
    DocumentType,
    Enrollment,
    EnrollmentStatus,
    Family,
    Guardian,
    Invoice,
    Message,
    PortalAccount,
    PortalImport,
    PortalLogin,
    StoredFile,
    Submission,
    Unit,
)
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.portal.intake.lines import Rejection
from regie_tui.services.portal.intake.run import ImportSummary, import_submissions

from helpers import get_row

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
BEFORE = "2026-11-23T08:15:00+01:00"
PDF = b"%PDF-1.4\n% attestation\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40


def of(name: str) -> str:
    """French "de", elided before a vowel ("d'Élise Hubert")."""
    return f"d'{name}" if name[0].lower() in "aeiouyéèêàâîô" else f"de {name}"


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


@dataclass
class Town:
    """Ids of the seeded test town that the lines refer to, looked up rather than assumed."""

    family: int  # A: has a portal account, a child with accepted enrollments, guardians, invoices
    account: str
    other: int  # B: another family with an account, a guardian and an invoice
    other_account: str
    archived: int  # C: archived by the fixture
    archived_account: str
    no_account: int | None
    unknown: int
    guardian: int
    guardian_name: str
    other_guardian: int
    child: int
    child_name: str
    activity: int
    activity_name: str
    age_group: int
    age_group_name: str
    foreign_age_group: int
    enrolled_unit: int
    not_enrolled_unit: int
    invoice: str
    other_invoice: str
    family_doc_type: int
    family_doc_name: str
    child_doc_type: int


def _find_town(db: Session) -> Town:
    accounts = dict(
        db.exec(select(PortalAccount.family_id, PortalAccount.email).order_by(col(PortalAccount.family_id))).all()
    )
    invoices: dict[int, str] = {}
    for number, fid in db.exec(select(Invoice.number, Invoice.family_id).order_by(Invoice.number)):
        invoices.setdefault(fid, number)
    accepted = db.exec(
        select(id_col(Child.id), Child.family_id, Enrollment.activity_id, Enrollment.age_group_id)
        .join(Enrollment, col(Enrollment.child_id) == col(Child.id))
        .where(Enrollment.status == EnrollmentStatus.ACCEPTED)
        .order_by(col(Child.id), col(Enrollment.activity_id))
    ).all()
    child, family, activity, group = next(row for row in accepted if row[1] in accounts and row[1] in invoices)
    child_activities = {a for c, _, a, _ in accepted if c == child}
    enrolled_unit = db.exec(select(id_col(Unit.id)).where(Unit.activity_id == activity).order_by(col(Unit.id))).first()
    not_enrolled_unit = db.exec(
        select(id_col(Unit.id)).where(col(Unit.activity_id).not_in(child_activities)).order_by(col(Unit.id))
    ).first()
    others = [f for f in accounts if f != family and f in invoices]
    other, archived = others[0], others[1]
    guardians = dict(db.exec(select(Guardian.family_id, id_col(Guardian.id)).order_by(col(Guardian.id).desc())).all())
    guardian = db.get(Guardian, guardians[family])
    kid = db.get(Child, child)
    all_families = db.exec(select(id_col(Family.id))).all()
    no_account = next((f for f in all_families if f not in accounts), None)
    foreign_group = db.exec(select(id_col(AgeGroup.id)).where(AgeGroup.activity_id != activity)).first()
    types = {
        scope: (i, n) for i, n, scope in db.exec(select(id_col(DocumentType.id), DocumentType.name, DocumentType.scope))
    }
    assert guardian and kid and enrolled_unit and not_enrolled_unit and foreign_group
    return Town(
        family=family,
        account=accounts[family],
        other=other,
        other_account=accounts[other],
        archived=archived,
        archived_account=accounts[archived],
        no_account=no_account,
        unknown=max(all_families) + 1000,
        guardian=id_of(guardian),
        guardian_name=f"{guardian.first_name} {guardian.last_name}",
        other_guardian=guardians[other],
        child=child,
        child_name=f"{kid.first_name} {kid.last_name}",
        activity=activity,
        activity_name=get_row(db, Activity, activity).name,
        age_group=group,
        age_group_name=get_row(db, AgeGroup, group).name,
        foreign_age_group=foreign_group,
        enrolled_unit=enrolled_unit,
        not_enrolled_unit=not_enrolled_unit,
        invoice=invoices[family],
        other_invoice=invoices[other],
        family_doc_type=types[DocumentScope.FAMILY][0],
        family_doc_name=types[DocumentScope.FAMILY][1],
        child_doc_type=types[DocumentScope.CHILD][0],
    )


@pytest.fixture
def db(fresh_town_url):
    engine = make_engine(fresh_town_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def town(db) -> Town:
    found = _find_town(db)
    archived = db.get(Family, found.archived)
    archived.archived_at = datetime(2026, 9, 1, tzinfo=UTC)
    db.add(archived)
    db.commit()
    return found


class Lines:
    """Builds a portal file: ``add()`` returns the line number of what it wrote."""

    def __init__(self, town: Town) -> None:
        self.town = town
        self.rows: list[bytes] = []
        self.serial = 0

    def line(self, kind: str, **keys: Any) -> dict[str, Any]:
        self.serial += 1
        obj = {
            "id": f"p-{self.serial:04d}",
            "kind": kind,
            "family": self.town.family,
            "account": self.town.account,
            "submitted_at": BEFORE,
        }
        obj.update(keys)
        return {k: v for k, v in obj.items() if v is not DROP}

    def add(self, kind: str, **keys: Any) -> int:
        return self.raw(json.dumps(self.line(kind, **keys), ensure_ascii=False).encode())

    def raw(self, data: bytes) -> int:
        self.rows.append(data)
        return len(self.rows)

    def blank(self) -> None:
        self.rows.append(b"   ")

    @property
    def data(self) -> bytes:
        return b"\n".join(self.rows) + b"\n"


DROP = object()


def good_lines(lines: Lines) -> dict[str, int]:
    """One good line of each kind (and of each way to add an entity); kind -> line number."""
    t = lines.town
    return {
        "change": lines.add(
            "change",
            entity="guardian",
            entity_id=t.guardian,
            field="mobile_phone",
            old="07 47 06 90 05",
            new="+33 6 11 22 33 44",
        ),
        "change_family": lines.add(
            "change", entity="family", entity_id=t.family, field="postal_code", old="88800", new="88 000"
        ),
        "new_person": lines.add(
            "change",
            entity="authorized_person",
            entity_id=None,
            field="",
            old=None,
            new={"first_name": "Marie", "last_name": "Durand", "phone": "0611223344", "may_collect": True},
        ),
        "new_health_note": lines.add(
            "change",
            entity="health_note",
            entity_id=None,
            field="",
            old=None,
            new={"child": t.child, "kind": "allergy", "text": "Arachide"},
        ),
        "new_child": lines.add("new_child", first_name="Léa", last_name="Martin", birth_date="2019-03-02", sex="F"),
        "enrolment": lines.add(
            "enrolment", child=t.child, activity=t.activity, age_group=t.age_group, start_date="2027-01-06"
        ),
        "booking": lines.add(
            "booking",
            child=t.child,
            cells=[{"day": f"2027-01-{d:02d}", "unit": t.enrolled_unit, "action": "book"} for d in range(4, 14)]
            + [{"day": "2027-01-20", "unit": t.enrolled_unit, "action": "cancel"}] * 1
            + [{"day": "2027-01-21", "unit": t.enrolled_unit, "action": "cancel"}],
        ),
        "document": lines.add(
            "document",
            document_type=t.family_doc_type,
            filename="caf.pdf",
            media_type="application/pdf",
            content_base64=b64(PDF),
        ),
        "child_document": lines.add(
            "document",
            document_type=t.child_doc_type,
            child=t.child,
            filename="vaccins.png",
            media_type="image/png",
            content_base64=b64(PNG),
        ),
        "message": lines.add("message", subject="Absence de Sabine", body="Sabine sera absente mercredi."),
        "payment": lines.add(
            "payment",
            invoice=t.invoice,
            amount_cents=4520,
            paid_at="2026-11-23T08:00:00+01:00",
            reference="PAYFIP-1",
            result="success",
        ),
        "payment_refused": lines.add(
            "payment",
            invoice=t.invoice,
            amount_cents=4520,
            paid_at="2026-11-23T08:01:00+01:00",
            reference="PAYFIP-2",
            result="refused",
        ),
        "login": lines.add("login"),
    }


def run(db: Session, data: bytes, filename: str = "portail.jsonl") -> ImportSummary:
    summary = import_submissions(db, data=data, filename=filename, agent=None, now=NOW)
    db.commit()
    return summary


def count(db: Session, model: Any, *conditions: Any) -> int:
    return db.exec(select(func.count()).select_from(model).where(*conditions)).one()


def by_portal_id(db: Session, portal_id: str) -> Submission:
    return db.exec(select(Submission).where(Submission.portal_id == portal_id)).one()


# ------------------------------------------------------------------------------ good lines


def test_one_good_line_of_each_kind_is_stored(db, town):
    lines = Lines(town)
    numbers = good_lines(lines)
    documents, messages, logins = count(db, Document), count(db, Message), count(db, PortalLogin)

    summary = run(db, lines.data)

    assert summary == ImportSummary(read=len(numbers), stored=len(numbers), known=0, rejected=[])
    assert summary.exit_code == 0
    rows = {s.portal_id: s for s in db.exec(select(Submission).where(col(Submission.portal_id).startswith("p-0")))}
    assert len(rows) == len(numbers)
    for row in rows.values():
        assert row.family_id == town.family and row.account == town.account
        assert row.submitted_at == datetime(2026, 11, 23, 7, 15, tzinfo=UTC)
        assert row.received_at == NOW
    sub = {name: rows[f"p-{n:04d}"] for name, n in numbers.items()}
    assert {name: s.status.value for name, s in sub.items() if s.status.value != "pending"} == {
        "payment_refused": "recorded",
        "login": "recorded",
    }

    assert sub["change"].summary == f"Téléphone portable {of(town.guardian_name)} : 07 47 06 90 05 → 06 11 22 33 44"
    assert sub["change"].payload == {
        "entity": "guardian",
        "entity_id": town.guardian,
        "field": "mobile_phone",
        "old": "07 47 06 90 05",
        "new": "+33 6 11 22 33 44",
    }
    assert sub["change_family"].summary.endswith(": 88800 → 88000")
    assert sub["new_person"].summary == "Nouvelle personne autorisée : Marie Durand"
    assert sub["new_health_note"].summary.startswith("Nouvelle information sanitaire pour")
    assert "Arachide" not in sub["new_health_note"].summary  # health data stays out of lists
    assert sub["new_child"].summary == "Nouvel enfant : Léa Martin, née le 02/03/2019"
    assert sub["enrolment"].summary.endswith(f"{town.activity_name} (groupe {town.age_group_name})")
    assert sub["enrolment"].activity_id == sub["booking"].activity_id == town.activity
    assert sub["message"].activity_id is None
    assert sub["booking"].summary.endswith(": 10 à réserver, 2 à annuler")
    assert town.child_name in sub["booking"].summary
    assert sub["message"].summary == "Message : Absence de Sabine"
    assert sub["payment"].summary == f"Paiement en ligne : {town.invoice}, 45,20\xa0€"
    assert sub["login"].summary == "Connexion au portail"
    assert sub["login"].payload == {}

    # Documents: the content kept once in stored_file, the payload without it.
    doc = sub["document"]
    assert doc.summary == f"Document : {town.family_doc_name} — caf.pdf (1 ko)"
    assert doc.payload == {
        "document_type": town.family_doc_type,
        "filename": "caf.pdf",
        "media_type": "application/pdf",
        "file_sha256": hashlib.sha256(PDF).hexdigest(),
        "size": len(PDF),
    }
    document = db.get(Document, doc.document_id)
    assert (document.family_id, document.child_id, document.status.value, document.source.value) == (
        town.family,
        None,
        "pending",
        "portal",
    )
    assert document.submitted_at == doc.submitted_at
    assert db.get(StoredFile, hashlib.sha256(PDF).hexdigest()).content == PDF
    child_doc = db.get(Document, sub["child_document"].document_id)
    assert child_doc.child_id == town.child and child_doc.filename == "vaccins.png"
    assert count(db, Document) == documents + 2

    message = db.get(Message, sub["message"].message_id)
    assert (message.direction.value, message.read_at, message.recipient, message.body) == (
        "incoming",
        None,
        "",
        "Sabine sera absente mercredi.",
    )
    assert count(db, Message) == messages + 1

    # A login and a refused payment go straight to the history.
    assert count(db, PortalLogin) == logins + 1
    account_id = db.exec(select(id_col(PortalAccount.id)).where(PortalAccount.family_id == town.family)).one()
    login = db.exec(
        select(PortalLogin).where(PortalLogin.account_id == account_id).order_by(col(PortalLogin.id).desc())
    ).first()
    assert login.at == datetime(2026, 11, 23, 7, 15, tzinfo=UTC)
    audits = {
        a.action: a
        for a in db.exec(
            select(AuditEntry)
            .where(col(AuditEntry.action).in_(["login", "online_payment_refused"]), AuditEntry.family_id == town.family)
            .order_by(col(AuditEntry.id))
        )
    }
    assert (audits["login"].entity, audits["login"].entity_id, audits["login"].family_id) == (
        "portal_account",
        account_id,
        town.family,
    )
    assert audits["login"].source.value == "portal"
    refused = audits["online_payment_refused"]
    invoice_id = db.exec(select(id_col(Invoice.id)).where(Invoice.number == town.invoice)).one()
    assert (refused.entity, refused.entity_id, refused.family_id) == ("invoice", invoice_id, town.family)
    assert refused.after == {"invoice": town.invoice, "amount_cents": 4520, "reference": "PAYFIP-2"}

    # Nothing applied at import: no child, no enrollment, no authorized person created.
    assert count(db, Child, Child.first_name == "Léa", Child.last_name == "Martin") == 0
    assert count(db, AuthorizedPerson, AuthorizedPerson.last_name == "Durand") == 0

    # The run itself, and the file kept by its hash.
    run_row = db.exec(select(PortalImport).order_by(col(PortalImport.id).desc())).first()
    assert (run_row.filename, run_row.read, run_row.stored, run_row.known, run_row.rejected) == (
        "portail.jsonl",
        len(numbers),
        len(numbers),
        0,
        0,
    )
    assert run_row.imported_at == NOW
    stored = db.get(StoredFile, hashlib.sha256(lines.data).hexdigest())
    assert stored.content == lines.data and stored.media_type == "application/x-ndjson"


def test_content_sha256_is_the_canonical_json_of_the_line(db, town):
    lines = Lines(town)
    lines.raw(
        f'{{ "submitted_at":"{BEFORE}", "kind":"login", "account":"{town.account}", "family":{town.family},'
        ' "id":"p-canon" }'.encode()
    )
    run(db, lines.data)
    obj = {"id": "p-canon", "kind": "login", "family": town.family, "account": town.account, "submitted_at": BEFORE}
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert by_portal_id(db, "p-canon").content_sha256 == hashlib.sha256(canonical.encode()).hexdigest()


# ------------------------------------------------------------------------------- bad lines


def test_each_bad_line_is_rejected_with_its_line_number_and_reason(db, town):
    t = town
    lines = Lines(t)
    good = good_lines(lines)
    lines.blank()
    expected: dict[int, tuple[str | None, str]] = {}

    def bad(reason: str, kind: str, **keys: Any) -> None:
        number = lines.add(kind, **keys)
        expected[number] = (f"p-{lines.serial:04d}", reason)

    def bad_raw(reason: str, data: bytes, portal_id: str | None = None) -> None:
        expected[lines.raw(data)] = (portal_id, reason)

    change = {"entity": "guardian", "entity_id": t.guardian, "field": "mobile_phone", "old": ""}
    message = {"subject": "Objet", "body": "Texte"}
    document = {"document_type": t.family_doc_type, "filename": "caf.pdf", "media_type": "application/pdf"}
    payment = {"amount_cents": 100, "paid_at": BEFORE, "reference": "R1", "result": "success"}
    cell = {"day": "2027-01-04", "unit": t.enrolled_unit, "action": "book"}

    bad_raw("JSON invalide", b'{"id": "p-x", "kind": ')
    bad_raw("UTF-8", b'{"id": "p-\xff", "kind": "login"}')
    bad_raw("objet JSON", b'["login"]')
    bad_raw("donnée deux fois", b'{"id": "p-a", "id": "p-b", "kind": "login"}')
    bad_raw("NaN n'est pas un nombre admis", b'{"id": "p-nan", "kind": "login", "family": NaN}')
    bad_raw("caractère nul", b'{"id": "p-nul", "kind": "message", "subject": "a\\u0000b"}', "p-nul")
    bad_raw("caractère Unicode invalide", b'{"id": "p-sur", "kind": "message", "subject": "\\ud800"}', "p-sur")
    bad(f"famille n° {10**30} inconnue", "login", family=10**30)
    bad("clé(s) inconnue(s) pour « login » : « extra »", "login", extra=1)
    bad("clé(s) manquante(s) : « body »", "message", subject="Objet")
    bad("clé(s) manquante(s) : « submitted_at »", "login", submitted_at=DROP)
    bad("« family » doit être un nombre entier.", "login", family=str(t.family))
    bad("« family » doit être un nombre entier (pas un booléen).", "login", family=True)
    bad(
        "« amount_cents » doit être un nombre entier (pas un booléen).",
        "payment",
        invoice=t.invoice,
        **{**payment, "amount_cents": True},
    )
    bad("« new » doit être", "change", **change, new=12)
    number = lines.add("login", id="x" * 65)
    expected[number] = (None, "« id » : de 1 à 64 caractères.")
    bad('type de demande inconnu : "gift"', "gift")
    bad(f"famille n° {t.unknown} inconnue", "login", family=t.unknown)
    bad(f"la famille n° {t.archived} est archivée", "login", family=t.archived, account=t.archived_account)
    if t.no_account is not None:
        bad("n'a pas de compte sur le portail", "login", family=t.no_account)
    bad(
        f"le compte « {t.other_account} » n'est pas celui de la famille n° {t.family}", "login", account=t.other_account
    )
    bad("décalage horaire manquant", "login", submitted_at="2026-11-23T08:15:00")
    bad("n'est pas une date-heure ISO 8601", "login", submitted_at="23/11/2026 08:15")
    bad("« submitted_at » est dans le futur", "login", submitted_at="2026-11-23T10:00:01+01:00")
    # change
    bad("le champ « Nom » ne se modifie pas depuis le portail", "change", **{**change, "field": "last_name"}, new="X")
    bad("champ inconnu", "change", **{**change, "field": "version"}, new="2")
    bad("inconnu(e) dans cette famille", "change", **{**change, "entity_id": t.other_guardian}, new="0611223344")
    bad(
        "une famille ne modifie que sa fiche",
        "change",
        entity="family",
        entity_id=t.other,
        field="city",
        old="",
        new="Épinal",
    )
    bad("entité inconnue", "change", **{**change, "entity": "invoice"}, new="x")
    bad("numéro de téléphone invalide", "change", **change, new="12 34")
    bad("adresse e-mail invalide", "change", **{**change, "field": "email"}, new="pas-un-mail")
    bad(
        "code postal invalide",
        "change",
        entity="family",
        entity_id=t.family,
        field="postal_code",
        old="",
        new="8880",
    )
    bad(
        "« child » (n° de l'enfant) attendu",
        "change",
        entity="health_note",
        entity_id=None,
        field="",
        old=None,
        new={"kind": "allergy", "text": "Arachide"},
    )
    bad(
        "on ne peut pas ajouter de famille depuis le portail",
        "change",
        entity="family",
        entity_id=None,
        field="",
        old=None,
        new={"city": "Vittel"},
    )
    # new_child
    kid = {"first_name": "Léa", "last_name": "Martin", "sex": "F"}
    bad("moins de 18 ans", "new_child", **kid, birth_date="2008-11-23")
    bad("dans le passé", "new_child", **kid, birth_date="2027-01-01")
    bad("« birth_date » : « 02/03/2019 » n'est pas une date AAAA-MM-JJ", "new_child", **kid, birth_date="02/03/2019")
    bad("F ou M attendu", "new_child", **{**kid, "sex": "X"}, birth_date="2019-03-02")
    bad("n'est pas un nom valide", "new_child", **{**kid, "first_name": "L3a"}, birth_date="2019-03-02")
    # enrollment
    bad(
        f"le groupe n° {t.foreign_age_group} n'est pas un groupe de « {t.activity_name} »",
        "enrolment",
        child=t.child,
        activity=t.activity,
        age_group=t.foreign_age_group,
    )
    bad("n'est pas un enfant de cette famille", "enrolment", child=999_999, activity=t.activity, age_group=t.age_group)
    # booking
    bad(
        f"case n° 2 : l'unité n° {t.not_enrolled_unit} n'est pas d'une activité où",
        "booking",
        child=t.child,
        cells=[cell, {**cell, "unit": t.not_enrolled_unit}],
    )
    bad("« cells » : de 1 à 400 cases (0 reçues)", "booking", child=t.child, cells=[])
    bad("« cells » : de 1 à 400 cases (401 reçues)", "booking", child=t.child, cells=[cell] * 401)
    bad("case n° 1 : clé(s) inconnue(s) « when »", "booking", child=t.child, cells=[{**cell, "when": "am"}])
    bad("case n° 1 : « action » vaut « book » ou « cancel »", "booking", child=t.child, cells=[{**cell, "action": "x"}])
    bad("case n° 2 : le 2027-01-04", "booking", child=t.child, cells=[cell, cell])
    # document
    bad(
        "« child » manquant",
        "document",
        **{**document, "document_type": t.child_doc_type},
        content_base64=b64(PDF),
    )
    bad("« child » en trop", "document", **document, child=t.child, content_base64=b64(PDF))
    bad("sans chemin", "document", **{**document, "filename": "../caf.pdf"}, content_base64=b64(PDF))
    bad("sans chemin", "document", **{**document, "filename": "C:\\docs\\caf.pdf"}, content_base64=b64(PDF))
    bad("« filename » : de 1 à 200 caractères", "document", **{**document, "filename": ""}, content_base64=b64(PDF))
    bad("le contenu n'est pas un fichier PDF", "document", **document, content_base64=b64(PNG))
    bad(
        "le contenu n'est pas un fichier JPEG",
        "document",
        **{**document, "media_type": "image/jpeg"},
        content_base64=b64(PDF),
    )
    bad(
        "« media_type » : « text/plain »",
        "document",
        **{**document, "media_type": "text/plain"},
        content_base64=b64(PDF),
    )
    bad("n'est pas du base64 valide", "document", **document, content_base64="JVBER*i0=")
    bad(
        "document trop volumineux : 10 Mo au plus",
        "document",
        **document,
        content_base64=b64(PDF + b"\x00" * (10 * 1024 * 1024 + 1 - len(PDF))),
    )
    # message
    bad("« subject » est vide", "message", **{**message, "subject": "  "})
    bad("« subject » : 200 caractères au plus", "message", **{**message, "subject": "x" * 201})
    bad("« body » : 10\xa0000 caractères au plus", "message", **{**message, "body": "x" * 10_001})
    # payment
    bad(f"la facture « {t.other_invoice} » n'est pas de cette famille", "payment", invoice=t.other_invoice, **payment)
    bad("facture « pop-F999900001 » inconnue", "payment", invoice="pop-F999900001", **payment)
    bad("« amount_cents » doit être supérieur à 0", "payment", invoice=t.invoice, **{**payment, "amount_cents": 0})
    bad("« result » : « pending »", "payment", invoice=t.invoice, **{**payment, "result": "pending"})
    bad(
        "« paid_at » : décalage horaire manquant",
        "payment",
        invoice=t.invoice,
        **{**payment, "paid_at": "2026-11-23T08:00:00"},
    )
    lines.blank()
    last_good = lines.add("message", **message)

    before = {model: count(db, model) for model in (Document, Message, PortalLogin, Submission)}
    files = count(db, StoredFile)
    summary = run(db, lines.data)

    reasons = {r.line: (r.id, r.reason) for r in summary.rejected}
    assert sorted(reasons) == sorted(expected)
    for number, (portal_id, reason) in expected.items():
        got_id, got_reason = reasons[number]
        assert got_id == portal_id, (number, got_id)
        assert reason in got_reason, (number, got_reason)
    assert [r.line for r in summary.rejected] == sorted(expected)
    assert summary.read == len(lines.rows) - 2  # the two blank lines are not read
    assert summary.stored == len(good) + 1 and summary.known == 0
    assert summary.exit_code == 1
    # Rejected lines stored nothing; the good ones around them everything.
    assert count(db, Submission) == before[Submission] + len(good) + 1
    assert count(db, Document) == before[Document] + 2
    assert count(db, Message) == before[Message] + 2
    assert count(db, PortalLogin) == before[PortalLogin] + 1
    assert count(db, StoredFile) == files + 3  # caf.pdf, vaccins.png and the file itself
    assert by_portal_id(db, f"p-{lines.serial:04d}").summary == "Message : Objet"
    assert last_good == len(lines.rows)


def test_a_health_note_change_names_the_field_not_its_values(db, town):
    lines = Lines(town)
    lines.add(
        "change",
        entity="health_note",
        entity_id=None,
        field="",
        old=None,
        new={"child": town.child, "kind": "allergy", "text": "Arachide"},
    )
    run(db, lines.data)
    assert "Arachide" not in by_portal_id(db, "p-0001").summary


# ----------------------------------------------------------------------------- idempotence


def test_importing_the_same_file_again_stores_nothing_and_reports_known(db, town):
    lines = Lines(town)
    numbers = good_lines(lines)
    first = run(db, lines.data)
    counts = {model: count(db, model) for model in (Submission, Document, Message, PortalLogin, StoredFile)}
    audits = count(db, AuditEntry, AuditEntry.action != "import")

    again = run(db, lines.data, filename="encore.jsonl")

    assert first.stored == len(numbers)
    assert again == ImportSummary(read=len(numbers), stored=0, known=len(numbers), rejected=[])
    assert {model: count(db, model) for model in counts} == counts  # the file too: stored once by its hash
    assert count(db, AuditEntry, AuditEntry.action != "import") == audits
    runs = db.exec(select(PortalImport).order_by(col(PortalImport.id))).all()[-2:]
    assert [(r.filename, r.stored, r.known) for r in runs] == [
        ("portail.jsonl", len(numbers), 0),
        ("encore.jsonl", 0, len(numbers)),
    ]
    assert runs[0].file_sha256 == runs[1].file_sha256 == hashlib.sha256(lines.data).hexdigest()


def test_the_same_id_with_other_content_is_rejected_also_inside_one_file(db, town):
    lines = Lines(town)
    lines.add("message", id="p-1", subject="Objet", body="Texte")
    run(db, lines.data)

    second = Lines(town)
    second.add("message", id="p-1", subject="Objet", body="Texte")  # known
    second.add("message", id="p-1", subject="Objet", body="Autre texte")  # changed since
    second.add("login", id="p-2")  # new
    second.add("login", id="p-2")  # the same line twice in one file
    second.add("login", id="p-2", submitted_at="2026-11-23T08:16:00+01:00")
    summary = run(db, second.data)

    assert summary == ImportSummary(
        read=5,
        stored=1,
        known=2,
        rejected=[
            Rejection(2, "p-1", "déjà reçue avec un autre contenu"),
            Rejection(5, "p-2", "déjà reçue avec un autre contenu"),
        ],
    )
    assert by_portal_id(db, "p-1").payload["body"] == "Texte"
    assert count(db, Submission, Submission.portal_id == "p-2") == 1


def test_a_rejected_line_does_not_reserve_its_id(db, town):
    lines = Lines(town)
    lines.add("message", id="p-1", subject="", body="Texte")
    lines.add("message", id="p-1", subject="Objet", body="Texte")
    summary = run(db, lines.data)
    assert (summary.stored, [r.line for r in summary.rejected]) == (1, [1])


def test_same_document_content_twice_is_stored_once(db, town):
    lines = Lines(town)
    for name in ("a.jpg", "b.jpg"):
        lines.add(
            "document",
            document_type=town.family_doc_type,
            filename=name,
            media_type="image/jpeg",
            content_base64=b64(JPEG),
        )
    summary = run(db, lines.data)
    assert summary.stored == 2
    sha = hashlib.sha256(JPEG).hexdigest()
    assert count(db, StoredFile, StoredFile.sha256 == sha) == 1
    assert count(db, Document, Document.file_sha256 == sha) == 2


def test_an_empty_file_and_blank_lines(db, town):
    assert run(db, b"") == ImportSummary(read=0, stored=0, known=0, rejected=[])
    lines = Lines(town)
    lines.blank()
    lines.raw(b"")
    number = lines.add("login")
    lines.raw(b"\t\r")
    summary = run(db, lines.data.replace(b"\n", b"\r\n"))
    assert (summary.read, summary.stored, summary.rejected) == (1, 1, [])
    assert number == 3


def test_as_json_is_the_contract_shape():
    summary = ImportSummary(read=3, stored=1, known=1, rejected=[Rejection(2, None, "JSON invalide (colonne 1).")])
    assert summary.as_json() == {
        "read": 3,
        "stored": 1,
        "known": 1,
        "rejected": [{"line": 2, "id": None, "reason": "JSON invalide (colonne 1)."}],
    }
    assert summary.exit_code == 1


def test_each_submission_points_to_its_own_message_and_document(db, town):
    lines = Lines(town)
    for n in range(6):
        at = f"2026-11-23T08:{n // 2:02d}:00+01:00"  # two by two at the same minute
        lines.add("message", subject="Absence", body=f"Texte {n % 3}", submitted_at=at)
        lines.add(
            "document",
            document_type=town.family_doc_type,
            filename=f"piece-{n % 2}.pdf",
            media_type="application/pdf",
            content_base64=b64(PDF + bytes([n % 3])),
            submitted_at=at,
        )
    summary = run(db, lines.data)
    assert summary.stored == 12
    rows = db.exec(select(Submission).where(col(Submission.portal_id).startswith("p-0"))).all()
    messages = [r for r in rows if r.message_id is not None]
    documents = [r for r in rows if r.document_id is not None]
    assert len({r.message_id for r in messages}) == len({r.document_id for r in documents}) == 6
    for row in messages:
        message = db.get(Message, row.message_id)
        assert (message.body, message.sent_at) == (row.payload["body"], row.submitted_at)
    for row in documents:
        document = db.get(Document, row.document_id)
        assert (document.filename, document.file_sha256, document.submitted_at) == (
            row.payload["filename"],
            row.payload["file_sha256"],
            row.submitted_at,
        )


def test_an_online_payment_beyond_the_invoice_s_balance_is_rejected(db, town):
    """A success may not exceed the balance due at the import (a paid or cancelled invoice is due nothing);
    a refused payment moved no money and goes to the history whatever its amount."""
    from regie_tui.models import InvoiceStatus
    from regie_tui.services.billing.accounts import invoice_balance

    from builders import add_invoice, pay

    t = town
    invoice = db.exec(select(Invoice).where(Invoice.number == t.invoice)).one()
    balance = invoice_balance(db, invoice=invoice)
    assert balance > 0
    paid_id = add_invoice(db, t.family, invoice.regie_id, "pop-F261099001", 5_000)
    pay(db, t.family, invoice.regie_id, paid_id, 5_000, "pop-R261099001")
    cancelled_id = add_invoice(db, t.family, invoice.regie_id, "pop-F261099002", 5_000)
    db.get(Invoice, cancelled_id).status = InvoiceStatus.CANCELLED
    db.commit()

    lines = Lines(t)
    payment = {"paid_at": BEFORE, "reference": "PAYFIP-X", "result": "success"}
    over = lines.add("payment", invoice=t.invoice, **{**payment, "amount_cents": balance + 1})
    exact = lines.add("payment", invoice=t.invoice, **{**payment, "amount_cents": balance})
    refused = lines.add("payment", invoice=t.invoice, **{**payment, "amount_cents": balance + 1, "result": "refused"})
    on_paid = lines.add("payment", invoice="pop-F261099001", **{**payment, "amount_cents": 100})
    on_cancelled = lines.add("payment", invoice="pop-F261099002", **{**payment, "amount_cents": 100})
    submissions = count(db, Submission)
    summary = run(db, lines.data)

    from regie_tui.formatting import money as _money

    due = _money(balance)
    assert [(r.line, r.id, r.reason) for r in summary.rejected] == [
        (
            over,
            "p-0001",
            f"« amount_cents » : {_money(balance + 1)} dépasse le solde dû de la facture « {t.invoice} » ({due}).",
        ),
        (
            on_paid,
            "p-0004",
            "« amount_cents » : 1,00\xa0€ dépasse le solde dû de la facture « pop-F261099001 » (0,00\xa0€).",
        ),
        (
            on_cancelled,
            "p-0005",
            "« amount_cents » : 1,00\xa0€ dépasse le solde dû de la facture « pop-F261099002 » (0,00\xa0€).",
        ),
    ]
    assert summary.stored == 2 and summary.exit_code == 1
    assert count(db, Submission) == submissions + 2
    ids = [f"p-{n:04d}" for n in (over, exact, refused, on_paid, on_cancelled)]
    stored = {s.portal_id: s.status for s in db.exec(select(Submission).where(col(Submission.portal_id).in_(ids)))}
    assert stored == {f"p-{exact:04d}": "pending", f"p-{refused:04d}": "recorded"}
