"""The bannette: items listed and filtered, each kind decided, conflicts, races, the family told."""

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from regie_tui.db import make_engine
from regie_tui.errors import RegieError
from regie_tui.formatting import money
from regie_tui.models import (
    Agent,
    AuditEntry,
    Child,
    Document,
    DocumentScope,
    DocumentStatus,
    DocumentType,
    Enrollment,
    EnrollmentStatus,
    Family,
    Guardian,
    Invoice,
    OutboxMail,
    Payment,
    PortalAccount,
    Regie,
    Role,
    Submission,
    SubmissionStatus,
)
from regie_tui.services.billing.accounts import invoice_balance
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.families.search import search_families
from regie_tui.services.portal.inbox.accepting import AcceptChoice, NeedsChoice
from regie_tui.services.portal.inbox.decisions import AlreadyDecided, accept, accept_family, refuse
from regie_tui.services.portal.inbox.item import item_detail
from regie_tui.services.portal.inbox.listing import InboxFilter, inbox_page
from regie_tui.services.portal.inbox.templates import refusal_templates
from regie_tui.services.portal.pending import pending_counts
from regie_tui.services.trust.agents import resolve_agent

from builders import add_activity, add_booking, add_invoice, add_weekday_activity, portal_requests
from helpers import get_row

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SENT = "2026-11-22T18:30:00+01:00"
PDF = b"%PDF-1.4\n% demo\n"


@dataclass
class Town:
    engine: sa.Engine
    family_id: int
    account: str
    guardian_id: int
    mobile: str
    child_id: int

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def agent(self, session: Session, role: Role = Role.ACCUEIL):
        login = session.exec(select(Agent.login).where(Agent.role == role)).first()
        assert login is not None
        return resolve_agent(session, login)

    def submit(self, *lines: dict[str, Any]) -> list[int]:
        """Import the lines (filled with the family's keys) and return their submissions' ids."""
        with self.session() as session:
            return portal_requests(session, self.family_id, lines, now=NOW, account=self.account)


@pytest.fixture
def town(fresh_town_url):
    engine = make_engine(fresh_town_url)
    with Session(engine) as session:
        row = session.exec(
            select(id_col(Family.id), PortalAccount.email)
            .join(PortalAccount, col(PortalAccount.family_id) == Family.id)
            .join(Child, col(Child.family_id) == Family.id)
            .join(Enrollment, col(Enrollment.child_id) == Child.id)
            .where(Enrollment.status == EnrollmentStatus.ACCEPTED, col(Family.archived_at).is_(None))
            .order_by(col(Family.id))
        ).first()
        assert row is not None
        family_id, account = row
        guardian = session.exec(
            select(Guardian).where(Guardian.family_id == family_id).order_by(col(Guardian.id))
        ).first()
        assert guardian is not None
        child_id = session.exec(
            select(id_col(Child.id))
            .join(Enrollment, col(Enrollment.child_id) == Child.id)
            .where(Child.family_id == family_id, Enrollment.status == EnrollmentStatus.ACCEPTED)
        ).first()
        assert child_id is not None
    yield Town(engine, family_id, account, id_of(guardian), guardian.mobile_phone, child_id)
    engine.dispose()


def _open_invoice(session: Session, family_id: int, number: str) -> Invoice:
    """An invoice of the family, issued, 45 € due (committed)."""
    regie_id = session.exec(select(id_col(Regie.id)).where(Regie.code == "pop")).one()
    invoice = get_row(session, Invoice, add_invoice(session, family_id, regie_id, number, 4_500))
    session.commit()
    return invoice


def _status(session: Session, submission_id: int) -> SubmissionStatus:
    session.expire_all()
    return get_row(session, Submission, submission_id).status


