"""Import rules between the layers of ``sim/`` and module size, read from the source (nothing imported).

The rules are those of ``docs/architecture.md``: the kernel is numpy and numba only; nothing
outside ``sim/traffic/`` imports the kernel's private modules or uses a row constant; metrics and
plots read results and frames, never the model, its probes or the kernel; matplotlib stays in
the plotting package.
"""

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"


@dataclass(frozen=True)
class Import:
    """One name an ``import`` statement reaches, and where the statement stands."""

    name: str
    type_checking: bool
    in_function: bool


def module_name(path: Path) -> str:
    """Dotted module name of a file under ``sim/`` (a package's ``__init__.py`` is the package)."""
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {module_name(path): path for path in sorted(SIM.rglob("*.py"))}


def is_type_checking(test: ast.expr) -> bool:
    """Whether an ``if`` test is ``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class ImportCollector(ast.NodeVisitor):
    """Every import of one module; ``from a import b`` reaches both ``a`` and ``a.b``."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.package = module if is_package else module.rpartition(".")[0]
        self.imports: list[Import] = []
        self.type_checking = False
        self.in_function = False

    def add(self, name: str) -> None:
        self.imports.append(Import(name, self.type_checking, self.in_function))

    def visit_If(self, node: ast.If) -> None:
        if not is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.type_checking = True
        for statement in node.body:
            self.visit(statement)
        self.type_checking = False
        for statement in node.orelse:
            self.visit(statement)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        outer, self.in_function = self.in_function, True
        self.generic_visit(node)
        self.in_function = outer

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            package = self.package.split(".")[: len(self.package.split(".")) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        self.add(base)
        for alias in node.names:
            self.add(f"{base}.{alias.name}")


@functools.cache
def imports_of(module: str) -> tuple[Import, ...]:
    """The imports of one module of ``sim/``."""
    path = SOURCES[module]
    collector = ImportCollector(module, path.name == "__init__.py")
    collector.visit(ast.parse(path.read_text(), filename=str(path)))
    return tuple(collector.imports)


def loaded_at_import(module: str) -> set[str]:
    """Every name that importing ``module`` imports, through the modules of ``sim/`` it loads.

    Follows the statements that run at import (not under ``TYPE_CHECKING``, not inside a function)
    and the ``__init__`` of every package on the way.
    """
    seen: set[str] = set()
    names: set[str] = set()
    pending = [module]
    while pending:
        current = pending.pop()
        parts = current.split(".")
        for loaded in (".".join(parts[:i]) for i in range(1, len(parts) + 1)):
            if loaded in SOURCES and loaded not in seen:
                seen.add(loaded)
                runtime = [i.name for i in imports_of(loaded) if not (i.type_checking or i.in_function)]
                names.update(runtime)
                pending += runtime
    return names


def is_within(name: str, package: str) -> bool:
    """Whether the dotted ``name`` is ``package`` or inside it."""
    return name == package or name.startswith(f"{package}.")


def modules_under(package: str) -> list[str]:
    """The modules of ``sim/`` in ``package``, the package's ``__init__`` included."""
    return [module for module in SOURCES if is_within(module, package)]


def test_kernel_loads_neither_mesa_networkx_nor_matplotlib():
    loaded = {
        name.partition(".")[0] for module in modules_under("sim.traffic") for name in loaded_at_import(module)
    }
    assert loaded & {"mesa", "networkx", "matplotlib"} == set()


# The model, the agent features it runs, the live probes above it, the explorer, the kernel.
MODEL_SIDE = (
    "sim.model",
    "sim.agents",
    "sim.emergency",
    "sim.parking",
    "sim.shuttles",
    "sim.probes",
    "sim.viz",
    "sim.traffic",
)


@pytest.mark.parametrize("package", ["sim.metrics", "sim.plots"])
def test_metrics_and_plots_import_neither_the_model_its_probes_nor_the_kernel(package):
    offenders = sorted(
        f"{module} imports {i.name}"
        for module in modules_under(package)
        for i in imports_of(module)
        if any(is_within(i.name, side) for side in MODEL_SIDE)
    )
    assert offenders == []


def test_matplotlib_is_imported_only_in_the_plotting_package():
    offenders = sorted(
        f"{module} imports {i.name}"
        for module in SOURCES
        if not is_within(module, "sim.plots")
        for i in imports_of(module)
        if is_within(i.name, "matplotlib") and not i.type_checking
    )
    assert offenders == []


# The kernel's modules, whose names (row constants, containers, stages) are private to sim/traffic/.
KERNEL_PRIVATE = ("sim.traffic.kernel", "sim.traffic.layout", "sim.traffic.buffers", "sim.traffic.speeds")


def row_constants() -> set[str]:
    """The upper-case names :mod:`sim.traffic.layout` assigns at module level (``VF_POS``, ...)."""
    tree = ast.parse(SOURCES["sim.traffic.layout"].read_text())
    targets = [target for node in tree.body if isinstance(node, ast.Assign) for target in node.targets]
    names = {node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)}
    return {name for name in names if name.isupper()}


