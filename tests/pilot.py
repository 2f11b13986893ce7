"""Helpers for Pilot tests: wait for the screen's workers, read the screen as text."""

import asyncio
import html
import re
import time
from collections.abc import Callable

_CELL = re.compile(r'<text class="[^"]*-r\d+" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>')
_CHAR_WIDTH = 12.2  # Rich's SVG export: one terminal cell


async def workers_done(app) -> None:
    """Wait for every worker, a search superseded by a newer keystroke (cancelled) included."""
    while app.workers:
        await asyncio.gather(*(worker.wait() for worker in list(app.workers)), return_exceptions=True)
        await asyncio.sleep(0)


async def settle(pilot) -> None:
    """Let the screen's database workers finish and the screen repaint, including the workers
    that a dialog's answer or a delivered result starts meanwhile."""
    await pilot.pause()
    await workers_done(pilot.app)
    await pilot.pause()
    while pilot.app.workers:
        await workers_done(pilot.app)
        await pilot.pause()


def screen_text(app) -> str:
    """What the terminal shows, line by line (rebuilt from Textual's own screenshot)."""
    lines: dict[float, dict[int, str]] = {}
    for x, y, text in _CELL.findall(app.export_screenshot()):
        text = html.unescape(text).replace("\xa0", " ").replace("\n", "")
        if text:
            lines.setdefault(float(y), {})[round(float(x) / _CHAR_WIDTH)] = text
    rendered = []
    for y in sorted(lines):
        row = ""
        for column, text in sorted(lines[y].items()):
            row = row.ljust(column) + text
        rendered.append(row.rstrip())
    return "\n".join(rendered)


async def until(pilot, condition: Callable[[], bool], *, timeout: float = 30) -> bool:
    """Whether ``condition()`` comes true within ``timeout`` seconds while the app runs its
    workers and repaints (a table laid out a frame after the line above it, a result a worker
    delivers late on a busy machine): a wait on the condition, never a sleep of a guessed length."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await pilot.pause(0.01)
    return True


async def shows(pilot, text: str, *, timeout: float = 30) -> bool:
    """Whether ``text`` comes on screen within ``timeout`` seconds (see :func:`until`)."""
    return await until(pilot, lambda: text in screen_text(pilot.app), timeout=timeout)
