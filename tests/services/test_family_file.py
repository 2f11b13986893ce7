"""The family file, on SQLite and PostgreSQL."""

from datetime import date

import pytest
from sqlmodel import Session, select

from regie_tui.errors import NotFound
from regie_tui.models import Child, HealthNote, HealthNoteKind, Role
from regie_tui.services.common.sql import id_col
from regie_tui.services.families.file import family_detail
from regie_tui.services.families.search import search_families
from regie_tui.services.trust.agents import AgentInfo

from builders import add_family, add_invoice, add_regie, credit, pay

ACCUEIL = AgentInfo(id=1, login="a", display_name="A", role=Role.ACCUEIL)
REGISSEUR = AgentInfo(id=2, login="r", display_name="R", role=Role.REGISSEUR)


def test_family_file_balance_after_payments_and_credit_notes(engine, today):
    with Session(engine) as session:
        regie_id = add_regie(session)
        family_id = add_family(session, "ROUX", guardians=[("Léo", "Roux", "0600000000", "leo@x.fr")])
        paid_in_full = add_invoice(session, family_id, regie_id, "pop-F260900001", 7055)
        partly_paid = add_invoice(session, family_id, regie_id, "pop-F261000001", 4150)
        pay(session, family_id, regie_id, paid_in_full, 7055, "R1")
        pay(session, family_id, regie_id, partly_paid, 1000, "R2")
        credit(session, partly_paid, 150, "pop-A261100001")
        session.commit()
        detail = family_detail(session, family_id, agent=ACCUEIL, today=today)
        assert detail.balance_cents == 4150 - 1000 - 150
        by_number = {i.number: i for i in detail.invoices}
        assert by_number["pop-F260900001"].balance_cents == 0
        assert by_number["pop-F261000001"].balance_cents == 3000
        assert [i.number for i in detail.invoices] == ["pop-F261000001", "pop-F260900001"]
        assert search_families(session, "roux").rows[0].balance_cents == 3000


def test_health_notes_only_for_roles_that_may_see_them(engine, today):
    with Session(engine) as session:
        family_id = add_family(session, "BLANC", children=[("Zoé", date(2019, 5, 1))])
        child_id = session.exec(select(id_col(Child.id))).first()
        assert child_id is not None
        session.add(HealthNote(child_id=child_id, kind=HealthNoteKind.PAI, text="Allergie arachide, trousse PAI"))
        session.commit()
        seen = family_detail(session, family_id, agent=ACCUEIL, today=today)
        hidden = family_detail(session, family_id, agent=REGISSEUR, today=today)
    assert seen.children[0].health_notes is not None
    assert seen.children[0].health_notes[0].text == "Allergie arachide, trousse PAI"
    assert any("Zoé : PAI" in a.text for a in seen.alerts)
    assert hidden.children[0].health_notes is None
    assert "arachide" not in repr(hidden)
    assert any("accès réservé" in a.text for a in hidden.alerts)


def test_unknown_family_is_a_french_error(engine, today):
    with Session(engine) as session, pytest.raises(NotFound, match="Aucune famille n° 999"):
        family_detail(session, 999, agent=ACCUEIL, today=today)


def test_a_health_documents_file_name_only_for_the_roles_with_health_data(town_url):
    """A file name may tell the condition ("pai-allergie-arachide.pdf"): the régisseur reads the type only."""
    from sqlmodel import Session, col, select

    from regie_tui.db import make_engine
    from regie_tui.models import Document, DocumentType
    from regie_tui.services.families.file import family_detail
    from regie_tui.services.trust.access import HEALTH_FILE_HIDDEN
    from regie_tui.services.trust.agents import resolve_agent

    from helpers import TODAY

    engine = make_engine(town_url)
    try:
        with Session(engine) as db:
            row = db.exec(
                select(Document.family_id, Document.filename)
                .join(DocumentType, col(DocumentType.id) == Document.document_type_id)
                .where(col(DocumentType.health))
            ).first()
            assert row is not None
            family_id, filename = row
            shown = {
                login: [
                    d.filename
                    for d in family_detail(db, family_id, agent=resolve_agent(db, login), today=TODAY).documents
                ]
                for login in ("smoreau", "jbernard")
            }
    finally:
        engine.dispose()
    assert filename in shown["smoreau"] and filename not in shown["jbernard"]
    assert HEALTH_FILE_HIDDEN in shown["jbernard"]