def test_a_change_accepted_updates_the_file_audits_and_tells_the_family(town):
    (item,) = town.submit(
        {
            "kind": "change",
            "entity": "guardian",
            "entity_id": town.guardian_id,
            "field": "mobile_phone",
            "old": town.mobile,
            "new": "06 11 22 33 44",
        }
    )
    with town.session() as session:
        before = pending_counts(session).changes
        detail = item_detail(session, submission_id=item, agent=town.agent(session), now=NOW)
        assert ("Valeur demandée", "06 11 22 33 44") in detail.lines
        assert detail.conflict == ""
        agent = town.agent(session)
        decision = accept(session, submission_id=item, agent=agent, now=NOW)
        session.commit()
        assert decision.accepted and decision.mail_id is not None
        assert session.get(Guardian, town.guardian_id).mobile_phone == "06 11 22 33 44"
        assert _status(session, item) == SubmissionStatus.ACCEPTED
        assert pending_counts(session).changes == before - 1
        mail = session.get(OutboxMail, decision.mail_id)
        assert "acceptée" in mail.body and "06 11 22 33 44" in mail.body
        decided = session.exec(
            select(AuditEntry).where(AuditEntry.entity == "submission", AuditEntry.entity_id == item)
        ).one()
        assert decided.agent_id == agent.id and decided.after["status"] == "accepted"
        # the family is found by its new number (search words refreshed in the same transaction)
        assert any(row.id == town.family_id for row in search_families(session, "0611223344").rows)


def test_a_change_whose_field_moved_since_shows_the_conflict_and_the_agent_chooses(town):
    (item,) = town.submit(
        {
            "kind": "change",
            "entity": "guardian",
            "entity_id": town.guardian_id,
            "field": "mobile_phone",
            "old": "07 00 00 00 00",
            "new": "06 11 22 33 44",
        }
    )
    with town.session() as session:
        detail = item_detail(session, submission_id=item, agent=town.agent(session), now=NOW)
        assert "a changé depuis la demande" in detail.conflict
        agent = town.agent(session)
        with pytest.raises(NeedsChoice) as needs:
            accept(session, submission_id=item, agent=agent, now=NOW)
        session.rollback()
        assert "force" in needs.value.options and needs.value.asked == "06 11 22 33 44"
        assert _status(session, item) == SubmissionStatus.PENDING
        assert session.get(Guardian, town.guardian_id).mobile_phone == town.mobile  # nothing written
        accept(session, submission_id=item, agent=agent, now=NOW, choice=AcceptChoice(force=True))
        session.commit()
        assert session.get(Guardian, town.guardian_id).mobile_phone == "06 11 22 33 44"


def test_refusing_needs_a_reason_and_the_family_reads_it(town):
    (item,) = town.submit(
        {
            "kind": "change",
            "entity": "family",
            "entity_id": town.family_id,
            "field": "city",
            "old": None,
            "new": "Épinal",
        }
    )
    with town.session() as session:
        agent = town.agent(session)
        with pytest.raises(Exception, match="Motif obligatoire"):
            refuse(session, submission_id=item, agent=agent, reason="  ", now=NOW)
        templates = refusal_templates(session, kind="change")
        assert templates and templates[0].kind == "change"
        decision = refuse(session, submission_id=item, agent=agent, reason=templates[0].text, now=NOW)
        session.commit()
        assert _status(session, item) == SubmissionStatus.REFUSED
        body = session.get(OutboxMail, decision.mail_id).body
        assert "refusée" in body and templates[0].text in body
        assert session.get(Family, town.family_id).city != "Épinal"


def test_two_agents_never_decide_the_same_item(town):
    (item,) = town.submit({"kind": "message", "subject": "Absence", "body": "Léa sera absente lundi."})
    with town.session() as first, town.session() as second:
        accept(first, submission_id=item, agent=town.agent(first), now=NOW)
        first.commit()
        with pytest.raises(AlreadyDecided, match="déjà traité"):
            accept(second, submission_id=item, agent=town.agent(second, Role.REGISSEUR), now=NOW)


