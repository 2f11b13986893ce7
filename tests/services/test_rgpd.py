"""RGPD rights (issue 15, point 8): a family's export, and the purge of archived families."""

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from regie_tui.db import make_engine
from regie_tui.errors import AccessDenied, RegieError
from regie_tui.models import (
    Allocation,
    AuditEntry,
    AuthorizedPerson,
    Child,
    ChildDiet,
    CreditNote,
    Document,
    DocumentStatus,
    DocumentType,
    Family,
    FamilySearchWord,
    Guardian,
    HealthNote,
    Invoice,
    InvoiceLine,
    Mandate,
    Message,
    MessageDirection,
    Payment,
    PortalAccount,
    Source,
    StoredFile,
    Submission,
    SubmissionKind,
)
from regie_tui.services.billing.accounts import family_balances
from regie_tui.services.common.sql import id_col
from regie_tui.services.families import rgpd_export, rgpd_purge
from regie_tui.services.families.edit import archive_family
from regie_tui.services.families.rgpd_export import family_export
from regie_tui.services.families.rgpd_purge import purge
from regie_tui.services.trust.agents import resolve_agent

from helpers import ADMIN_LOGIN, TODAY, get_row

ACCUEIL, REGISSEUR = "smoreau", "jbernard"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
#: Every booking of the seeded town is before this day (its school year ends in August 2027).
BEFORE = date(2028, 1, 1)
LATER = date(2028, 6, 1)
#: Families of the seeded town: purged (archived, quiet), archived but active, never archived.
PURGED = (7, 9, 12)  # messages; a health note, documents, a mandate; a health note, an online payment
ACTIVE_ARCHIVED = 8
UNTOUCHED = 6  # a health note, a mandate


@pytest.fixture
def town(fresh_town_url):
    engine = make_engine(fresh_town_url)
    yield engine
    engine.dispose()


def agent(session: Session, login: str = ADMIN_LOGIN):
    return resolve_agent(session, login)


# ------------------------------------------------------------------ export


def test_the_export_holds_the_family_file_health_notes_invoices_and_documents(town):
    with Session(town, expire_on_commit=False) as session:
        note = session.exec(
            select(HealthNote).join(Child, col(Child.id) == HealthNote.child_id).where(Child.family_id == 9)
        ).one()
        invoices = session.exec(select(Invoice).where(Invoice.family_id == 9).order_by(Invoice.number)).all()
        lines = session.exec(
            select(func.count()).select_from(InvoiceLine).join(Invoice).where(Invoice.family_id == 9)
        ).one()
        payments = session.exec(select(Payment).where(Payment.family_id == 9)).all()
        documents = session.exec(select(Document).where(Document.family_id == 9)).all()
        guardians = session.exec(select(Guardian).where(Guardian.family_id == 9)).all()
        found = family_export(session, family_id=9, agent=agent(session, ACCUEIL), now=NOW)
        session.commit()

    data = found.data
    assert data["format"] == rgpd_export.EXPORT_FORMAT and data["exported_by"]["login"] == ACCUEIL
    assert data["family"]["id"] == 9 and data["family"]["name"] == found.family_name == "BAZIN"
    assert {g["email"] for g in data["guardians"]} == {g.email for g in guardians}
    assert [(n["text"], n["kind"]) for n in data["health_notes"]] == [(note.text, note.kind.value)]
    assert [i["number"] for i in data["invoices"]] == [i.number for i in invoices]
    assert [i["total_cents"] for i in data["invoices"]] == [i.total_cents for i in invoices]
    assert sum(len(i["lines"]) for i in data["invoices"]) == lines
    assert sorted(p["amount_cents"] for p in data["payments"]) == sorted(p.amount_cents for p in payments)
    assert all(p["allocations"] for p in data["payments"])
    assert data["balance_cents"] == sum(i["balance_cents"] for i in data["invoices"])
    assert len(data["mandates"]) == 1 and len(data["mandates"][0]["iban"]) >= 15  # the family's own: whole
    assert data["bookings"] and {b["state"] for b in data["bookings"]} and data["enrolments"]
    assert data["history"] and all(h["family_id"] == 9 for h in data["history"])
    assert {s["kind"] for s in data["submissions"]} >= {"document", "login"}
    assert data["portal_account"]["email"] and data["portal_account"]["logins"]
    assert data["consents"] and data["quotients"]
    # Instants in UTC, dates ISO, money in cents: and the whole of it is JSON.
    assert data["exported_at"] == "2026-11-23T10:00:00+00:00"
    assert date.fromisoformat(data["children"][0]["birth_date"])
    assert datetime.fromisoformat(data["history"][0]["at"]).tzinfo is not None
    assert json.loads(json.dumps(data, sort_keys=True)) == data
    # The documents' files, byte for byte, at the paths the JSON names.
    assert len(found.files) == len(documents)
    paths = {d["id"]: d["exported_as"] for d in data["documents"]}
    with Session(town, expire_on_commit=False) as session:
        for file in found.files:
            document = session.get(Document, file.document_id)
            assert document is not None
            stored = session.get(StoredFile, document.file_sha256)
            assert stored is not None
            assert file.content == stored.content and hashlib.sha256(file.content).hexdigest() == stored.sha256
            assert paths[file.document_id] == file.path
            assert file.path.startswith("famille-9-documents/") and "/" not in file.path.split("/", 1)[1]
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "rgpd_export")).one()
    assert (entry.entity, entry.entity_id, entry.family_id) == ("family", 9, 9)
    assert entry.after == {"files": ["famille-9-rgpd.json", "famille-9-rgpd.pdf"], "documents": len(documents)}


