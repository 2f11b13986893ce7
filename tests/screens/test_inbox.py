"""The bannette at the keyboard: open it, read an item, accept, refuse, clear a kind."""

import time
from datetime import date

import pytest
from sqlmodel import Session, select

from regie_tui.models import Document, DocumentStatus, OutboxMail, Submission, SubmissionStatus
from regie_tui.screens.inbox.screen import InboxScreen
from regie_tui.services.common.sql import id_col
from regie_tui.services.portal.pending import pending_counts

from helpers import get_row
from pilot import screen_text, settle


async def _open(pilot, *keys: str) -> InboxScreen:
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, InboxScreen)
    return screen


def _counts(app):
    with Session(app.engine) as session:
        return pending_counts(session)


async def test_f3_shows_the_oldest_item_and_its_detail(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        inbox = await _open(pilot)
        text = screen_text(app)
        assert "Bannette" in text and "élément(s)" in text and "par famille" in text
        assert inbox.page is not None
        assert inbox.page.rows and inbox.detail is not None
        assert inbox.page is not None
        assert inbox.detail.id == inbox.page.rows[0].id
        assert f"n° {inbox.detail.id}" in text
        await pilot.press("down")
        await settle(pilot)
        assert inbox.page is not None
        assert inbox.detail.id == inbox.page.rows[1].id  # next item without leaving the screen
        await pilot.press("g")
        await settle(pilot)
        assert "par type" in screen_text(app)


async def test_clearing_the_messages_with_the_keyboard(make_fresh_app):
    app = make_fresh_app()
    async with app.run_test(size=(80, 24)) as pilot:
        before = _counts(app)
        assert before.messages > 0
        inbox = await _open(pilot)
        while inbox.filters.kind != "messages":
            await pilot.press("t")
            await settle(pilot)
        assert "Msg" in screen_text(app)
        for _ in range(before.messages):
            await pilot.press("a")
            await settle(pilot)
        assert "La bannette est vide pour ce filtre" in screen_text(app)
        after = _counts(app)
        assert after.messages == 0 and after.changes == before.changes
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.query_one("#pending-messages").value == "0"  # the dashboard follows


async def test_replying_to_a_message_then_marking_it_done(make_fresh_app):
    app = make_fresh_app()
    async with app.run_test(size=(80, 24)) as pilot:
        inbox = await _open(pilot)
        while inbox.filters.kind != "messages":
            await pilot.press("t")
            await settle(pilot)
        assert inbox.detail is not None
        item, body = inbox.detail.id, inbox.detail.body
        await pilot.press("e")
        await settle(pilot)
        assert body[:30] in screen_text(app)  # the family's message stays in view
        await pilot.press(*"Bien recu, merci.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        with Session(app.engine) as session:
            submission = session.get(Submission, item)
            assert submission is not None
            assert submission.status == SubmissionStatus.ACCEPTED
            mail = session.exec(select(OutboxMail).where(OutboxMail.submission_id == item)).one()
            assert "Bien recu, merci." in mail.body and mail.subject.startswith("Re : ")


async def test_refusing_with_a_template(make_fresh_app):
    app = make_fresh_app()
    async with app.run_test(size=(80, 24)) as pilot:
        inbox = await _open(pilot)
        while inbox.filters.kind != "documents":
            await pilot.press("t")
            await settle(pilot)
        assert inbox.detail is not None
        item = inbox.detail.id
        assert "Validité proposée" in screen_text(app)
        await pilot.press("r")
        await settle(pilot)
        assert "Refuser :" in screen_text(app)
        await pilot.press("enter")  # the first template into the reason
        await pilot.press("enter")  # refuse with it
        await settle(pilot)
        with Session(app.engine) as session:
            decided = session.get(Submission, item)
            assert decided is not None
            assert decided.status == SubmissionStatus.REFUSED and decided.reason
            mail = session.exec(select(OutboxMail).where(OutboxMail.submission_id == item)).one()
            assert decided.reason in mail.body
        assert inbox.detail is None or inbox.detail.id != item


async def test_a_list_read_while_a_refusal_is_written_never_brings_the_item_back(make_fresh_app, monkeypatch):
    """The dialog's closing reloads the list (the screen resumes) while the refusal is being
    written: that read, taken before the refusal committed and delivered after it was shown, is
    stale and must not put the refused item back (forced here: the write waits for the read's
    query, and the read is delivered only once the decision is on screen)."""
    import threading

    from regie_tui.screens.inbox import screen as inbox_screen
    from regie_tui.services.portal.inbox import decisions, listing

    read_taken = threading.Event()
    armed = threading.Event()
    shown: list[InboxScreen] = []

    def stale_page(*args, **kwargs):
        page = real_page(*args, **kwargs)
        if armed.is_set() and not read_taken.is_set():
            read_taken.set()
            deadline = time.monotonic() + 10
            while shown[0]._decisions_shown == 0 and time.monotonic() < deadline:  # the decision shown first
                time.sleep(0.01)
        return page

    def decide_after_the_read(*args, **kwargs):
        assert read_taken.wait(10), "the list was not read again when the dialog closed"
        return real_decide(*args, **kwargs)

    real_page, real_decide = listing.inbox_page, decisions.decide
    monkeypatch.setattr(inbox_screen, "inbox_page", stale_page)
    monkeypatch.setattr(inbox_screen, "decide", decide_after_the_read)
    app = make_fresh_app()
    async with app.run_test(size=(80, 24)) as pilot:
        inbox = await _open(pilot)
        shown.append(inbox)
        while inbox.filters.kind != "documents":
            await pilot.press("t")
            await settle(pilot)
        assert inbox.detail is not None
        item = inbox.detail.id
        await pilot.press("r")
        await settle(pilot)
        armed.set()
        await pilot.press("enter")  # the first template into the reason
        await pilot.press("enter")  # refuse with it
        await settle(pilot)
        assert read_taken.is_set() and inbox._decisions_shown == 1
        assert inbox.page is not None
        assert item not in [row.id for row in inbox.page.rows]
        assert inbox.detail is None or inbox.detail.id != item


async def test_accepting_a_document_asks_its_validity(make_fresh_app):
    app = make_fresh_app()
    async with app.run_test(size=(80, 24)) as pilot:
        inbox = await _open(pilot)
        while inbox.filters.kind != "documents":
            await pilot.press("t")
            await settle(pilot)
        assert inbox.detail is not None
        assert inbox.detail.document is not None
        item, document_id = inbox.detail.id, inbox.detail.document.document_id
        await pilot.press("a")
        await settle(pilot)
        assert "Valable du" in screen_text(app)
        to = app.screen.query_one("#valid-to")
        to.value = "31/12/2026"
        to.focus()
        await pilot.press("enter")
        await settle(pilot)
        with Session(app.engine) as session:
            assert get_row(session, Submission, item).status == SubmissionStatus.ACCEPTED
            document = session.get(Document, document_id)
            assert document is not None
            assert document.status == DocumentStatus.ACCEPTED and document.valid_to == date(2026, 12, 31)


async def test_a_dashboard_counter_opens_the_bannette_on_its_kind(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.screen.query_one("#pending-documents").focus()
        await pilot.press("enter")
        await settle(pilot)
        inbox = app.screen
        assert isinstance(inbox, InboxScreen) and inbox.filters.kind == "documents"
        assert inbox.page is not None
        assert {row.kind for row in inbox.page.rows} == {"document"}


SNAPSHOT = pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)


@SNAPSHOT
def test_snapshot_bannette(snap_compare, make_app):
    async def run(pilot):
        await _open(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run)


@SNAPSHOT
@pytest.mark.parametrize("kind", ["changes", "documents"])
def test_snapshot_item(snap_compare, make_app, kind):
    async def run(pilot):
        inbox = await _open(pilot)
        while inbox.filters.kind != kind:
            await pilot.press("t")
            await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run)


async def test_an_image_document_is_previewed_in_the_terminal(make_fresh_app):
    import base64
    import io
    import json

    from PIL import Image as PILImage
    from sqlmodel import col

    from regie_tui.models import DocumentScope, DocumentType, PortalAccount
    from regie_tui.services.portal.intake.run import import_submissions

    picture = io.BytesIO()
    PILImage.new("RGB", (40, 20), (200, 30, 30)).save(picture, format="PNG")
    app = make_fresh_app()
    with Session(app.engine) as session:
        row = session.exec(
            select(PortalAccount.family_id, PortalAccount.email).order_by(col(PortalAccount.family_id))
        ).first()
        assert row is not None
        family_id, account = row
        doc_type = session.exec(
            select(id_col(DocumentType.id)).where(DocumentType.scope == DocumentScope.FAMILY)
        ).first()
        line = {
            "id": "t-image",
            "kind": "document",
            "family": family_id,
            "account": account,
            "submitted_at": "2026-10-01T08:00:00+02:00",  # the oldest item: first in the list
            "document_type": doc_type,
            "filename": "attestation.png",
            "media_type": "image/png",
            "content_base64": base64.b64encode(picture.getvalue()).decode(),
        }
        from regie_tui.clock import utc_now

        summary = import_submissions(
            session, data=json.dumps(line).encode(), filename="t.jsonl", agent=None, now=utc_now()
        )
        session.commit()
        assert summary.stored == 1
    async with app.run_test(size=(80, 24)) as pilot:
        inbox = await _open(pilot)
        while inbox.filters.kind != "documents":
            await pilot.press("t")
            await settle(pilot)
        assert inbox.detail is not None
        assert inbox.detail.document is not None
        assert inbox.detail.document.filename == "attestation.png"
        await settle(pilot)
        assert inbox.query(".inbox-image"), "the picture is shown under the detail"
        assert "image/png" in screen_text(app)