def test_a_document_accepted_gets_its_validity_and_a_refused_one_stays_expected(town):
    with town.session() as session:
        doc_type = session.exec(select(DocumentType).where(DocumentType.scope == DocumentScope.FAMILY)).first()
    content = base64.b64encode(PDF).decode()
    line = {
        "kind": "document",
        "document_type": doc_type.id,
        "filename": "attestation.pdf",
        "media_type": "application/pdf",
        "content_base64": content,
    }
    kept, dropped = town.submit(line, {**line, "filename": "autre.pdf"})
    with town.session() as session:
        agent = town.agent(session)
        detail = item_detail(session, submission_id=kept, agent=town.agent(session), now=NOW)
        assert detail.document is not None
        assert detail.document.filename == "attestation.pdf" and detail.document.size == len(PDF)
        accept(session, submission_id=kept, agent=agent, now=NOW)
        refuse(session, submission_id=dropped, agent=agent, reason="Document illisible.", now=NOW)
        session.commit()
        assert detail.document is not None
        accepted = session.get(Document, detail.document.document_id)
        assert accepted.status == DocumentStatus.ACCEPTED
        assert accepted.valid_from == date(2026, 11, 22)
        expected_end = (
            date(2027, 8, 31) if not doc_type.validity_months else accepted.valid_to
        )  # the end of the school year, or the type's validity
        assert accepted.valid_to == expected_end
        refused = session.get(Document, session.get(Submission, dropped).document_id)
        assert refused.status == DocumentStatus.REFUSED and refused.refusal_reason == "Document illisible."


def test_a_new_child_joins_the_family_and_its_search_words(town):
    (item,) = town.submit(
        {"kind": "new_child", "first_name": "Zébulon", "last_name": "Testeur", "birth_date": "2020-03-02", "sex": "M"}
    )
    with town.session() as session:
        accept(session, submission_id=item, agent=town.agent(session), now=NOW)
        session.commit()
        child = session.exec(select(Child).where(Child.first_name == "Zébulon")).one()
        assert child.family_id == town.family_id and child.birth_date == date(2020, 3, 2)


def test_an_enrollment_checks_the_age_and_offers_the_groups_that_fit(town):
    first_day = date(2026, 9, 2)
    with town.session() as session:
        child = session.get(Child, town.child_id)
        age = (
            first_day.year
            - child.birth_date.year
            - ((first_day.month, first_day.day) < (child.birth_date.month, child.birth_date.day))
        )
        # an activity the child is not enrolled in: one group too old for it, one of its age
        built = add_activity(
            session, "Stage des Lucioles", groups=[("Grands", age + 2, age + 4), ("Son âge", max(age - 1, 0), age + 1)]
        )
        session.commit()
    activity, (wrong, right) = built.activity, built.groups
    (item,) = town.submit({"kind": "enrolment", "child": town.child_id, "activity": activity.id, "age_group": wrong.id})
    with town.session() as session:
        agent = town.agent(session)
        detail = item_detail(session, submission_id=item, agent=town.agent(session), now=NOW)
        assert detail.enrollment.group.age_fits is False and detail.enrollment.age_on_first_day == age
        with pytest.raises(NeedsChoice) as needs:
            accept(session, submission_id=item, agent=agent, now=NOW)
        session.rollback()
        assert "group" in needs.value.options and right.name in needs.value.message
        accept(session, submission_id=item, agent=agent, now=NOW, choice=AcceptChoice(group_id=right.id))
        session.commit()
        enrollment = session.exec(
            select(Enrollment).where(Enrollment.child_id == town.child_id, Enrollment.activity_id == activity.id)
        ).one()
        assert enrollment.age_group_id == right.id
        assert enrollment.status in (EnrollmentStatus.ACCEPTED, EnrollmentStatus.WAITING)


def test_a_booking_request_applies_the_days_the_rules_allow_and_lists_the_others(town):
    with town.session() as session:
        built, _enrollment = add_weekday_activity(session, child_id=town.child_id)  # open Monday to Friday
        session.commit()
    (unit,) = built.units
    days = [NOW.date() + timedelta(days=n) for n in range(1, 15)]
    cells = [{"day": d.isoformat(), "unit": unit.id, "action": "book"} for d in days]
    cells.append({"day": "2026-12-25", "unit": unit.id, "action": "book"})  # Noël: closed
    (item,) = town.submit({"kind": "booking", "child": town.child_id, "cells": cells})
    with town.session() as session:
        detail = item_detail(session, submission_id=item, agent=town.agent(session), now=NOW)
        christmas = [c for c in detail.cells if c.day == date(2026, 12, 25)]
        assert christmas and not christmas[0].allowed and christmas[0].rule
        allowed = sum(1 for c in detail.cells if c.allowed)
        assert allowed, "the request's week days are open"
        decision = accept(session, submission_id=item, agent=town.agent(session), now=NOW)
        session.commit()
        assert any("refusé" in line and "25/12/2026" in line for line in decision.details)
        assert session.get(OutboxMail, decision.mail_id).body.count("25/12/2026") == 1


