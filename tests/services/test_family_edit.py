"""Editing the family file: checks, stale forms, audit, search words; on SQLite and PostgreSQL."""

from datetime import date

import pytest
from sqlmodel import Session, col, select

from regie_tui.errors import AccessDenied, NotFound, RegieError
from regie_tui.models import (
    Agent,
    AuditEntry,
    AuthorizedPerson,
    Child,
    ChildDiet,
    Consent,
    Diet,
    Family,
    FamilyQuotient,
    Guardian,
    HealthNote,
    Role,
    Source,
)
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.common.validation import InvalidValue
from regie_tui.services.families import edit as fe
from regie_tui.services.families import stamps
from regie_tui.services.families.file import family_detail
from regie_tui.services.families.history import family_history
from regie_tui.services.families.search import search_families
from regie_tui.services.trust.agents import AgentInfo

from builders import add_family
from helpers import get_row


def _agent(session: Session, login: str, role: Role, name: str) -> int:
    agent = Agent(login=login, display_name=name, role=role)
    session.add(agent)
    session.flush()
    return id_of(agent)


#: An administrator reading the history (health values shown).
ADMIN = AgentInfo(id=1, login="chef", display_name="Chef", role=Role.ADMIN)


@pytest.fixture
def town(engine):
    """A family DUBOIS (Nicole pays, Jean does not, child Léa), and three agents."""
    with Session(engine) as session:
        family_id = add_family(
            session,
            "DUBOIS",
            guardians=[("Nicole", "Dubois", "07 47 06 90 05", "nicole@x.fr"), ("Jean", "Dubois", "", "")],
            children=[("Léa", date(2019, 3, 2))],
        )
        julie = _agent(session, "jpetit", Role.ACCUEIL, "Julie Petit")
        marc = _agent(session, "mroux", Role.ACCUEIL, "Marc Roux")
        regisseur = _agent(session, "rgilles", Role.REGISSEUR, "René Gilles")
        session.add(Diet(code="sans_porc", label="Sans porc"))
        session.add(Diet(code="sans_gluten", label="Sans gluten", health=True))
        session.commit()
        ids = {
            "family": family_id,
            "nicole": session.exec(select(id_col(Guardian.id)).where(Guardian.first_name == "Nicole")).one(),
            "jean": session.exec(select(id_col(Guardian.id)).where(Guardian.first_name == "Jean")).one(),
            "lea": session.exec(select(id_col(Child.id))).one(),
            "julie": julie,
            "marc": marc,
            "regisseur": regisseur,
        }
    return ids


def _count(session: Session, model: type) -> int:
    return len(session.exec(select(model)).all())


# ------------------------------------------------------------------- every write


def test_set_fields_cleans_audits_bumps_version_and_refreshes_search(engine, town):
    with Session(engine) as session:
        stamp = stamps.family_stamp(session, family_id=town["family"])
        fe.set_fields(
            session,
            family_id=town["family"],
            entity="guardian",
            entity_id=town["nicole"],
            values={"mobile_phone": "+33 6 11 22 33 44", "last_name": "Martin-Dubois"},
            agent_id=town["julie"],
            expected=stamp,
        )
        session.commit()
        guardian = session.get(Guardian, town["nicole"])
        assert guardian is not None
        assert guardian.mobile_phone == "06 11 22 33 44"
        family = session.get(Family, town["family"])
        assert family is not None
        assert family.version == stamp.version + 1
        assert family.updated_at is not None
        entry = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc())).first()
        assert entry is not None
        assert (entry.action, entry.entity, entry.entity_id, entry.agent_id) == (
            "update",
            "guardian",
            town["nicole"],
            town["julie"],
        )
        assert entry.before == {"mobile_phone": "07 47 06 90 05", "last_name": "Dubois"}
        assert entry.after == {"mobile_phone": "06 11 22 33 44", "last_name": "Martin-Dubois"}
        # Search sees the new phone and the new name at once, not the old phone.
        assert [r.id for r in search_families(session, "06 11 22").rows] == [town["family"]]
        assert [r.id for r in search_families(session, "martin").rows] == [town["family"]]
        assert search_families(session, "07 47 06").rows == []
        # The history says it in French terms the screen shows.
        history = family_history(session, family_id=town["family"], agent=ADMIN, today=date(2026, 11, 23))
        assert history[0].who == "Julie Petit" and history[0].kind == "changes"


