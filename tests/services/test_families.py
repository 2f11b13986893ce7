"""Family search and the family file, on SQLite and PostgreSQL."""

from datetime import date

import pytest
from sqlmodel import Session

from builders import add_family, add_invoice, add_regie, credit, pay
from regie_tui.errors import NotFound
from regie_tui.models import Child, HealthNote, HealthNoteKind, Role
from regie_tui.services.agents import AgentInfo
from regie_tui.services.families import family_detail, search_families

ACCUEIL = AgentInfo(id=1, login="a", display_name="A", role=Role.ACCUEIL)
REGISSEUR = AgentInfo(id=2, login="r", display_name="R", role=Role.REGISSEUR)


def names(page) -> list[str]:
    return [row.name for row in page.rows]


def test_search_ignores_accents_and_case(engine):
    with Session(engine) as session:
        add_family(session, "LEFÈVRE", guardians=[("Émilie", "Lefèvre", "06 12 34 56 78", "emilie@example.fr")],
                   children=[("Léa", date(2018, 3, 2))])
        add_family(session, "MARTIN", guardians=[("Paul", "Martin", "07 00 00 00 01", "paul@example.fr")])
        session.commit()
        assert names(search_families(session, "lefevre")) == ["LEFÈVRE"]
        assert names(search_families(session, "LÉFEVRE")) == ["LEFÈVRE"]
        assert names(search_families(session, "emilie lea")) == ["LEFÈVRE"]  # every word must match
        assert names(search_families(session, "lefevre paul")) == []
        assert names(search_families(session, "")) == ["LEFÈVRE", "MARTIN"]


def test_terms_match_the_start_of_words_and_parts_of_compound_names(engine):
    with Session(engine) as session:
        add_family(session, "ADAM", guardians=[("Michèle", "Adam", "0600000000", "michele.adam@gmail.com")])
        add_family(session, "MARTIN-DUBOIS", guardians=[("Luc", "Martin-Dubois", "0600000001", "luc@free.fr")])
        session.commit()
        assert names(search_families(session, "ma")) == ["MARTIN-DUBOIS"]  # not ad-am, not michele.ad-am
        assert names(search_families(session, "dubois")) == ["MARTIN-DUBOIS"]
        assert names(search_families(session, "michele.a")) == ["ADAM"]


def test_search_by_phone_email_and_invoice_number(engine):
    with Session(engine) as session:
        family_id = add_family(session, "DUBOIS", guardians=[("Anne", "Dubois", "06 12 34 56 78", "Anne.D@Mail.fr")])
        add_family(session, "PETIT", guardians=[("Jean", "Petit", "06 99 99 99 99", "jean@mail.fr")])
        add_invoice(session, family_id, add_regie(session), "pop-F261000042", 1000)
        session.commit()
        assert names(search_families(session, "06 12 34")) == ["DUBOIS"]
        assert names(search_families(session, "0612345678")) == ["DUBOIS"]
        assert names(search_families(session, "anne.d@mail")) == ["DUBOIS"]
        assert names(search_families(session, "pop-f2610000")) == ["DUBOIS"]
        assert names(search_families(session, "POP-F261000042")) == ["DUBOIS"]
        assert names(search_families(session, "F2610000")) == ["DUBOIS"]  # without the régie prefix


def test_search_wildcards_are_plain_characters(engine):
    with Session(engine) as session:
        add_family(session, "MARTIN")
        session.commit()
        assert search_families(session, "mar_in").rows == []  # '_' is not a LIKE wildcard here
        assert names(search_families(session, "mar%")) == ["MARTIN"]  # '%' is not searchable: ignored


def test_search_pages_in_name_order_without_gaps_or_repeats(engine):
    with Session(engine) as session:
        for n in range(120):
            add_family(session, f"FAMILLE {n:03d}")
        session.commit()
        seen, after, pages = [], None, 0
        while True:
            page = search_families(session, "famille", limit=50, after=after)
            seen += names(page)
            pages += 1
            if not page.has_more:
                break
            after = page.next_after
        assert pages == 3
        assert seen == [f"FAMILLE {n:03d}" for n in range(120)]


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
        child = session.exec(Child.__table__.select()).first()
        session.add(HealthNote(child_id=child.id, kind=HealthNoteKind.PAI, text="Allergie arachide, trousse PAI"))
        session.commit()
        seen = family_detail(session, family_id, agent=ACCUEIL, today=today)
        hidden = family_detail(session, family_id, agent=REGISSEUR, today=today)
    assert seen.children[0].health_notes[0].text == "Allergie arachide, trousse PAI"
    assert any("Zoé : PAI" in a.text for a in seen.alerts)
    assert hidden.children[0].health_notes is None
    assert "arachide" not in repr(hidden)
    assert any("accès réservé" in a.text for a in hidden.alerts)


def test_unknown_family_is_a_french_error(engine, today):
    with Session(engine) as session, pytest.raises(NotFound, match="Aucune famille n° 999"):
        family_detail(session, 999, agent=ACCUEIL, today=today)