def test_the_export_is_refused_to_a_regisseur_and_to_no_family(town):
    with Session(town, expire_on_commit=False) as session:
        with pytest.raises(AccessDenied, match="export RGPD"):
            family_export(session, family_id=9, agent=agent(session, REGISSEUR), now=NOW)
        with pytest.raises(RegieError, match="Aucune famille n° 999"):
            family_export(session, family_id=999, agent=agent(session), now=NOW)
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "rgpd_export")).first() is None


# ------------------------------------------------------------------ purge


def archive(town, *family_ids: int) -> None:
    """Archive the families, their debts settled first (a family that owes is never purged)."""
    from regie_tui.models import Invoice, PaymentMode
    from regie_tui.services.billing.accounts import family_invoices
    from regie_tui.services.payments.recording import record_payment

    with Session(town, expire_on_commit=False) as session:
        admin = agent(session)
        for family_id in family_ids:
            for row in family_invoices(session, family_id):
                if row.balance_cents > 0 and row.status == "issued":
                    regie_id = get_row(session, Invoice, row.id).regie_id
                    record_payment(
                        session,
                        family_id=family_id,
                        regie_id=regie_id,
                        mode=PaymentMode.TRANSFER,
                        amount_cents=row.balance_cents,
                        received_on=TODAY,
                        agent_id=admin.id,
                        invoice_numbers=[row.number],
                    )
            archive_family(session, family_id=family_id, agent_id=admin.id)
        session.commit()


def test_a_family_that_still_owes_keeps_its_identity(town):
    with Session(town, expire_on_commit=False) as session:
        archive_family(session, family_id=12, agent_id=agent(session).id)
        session.commit()
        owed = family_balances(session, [12])[12]
        assert owed > 0
        done = purge(session, before=BEFORE, agent=agent(session), today=LATER)
        session.commit()
        assert done.owing == ((12, owed),) and 12 not in [f.id for f in done.families]
        assert get_row(session, Family, 12).name == "GRÉGOIRE"