def test_nothing_changed_writes_nothing(engine, town):
    with Session(engine) as session:
        stamp = stamps.family_stamp(session, family_id=town["family"])
        fe.set_fields(
            session,
            family_id=town["family"],
            entity="family",
            entity_id=town["family"],
            values={"city": "Vittel"},
            agent_id=town["julie"],
            expected=stamp,
        )
        session.commit()
        assert stamps.family_stamp(session, family_id=town["family"]) == stamp


@pytest.mark.parametrize(
    ("entity", "field", "value", "message"),
    [
        ("family", "postal_code", "8880", "Code postal invalide : « 8880 » (5 chiffres)."),
        ("family", "name", "", "Nom de la famille : obligatoire."),
        ("family", "name", "D4BOIS", "Nom de la famille : « D4BOIS » n'est pas un nom valide."),
        ("family", "resident", "oui", "Résident de la commune : oui ou non attendu."),
        ("family", "city", "x" * 81, "Commune : 80 caractères au plus."),
        (
            "guardian",
            "mobile_phone",
            "06 12",
            "Numéro de téléphone invalide : « 06 12 » (10 chiffres, ex. 06 12 34 56 78).",
        ),
        ("guardian", "email", "nicole@", "Adresse e-mail invalide : « nicole@ »."),
        ("guardian", "first_name", " ", "Prénom : obligatoire."),
        (
            "child",
            "birth_date",
            "31/02/2020",
            "Date de naissance : « 31/02/2020 » n'est pas une date valide (JJ/MM/AAAA).",
        ),
        ("child", "birth_date", "01/01/2030", "Date de naissance : elle doit être dans le passé."),
        ("child", "birth_date", "01/01/2000", "Date de naissance : un enfant doit avoir moins de 18 ans."),
        ("child", "birth_date", "", "Date de naissance : obligatoire."),
        ("child", "sex", "X", "Sexe : « X » n'est pas une valeur possible."),
        ("child", "shoe_size", "32", "champ inconnu pour enfant : « shoe_size »."),
    ],
)
def test_every_validation_message(engine, town, entity, field, value, message):
    entity_id = {"family": town["family"], "guardian": town["nicole"], "child": town["lea"]}[entity]
    with Session(engine) as session:
        before = stamps.family_stamp(session, family_id=town["family"])
        with pytest.raises(InvalidValue) as refused:
            fe.set_fields(
                session,
                family_id=town["family"],
                entity=entity,
                entity_id=entity_id,
                values={field: value},
                agent_id=town["julie"],
                expected=before,
            )
        session.rollback()
        assert refused.value.message == message
        assert stamps.family_stamp(session, family_id=town["family"]) == before


def test_entity_of_another_family_is_refused(engine, town):
    with Session(engine) as session:
        other = add_family(session, "MARTIN", guardians=[("Paul", "Martin", "", "")])
        session.commit()
        paul = session.exec(select(id_col(Guardian.id)).where(Guardian.family_id == other)).one()
        assert paul is not None
        with pytest.raises(NotFound, match="introuvable dans la famille DUBOIS"):
            fe.set_fields(
                session,
                family_id=town["family"],
                entity="guardian",
                entity_id=paul,
                values={"email": "p@x.fr"},
                agent_id=town["julie"],
            )


# ------------------------------------------------------------------- stale forms


def test_stale_save_names_who_changed_what_and_writes_nothing(engine, town):
    """Two agents open the same file; Marc saves first; Julie's save is refused, naming Marc."""
    with Session(engine) as julie_session:
        julie_stamp = stamps.family_stamp(julie_session, family_id=town["family"])
    with Session(engine) as marc_session:
        fe.set_fields(
            marc_session,
            family_id=town["family"],
            entity="guardian",
            entity_id=town["nicole"],
            values={"mobile_phone": "06 11 22 33 44"},
            agent_id=town["marc"],
            expected=stamps.family_stamp(marc_session, family_id=town["family"]),
        )
        marc_session.commit()
    with Session(engine) as julie_session:
        audit_before = _count(julie_session, AuditEntry)
        with pytest.raises(stamps.StaleFamily) as stale:
            fe.set_fields(
                julie_session,
                family_id=town["family"],
                entity="family",
                entity_id=town["family"],
                values={"address": "5 rue des Lilas"},
                agent_id=town["julie"],
                expected=julie_stamp,
            )
        julie_session.rollback()
        message = stale.value.message
        assert message.startswith("La famille a été modifiée depuis l'ouverture du formulaire :\n")
        line = message.splitlines()[1]
        assert line.startswith("Marc Roux, le ")
        assert line.endswith(" : Téléphone portable de Nicole Dubois (07 47 06 90 05 → 06 11 22 33 44)")
        assert session_family(julie_session, town).address == "1 rue de la Gare"
        assert _count(julie_session, AuditEntry) == audit_before


