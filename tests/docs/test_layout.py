"""The package's shape, checked from its source: no import cycle anywhere in explorer/, gradio only in
explorer/ui/, the models on torch and numpy alone, and the direction ui -> services -> engine -> models.

Every import counts, including those inside functions (a lazy import that closes a cycle is still one).
`python -m pytest tests/docs/test_layout.py` names the modules of any cycle it finds."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "explorer"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> tuple[set[str], set[str]]:
    """(modules of explorer that `name` imports, top-level names of everything else it imports)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    inner, outer = set(), set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            subs = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in MODULES]
            # `from . import sub` in a package's own module loads sub, not the (already loading) package
            targets = subs if node.level and len(subs) == len(node.names) else [module, *subs]
        else:
            continue
        for t in targets:
            if t.split(".")[0] == "explorer":
                if t in MODULES and t != name:
                    inner.add(t)
            else:
                outer.add(t.split(".")[0])
    return inner, outer


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def import_cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v][0]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_the_checker_sees_a_cycle_when_there_is_one():
    saved = {m: (set(i), o) for m, (i, o) in GRAPH.items()}
    try:
        GRAPH["explorer.models"][0].add("explorer.weights")  # weights imports models; close the loop
        assert ["explorer.models", "explorer.weights"] in import_cycles()
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


def test_no_import_cycle_in_explorer():
    assert import_cycles() == [], "modules that import each other (directly or around a loop)"


def test_gradio_is_imported_only_in_the_ui():
    outside = sorted(m for m, (_, outer) in GRAPH.items()
                     if "gradio" in outer or "gradio_client" in outer if not m.startswith("explorer.ui"))
    assert outside == []


# The projected discriminator's frozen feature network comes from its wheels (imported where it is built).
FEATURE_NETWORKS = {"efficientnet_lite_pytorch", "timm"}


def test_models_import_only_torch_numpy_the_standard_library_and_each_other():
    for m, (inner, outer) in GRAPH.items():
        if m.startswith("explorer.models"):
            assert outer - set(sys.stdlib_module_names) <= {"torch", "numpy"} | FEATURE_NETWORKS, (m, outer)
            assert all(i.startswith("explorer.models") for i in inner), (m, inner)


def test_the_engine_never_imports_the_ui():
    for m, (inner, _) in GRAPH.items():
        if not m.startswith("explorer.ui"):
            assert not any(i.startswith("explorer.ui") for i in inner), (m, sorted(inner))


def test_ruff_passes():
    """The lint rules in pyproject.toml ([tool.ruff]) hold over the whole checkout."""
    import shutil
    import subprocess

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed: pip install -r requirements-dev.txt"
    done = subprocess.run([ruff, "check", "--no-cache", str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
