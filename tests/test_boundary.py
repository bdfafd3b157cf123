"""The shape, checked: the engine imports no UI library and neither face; the app and the CLI
stand on the engine alone, never on each other."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "workbench"
FORBIDDEN = {
    "engine": ("textual", "rich", "textual_image", "textual_plotext", "workbench.tui",
               "workbench.cli"),
    "tui": ("workbench.cli",),
    "cli": ("workbench.tui", "textual"),
}
# keras imports rich
KERAS_MODULES = {f"workbench.engine.{name}" for name in (
    "training.fit", "network.callbacks", "network.layers", "network.losses", "network.schedules",
    "plans.search")}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_each_package_imports_only_what_its_layer_may(package):
    broken = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = {name for name in imported(path)
               if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[package])}
        if bad:
            broken[str(path.relative_to(ROOT))] = sorted(bad)
    assert broken == {}


def test_the_check_sees_a_forbidden_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from rich.text import Text\n    return Text\n")
    assert "rich.text" in imported(module)


def test_importing_the_engine_loads_no_ui_library():
    """In a fresh interpreter: every engine module that does not import Keras (Keras 3 itself
    imports rich), and nothing of textual or rich arrives with them."""
    code = (
        "import importlib, pkgutil, sys, workbench.engine as engine\n"
        f"skip = {sorted(KERAS_MODULES)!r}\n"
        "for module in pkgutil.walk_packages(engine.__path__, 'workbench.engine.'):\n"
        "    if module.name not in skip:\n"
        "        importlib.import_module(module.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'rich', 'keras', 'tensorflow')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter's contracts (pyproject.toml) checked on the package under ``root``."""
    script = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(script), str(root / "pyproject.toml")], cwd=root,
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})


def test_the_import_contracts_hold():
    result = lint_imports(ROOT.parent)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "3 kept, 0 broken" in result.stdout


def test_the_contracts_fail_when_the_engine_imports_rich(tmp_path):
    shutil.copytree(ROOT, tmp_path / "workbench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT.parent / "pyproject.toml", tmp_path)
    atomic = tmp_path / "workbench" / "engine" / "store" / "atomic.py"
    atomic.write_text(atomic.read_text() + "\nfrom rich.text import Text  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "The engine imports no UI library and neither face BROKEN" in result.stdout
    assert "workbench.engine.store.atomic -> rich" in result.stdout
