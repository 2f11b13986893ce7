"""The house stays readable: no module over ~500 lines, no function over ~60 (read from the
source, without importing it).

A function that must stay longer says why on the line above its ``def``, in a comment
starting with ``# long:``. The migrations are history, written once: they are not counted.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "regie_tui"
MODULE_LINES = 500
#: "About 500": a module a little over keeps its unity rather than being cut at a line count.
MODULE_SLACK = 30
FUNCTION_LINES = 60


def package_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.relative_to(PACKAGE).parts)


def long_functions(source: str) -> list[str]:
    """Functions over ``FUNCTION_LINES`` lines (decorators excluded) without a ``# long:`` reason."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assert node.end_lineno is not None
        length = node.end_lineno - node.lineno + 1
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        reason = lines[first - 2].strip() if first >= 2 else ""
        if length > FUNCTION_LINES and not reason.startswith("# long:"):
            found.append(f"{node.name} (line {node.lineno}, {length} lines)")
    return found


@pytest.mark.parametrize("path", package_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_short(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    lines = source.count("\n")
    assert lines <= MODULE_LINES + MODULE_SLACK, f"{path.relative_to(PACKAGE)}: {lines} lines; split it by meaning"
    too_long = long_functions(source)
    assert not too_long, f"{path.relative_to(PACKAGE)}: " + ", ".join(too_long) + " (split, or say why: # long:)"


def test_the_check_sees_a_long_function_and_its_reason() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES))
    assert long_functions(f"def f():\n{body}\n") == [f"f (line 1, {FUNCTION_LINES + 1} lines)"]
    assert long_functions(f"# long: one table, row by row\ndef f():\n{body}\n") == []
    assert long_functions(f"def f():\n{body[: body.rindex(chr(10))]}\n") == []
