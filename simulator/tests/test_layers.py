"""The simulator stays layered (simulator/README.md "Layers", issue 18 item 7): every module of azsim/ has a layer, a
module imports only modules of lower layers (the features may import each other, without a cycle), no module-level
import cycle, and no import inside a function or class (the model reaches the features through its hook lists). The
route table does not depend on the order in which the modules are imported. Pure: parses the sources, no server."""

import ast
import itertools
import os
import re

try:
    import re._parser as sre_parse    # Python 3.11+
except ImportError:                   # pragma: no cover - older Pythons
    import sre_parse

import pytest

from azsim import routing
# server imports arm, arm every feature: all routes registered
from azsim import server  # noqa: F401  pylint: disable=unused-import

AZSIM = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "azsim")

# The layer map (keep it the same as simulator/README.md "Layers" and docs/architecture.md).
LAYERS = {
    "__init__": 0, "errors": 0, "clock": 0,                      # constants, ArmError + fault context, the clock
    "routing": 1,                                                # Req, @route table, dispatch, ok/LRO/paging helpers
    "model": 2,                                                  # the world's resources + hook lists
    "compat": 3, "keyvault": 3, "dual_pass": 3, "ade": 3,        # features: register routes and model hooks
    "boot": 3, "bootdiag": 3, "upload": 3, "network": 3, "vmss": 3, "backups": 3, "create": 3, "stale": 3,
    "recovery": 3,
    "arm": 4, "scenario": 4,                                     # ARM core routes (imports every feature); seeding
    "server": 5, "admin": 5,                                     # HTTPS server (login, ARM, /_sim); its client
    "__main__": 6,                                               # the command line
}
FEATURES = 3
# Imports that stay inside a function, on purpose: the client's SDK helpers (the simulator itself never needs the
# Azure SDK it simulates, and `python -m azsim` / the test scripts that use SimAdmin should not pay for importing it).
DEFERRED_OK = {("admin", "azure.identity"), ("admin", "azure.mgmt.compute"), ("admin", "azure.mgmt.network")}


def _modules():
    return sorted(f[:-3] for f in os.listdir(AZSIM) if f.endswith(".py"))


def _tree(mod):
    with open(os.path.join(AZSIM, mod + ".py")) as fh:
        return ast.parse(fh.read(), mod + ".py")


def _internal(node, mods):
    """azsim modules an import statement names (``from . import a, b``, ``from .a import x``)."""
    if not isinstance(node, ast.ImportFrom) or node.level != 1:
        return []
    if node.module:
        return [node.module.split(".")[0]]
    return [a.name if a.name in mods else "__init__" for a in node.names]


def _graph():
    mods = set(_modules())
    return {m: sorted({t for n in _tree(m).body if isinstance(n, (ast.Import, ast.ImportFrom))
                       for t in _internal(n, mods)}) for m in mods}


def test_every_module_has_a_layer():
    missing = [m for m in _modules() if m not in LAYERS]
    assert not missing, ("give %s a layer in LAYERS (simulator/tests/test_layers.py) and in simulator/README.md "
                         "'Layers'" % missing)
    gone = [m for m in LAYERS if m not in _modules()]
    assert not gone, "LAYERS names modules that no longer exist: %s" % gone


def test_imports_go_down_the_layers():
    bad = []
    for m, targets in _graph().items():
        for t in targets:
            lm, lt = LAYERS.get(m), LAYERS.get(t)
            if lm is None or lt is None:
                continue
            if lt > lm or (lt == lm and lm != FEATURES):
                bad.append("%s (layer %d) imports %s (layer %d)" % (m, lm, t, lt))
    assert not bad, "imports against the layer order: %s" % bad


def test_no_import_cycle():
    graph = _graph()
    state = {}

    def visit(m, path):
        if state.get(m) == "done":
            return None
        if state.get(m) == "open":
            return path[path.index(m):] + [m]
        state[m] = "open"
        for t in graph.get(m, []):
            cyc = visit(t, path + [m])
            if cyc:
                return cyc
        state[m] = "done"
        return None
    for m in sorted(graph):
        cyc = visit(m, [])
        assert cyc is None, "module-level import cycle: %s" % " -> ".join(cyc)