def money_totals(session: Session) -> dict[str, int]:
    """The town's accounting: what purging must never change."""
    return {
        "invoices": session.exec(select(func.sum(Invoice.total_cents))).one(),
        "lines": session.exec(select(func.sum(InvoiceLine.amount_cents))).one(),
        "payments": session.exec(select(func.sum(Payment.amount_cents))).one(),
        "allocations": session.exec(select(func.sum(Allocation.amount_cents))).one(),
        "credit_notes": session.exec(select(func.coalesce(func.sum(CreditNote.amount_cents), 0))).one(),
        "invoice_count": session.exec(select(func.count()).select_from(Invoice)).one(),
        "payment_count": session.exec(select(func.count()).select_from(Payment)).one(),
    }


def accounting_rows(session: Session, family_id: int) -> list[tuple[Any, ...]]:
    invoices = session.exec(
        select(col(Invoice.number), col(Invoice.total_cents), col(Invoice.status), col(Invoice.issue_date)).where(
            Invoice.family_id == family_id
        )
    ).all()
    payments = session.exec(
        select(
            col(Payment.receipt_number), col(Payment.amount_cents), col(Payment.mode), col(Payment.received_on)
        ).where(Payment.family_id == family_id)
    ).all()
    return sorted(invoices) + sorted(payments)


def family_state(session: Session, family_id: int) -> tuple[Any, ...]:
    family = session.get(Family, family_id)
    assert family is not None
    notes = session.exec(
        select(func.count()).select_from(HealthNote).join(Child).where(Child.family_id == family_id)
    ).one()
    guardians = session.exec(select(Guardian.last_name, Guardian.email).where(Guardian.family_id == family_id)).all()
    documents = session.exec(select(func.count()).select_from(Document).where(Document.family_id == family_id)).one()
    return family.name, family.address, family.version, notes, sorted(guardians), documents


def a_private_document(session: Session, family_id: int) -> str:
    """A document whose file no one else has: the purge deletes the file with it."""
    content = b"%PDF-1.4 justificatif de la famille " + str(family_id).encode() + b"\n%%EOF"
    sha = hashlib.sha256(content).hexdigest()
    session.add(StoredFile(sha256=sha, size=len(content), media_type="application/pdf", content=content))
    type_id = session.exec(select(id_col(DocumentType.id)).order_by(col(DocumentType.id))).first()
    assert type_id is not None
    session.add(
        Document(
            family_id=family_id,
            document_type_id=type_id,
            file_sha256=sha,
            filename="justificatif.pdf",
            status=DocumentStatus.ACCEPTED,
            source=Source.AGENT,
            submitted_at=datetime(2026, 10, 1, 9, 0, tzinfo=UTC),
        )
    )
    return sha


def personal_values(session: Session, family_id: int) -> set[str]:
    """The e-mails and phones of the family's people, and its name: unique enough to look for anywhere."""
    values = {get_row(session, Family, family_id).name}
    for g in session.exec(select(Guardian).where(Guardian.family_id == family_id)):
        values |= {g.email, g.mobile_phone, f"{g.first_name} {g.last_name}"}
    for p in session.exec(select(AuthorizedPerson).where(AuthorizedPerson.family_id == family_id)):
        values |= {p.phone}
    account = session.exec(select(PortalAccount).where(PortalAccount.family_id == family_id)).first()
    if account:
        values.add(account.email)
    return {v for v in values if v}


def rows_holding(engine, values: set[str]) -> list[str]:
    """Tables (but the audit trail and the stored files' bytes) with a text holding one of ``values``."""
    found = []
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in ("audit_entry", "stored_file", "alembic_version"):
                continue
            for row in connection.execute(sa.select(table)):
                text = json.dumps([str(v) for v in row], ensure_ascii=False)
                found += [f"{table.name}: {v}" for v in values if v in text]
    return found


