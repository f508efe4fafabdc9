"""Who produces and who reads each layer's outputs, found in the source with `ast` (nothing is imported or run).

Producers: a layer's build function (components/platform.py LAYERS) returns the outputs type whose `LAYER` is that
layer's name. Readers: every attribute read of an outputs field in the project's modules, typed by a small
inference: `ctx.<layer>` on a `PlatformContext` parameter (or `self` in its methods) has that layer's outputs type,
a parameter or local annotated with an outputs type has it, an assignment, subscript, `.get()`, iteration or
`.items()` of a typed value passes the field's type on. A layer reads what the functions reachable from its build
function read (calls and references resolved through imports). `python -m stacks.docgen` renders the layer table
from this; tests/spine/test_handoffs.py fails on an unread field or a layer reading a later layer's outputs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("components", "gpu_nodepools", "networking", "storage", "serving", "stacks", "policies")
OUTPUTS = "components.outputs"
CONTEXT = "components.context"
CONTAINERS = {"Mapping", "dict", "tuple", "list", "Sequence", "frozenset", "set"}

# Fields produced but read by no module yet, each with why it stays. The test fails on any other unread field and
# on an entry here that is read (remove it then).
UNREAD_ALLOWED: dict[str, str] = {}

Type = tuple[str, ...]  # ("cls", name) | ("ctr", *inner) | ("items", *inner) | ("ctx",)


@dataclass(frozen=True)
class OutputsClass:
    name: str
    layer: str | None  # None: a nested type (reached through a field of a layer's outputs)
    fields: dict[str, Type | None]


@dataclass
class Function:
    key: str  # "module:name" or "module:Class.name"
    node: ast.FunctionDef | ast.AsyncFunctionDef
    module: str
    cls: str | None = None
    reads: set[tuple[str, str]] = field(default_factory=set)  # (outputs class, field)
    calls: set[str] = field(default_factory=set)


@dataclass
class Handoffs:
    classes: dict[str, OutputsClass]
    accessors: dict[str, str]  # ctx attribute -> outputs class
    layers: list[tuple[str, str, str | None]]  # (layer, "module:function", returned annotation name)
    functions: dict[str, Function]
    reads: set[tuple[str, str]]  # everywhere in the project
    layer_reads: dict[str, set[tuple[str, str]]]  # per layer, through its call graph

    def producer(self, cls: str) -> str | None:
        """The layer producing `cls` (for a nested type, the layer of the outputs that holds it)."""
        c = self.classes[cls]
        if c.layer is not None:
            return c.layer
        for parent in self.classes.values():
            if parent.layer is not None and any(cls in type_names(t) for t in parent.fields.values()):
                return parent.layer
        return None


def type_names(t: Type | None) -> set[str]:
    """The outputs classes an inference type refers to."""
    return {t[1]} if t and t[0] == "cls" else type_names(t[1:]) if t and t[0] in ("ctr", "items") else set()


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))}


def _annotation(node: ast.expr | None, classes: Iterable[str]) -> Type | None:
    """The inference type of an annotation: an outputs class, a container of one, or the context."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _annotation(ast.parse(node.value, mode="eval").body, classes)
    if isinstance(node, ast.Name):
        if node.id == "PlatformContext":
            return ("ctx",)
        return ("cls", node.id) if node.id in classes else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
        return _annotation(node.left, classes) or _annotation(node.right, classes)
    if isinstance(node, ast.Subscript):
        base = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
        if base in CONTAINERS:
            args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            args = [a for a in args if not (isinstance(a, ast.Constant) and a.value is Ellipsis)]
            inner = _annotation(args[-1], classes) if args else None
            return ("ctr", *inner) if inner else None
    return None


def parse_outputs(source: str) -> dict[str, OutputsClass]:
    tree = ast.parse(source)
    names = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    out: dict[str, OutputsClass] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or not any(_is_dataclass(d) for d in node.decorator_list):
            continue
        layer, fields = None, {}
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                if "ClassVar" in ast.unparse(stmt.annotation):
                    if stmt.target.id == "LAYER" and isinstance(stmt.value, ast.Constant):
                        layer = str(stmt.value.value)
                    continue
                fields[stmt.target.id] = _annotation(stmt.annotation, names)
        out[node.name] = OutputsClass(node.name, layer, fields)
    return out


def _is_dataclass(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return (getattr(target, "id", None) or getattr(target, "attr", None)) == "dataclass"


def parse_accessors(source: str, classes: dict[str, OutputsClass]) -> dict[str, str]:
    """`PlatformContext` properties returning an outputs type: attribute name -> class."""
    tree = ast.parse(source)
    ctx = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "PlatformContext")
    return {
        f.name: f.returns.id
        for f in ctx.body
        if isinstance(f, ast.FunctionDef) and isinstance(f.returns, ast.Name) and f.returns.id in classes
    }


