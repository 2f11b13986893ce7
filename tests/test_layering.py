"""Imports run one way (read from the source, without importing it).

The core (services/, models/, reports/ once written, demo/, db.py and the small helpers
beside it) must run headless (CLI, batch jobs, benchmarks): it never imports Textual,
nor the screens, widgets or app that do. In the user interface the arrows run
app → screens → widgets → workers, never back; and the demo town is only the CLI's.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "regie_tui"
CORE = [
    "services",
    "models",
    "reports",
    "demo",
    "db.py",
    "config.py",
    "clock.py",
    "errors.py",
    "formatting.py",
    "labels.py",
    "cli_french.py",
    "inbox_text.py",
]
FORBIDDEN = (
    "textual",
    "regie_tui.app",
    "regie_tui.screens",
    "regie_tui.widgets",
    "regie_tui.commands",
    "regie_tui.workers",
)

#: Each part of the package, and what it must never import (besides FORBIDDEN for the core).
ARROWS = {
    "models": ("regie_tui.services", "regie_tui.demo", "regie_tui.reports", "regie_tui.cli"),
    "services": ("regie_tui.demo", "regie_tui.cli", "regie_tui.reports"),
    "reports": ("regie_tui.demo", "regie_tui.cli"),
    "screens": ("regie_tui.app", "regie_tui.commands", "regie_tui.cli", "regie_tui.demo"),
    "widgets": ("regie_tui.app", "regie_tui.commands", "regie_tui.screens", "regie_tui.cli", "regie_tui.demo"),
    "workers.py": ("regie_tui.app", "regie_tui.commands", "regie_tui.screens", "regie_tui.widgets"),
    "commands.py": ("regie_tui.app", "regie_tui.demo"),
    "app.py": ("regie_tui.cli", "regie_tui.demo"),
}


def modules_of(parts: list[str]) -> list[Path]:
    files: list[Path] = []
    for part in parts:
        path = PACKAGE / part
        if path.is_dir():
            files.extend(sorted(path.rglob("*.py")))
        elif path.exists() or path.suffix == ".py":  # a missing module is an error; a missing layer is not
            files.append(path)
    return files


def core_modules() -> list[Path]:
    return modules_of(CORE)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """Every module an import statement of ``module`` names, relative imports made absolute."""
    tree = ast.parse(source, filename=module)
    package = module.split(".")
    if not is_package:
        package.pop()
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):  # also imports inside functions and TYPE_CHECKING blocks
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def is_forbidden(module: str, forbidden: tuple[str, ...] = FORBIDDEN) -> bool:
    return any(module == name or module.startswith(name + ".") for name in forbidden)


def test_core_modules_are_found() -> None:
    names = {module_name(p) for p in core_modules()}
    assert {"regie_tui.db", "regie_tui.models", "regie_tui.models.booking"} <= names


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_never_imports_the_user_interface(path: Path) -> None:
    found = imported_modules(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py")
    offending = [f"line {line}: {module}" for line, module in found if is_forbidden(module)]
    assert not offending, f"{path.relative_to(PACKAGE.parent)} imports the UI: " + ", ".join(offending)


def test_the_check_sees_every_kind_of_import() -> None:
    source = (
        "import textual\n"
        "from textual.widgets import DataTable\n"
        "from ..screens import family\n"
        "from . import booking\n"
        "def later():\n"
        "    import importlib\n"
        "    importlib.import_module('textual.app')\n"
    )
    found = imported_modules(source, "regie_tui.services.sample")
    assert sorted(m for _, m in found if is_forbidden(m)) == [
        "regie_tui.screens",
        "regie_tui.screens.family",
        "textual",
        "textual.app",
        "textual.widgets",
        "textual.widgets.DataTable",
    ]
    assert "regie_tui.services.booking" in {m for _, m in found}


ARROW_CASES = [(part, path) for part in ARROWS for path in modules_of([part])]


@pytest.mark.parametrize(("part", "path"), ARROW_CASES, ids=[str(p.relative_to(PACKAGE)) for _, p in ARROW_CASES])
def test_imports_run_one_way(part: str, path: Path) -> None:
    found = imported_modules(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py")
    offending = [f"line {line}: {module}" for line, module in found if is_forbidden(module, ARROWS[part])]
    assert not offending, f"{path.relative_to(PACKAGE.parent)} imports against the arrows: " + ", ".join(offending)


def test_every_ui_module_is_checked() -> None:
    checked = {module_name(p) for _, p in ARROW_CASES}
    ui = {module_name(p) for part in ("screens", "widgets") for p in modules_of([part])}
    assert ui <= checked and {"regie_tui.app", "regie_tui.workers", "regie_tui.screens.base"} <= checked
