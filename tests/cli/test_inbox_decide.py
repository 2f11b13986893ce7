"""`regie inbox list|show|accept|refuse`: the bannette for scripts, same refusals as the screen."""

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from regie_tui import cli
from regie_tui.db import make_engine
from regie_tui.models import Guardian, OutboxMail, PortalAccount, Submission, SubmissionKind, SubmissionStatus

from builders import portal_requests
from helpers import ADMIN_LOGIN, act_as, get_row

runner = CliRunner()


@pytest.fixture(autouse=True)
def login(monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)


def regie(*args: str):
    return runner.invoke(cli.app, list(args))


def _pending(url: str, kind: SubmissionKind) -> Submission:
    engine = make_engine(url)
    with Session(engine) as session:
        item = session.exec(
            select(Submission)
            .where(Submission.status == SubmissionStatus.PENDING, Submission.kind == kind)
            .order_by(col(Submission.id))
        ).first()
    engine.dispose()
    assert item is not None, f"the test town has a pending {kind}"
    return item


def test_list_json_gives_the_pending_items_oldest_first(town_url):
    result = regie("inbox", "list", "--json", "--db", town_url)
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)
    assert items and set(items[0]) >= {"id", "kind", "family", "submitted_at", "summary"}
    by_family: dict[int, list[str]] = {}
    for item in items:
        by_family.setdefault(item["family"], []).append(item["submitted_at"])
    assert all(times == sorted(times) for times in by_family.values())
    only = json.loads(regie("inbox", "list", "--kind", "messages", "--json", "--db", town_url).output)
    assert only and {item["kind"] for item in only} == {"message"}


def test_accept_a_change_then_accepting_it_again_does_nothing(fresh_town_url):
    item = _pending(fresh_town_url, SubmissionKind.CHANGE)
    shown = regie("inbox", "show", str(item.id), "--json", "--db", fresh_town_url)
    assert shown.exit_code == 0, shown.output
    result = regie("inbox", "accept", str(item.id), "--force", "--db", fresh_town_url)
    assert result.exit_code == 0, result.output
    assert "boîte d'envoi" in result.output
    again = regie("inbox", "accept", str(item.id), "--db", fresh_town_url)
    assert again.exit_code == 1 and "déjà traité" in again.output


def _guardian_change(url: str) -> Submission:
    """A pending change of a guardian's mobile phone, as its family asked it on the portal."""
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        guardian = session.exec(
            select(Guardian)
            .join(PortalAccount, col(PortalAccount.family_id) == Guardian.family_id)
            .where(col(Guardian.mobile_phone) != "")
            .order_by(col(Guardian.id))
        ).first()
        assert guardian is not None, "the test town has a guardian with a mobile phone and a portal account"
        change = {
            "kind": "change",
            "entity": "guardian",
            "entity_id": guardian.id,
            "field": "mobile_phone",
            "old": guardian.mobile_phone,
            "new": "06 11 22 33 44",
        }
        (item_id,) = portal_requests(session, guardian.family_id, [change], now=datetime(2026, 11, 23, 9, tzinfo=UTC))
        item = get_row(session, Submission, item_id)
    engine.dispose()
    return item


def test_a_conflict_is_printed_and_nothing_is_done(fresh_town_url):
    item = _guardian_change(fresh_town_url)
    engine = make_engine(fresh_town_url)
    with Session(engine) as session:  # the field moves after the family saw it
        payload = item.payload
        guardian = session.get(Guardian, payload["entity_id"])
        setattr(guardian, payload["field"], "")
        session.add(guardian)
        session.commit()
    result = regie("inbox", "accept", str(item.id), "--db", fresh_town_url)
    assert result.exit_code == 1
    assert "Rien n'a été fait" in result.output and "--force" in result.output
    with Session(engine) as session:
        assert get_row(session, Submission, item.id).status == SubmissionStatus.PENDING
    engine.dispose()


def test_refuse_needs_a_reason_and_tells_the_family(fresh_town_url):
    item = _pending(fresh_town_url, SubmissionKind.DOCUMENT)
    missing = regie("inbox", "refuse", str(item.id), "--reason", " ", "--db", fresh_town_url)
    assert missing.exit_code == 1 and "Motif obligatoire" in missing.output
    result = regie("inbox", "refuse", str(item.id), "--reason", "Document illisible.", "--db", fresh_town_url)
    assert result.exit_code == 0, result.output
    engine = make_engine(fresh_town_url)
    with Session(engine) as session:
        mail = session.exec(select(OutboxMail).where(OutboxMail.submission_id == item.id)).one()
        assert "Document illisible." in mail.body
    engine.dispose()


def test_templates_are_managed_from_the_cli(fresh_town_url):
    added = regie("inbox", "template-add", "Pièce manquante.", "--kind", "document", "--db", fresh_town_url)
    assert added.exit_code == 0, added.output
    listed = json.loads(regie("inbox", "templates", "--json", "--db", fresh_town_url).output)
    mine = [t for t in listed if t["text"] == "Pièce manquante."]
    assert mine and mine[0]["kind"] == "document"
    regie("inbox", "template-withdraw", str(mine[0]["id"]), "--db", fresh_town_url)
    listed = json.loads(regie("inbox", "templates", "--json", "--db", fresh_town_url).output)
    assert not [t for t in listed if t["text"] == "Pièce manquante."]
