"""The layout the README's architecture section describes, checked against the code: dependencies run one
way (notes → ingest → rag → front ends, with eval on top), front ends use only what `rag` exports, no
function grows past 60 lines, and the README's map names every module there is."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from helpers import REPO

PACKAGES = ("rag", "ingest", "ui", "eval")
FRONT_ENDS = ("rag/frontends", "ui")


def modules(*roots: str) -> list[Path]:
    return sorted(p for root in roots for p in (REPO / root).rglob("*.py"))


def imported(path: Path) -> list[str]:
    """Every module a file imports, at module level or inside functions."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def top(module: str) -> str:
    return module.split(".")[0]


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_dependencies_run_one_way():
    wrong = []
    for path in modules(*PACKAGES):
        name = rel(path)
        for module in imported(path):
            if name.startswith(("rag/", "ingest/")) and top(module) == "ui":
                wrong.append(f"{name} imports {module}: the browser app sits on top of rag")
            if name.startswith("ingest/") and top(module) in ("rag", "eval"):
                wrong.append(f"{name} imports {module}: ingest sits below rag and eval")
            if name.startswith("rag/") and not name.startswith("rag/frontends/cli/") and top(module) == "eval":
                wrong.append(f"{name} imports {module}: only the command line may start an evaluation")
    assert not wrong, "\n".join(wrong)


def test_front_ends_use_only_what_rag_exports():
    wrong = []
    for path in modules(*FRONT_ENDS):
        for module in imported(path):
            own = module.startswith("rag.frontends.") or top(module) in ("ui", "eval")
            if top(module) in ("rag", "ingest") and module != "rag" and not own:
                wrong.append(f"{rel(path)} imports {module}; use `from rag import ...` (rag/__init__.py)")
    assert not wrong, "\n".join(wrong)


def test_rag_exports_what_it_promises():
    import rag

    missing = [name for name in rag.__all__ if not hasattr(rag, name)]
    assert not missing
    assert issubclass(rag.IndexProblem, rag.RagError) and issubclass(rag.LLMUnavailable, rag.RagError)


def has_code(path: Path) -> bool:
    """More than a docstring: a package's `__init__.py` that does something is a module of the map."""
    body = ast.parse(path.read_text()).body
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body)


def test_no_function_over_60_lines():
    long = [
        f"{rel(path)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in modules(*PACKAGES)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 60
    ]
    assert not long, "\n".join(long)


def test_the_readme_map_names_every_module_and_nothing_else():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`((?:rag|ingest|ui|eval)/[\w/]+\.py)`", section))
    actual = {rel(p) for p in modules(*PACKAGES) if p.name != "__init__.py" or has_code(p)}
    assert named == actual, (
        f"missing from the README: {sorted(actual - named)}; gone from the tree: {sorted(named - actual)}"
    )
