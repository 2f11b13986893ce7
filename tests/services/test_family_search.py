"""Family search, on SQLite and PostgreSQL."""

from datetime import date

from sqlmodel import Session

from regie_tui.services.families.search import search_families

from builders import add_family, add_invoice, add_regie


def names(page) -> list[str]:
    return [row.name for row in page.rows]


def test_search_ignores_accents_and_case(engine):
    with Session(engine) as session:
        add_family(
            session,
            "LEFÈVRE",
            guardians=[("Émilie", "Lefèvre", "06 12 34 56 78", "emilie@example.fr")],
            children=[("Léa", date(2018, 3, 2))],
        )
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
