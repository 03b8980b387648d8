"""The house keeps its shape: no import circle among the modules of `activities` (imports inside
functions count: moving an import into a function hides a circle, it does not remove it), no
module over 1,000 lines, and each wing imports only the wings below it."""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "activities"
MAX_LINES = 1000


def module_files():
    """{dotted module name: path} of every module of the app but its migrations."""
    found = {}
    for path in sorted(APP.rglob("*.py")):
        parts = path.relative_to(APP.parent).with_suffix("").parts
        if "migrations" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def owner(name, modules):
    """The app module that `name` (a module, or a name imported from one) belongs to."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imported_names(module, path, modules):
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph():
    modules = module_files()
    graph = {module: set() for module in modules}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for name in imported_names(module, path, modules):
            target = owner(name, modules)
            # A module's own package (its __init__) is not a dependency worth a circle.
            if target and target not in (module, package):
                graph[module].add(target)
    return graph


def circles(graph):
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    # A package whose __init__ re-exports its own modules is one unit, not a circle.
    return [c for c in found if not all(m == c[0] or m.startswith(c[0] + ".") for m in c)]


def test_no_import_circle_in_activities():
    found = circles(import_graph())
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_circle_check_sees_a_circle_hidden_in_a_function():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_no_module_over_a_thousand_lines():
    long = {
        module: lines
        for module, path in module_files().items()
        if (lines := path.read_text(encoding="utf-8").count("\n")) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


# What each wing may import from the others. The web layer (views, api, forms, admin, urls,
# middleware, templatetags, management) may import every wing; no wing imports the web layer.
WINGS = {
    "activities.models": {"activities.core", "activities.time", "activities.documents"},
    "activities.time": {"activities.models", "activities.core", "activities.notifications"},
    "activities.core": {
        "activities.models",
        "activities.time",
        "activities.background",
        "activities.notifications",
        "activities.documents",
    },
    "activities.authoring": {
        "activities.models",
        "activities.core",
        "activities.time",
        "activities.documents",
    },
    "activities.documents": {
        "activities.models",
        "activities.core",
        "activities.time",
        "activities.background",
        "activities.notifications",
    },
    "activities.monitoring": {
        "activities.models",
        "activities.core",
        "activities.time",
        "activities.documents",
        "activities.notifications",
    },
    "activities.notifications": {"activities.models", "activities.background"},
    "activities.background": {"activities.models"},
}
SHARED = {"activities", "activities.text", "activities.paging"}


def wing_of(module):
    for wing in WINGS:
        if module == wing or module.startswith(wing + "."):
            return wing
    return None


def test_each_wing_imports_only_what_it_may():
    wrong = []
    for module, targets in import_graph().items():
        wing = wing_of(module)
        if wing is None:
            continue
        for target in sorted(targets):
            other = wing_of(target)
            if other == wing or target in SHARED:
                continue
            if other is None or other not in WINGS[wing]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(wrong)


MATHS = ("activities.time.durations", "activities.time.calendar")


@pytest.mark.parametrize("module", MATHS)
def test_the_time_maths_stays_free_of_django(module):
    modules = module_files()
    names = set(imported_names(module, modules[module], modules))
    assert not {name for name in names if name.split(".")[0] == "django"}
    app_modules = {owner(name, modules) for name in names} - {None}
    assert app_modules <= set(MATHS) | {"activities", "activities.time"}, app_modules