def test_portal_change_accepted_makes_an_open_form_stale(engine, town):
    with Session(engine) as session:
        stamp = stamps.family_stamp(session, family_id=town["family"])
        fe.set_fields(
            session,
            family_id=town["family"],
            entity="family",
            entity_id=town["family"],
            values={"city": "Contrexéville"},
            agent_id=None,
            source=Source.PORTAL,
        )
        session.commit()
        with pytest.raises(stamps.StaleFamily, match=r"Portail famille, le .* : Commune \(Vittel → Contrexéville\)"):
            fe.add_entity(
                session,
                family_id=town["family"],
                entity="authorized_person",
                values={"last_name": "Petit", "first_name": "Anne", "phone": "0611223344"},
                agent_id=town["julie"],
                expected=stamp,
            )


def session_family(session: Session, town: dict[str, int]) -> Family:
    session.expire_all()
    return get_row(session, Family, town["family"])


# ------------------------------------------------------------------- entities


def test_add_child_checks_and_is_searchable(engine, town):
    with Session(engine) as session:
        with pytest.raises(InvalidValue, match="Champ\\(s\\) obligatoire\\(s\\) : Sexe."):
            fe.add_entity(
                session,
                family_id=town["family"],
                entity="child",
                values={"last_name": "Dubois", "first_name": "Hugo", "birth_date": "2020-05-04"},
                agent_id=town["julie"],
            )
        session.rollback()
        child_id = fe.add_entity(
            session,
            family_id=town["family"],
            entity="child",
            values={"last_name": "Dubois", "first_name": "Hugo", "birth_date": "04/05/2020", "sex": "M"},
            agent_id=town["julie"],
        )
        session.commit()
        child = session.get(Child, child_id)
        assert child is not None
        assert (child.first_name, child.birth_date, child.sex.value) == ("Hugo", date(2020, 5, 4), "M")
        assert [r.id for r in search_families(session, "hugo").rows] == [town["family"]]
        entry = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc())).first()
        assert entry is not None
        assert entry.after is not None
        assert (entry.action, entry.entity, entry.after["birth_date"]) == ("create", "child", "2020-05-04")


def test_first_guardian_pays_and_payer_stays_unique(engine, town):
    with Session(engine) as session:
        stamp = stamps.family_stamp(session, family_id=town["family"])
        fe.set_payer(
            session, family_id=town["family"], guardian_id=town["jean"], agent_id=town["julie"], expected=stamp
        )
        session.commit()
        payers = session.exec(
            select(Guardian.first_name).where(Guardian.family_id == town["family"], Guardian.is_payer)
        ).all()
        assert payers == ["Jean"]
        entry = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc())).first()
        assert entry is not None
        assert (entry.before, entry.after) == ({"payer": "Nicole Dubois"}, {"payer": "Jean Dubois"})
        with pytest.raises(RegieError, match="Jean Dubois est le payeur de la famille"):
            fe.remove_entity(
                session, family_id=town["family"], entity="guardian", entity_id=town["jean"], agent_id=town["julie"]
            )
        session.rollback()
        fe.remove_entity(
            session, family_id=town["family"], entity="guardian", entity_id=town["nicole"], agent_id=town["julie"]
        )
        session.commit()
        assert session.exec(select(Guardian.first_name).where(Guardian.family_id == town["family"])).all() == ["Jean"]
        # A new family's first guardian becomes its payer.
        empty = add_family(session, "NEUF")
        new_id = fe.add_entity(
            session,
            family_id=empty,
            entity="guardian",
            values={"last_name": "Neuf", "first_name": "Ali"},
            agent_id=town["julie"],
        )
        assert get_row(session, Guardian, new_id).is_payer


def test_authorized_person_needs_a_purpose_and_can_be_removed(engine, town):
    with Session(engine) as session:
        with pytest.raises(InvalidValue, match="doit pouvoir récupérer l'enfant ou être à prévenir"):
            fe.add_entity(
                session,
                family_id=town["family"],
                entity="authorized_person",
                values={"last_name": "Petit", "first_name": "Anne", "phone": "0611223344", "may_collect": False},
                agent_id=town["julie"],
            )
        session.rollback()
        person_id = fe.add_entity(
            session,
            family_id=town["family"],
            entity="authorized_person",
            values={"last_name": "Petit", "first_name": "Anne", "phone": "0611223344"},
            agent_id=town["julie"],
        )
        session.commit()
        assert get_row(session, AuthorizedPerson, person_id).phone == "06 11 22 33 44"
        fe.remove_entity(
            session, family_id=town["family"], entity="authorized_person", entity_id=person_id, agent_id=town["julie"]
        )
        session.commit()
        assert session.get(AuthorizedPerson, person_id) is None
        with pytest.raises(RegieError, match="Un enfant ne se supprime pas"):
            fe.remove_entity(
                session, family_id=town["family"], entity="child", entity_id=town["lea"], agent_id=town["julie"]
            )


