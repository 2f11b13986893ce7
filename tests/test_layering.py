"""Imports run one way (read from the source, without importing it).

The core (services/, models/, reports/ once written, demo/, db.py and the small helpers
beside it) must run headless (CLI, batch jobs, benchmarks): it never imports Textual,
nor the screens, widgets or app that do. In the user interface the arrows run
app → screens → widgets → workers, never back; and the demo town is only the CLI's.
"""

import ast
import dataclasses
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
    "cli/french.py",
    "inbox_text.py",
    "codes.py",
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


# ------------------------------------------------------------------ the user interface holds no SQL
#
# Screens, widgets, the app and the command palette reach the database through
# regie_tui.workers and nothing else: they import neither SQLAlchemy, SQLModel, the models nor
# the database module (in any form, also inside a function or a TYPE_CHECKING block); the
# session a worker hands them is only passed on to a service (no query, no transaction).

WITHOUT_SQL = ["screens", "widgets", "app.py", "commands.py"]
SQL = ("sqlalchemy", "sqlmodel", "regie_tui.models", "regie_tui.db")
#: What only a session (or a connection) does: reading SQL, steering the unit of work.
SESSION_CALLS = frozenset({"exec", "execute", "scalar", "scalars", "commit", "rollback", "begin", "begin_nested"})


def session_calls(source: str) -> list[tuple[int, str]]:
    """Calls of a session's own methods (``x.commit()``, ``db.begin_nested()``)."""
    return [
        (node.lineno, node.func.attr)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SESSION_CALLS
    ]


def test_the_sql_check_sees_imports_and_transactions() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from sqlmodel import Session\n"
        "def query(db):\n"
        "    from regie_tui.models import Family\n"
        "    savepoint = db.begin_nested()\n"
        "    savepoint.commit()\n"
        "    return db.exec(None)\n"
    )
    found = imported_modules(source, "regie_tui.screens.sample")
    assert sorted(m for _, m in found if is_forbidden(m, SQL)) == [
        "regie_tui.models",
        "regie_tui.models.Family",
        "sqlmodel",
        "sqlmodel.Session",
    ]
    assert session_calls(source) == [(6, "begin_nested"), (7, "commit"), (8, "exec")]


