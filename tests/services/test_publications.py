"""Publications: structure documents and news, as the portal shows them and the desk lists them."""

from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, func, select

from regie_tui.errors import NotFound, RegieError
from regie_tui.models import AuditEntry, News, StoredFile, StructureDocument
from regie_tui.services.common.validation import MAX_FILE_BYTES
from regie_tui.services.portal.publications import (
    PublicationState,
    add_news,
    list_publications,
    portal_today,
    publish_document,
    withdraw_document,
    withdraw_news,
)
from regie_tui.services.trust.agents import resolve_agent

from helpers import TODAY

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


@pytest.fixture
def db(engine):
    with Session(engine) as session:
        yield session


@pytest.fixture
def agent_id(db):
    agent = resolve_agent(db, "mdupont")
    db.commit()
    return agent.id


def write(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_a_published_pdf_is_on_the_portal_and_its_file_kept_once(db, agent_id, tmp_path):
    path = write(tmp_path, "projet-educatif.pdf", PDF)
    first = publish_document(
        db, path=path, title="  Projet éducatif 2026  ", agent_id=agent_id, today=TODAY, description="À lire"
    )
    again = publish_document(db, path=path, title="Projet éducatif (copie)", agent_id=agent_id, today=TODAY)
    db.commit()

    shown = portal_today(db, today=TODAY).documents
    assert [(d.id, d.title, d.filename, d.media_type) for d in shown] == [
        (again, "Projet éducatif (copie)", "projet-educatif.pdf", "application/pdf"),
        (first, "Projet éducatif 2026", "projet-educatif.pdf", "application/pdf"),
    ]
    assert shown[1].description == "À lire" and shown[1].size == len(PDF)
    assert all(d.state is PublicationState.ONLINE and d.state_label == "en ligne" for d in shown)
    assert db.exec(select(func.count()).select_from(StoredFile)).one() == 1
    assert db.exec(select(StoredFile.content)).one() == PDF
    entry = db.exec(
        select(AuditEntry).where(AuditEntry.entity == "structure_document", AuditEntry.entity_id == first)
    ).one()
    assert entry.action == "publish" and entry.agent_id == agent_id
    assert entry.after["file"] == "projet-educatif.pdf" and entry.after["media_type"] == "application/pdf"


@pytest.mark.parametrize(
    ("name", "content", "media_type"), [("planning.png", PNG, "image/png"), ("menu.jpg", JPEG, "image/jpeg")]
)
def test_images_are_recognised_by_their_content(db, agent_id, tmp_path, name, content, media_type):
    publish_document(
        db, path=write(tmp_path, name, content), title="Affiche", agent_id=agent_id, today=TODAY, to_return=True
    )
    db.commit()
    (document,) = list_publications(db, today=TODAY).documents
    assert document.media_type == media_type and document.to_return


def test_a_file_that_is_not_a_pdf_is_refused_with_its_reason(db, agent_id, tmp_path):
    fake = write(tmp_path, "reglement.pdf", b"Ceci est un simple texte, pas un PDF.")
    with pytest.raises(RegieError, match=r"« reglement\.pdf » n'est ni un PDF, ni une image JPEG ou PNG"):
        publish_document(db, path=fake, title="Règlement", agent_id=agent_id, today=TODAY)
    db.rollback()
    assert db.exec(select(func.count()).select_from(StructureDocument)).one() == 0
    assert db.exec(select(func.count()).select_from(StoredFile)).one() == 0


def test_missing_empty_too_big_files_and_missing_title_are_refused(db, agent_id, tmp_path):
    with pytest.raises(RegieError, match="Fichier introuvable"):
        publish_document(db, path=tmp_path / "absent.pdf", title="X", agent_id=agent_id, today=TODAY)
    with pytest.raises(RegieError, match="n'est pas un fichier"):
        publish_document(db, path=tmp_path, title="X", agent_id=agent_id, today=TODAY)
    with pytest.raises(RegieError, match="« vide.pdf » est vide"):
        publish_document(db, path=write(tmp_path, "vide.pdf", b""), title="X", agent_id=agent_id, today=TODAY)
    big = write(tmp_path, "gros.pdf", PDF + b"0" * (MAX_FILE_BYTES + 1 - len(PDF)))
    with pytest.raises(RegieError, match="« gros.pdf » est trop volumineux .* 10 Mo au plus"):
        publish_document(db, path=big, title="X", agent_id=agent_id, today=TODAY)
    with pytest.raises(RegieError, match="Titre : obligatoire"):
        publish_document(db, path=write(tmp_path, "a.pdf", PDF), title="  ", agent_id=agent_id, today=TODAY)
    exactly = write(tmp_path, "limite.pdf", PDF + b"0" * (MAX_FILE_BYTES - len(PDF)))
    publish_document(db, path=exactly, title="Limite", agent_id=agent_id, today=TODAY)


def test_news_states_and_what_the_portal_shows_today(db, agent_id):
    day = timedelta(days=1)
    online = add_news(
        db,
        title="Fermeture",
        body="Fermé le 11/12.",
        published_from=TODAY - day,
        published_to=TODAY,
        agent_id=agent_id,
        today=TODAY,
    )
    upcoming = add_news(
        db,
        title="Vacances",
        body="Inscriptions.",
        published_from=TODAY + day,
        published_to=TODAY + 9 * day,
        agent_id=agent_id,
        today=TODAY,
    )
    single_day = add_news(
        db,
        title="Sortie",
        body="Aujourd'hui.",
        published_from=TODAY,
        published_to=TODAY,
        agent_id=agent_id,
        today=TODAY,
    )
    db.commit()
    states = {n.id: n.state_label for n in list_publications(db, today=TODAY).news}
    assert states == {online: "en ligne", upcoming: "à venir", single_day: "en ligne"}
    assert {n.id for n in portal_today(db, today=TODAY).news} == {online, single_day}
    # The next day, the first and the last are over and the second has begun.
    later = {n.id: n.state_label for n in list_publications(db, today=TODAY + 2 * day).news}
    assert later == {online: "terminée", upcoming: "en ligne", single_day: "terminée"}
    assert [n.id for n in portal_today(db, today=TODAY + 2 * day).news] == [upcoming]


def test_news_dates_and_texts_are_checked_in_french(db, agent_id):
    def add(**changes):
        values = {
            "title": "Titre",
            "body": "Texte",
            "published_from": TODAY,
            "published_to": TODAY + timedelta(days=3),
            "agent_id": agent_id,
            "today": TODAY,
        } | changes
        return add_news(db, **values)

    with pytest.raises(RegieError, match=r"La date de fin \(20/11/2026\) précède la date de début \(23/11/2026\)"):
        add(published_to=date(2026, 11, 20))
    with pytest.raises(RegieError, match="est passée"):
        add(published_from=date(2026, 11, 1), published_to=date(2026, 11, 22))
    with pytest.raises(RegieError, match="Texte : obligatoire"):
        add(body=" \n ")
    with pytest.raises(RegieError, match="Titre : 200 caractères au plus"):
        add(title="x" * 201)
    with pytest.raises(RegieError, match="Texte : 5\u00a0000 caractères au plus"):
        add(body="x" * 5001)
    assert db.exec(select(func.count()).select_from(News)).one() == 0


def test_a_withdrawn_news_item_is_no_longer_on_the_portal(db, agent_id):
    news_id = add_news(
        db,
        title="Grève",
        body="Service minimum jeudi.",
        published_from=TODAY,
        published_to=TODAY + timedelta(days=3),
        agent_id=agent_id,
        today=TODAY,
    )
    db.commit()
    assert [n.title for n in portal_today(db, today=TODAY).news] == ["Grève"]
    withdraw_news(db, news_id=news_id, agent_id=agent_id)
    db.commit()
    assert portal_today(db, today=TODAY).news == []
    (listed,) = list_publications(db, today=TODAY).news
    assert listed.state is PublicationState.WITHDRAWN and listed.state_label == "retirée"
    assert listed.withdrawn_at is not None
    entry = db.exec(select(AuditEntry).where(AuditEntry.entity == "news", AuditEntry.action == "withdraw")).one()
    assert entry.entity_id == news_id and entry.agent_id == agent_id and entry.before == {"withdrawn_at": None}
    with pytest.raises(RegieError, match="L'actualité « Grève » est déjà retirée"):
        withdraw_news(db, news_id=news_id, agent_id=agent_id)
    with pytest.raises(NotFound, match="Actualité n° 999 introuvable"):
        withdraw_news(db, news_id=999, agent_id=agent_id)


def test_a_withdrawn_document_leaves_the_portal_and_stays_listed(db, agent_id, tmp_path):
    kept = publish_document(db, path=write(tmp_path, "a.pdf", PDF), title="Règlement", agent_id=agent_id, today=TODAY)
    gone = publish_document(db, path=write(tmp_path, "b.png", PNG), title="Ancien menu", agent_id=agent_id, today=TODAY)
    db.commit()
    withdraw_document(db, document_id=gone, agent_id=agent_id)
    db.commit()
    assert [d.id for d in portal_today(db, today=TODAY).documents] == [kept]
    states = {d.id: d.state_label for d in list_publications(db, today=TODAY).documents}
    assert states == {kept: "en ligne", gone: "retirée"}
    withdrawn_at = db.exec(select(StructureDocument.withdrawn_at).where(col(StructureDocument.id) == gone)).one()
    assert withdrawn_at is not None
    with pytest.raises(RegieError, match="Le document « Ancien menu » est déjà retiré"):
        withdraw_document(db, document_id=gone, agent_id=agent_id)
    with pytest.raises(NotFound, match="introuvable"):
        withdraw_document(db, document_id=12345, agent_id=agent_id)