def test_health_notes_only_for_roles_that_see_them(engine, town):
    with Session(engine) as session:
        values = {"child_id": town["lea"], "kind": "allergy", "text": "Arachide"}
        with pytest.raises(AccessDenied, match="réservées aux rôles accueil et administrateur"):
            fe.add_entity(
                session, family_id=town["family"], entity="health_note", values=values, agent_id=town["regisseur"]
            )
        session.rollback()
        note_id = fe.add_entity(
            session, family_id=town["family"], entity="health_note", values=values, agent_id=town["julie"]
        )
        session.commit()
        assert get_row(session, HealthNote, note_id).text == "Arachide"
        with pytest.raises(InvalidValue, match="Type : « food » n'est pas une valeur possible."):
            fe.set_fields(
                session,
                family_id=town["family"],
                entity="health_note",
                entity_id=note_id,
                values={"kind": "food"},
                agent_id=town["julie"],
            )
        session.rollback()
        # The régisseur's history shows that a note changed, not what it says.
        regisseur = AgentInfo(id=town["regisseur"], login="rgilles", display_name="René Gilles", role=Role.REGISSEUR)
        history = family_history(session, family_id=town["family"], agent=regisseur, today=date(2026, 11, 23))
        assert "Arachide" not in repr(history)
        assert history[0].entity == "health_note"


def test_diets_consents_quotient(engine, town):
    with Session(engine) as session:
        diets = dict((label, id_) for id_, label in fe.diet_choices(session, agent_id=town["julie"]))
        fe.set_diets(session, child_id=town["lea"], diet_ids=[diets["Sans porc"]], agent_id=town["julie"])
        fe.set_consent(session, family_id=town["family"], kind="image_rights", granted=True, agent_id=town["julie"])
        with pytest.raises(InvalidValue, match="la fin de validité précède son début"):
            fe.add_quotient(
                session,
                family_id=town["family"],
                value="850",
                source="CAF",
                valid_from="01/01/2027",
                valid_to="31/12/2026",
                agent_id=town["julie"],
            )
        with pytest.raises(InvalidValue, match="« 8a5 » n'est pas un nombre entier d'euros"):
            fe.add_quotient(
                session,
                family_id=town["family"],
                value="8a5",
                source="CAF",
                valid_from="01/01/2027",
                valid_to="31/12/2027",
                agent_id=town["julie"],
            )
        fe.add_quotient(
            session,
            family_id=town["family"],
            value="850",
            source="caf",
            valid_from="01/01/2027",
            valid_to="31/12/2027",
            agent_id=town["julie"],
        )
        session.commit()
        assert session.exec(select(ChildDiet.diet_id)).all() == [diets["Sans porc"]]
        assert session.exec(select(Consent.granted)).all() == [True]
        quotient = session.exec(select(FamilyQuotient)).one()
        assert (quotient.value, quotient.source, quotient.valid_to) == (850, "CAF", date(2027, 12, 31))
        assert get_row(session, Family, town["family"]).version == 4


def test_archive_hides_from_search_and_freezes_the_file(engine, town, today):
    with Session(engine) as session:
        stamp = stamps.family_stamp(session, family_id=town["family"])
        fe.archive_family(session, family_id=town["family"], agent_id=town["julie"], expected=stamp)
        session.commit()
        assert search_families(session, "dubois").rows == []
        with pytest.raises(RegieError, match="La famille DUBOIS est archivée"):
            fe.set_fields(
                session,
                family_id=town["family"],
                entity="family",
                entity_id=town["family"],
                values={"city": "Épinal"},
                agent_id=town["julie"],
            )
        session.rollback()
        admin = AgentInfo(id=town["julie"], login="jpetit", display_name="Julie Petit", role=Role.ACCUEIL)
        detail = family_detail(session, town["family"], agent=admin, today=today)
        assert detail.history[0].action == "archive"


def test_read_field_gives_stored_codes(engine, town):
    with Session(engine) as session:
        assert fe.read_field(session, entity="child", entity_id=town["lea"], field="sex") == "F"
        assert fe.read_field(session, entity="guardian", entity_id=town["nicole"], field="mobile_phone") == (
            "07 47 06 90 05"
        )


# ------------------------------------------------------------------- history filters and messages