def names_used(module: str) -> set[str]:
    """Every bare name, attribute name and imported name in one module of ``sim/``."""
    tree = ast.parse(SOURCES[module].read_text())
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.alias):
            used.add(node.name.rpartition(".")[2])
    return used


def test_no_module_outside_the_kernel_imports_its_layout_or_uses_a_row_constant():
    outside = [module for module in SOURCES if not is_within(module, "sim.traffic")]
    imports = sorted(
        f"{module} imports {i.name}"
        for module in outside
        for i in imports_of(module)
        if any(is_within(i.name, private) for private in KERNEL_PRIVATE)
    )
    constants = row_constants()
    assert {"VF_POS", "VI_STATUS", "LI_COUNT", "SI_STAGE", "ACC_EXITS", "C_ARRIVED"} <= constants
    uses = sorted(f"{module} uses {name}" for module in outside for name in names_used(module) & constants)
    assert imports + uses == []


MAX_MODULE_LINES = 500


def long_modules() -> set[str]:
    """Modules under ``sim/`` over :data:`MAX_MODULE_LINES` lines, relative to the project."""
    return {
        path.relative_to(SIM.parent).as_posix()
        for path in SOURCES.values()
        if len(path.read_text().splitlines()) > MAX_MODULE_LINES
    }


def test_no_module_grows_past_500_lines():
    # issue 14 split the last ones (model.py, scenario.py, the kernel)
    assert sorted(long_modules()) == []


# Controllers are named lazily by the registry: validating a scenario names a controller without
# importing it, and no controller module can import the scenario back in a circle.
CONTROLLER_MODULES = (
    "sim.control.fixed_time",
    "sim.control.actuated",
    "sim.control.max_pressure",
    "sim.control.sotl",
    "sim.control.learned",
)


@pytest.mark.parametrize("module", ["sim.scenario", "sim.control.registry"])
def test_the_scenario_and_the_registry_import_no_controller_module(module):
    offenders = sorted(
        name for name in loaded_at_import(module) if any(is_within(name, c) for c in CONTROLLER_MODULES)
    )
    assert offenders == []


# Issue 14: the feature packages and the agents use the model through sim.services.Services
# only, so none of their modules imports sim.model, at run time or for type checking.
FEATURE_PACKAGES = ("sim.agents", "sim.emergency", "sim.parking", "sim.shuttles")


@pytest.mark.parametrize("package", FEATURE_PACKAGES)
def test_feature_packages_do_not_import_the_model(package):
    modules = modules_under(package)
    direct = [f"{module} imports {i.name}" for module in modules for i in imports_of(module)]
    loaded = [f"{module} loads {name}" for module in modules for name in loaded_at_import(module)]
    assert sorted(line for line in direct + loaded if is_within(line.rpartition(" ")[2], "sim.model")) == []


# The one test here that imports and builds a model: the protocol must stay what CityModel offers.
def test_the_city_model_offers_the_services_the_features_use():
    from sim.model import CityModel
    from sim.scenario import scenario_from_dict
    from sim.services import Services

    scenario = scenario_from_dict(
        {
            "name": "services",
            "network": {"type": "grid", "rows": 2, "cols": 2},
            "demand": {"type": "uniform", "rate_vph": 60.0, "duration_s": 60.0},
        }
    )
    assert isinstance(CityModel(scenario), Services)