class _Module:
    def __init__(self, name: str, tree: ast.Module, known: set[str]) -> None:
        self.name, self.tree = name, tree
        self.defs: dict[str, str] = {}  # local name -> function key
        self.imports: dict[str, tuple[str, str | None]] = {}  # alias -> (module, symbol or None)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.defs[node.name] = f"{name}:{node.name}"
            elif isinstance(node, ast.ClassDef):
                self.defs[node.name] = f"{name}:{node.name}.__init__"
        for imp in ast.walk(tree):
            if isinstance(imp, ast.Import):
                for a in imp.names:
                    if a.asname:
                        self.imports[a.asname] = (a.name, None)
            elif isinstance(imp, ast.ImportFrom) and imp.module and imp.level == 0:
                for a in imp.names:
                    sub = f"{imp.module}.{a.name}"
                    self.imports[a.asname or a.name] = (sub, None) if sub in known else (imp.module, a.name)


def analyze(root: Path = ROOT, *, outputs_source: str | None = None, extra: dict[str, str] | None = None) -> Handoffs:
    """The hand-off graph of the project at `root`; `outputs_source` and `extra` ({module: source}) replace or add
    source text (the tests use them to check that the checks can fail)."""
    sources = {m: p.read_text(encoding="utf-8") for m, p in project_modules(root).items()}
    if outputs_source is not None:
        sources[OUTPUTS] = outputs_source
    sources.update(extra or {})
    classes = parse_outputs(sources[OUTPUTS])
    accessors = parse_accessors(sources[CONTEXT], classes)
    modules = {m: _Module(m, ast.parse(src), set(sources)) for m, src in sources.items()}
    functions: dict[str, Function] = {}
    for mod in modules.values():
        for node in mod.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions[f"{mod.name}:{node.name}"] = Function(f"{mod.name}:{node.name}", node, mod.name)
            elif isinstance(node, ast.ClassDef):
                for f in node.body:
                    if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef):
                        key = f"{mod.name}:{node.name}.{f.name}"
                        functions[key] = Function(key, f, mod.name, node.name)
    for fn in functions.values():
        if fn.module != OUTPUTS:
            _Infer(fn, modules, functions, classes, accessors).run()
    reads = set().union(*(f.reads for f in functions.values()))
    layers = _layers(sources["components.platform"], modules)
    layer_reads = {name: _reachable_reads(target, functions) for name, target, _ in layers}
    return Handoffs(classes, accessors, layers, functions, reads, layer_reads)


def _layers(source: str, modules: dict[str, _Module]) -> list[tuple[str, str, str | None]]:
    tree = ast.parse(source)
    value = next(
        n.value
        for n in tree.body
        if isinstance(n, ast.AnnAssign | ast.Assign)
        and any(getattr(t, "id", None) == "LAYERS" for t in (n.targets if isinstance(n, ast.Assign) else [n.target]))
    )
    out = []
    for name, target in ast.literal_eval(value):  # type: ignore[arg-type]
        module, _, fn = target.partition(":")
        node = (
            next((n for n in modules[module].tree.body if isinstance(n, ast.FunctionDef) and n.name == fn), None)
            if module in modules
            else None
        )
        returns = node.returns if node is not None else None
        out.append((name, target, returns.id if isinstance(returns, ast.Name) else None))
    return out


def _reachable_reads(entry: str, functions: dict[str, Function]) -> set[tuple[str, str]]:
    seen, todo, reads = set(), [entry], set()
    while todo:
        key = todo.pop()
        if key in seen or key not in functions:
            continue
        seen.add(key)
        reads |= functions[key].reads
        todo.extend(functions[key].calls)
    return reads