def test_history_filters_by_kind_and_period(engine, town, today):
    from datetime import UTC, datetime

    from regie_tui.models import Message, MessageDirection
    from regie_tui.services.families.history import family_message_list

    def entry(day: date, action: str, entity: str, source: Source = Source.AGENT) -> AuditEntry:
        return AuditEntry(
            at=datetime(day.year, day.month, day.day, 10, tzinfo=UTC),
            agent_id=town["julie"] if source == Source.AGENT else None,
            source=source,
            action=action,
            entity=entity,
            family_id=town["family"],
        )

    with Session(engine) as session:
        session.add_all(
            [
                entry(date(2026, 11, 20), "login", "portal_account", Source.PORTAL),
                entry(date(2026, 11, 10), "online_payment_refused", "invoice", Source.PORTAL),
                entry(date(2026, 10, 1), "decide", "document"),
                entry(date(2026, 9, 15), "decide", "enrollment"),
                entry(date(2026, 6, 1), "update", "guardian"),
                entry(date(2026, 11, 22), "message_done", "message"),
            ]
        )
        session.add(
            Message(
                family_id=town["family"],
                direction=MessageDirection.INCOMING,
                subject="Absence de Léa",
                body="Léa sera absente mercredi.",
                sent_at=datetime(2026, 11, 21, 8, tzinfo=UTC),
            )
        )
        session.add(
            Message(
                family_id=town["family"],
                direction=MessageDirection.OUTGOING,
                subject="Re : Absence de Léa",
                body="Bien noté.",
                sent_at=datetime(2026, 11, 22, 8, tzinfo=UTC),
            )
        )
        session.commit()

        def kinds(kind: str = "all", period: str = "all") -> list[str]:
            found = family_history(
                session, family_id=town["family"], agent=ADMIN, today=today, kind=kind, period=period
            )
            return [h.action + "/" + h.entity for h in found if h.action != "create"]

        assert kinds("logins") == ["login/portal_account"]
        assert kinds("payments") == ["online_payment_refused/invoice"]
        assert kinds("documents") == ["decide/document"]
        assert kinds("bookings") == ["decide/enrollment"]
        assert kinds("messages") == ["message_done/message"]
        assert kinds("changes") == ["update/guardian"]
        assert kinds(period="7d") == ["message_done/message", "login/portal_account"]
        assert kinds(period="30d") == ["message_done/message", "login/portal_account", "online_payment_refused/invoice"]
        assert "decide/enrollment" in kinds(period="year") and "update/guardian" not in kinds(period="year")
        assert len(kinds()) == 6
        messages = family_message_list(session, family_id=town["family"])
        assert [(m.direction, m.subject) for m in messages] == [
            ("outgoing", "Re : Absence de Léa"),
            ("incoming", "Absence de Léa"),
        ]


def test_a_medical_diet_is_health_data(engine, town):
    """Sans gluten tells an intolerance: the régisseur neither reads, sets nor removes it."""
    from regie_tui.services.families.file import family_detail
    from regie_tui.services.trust.access import MEDICAL_DIET_HIDDEN

    with Session(engine) as session:
        every = dict((label, id_) for id_, label in fe.diet_choices(session, agent_id=town["julie"]))
        assert set(every) == {"Sans porc", "Sans gluten"}
        offered = [label for _, label in fe.diet_choices(session, agent_id=town["regisseur"])]
        assert offered == ["Sans porc"]
        with pytest.raises(AccessDenied, match="régimes médicaux"):
            fe.set_diets(session, child_id=town["lea"], diet_ids=[every["Sans gluten"]], agent_id=town["regisseur"])
        session.rollback()
        fe.set_diets(session, child_id=town["lea"], diet_ids=list(every.values()), agent_id=town["julie"])
        session.commit()
        fe.set_diets(session, child_id=town["lea"], diet_ids=[], agent_id=town["regisseur"])  # what it sees: none
        session.commit()
        regisseur = AgentInfo(id=town["regisseur"], login="rgilles", display_name="René Gilles", role=Role.REGISSEUR)
        (child,) = family_detail(session, town["family"], agent=regisseur, today=date(2026, 11, 23)).children
        assert child.diets == [MEDICAL_DIET_HIDDEN] and child.diet_ids == []  # Sans gluten kept, unnamed
        (child,) = family_detail(session, town["family"], agent=ADMIN, today=date(2026, 11, 23)).children
        assert child.diets == ["Sans gluten"]
        history = family_history(session, family_id=town["family"], agent=regisseur, today=date(2026, 11, 23))
        assert "gluten" not in repr(history)
