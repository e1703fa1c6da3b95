"""The package's modules import each other without circles.

Every import counts, at the top of a module or inside a function; an import under
``if TYPE_CHECKING:`` is an annotation, not a dependency, and is left out. A circle means two
modules that cannot be understood, tested or moved one without the other.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).parent.parent / "iamkit"


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of the statements under ``if TYPE_CHECKING:``."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imported(name: str) -> set[str]:
    """The package modules that module ``name`` imports."""
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    skip = type_checking_only(tree)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package, one level up per extra dot
                parent = package[: len(package) - node.level + 1]
                base = ".".join(parent + [node.module] if node.module else parent)
            else:
                base = node.module or ""
            for alias in node.names:
                out.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in out if m in MODULES and m != name}


GRAPH = {name: imported(name) for name in MODULES}


def private_imports(name: str) -> list[str]:
    """Underscore names module ``name`` takes from other modules of the package (``from .x import _y``)."""
    tree = ast.parse(MODULES[name].read_text())
    return [f"{node.module}.{alias.name}" for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level
            for alias in node.names if alias.name.startswith("_") and alias.name != "__version__"]


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_lazy_and_relative_imports() -> None:
    assert "iamkit.engine.evaluator" in GRAPH["iamkit.cli.simulate"]  # from ..engine.evaluator import evaluate
    assert "iamkit.account.model" in GRAPH["iamkit.cli.account"]  # inside a function
    assert "iamkit.engine.decision" in GRAPH["iamkit.widgets.playground"]  # from ..decision import Decision
    assert "iamkit.engine.decision" not in GRAPH["iamkit.engine.explain"]  # under TYPE_CHECKING only


def test_no_import_circles() -> None:
    found = circles(GRAPH)
    assert not found, "import circles: " + "; ".join(" ↔ ".join(group) for group in found)


def test_no_module_borrows_another_modules_private_names() -> None:
    # A name another module needs is API: make it public where it lives, or move it.
    borrowed = {name: found for name in MODULES if (found := private_imports(name))}
    assert not borrowed, borrowed


VIEWS = sorted(name for name in MODULES if name.startswith("iamkit.views."))


@pytest.mark.parametrize("view", ["iamkit.engine.decision", "iamkit.engine.explain", *VIEWS])
def test_views_never_evaluate(view: str) -> None:
    # A view formats a Decision it is given; it never asks the engine for one of its own.
    assert "iamkit.engine.evaluator" not in GRAPH[view]


@pytest.mark.parametrize("module", sorted(name for name in MODULES if name.startswith("iamkit.engine")))
def test_the_engine_imports_only_itself_the_errors_and_the_display_protocol(module: str) -> None:
    # STYLE: views import the engine, never the other way round (iamkit.native finds its compiled build).
    outside = {m for m in GRAPH[module] if not m.startswith("iamkit.engine")} - {"iamkit", "iamkit.errors",
                                                                                 "iamkit.display", "iamkit.native"}
    assert not outside, outside


LAYERS = ["native", "errors", "display", "engine", "sandbox", "account", "analysis", "views", "exercises", "widgets", "cli"]


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_each_package_imports_only_the_layers_below_it() -> None:
    # The order iamkit/__init__.py draws: a package that imported one above it would be a
    # circle waiting to happen, and the diagram of the flow would be wrong.
    upward = sorted((module, dep) for module in GRAPH for dep in GRAPH[module]
                    if (a := layer(module)) is not None and (b := layer(dep)) is not None and b > a)
    assert not upward, upward


@pytest.mark.parametrize("name", sorted(name for name in MODULES if "." in name and name != "iamkit.__main__"))
def test_no_name_hides_a_module(name: str) -> None:
    # `import iamkit.evaluate as ev` once gave the function: the package's own name hid the module.
    import importlib

    if name.startswith("iamkit.widgets"):
        pytest.importorskip("ipywidgets")
    module = importlib.import_module(name)
    parent, _, last = name.rpartition(".")
    assert getattr(importlib.import_module(parent), last) is module


def test_every_exception_is_defined_in_errors_py() -> None:
    # One place to read what iamkit can raise, drawn as a tree in its docstring. A private class
    # (`reading._Refused`) is a signal that never leaves its module.
    import importlib

    import iamkit.errors

    defined_elsewhere = []
    for name in sorted(MODULES):
        if name == "iamkit.__main__" or (name.startswith("iamkit.widgets") and importlib.util.find_spec("ipywidgets") is None):
            continue
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == name \
                    and name != "iamkit.errors" and not value.__name__.startswith("_"):
                defined_elsewhere.append(f"{name}.{value.__name__}")
    assert not defined_elsewhere, defined_elsewhere
    drawn = iamkit.errors.__doc__ or ""
    undrawn = [n for n, v in vars(iamkit.errors).items() if isinstance(v, type) and issubclass(v, BaseException)
               and v.__module__ == "iamkit.errors" and not n.startswith("_") and n not in drawn]
    assert not undrawn, undrawn