class _Infer:
    """Types of the expressions of one function (with its nested functions and lambdas), the outputs fields it
    reads and the project functions it calls or references."""

    def __init__(
        self,
        fn: Function,
        modules: dict[str, _Module],
        functions: dict[str, Function],
        classes: dict[str, OutputsClass],
        accessors: dict[str, str],
    ) -> None:
        self.fn, self.modules, self.functions, self.classes, self.accessors = fn, modules, functions, classes, accessors
        self.env: dict[str, Type] = {}
        if fn.cls == "PlatformContext" and fn.module == CONTEXT:
            self.env["self"] = ("ctx",)

    def run(self) -> None:
        for _ in range(3):  # assignments may come in any order relative to their uses: settle
            for node in ast.walk(self.fn.node):
                self._bind(node)
        for node in ast.walk(self.fn.node):
            if isinstance(node, ast.Attribute):
                self.type_of(node)
            if isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Load):
                self._reference(node)

    def _bind(self, node: ast.AST) -> None:
        if isinstance(node, ast.arg) and (t := _annotation(node.annotation, self.classes)):
            self.env[node.arg] = t
        elif isinstance(node, ast.arg) and node.arg == "ctx" and node.annotation is None:
            self.env["ctx"] = ("ctx",)  # the house name of the context, typed or not
        elif isinstance(node, ast.Assign) and (t := self.type_of(node.value)):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.env[target.id] = t
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            t = _annotation(node.annotation, self.classes) or (self.type_of(node.value) if node.value else None)
            if t:
                self.env[node.target.id] = t
        elif isinstance(node, ast.NamedExpr) and (t := self.type_of(node.value)):
            self.env[node.target.id] = t
        elif isinstance(node, ast.For | ast.comprehension):
            self._bind_loop(node.target, self.type_of(node.iter))

    def _bind_loop(self, target: ast.expr, t: Type | None) -> None:
        if not t:
            return
        if t[0] == "ctr" and isinstance(target, ast.Name):
            self.env[target.id] = t[1:]
        elif t[0] == "items" and isinstance(target, ast.Tuple) and isinstance(target.elts[-1], ast.Name):
            self.env[target.elts[-1].id] = t[1:]

    def type_of(self, node: ast.expr | None) -> Type | None:
        if node is None:
            return None
        if isinstance(node, ast.Name):
            return self.env.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.type_of(node.value)
            if base == ("ctx",) and node.attr in self.accessors:
                self.fn.reads.add((self.accessors[node.attr], "*"))  # the outputs as a whole
                return ("cls", self.accessors[node.attr])
            if base and base[0] == "cls" and node.attr in (c := self.classes[base[1]]).fields:
                self.fn.reads.add((c.name, node.attr))
                return c.fields[node.attr]
            return None
        if isinstance(node, ast.Subscript):
            base = self.type_of(node.value)
            return base[1:] if base and base[0] == "ctr" else None
        if isinstance(node, ast.Call):
            return self._call_type(node)
        if isinstance(node, ast.IfExp):
            return self.type_of(node.body) or self.type_of(node.orelse)
        if isinstance(node, ast.BoolOp):
            return next((t for v in node.values if (t := self.type_of(v))), None)
        if isinstance(node, ast.NamedExpr | ast.Starred):
            return self.type_of(node.value)
        return None

    def _call_type(self, node: ast.Call) -> Type | None:
        func = node.func
        if isinstance(func, ast.Attribute):
            base = self.type_of(func.value)
            if base and base[0] == "ctr":
                if func.attr in ("get", "setdefault", "pop"):
                    return base[1:]
                if func.attr == "values":
                    return base
                if func.attr == "items":
                    return ("items", *base[1:])
            return None
        if isinstance(func, ast.Name) and node.args:
            arg = self.type_of(node.args[0])
            if func.id in ("list", "tuple", "dict", "sorted", "iter", "reversed", "set", "frozenset"):
                return arg
            if func.id == "next" and arg and arg[0] == "ctr":
                return arg[1:]
        return None

    def _reference(self, node: ast.Name | ast.Attribute) -> None:
        """A call or reference to a project function: an edge of the call graph."""
        mod = self.modules[self.fn.module]
        key: str | None = None
        if isinstance(node, ast.Name):
            key = mod.defs.get(node.id) or self._imported(mod.imports.get(node.id))
        elif isinstance(node.value, ast.Name):
            base = node.value.id
            if self.env.get(base) == ("ctx",):
                key = f"{CONTEXT}:PlatformContext.{node.attr}"
            elif base == "self" and self.fn.cls:
                key = f"{self.fn.module}:{self.fn.cls}.{node.attr}"
            elif base in mod.imports and mod.imports[base][1] is None:
                key = self._imported((mod.imports[base][0], node.attr))
        if key is not None and key in self.functions:
            self.fn.calls.add(key)

    def _imported(self, ref: tuple[str, str | None] | None, depth: int = 0) -> str | None:
        if ref is None or ref[1] is None or ref[0] not in self.modules or depth > 5:
            return None
        target = self.modules[ref[0]]
        return target.defs.get(ref[1]) or self._imported(target.imports.get(ref[1]), depth + 1)


# ---- checks ------------------------------------------------------------------------------------------------------
def all_fields(h: Handoffs) -> list[str]:
    return [f"{c.name}.{f}" for c in h.classes.values() for f in c.fields]


def unread_fields(h: Handoffs) -> list[str]:
    """Fields no module reads (the allow-list is the caller's business)."""
    return [name for name in all_fields(h) if tuple(name.split(".")) not in h.reads]


def order_problems(h: Handoffs) -> list[str]:
    """Layers that read outputs of a layer that runs after them (or of themselves)."""
    order = {name: i for i, (name, _, _) in enumerate(h.layers)}
    problems = []
    for i, (name, _, _) in enumerate(h.layers):
        for cls in sorted({c for c, _ in h.layer_reads[name]}):
            producer = h.producer(cls)
            if producer is None or order.get(producer, len(order)) >= i:
                problems.append(f"layer `{name}` reads {cls} of `{producer}`, which does not run before it")
    return problems


def producer_problems(h: Handoffs) -> list[str]:
    """Each layer returns its own outputs type (or None), and every outputs type has its layer."""
    problems = []
    for name, target, returns in h.layers:
        own = [c.name for c in h.classes.values() if c.layer == name]
        want = own[0] if own else None
        if returns != want:
            problems.append(f"layer `{name}` ({target}) returns {returns}, expected {want}")
    produced = {name for name, _, _ in h.layers}
    problems += [
        f"{c.name}: its layer `{c.layer}` is not in LAYERS"
        for c in h.classes.values()
        if c.layer and c.layer not in produced
    ]
    return problems