def test_the_purge_anonymises_quiet_archived_families_and_keeps_their_accounts(town):
    archive(town, *PURGED, ACTIVE_ARCHIVED)
    with Session(town, expire_on_commit=False) as session:
        session.add(  # an archived family still writing: not quiet since BEFORE
            Message(
                family_id=ACTIVE_ARCHIVED,
                direction=MessageDirection.INCOMING,
                subject="Toujours là",
                body="Nous revenons en septembre.",
                sent_at=datetime(2028, 2, 1, 9, 0, tzinfo=UTC),
            )
        )
        private = a_private_document(session, 9)
        shared = session.exec(select(Document.file_sha256).where(Document.family_id == 9)).first()
        session.commit()
        totals = money_totals(session)
        accounts = {f: accounting_rows(session, f) for f in PURGED}
        balances = family_balances(session, list(PURGED))
        kept = {f: family_state(session, f) for f in (ACTIVE_ARCHIVED, UNTOUCHED, 1)}
        personal = {f: personal_values(session, f) for f in PURGED}
        births = {c.id: c.birth_date for c in session.exec(select(Child).where(col(Child.family_id).in_(PURGED)))}
        assert rows_holding(town, personal[9])  # what is looked for is there before

        done = purge(session, before=BEFORE, agent=agent(session), today=LATER)
        session.commit()

    assert [f.id for f in done.families] == list(PURGED) and not done.dry_run
    bazin = done.families[1]
    assert bazin.name == "BAZIN" and bazin.removed["health_notes"] == 1 and bazin.removed["documents"] == 8
    assert bazin.removed["stored_files"] == 1 and bazin.kept["invoices"] == len(accounts[9]) - 2
    with Session(town, expire_on_commit=False) as session:
        # The accounting records: the same amounts, numbers, dates; the same balances.
        assert money_totals(session) == totals
        assert {f: accounting_rows(session, f) for f in PURGED} == accounts
        assert family_balances(session, list(PURGED)) == balances
        for family_id in PURGED:
            family = session.get(Family, family_id)
            assert family is not None
            assert family.name == f"ANONYMISÉ-{family_id}" and family.archived_at is not None
            assert (family.address, family.postal_code, family.city, family.notes) == ("", "", "", "")
            for model in (Guardian, AuthorizedPerson, Document, PortalAccount, FamilySearchWord):
                assert not session.exec(select(model).where(model.family_id == family_id)).first(), model
            children = session.exec(select(Child).where(Child.family_id == family_id).order_by(col(Child.id))).all()
            assert [c.first_name for c in children] == [f"Enfant {n}" for n in range(1, len(children) + 1)]
            for child in children:
                assert child.last_name == "ANONYMISÉ" and (child.school, child.school_class) == ("", "")
                assert child.birth_date == date(births[child.id].year, 1, 1)
                assert not session.exec(select(HealthNote).where(HealthNote.child_id == child.id)).first()
                assert not session.exec(select(ChildDiet).where(ChildDiet.child_id == child.id)).first()
            for message in session.exec(select(Message).where(Message.family_id == family_id)):
                assert (message.subject, message.body, message.recipient) == ("Message anonymisé", "", "")
            assert {i.debtor_name for i in session.exec(select(Invoice).where(Invoice.family_id == family_id))} == {
                f"ANONYMISÉ-{family_id}"
            }
            for mandate in session.exec(select(Mandate).where(Mandate.family_id == family_id)):
                assert mandate.iban == rgpd_purge.ANONYMISED_IBAN and mandate.revoked_on is not None
            kinds = session.exec(select(Submission.kind, Submission.account).where(Submission.family_id == family_id))
            assert all(kind == SubmissionKind.PAYMENT and account == "" for kind, account in kinds)
            # One audit entry, counts only: nothing personal in it.
            entry = session.exec(
                select(AuditEntry).where(AuditEntry.family_id == family_id, AuditEntry.action == "rgpd_purge")
            ).one()
            assert entry.entity == "family" and entry.entity_id == family_id and entry.before is None
            assert entry.after is not None
            assert set(entry.after) == {"removed", "kept"}
            assert all(isinstance(n, int) for part in entry.after.values() for n in part.values())
        assert session.get(StoredFile, private) is None  # its own file went with it
        assert session.get(StoredFile, shared) is not None  # a file other families' documents use stays
        # The others: as they were.
        assert {f: family_state(session, f) for f in (ACTIVE_ARCHIVED, UNTOUCHED, 1)} == kept
        assert session.exec(select(HealthNote).join(Child).where(Child.family_id == UNTOUCHED)).first()
    # Their people are nowhere but in the audit trail.
    for family_id in PURGED:
        assert rows_holding(town, personal[family_id]) == [], family_id

    # Already purged: a second run finds nothing; the export of what stays holds nobody.
    with Session(town, expire_on_commit=False) as session:
        assert purge(session, before=BEFORE, agent=agent(session), today=LATER).families == ()
        left = family_export(session, family_id=9, agent=agent(session), now=NOW).data
        assert left["guardians"] == [] and left["health_notes"] == [] and left["documents"] == []
        assert [i["total_cents"] for i in left["invoices"]] and left["family"]["name"] == "ANONYMISÉ-9"