@pytest.mark.parametrize("path", modules_of(WITHOUT_SQL), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_user_interface_holds_no_sql(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    found = imported_modules(source, module_name(path), is_package=path.name == "__init__.py")
    offending = [f"line {line}: {module}" for line, module in found if is_forbidden(module, SQL)]
    offending += [f"line {line}: .{name}()" for line, name in session_calls(source)]
    assert not offending, f"{path.relative_to(PACKAGE.parent)} reaches around the workers: " + ", ".join(offending)


# ------------------------------------------------------------------ the CLI package
#
# `regie_tui/cli/`: its `__init__` builds the root app and registers every command group, and
# is the only module that imports them; a group imports, from the CLI package, only `common`
# (options, desk, output, French errors) and `french`, which import no other CLI module: no
# import circle, nothing registered by the side effect of an import, no private name shared.

CLI = PACKAGE / "cli"
CLI_REGISTRY = "regie_tui.cli"
CLI_SHARED = {"regie_tui.cli.common", "regie_tui.cli.french"}
PACKAGE_MODULES = {module_name(p) for p in PACKAGE.rglob("*.py")}


@dataclasses.dataclass(frozen=True)
class Imported:
    """One name an import statement binds: ``name`` is None when it is a whole module."""

    line: int
    module: str
    name: str | None
    bound: str


def imports_of(source: str, module: str, *, is_package: bool = False) -> list[Imported]:
    """What the import statements of ``module`` bind (``from a import b``: the module ``a.b`` when
    it is a module of the package, else the name ``b`` of ``a``), relative imports made absolute."""
    package = module.split(".")
    if not is_package:
        package.pop()
    found: list[Imported] = []
    for node in ast.walk(ast.parse(source, filename=module)):
        if isinstance(node, ast.Import):
            found.extend(Imported(node.lineno, a.name, None, a.asname or a.name.split(".")[0]) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                target = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            for a in node.names:
                bound = a.asname or a.name
                if f"{target}.{a.name}" in PACKAGE_MODULES:
                    found.append(Imported(node.lineno, f"{target}.{a.name}", None, bound))
                else:
                    found.append(Imported(node.lineno, target, a.name, bound))
    return found


def imports_of_file(path: Path) -> list[Imported]:
    return imports_of(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py")


def cli_imports(found: list[Imported]) -> list[Imported]:
    return [i for i in found if is_forbidden(i.module, (CLI_REGISTRY,))]


def cli_modules() -> list[Path]:
    return sorted(CLI.glob("*.py"))


def cli_groups() -> set[str]:
    return {module_name(p) for p in cli_modules()} - CLI_SHARED - {CLI_REGISTRY}


def test_the_cli_package_is_found() -> None:
    assert {"regie_tui.cli.inbox", "regie_tui.cli.invoices", "regie_tui.cli.payments"} <= cli_groups()
    assert CLI_SHARED <= PACKAGE_MODULES


def test_the_cli_check_reads_every_kind_of_import() -> None:
    source = (
        "from regie_tui.cli import common\n"
        "from regie_tui.cli.common import fail\n"
        "from regie_tui.cli import app\n"
        "from . import booking\n"
        "import regie_tui.cli.mail as mail\n"
        "from regie_tui.errors import _hidden\n"
    )
    found = imports_of(source, "regie_tui.cli.sample")
    assert [(i.module, i.name) for i in cli_imports(found)] == [
        ("regie_tui.cli.common", None),
        ("regie_tui.cli.common", "fail"),
        ("regie_tui.cli", "app"),
        ("regie_tui.cli.booking", None),
        ("regie_tui.cli.mail", None),
    ]
    assert private_names(found, "common._DESK\nmail.fail\n") == [
        "line 6: regie_tui.errors._hidden",
        "line 1: common._DESK",
    ]


@pytest.mark.parametrize("path", [CLI / "common.py", CLI / "french.py"], ids=lambda p: p.name)
def test_the_clis_shared_modules_import_no_other_cli_module(path: Path) -> None:
    offending = [f"line {i.line}: {i.module}" for i in cli_imports(imports_of_file(path))]
    assert not offending, f"{path.name} imports the CLI: " + ", ".join(offending)


@pytest.mark.parametrize("path", [p for p in cli_modules() if module_name(p) in cli_groups()], ids=lambda p: p.name)
def test_a_command_group_imports_only_the_clis_shared_modules(path: Path) -> None:
    offending = [f"line {i.line}: {i.module}" for i in cli_imports(imports_of_file(path)) if i.module not in CLI_SHARED]
    assert not offending, f"{path.name} imports a CLI module other than common and french: " + ", ".join(offending)


def test_only_the_registering_module_imports_the_command_groups() -> None:
    groups = cli_groups()
    offending = [
        f"{path.relative_to(PACKAGE.parent)} line {i.line}: {i.module}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if module_name(path) != CLI_REGISTRY
        for i in cli_imports(imports_of_file(path))
        if i.module in groups
    ]
    assert not offending, "command groups imported outside regie_tui/cli/__init__.py: " + ", ".join(offending)
    assert groups <= {i.module for i in cli_imports(imports_of_file(CLI / "__init__.py"))}


def private_names(found: list[Imported], source: str) -> list[str]:
    """Private names of the package's modules: imported (``from regie_tui.x import _y``), or
    read on a module imported whole (``x._y``)."""
    ours = [i for i in found if is_forbidden(i.module, ("regie_tui",))]
    names = [
        f"line {i.line}: {i.module}.{i.name}"
        for i in ours
        if any(part.startswith("_") for part in [*i.module.split("."), i.name or ""])
    ]
    modules = {i.bound for i in ours if i.name is None}
    return names + [
        f"line {node.lineno}: {node.value.id}.{node.attr}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
        and node.attr.startswith("_")
    ]


@pytest.mark.parametrize("path", cli_modules(), ids=lambda p: p.name)
def test_the_cli_uses_no_private_name_of_another_module(path: Path) -> None:
    offending = private_names(imports_of_file(path), path.read_text(encoding="utf-8"))
    assert not offending, f"{path.name} uses private names of other modules: " + ", ".join(offending)


#: The CLI turns a command line into service calls and prints their answers: it runs no query.
#: Only the typing of the engine and the database's own errors (for the French line) come from SQLAlchemy.
CLI_SQL_ALLOWED = ("sqlalchemy.exc", "sqlalchemy.engine")
CLI_QUERY_CALLS = frozenset({"exec", "execute", "scalar", "scalars"})


@pytest.mark.parametrize("path", cli_modules(), ids=lambda p: p.name)
def test_the_cli_runs_no_query(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    found = imported_modules(source, module_name(path), is_package=path.name == "__init__.py")
    offending = [
        f"line {line}: {module}"
        for line, module in found
        if is_forbidden(module, ("sqlalchemy", "sqlmodel", "regie_tui.models"))
        and not is_forbidden(module, CLI_SQL_ALLOWED)
    ]
    offending += [f"line {line}: .{name}()" for line, name in session_calls(source) if name in CLI_QUERY_CALLS]
    assert not offending, f"{path.name} reaches around the services: " + ", ".join(offending)