def test_an_online_payment_becomes_an_allocated_payment(town):
    with town.session() as session:
        invoice = _open_invoice(session, town.family_id, "pop-F261099001")
        balance = invoice_balance(session, invoice=invoice)
    (item,) = town.submit(
        {
            "kind": "payment",
            "invoice": invoice.number,
            "amount_cents": balance,
            "paid_at": SENT,
            "reference": "PAYFIP-TEST-1",
            "result": "success",
        }
    )
    with town.session() as session:
        decision = accept(session, submission_id=item, agent=town.agent(session), now=NOW)
        session.commit()
        assert "reçu" in decision.message
        assert session.exec(select(Payment).where(Payment.reference == "PAYFIP-TEST-1")).one().amount_cents == balance
        assert invoice_balance(session, invoice=session.get(Invoice, invoice.id)) == 0


def test_accept_all_of_a_family_leaves_what_needs_a_choice(town):
    items = town.submit(
        {"kind": "message", "subject": "Bonjour", "body": "Merci."},
        {
            "kind": "change",
            "entity": "guardian",
            "entity_id": town.guardian_id,
            "field": "employer",
            "old": "n'importe quoi",
            "new": "Mairie",
        },
        {
            "kind": "change",
            "entity": "family",
            "entity_id": town.family_id,
            "field": "address_extra",
            "old": None,
            "new": "Bâtiment B",
        },
    )
    with town.session() as session:
        family_extra = session.get(Family, town.family_id).address_extra
        decisions, left = accept_family(session, family_id=town.family_id, agent=town.agent(session), now=NOW)
        session.commit()
        decided = {d.submission_id for d in decisions}
        assert items[0] not in decided and items[1] not in decided  # a message waits for its reader
        assert _status(session, items[0]) == SubmissionStatus.PENDING
        assert any("Conflit" in line for line in left)
        assert (items[2] in decided) == (family_extra == "")


def test_the_list_groups_filters_and_counts(town):
    town.submit(
        {"kind": "message", "subject": "Cantine de Léa", "body": "Bonjour."},
        {
            "kind": "change",
            "entity": "family",
            "entity_id": town.family_id,
            "field": "city",
            "old": None,
            "new": "Nancy",
        },
    )
    with town.session() as session:
        page = inbox_page(session, now=NOW)
        assert page.total == page.counts.total == len(page.rows) or page.total > len(page.rows)
        submitted = [row.submitted_at for row in page.rows if row.family_id == town.family_id]
        assert submitted == sorted(submitted)  # oldest first within the family
        families = [row.family_id for row in page.rows]
        assert families == sorted(families, key=families.index)  # each family's items together
        only = inbox_page(session, filters=InboxFilter(kind="messages"), grouping="kind", now=NOW)
        assert {row.kind for row in only.rows} == {"message"} and only.total == page.counts.messages
        found = inbox_page(session, filters=InboxFilter(text="cantine de léa"), now=NOW)
        assert [row.summary for row in found.rows] == ["Message : Cantine de Léa"]
        old = inbox_page(session, filters=InboxFilter(waiting_days=3), now=NOW)
        assert all(row.submitted_at <= NOW - timedelta(days=3) for row in old.rows)


def test_the_notice_deadline_is_judged_when_the_family_asked_not_when_the_desk_decides(town):
    from regie_tui.models import Booking, BookingState

    with town.session() as session:
        built, enrollment_id = add_weekday_activity(session, child_id=town.child_id)
        booking = add_booking(
            session,
            child_id=town.child_id,
            day=NOW.date(),
            unit_id=id_of(built.units[0]),
            enrollment_id=enrollment_id,
            state=BookingState.RESERVED,
        )
        session.commit()
    cancel = {"day": NOW.date().isoformat(), "unit": booking.unit_id, "action": "cancel"}
    (in_time,) = town.submit(
        {"kind": "booking", "child": booking.child_id, "cells": [cancel], "submitted_at": "2026-11-20T10:00:00+01:00"}
    )
    with town.session() as session:
        detail = item_detail(session, submission_id=in_time, agent=town.agent(session), now=NOW)
        assert detail.cells[0].allowed and not detail.cells[0].notice_passed
        decision = accept(session, submission_id=in_time, agent=town.agent(session), now=NOW)
        session.commit()
        assert decision.details == [f"23/11/2026 {detail.cells[0].unit_name} : annulé"]
        assert session.get(Booking, booking.id) is None