def test_a_dry_run_lists_the_families_and_writes_nothing(town):
    archive(town, 9, 12)
    with Session(town, expire_on_commit=False) as session:
        before = {f: family_state(session, f) for f in (9, 12)}
        audit_count = session.exec(select(func.count()).select_from(AuditEntry)).one()
        done = purge(session, before=BEFORE, agent=agent(session), today=LATER, dry_run=True)
        assert done.dry_run and [(f.id, f.name) for f in done.families] == [(9, "BAZIN"), (12, "GRÉGOIRE")]
        guardians = session.exec(select(func.count()).select_from(Guardian).where(Guardian.family_id == 9)).one()
        assert done.families[0].removed["guardians"] == guardians and done.families[0].kept["payments"] == 2
        assert not session.new and not session.dirty and not session.deleted
        session.commit()
    with Session(town, expire_on_commit=False) as session:
        assert {f: family_state(session, f) for f in (9, 12)} == before
        assert session.exec(select(func.count()).select_from(AuditEntry)).one() == audit_count


def test_the_purge_is_all_or_nothing(town, monkeypatch):
    archive(town, 9, 12)
    with Session(town, expire_on_commit=False) as session:
        before = {f: family_state(session, f) for f in (9, 12)}
        audit_count = session.exec(select(func.count()).select_from(AuditEntry)).one()
    anonymise = rgpd_purge._anonymise

    def fail_on_the_second(db, family, **kwargs):
        if family.id == 12:
            raise RegieError("panne simulée")
        anonymise(db, family, **kwargs)

    monkeypatch.setattr(rgpd_purge, "_anonymise", fail_on_the_second)
    with Session(town, expire_on_commit=False) as session, pytest.raises(RegieError, match="panne simulée"):
        purge(session, before=BEFORE, agent=agent(session), today=LATER)
        session.commit()
    with Session(town, expire_on_commit=False) as session:
        assert {f: family_state(session, f) for f in (9, 12)} == before
        assert session.exec(select(func.count()).select_from(AuditEntry)).one() == audit_count


def test_the_purge_is_reserved_to_an_administrator_and_a_past_date(town):
    archive(town, 9)
    with Session(town, expire_on_commit=False) as session:
        for login in (ACCUEIL, REGISSEUR):
            with pytest.raises(AccessDenied, match="anonymisation RGPD"):
                purge(session, before=BEFORE, agent=agent(session, login), today=LATER)
        with pytest.raises(RegieError, match="dans le futur"):
            purge(session, before=date(2026, 12, 1), agent=agent(session), today=date(2026, 11, 23))
        # Archived on the 23rd, bookings until August 2027: not quiet since a date before that.
        assert purge(session, before=date(2026, 11, 23), agent=agent(session), today=date(2026, 11, 23)).families == ()
        assert [f.id for f in purge(session, before=BEFORE, agent=agent(session), today=LATER).families] == [9]