def test_no_import_inside_a_function_or_class():
    bad = []
    for m in _modules():
        for scope in ast.walk(_tree(m)):
            if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            for n in ast.walk(scope):
                if isinstance(n, ast.Import):
                    names = [a.name for a in n.names]
                elif isinstance(n, ast.ImportFrom):
                    names = ["." * n.level + (n.module or "")]
                else:
                    continue
                for name in names:
                    if (m, name) not in DEFERRED_OK:
                        bad.append("%s.py line %d: import %s inside %s" % (m, n.lineno, name,
                                                                           getattr(scope, "name", "lambda")))
    assert not bad, ("deferred imports (import at the top; a feature the model needs registers in a model hook "
                     "list): %s" % sorted(set(bad)))


def test_the_checks_can_fail():
    """The parser sees what the checks are about: a deferred import, a feature import, a constant from __init__."""
    src = ("from . import DEFAULT_TENANT, model\nfrom .errors import ArmError\n"
           "def f():\n    from . import ade\n    import json\n")
    tree = ast.parse(src)
    mods = {"model", "errors", "ade"}
    top = sorted(t for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) for t in _internal(n, mods))
    assert top == ["__init__", "errors", "model"]
    inner = [n for s in ast.walk(tree) if isinstance(s, ast.FunctionDef) for n in ast.walk(s)
             if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert len(inner) == 2


# ---------------------------------------------------------------------------------------------- routes

def _samples(items):
    """Strings the parsed pattern matches: every branch of an alternation, an optional part absent and present."""
    out = [""]
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            alts = [chr(av)]
        elif name == "NOT_LITERAL":
            alts = ["x" if av != ord("x") else "y"]
        elif name == "ANY":
            alts = ["x"]
        elif name == "IN":
            alts = [_class_char(av)]
        elif name == "AT":
            alts = [""]
        elif name == "BRANCH":
            alts = [s for branch in av[1] for s in _samples(branch)]
        elif name == "SUBPATTERN":
            alts = _samples(av[-1])
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            lo, _hi, sub = av
            one = _samples(sub)
            alts = ([""] if lo == 0 else []) + [s * max(lo, 1) for s in one]
        else:
            raise AssertionError("pattern element %s not handled by the sampler" % name)
        out = [a + b for a, b in itertools.product(out, alts)][:64]
    return out


def _class_char(items):
    neg = any(str(op) == "NEGATE" for op, _av in items)
    if neg:
        banned = {chr(av) for op, av in items if str(op) == "LITERAL"}
        return next(c for c in "x1y" if c not in banned)
    op, av = next((op, av) for op, av in items if str(op) != "NEGATE")
    return chr(av[0]) if str(op) == "RANGE" else chr(av) if str(op) == "LITERAL" else "x"


@pytest.fixture(scope="module")
def routes():
    return list(routing.ROUTES)


def test_routes_do_not_overlap_across_modules(routes):
    """dispatch takes the first matching route; routes of one method from two modules never match one path, so the
    import order of the modules (arm imports the features at its top) does not decide who answers."""
    clash = []
    for (m1, rx1, f1), (m2, rx2, f2) in itertools.permutations(routes, 2):
        if m1 != m2 or f1.__module__ == f2.__module__:
            continue
        for s in _samples(sre_parse.parse(rx1.pattern, rx1.flags)):
            if rx1.match(s) and rx2.match(s):
                clash.append("%s %s: %s.%s and %s.%s"
                             % (m1, s, f1.__module__, f1.__name__, f2.__module__, f2.__name__))
    assert not clash, clash


def test_route_sampler_covers_every_route(routes):
    for _m, rx, fn in routes:
        samples = _samples(sre_parse.parse(rx.pattern, rx.flags))
        assert any(rx.match(s) for s in samples), (fn.__name__, rx.pattern, samples[:3])
    # and it finds a clash when there is one
    a = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/things/(?P<n>[^/]+)$", re.I)
    b = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/things/(?P<n>default|other)$", re.I)
    assert any(a.match(s) for s in _samples(sre_parse.parse(b.pattern, b.flags)))