def test_an_online_payment_beyond_the_balance_now_due_is_refused_at_accept(town):
    """The invoice was paid in part at the desk after the import: accepting the online payment
    re-checks it against the balance due now, refuses in French and writes nothing."""
    from regie_tui.models import PaymentMode
    from regie_tui.services.payments.recording import record_payment

    with town.session() as session:
        invoice = _open_invoice(session, town.family_id, "pop-F261099002")
        balance = invoice_balance(session, invoice=invoice)
        assert balance > 1_000
    (item,) = town.submit(
        {
            "kind": "payment",
            "invoice": invoice.number,
            "amount_cents": balance,
            "paid_at": SENT,
            "reference": "PAYFIP-TEST-OVER",
            "result": "success",
        }
    )
    with town.session() as session:
        record_payment(
            session,
            family_id=town.family_id,
            regie_id=invoice.regie_id,
            mode=PaymentMode.CARD,
            amount_cents=1_000,
            received_on=NOW.date(),
            agent_id=town.agent(session).id,
            invoice_numbers=[invoice.number],
        )
        session.commit()
        payments = session.exec(sa.select(sa.func.count()).select_from(Payment)).scalar_one()
        with pytest.raises(RegieError) as refused:
            accept(session, submission_id=item, agent=town.agent(session), now=NOW)
        session.rollback()
        assert refused.value.message == (
            f"Le paiement en ligne de {money(balance)} dépasse le solde dû de la facture {invoice.number} à ce jour "
            f"({money(balance - 1_000)}) : il ne peut pas lui être affecté."
        )
        assert _status(session, item) == SubmissionStatus.PENDING
        assert session.exec(sa.select(sa.func.count()).select_from(Payment)).scalar_one() == payments
        assert session.exec(select(Payment).where(Payment.reference == "PAYFIP-TEST-OVER")).first() is None
        assert invoice_balance(session, invoice=session.get(Invoice, invoice.id)) == balance - 1_000
        assert session.exec(select(OutboxMail).where(col(OutboxMail.body).contains("PAYFIP-TEST-OVER"))).first() is None
        # refusing it stays possible, with a reason the family reads
        assert not refuse(
            session, submission_id=item, agent=town.agent(session), reason="Facture réglée entre-temps", now=NOW
        ).accepted


def test_a_health_document_is_read_and_decided_only_by_the_roles_allowed(town):
    """A PAI is health data: a régisseur sees that it came, not what it says, and cannot decide it."""
    from regie_tui.errors import AccessDenied
    from regie_tui.services.portal.inbox.item import document_content

    with town.session() as session:
        pai = session.exec(select(DocumentType).where(DocumentType.name == "PAI")).one()
    assert pai.health
    (item,) = town.submit(
        {
            "kind": "document",
            "document_type": pai.id,
            "child": town.child_id,
            "filename": "pai.pdf",
            "media_type": "application/pdf",
            "content_base64": base64.b64encode(PDF).decode(),
        }
    )
    with town.session() as session:
        regisseur, desk = town.agent(session, Role.REGISSEUR), town.agent(session, Role.ACCUEIL)
        hidden = item_detail(session, submission_id=item, agent=regisseur, now=NOW).document
        assert hidden is not None
        assert (hidden.type_name, hidden.health, hidden.readable) == ("PAI", True, False)
        shown = item_detail(session, submission_id=item, agent=desk, now=NOW).document
        assert shown is not None and shown.readable
        with pytest.raises(AccessDenied, match="informations sanitaires"):
            document_content(session, submission_id=item, agent=regisseur)
        with pytest.raises(AccessDenied, match="informations sanitaires"):
            accept(session, submission_id=item, agent=regisseur, now=NOW)
        session.rollback()
        assert document_content(session, submission_id=item, agent=desk) == ("pai.pdf", PDF)
        accept(session, submission_id=item, agent=desk, now=NOW)
        session.commit()
    assert _status(town.session(), item) == SubmissionStatus.ACCEPTED
