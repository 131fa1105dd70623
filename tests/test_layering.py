"""The package's layering: no module of blog/ imports, even through a package __init__ or from
inside a function, a module that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "blog"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def _with_packages(name: str, known: dict[str, Path]) -> set[str]:
    """A module and the package __init__ files Python runs to import it."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & known.keys()


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every blog module that name imports: anywhere in the file, functions included (an
    import moved into a function to dodge a cycle is still a cycle). The one exception is
    blog/__init__.py, the composition root: create_app() imports every part when it is
    called, which is not when `import blog` runs, so only its module-level imports count."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if name == PACKAGE.name else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= _with_packages(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            found |= _with_packages(base, known)
            for alias in node.names:
                found |= _with_packages(f"{base}.{alias.name}", known)
    return found - {name}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    # An import of blog.a.b is an edge to blog.a.b and to blog/a/__init__.py, which Python
    # runs first: that is how a package __init__ that imports its views closes a cycle.
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_one_that_imports_it_back():
    graph = import_graph()
    assert len(graph) > 30, "the walk found too few modules to mean anything"
    assert cycles(graph) == []


def test_the_check_sees_a_cycle_through_a_package_init():
    # A package __init__ that re-exports its views, and a view that imports a sibling module
    # which imports the package back: the shape this project had between posts and comments.
    graph = {
        "blog.comments": {"blog.comments.views"},
        "blog.comments.views": {"blog.comments", "blog.posts.page"},
        "blog.posts.page": {"blog.comments.section"},
        "blog.comments.section": {"blog.comments"},
    }
    assert cycles(graph) == [
        ["blog.comments", "blog.comments.section", "blog.comments.views", "blog.posts.page"]
    ]
