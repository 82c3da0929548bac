"""The layers depend one way: entry points → composition → web → handlers → bot (plumbing) → models.

Every import in the project's modules is read with `ast` (including imports inside functions),
so a lower layer reaching up fails here, however it is spelled.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A module may import its own layer and the layers below it.
LAYERS = [
    ("models",),
    ("bot", "migrations"),
    ("handlers",),
    ("web",),
    ("composition",),
    ("app", "worker", "cli"),
]
RANK = {top: rank for rank, tops in enumerate(LAYERS) for top in tops}
# Below the composition root nothing imports a project module inside a function: such an import
# is how a cycle gets dodged instead of removed.
TOP_LEVEL_ONLY = {"models", "migrations", "bot", "handlers", "web"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> list[Path]:
    paths = [ROOT / f"{top}.py" for top in RANK if (ROOT / f"{top}.py").exists()]
    for top in RANK:
        if (ROOT / top).is_dir():
            paths += sorted((ROOT / top).rglob("*.py"))
    return paths


def imports_of(path: Path) -> list[tuple[str, int, bool]]:
    return imports_in(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


def imports_in(source: str, module: str, is_package: bool) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for each import in the source."""
    tree = ast.parse(source)
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, nested) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - child.level + 1]
                    name = ".".join(base + ([child.module] if child.module else []))
                else:
                    name = child.module or ""
                found.append((name, child.lineno, nested))
            visit(child, inner)

    visit(tree, False)
    return found


def layer_of(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in RANK else None


MODULES = project_modules()


def test_every_layer_has_modules():
    assert {layer_of(module_name(p)) for p in MODULES} == set(RANK) - {None}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_layer_above_it(path: Path):
    own = layer_of(module_name(path))
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for name, line, _nested in imports_of(path)
        if layer_of(name) is not None and RANK[layer_of(name)] > RANK[own]
    ]
    assert upward == []


@pytest.mark.parametrize(
    "path", [p for p in MODULES if layer_of(module_name(p)) in TOP_LEVEL_ONLY],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_late_imports_of_project_modules_below_the_composition_root(path: Path):
    late = [
        f"{path.relative_to(ROOT)}:{line} imports {name} inside a function"
        for name, line, nested in imports_of(path)
        if nested and layer_of(name) is not None
    ]
    assert late == []


def test_the_walk_resolves_relative_and_late_imports():
    source = "from . import text\nfrom ..models import Wish\ndef f():\n    import composition.runtime\n"
    assert imports_in(source, "bot.router", False) == [
        ("bot", 1, False), ("models", 2, False), ("composition.runtime", 4, True),
    ]


TESTS = sorted((ROOT / "tests").glob("*.py"))


@pytest.mark.parametrize("path", TESTS, ids=lambda p: p.name)
def test_tests_import_no_private_helper_and_not_the_bench(path: Path):
    """Tests go through what a module offers; the bench is measured, not borrowed from."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [f"{path.name}:{node.lineno} imports {name}" for name in names
                  if name.split(".")[0] == "bench" or name.rsplit(".", 1)[-1].startswith("_")]
    assert [f for f in found if "__future__" not in f] == []
