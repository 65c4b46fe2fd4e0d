"""What a file declares, collected by walking its statements (not its expressions): imports, functions,
classes and module-level names. The interpreter resolves names and calls against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import libcst as cst

from gradlint.analysis.imports import ImportTable, dotted

# The statements of a block: an indented block's lines, or the small statements of a one-line suite (``if c: x = 1``).
Block = Sequence[Union[cst.BaseStatement, cst.BaseSmallStatement]]

_CONTAINER_CONSTRUCTORS = frozenset(
    {"dict", "list", "set", "collections.OrderedDict", "collections.defaultdict", "collections.deque"}
)
_IMPORTING_FUNCTIONS = frozenset({"pytest.importorskip", "importlib.import_module"})


@dataclass
class FunctionInfo:
    node: Optional[cst.FunctionDef]  # None for a module's top level
    qualname: str
    cls: Optional[str]  # the class a method belongs to
    parent: Optional["FunctionInfo"]
    decorators: Tuple[str, ...] = ()  # qualified names of decorators (calls reduced to their callee)

    @property
    def is_method(self) -> bool:
        return self.cls is not None and "staticmethod" not in self.decorators

    @property
    def is_init(self) -> bool:
        return self.cls is not None and self.node is not None and self.node.name.value == "__init__"


@dataclass
class ClassInfo:
    node: cst.ClassDef
    qualname: str
    bases: Tuple[str, ...] = ()
    methods: Dict[str, FunctionInfo] = field(default_factory=dict)
    properties: set = field(default_factory=set)
    attribute_classes: Dict[str, str] = field(default_factory=dict)
    fields: List[str] = field(default_factory=list)
    number_fields: List[str] = field(default_factory=list)
    is_dataclass: bool = False


class Declarations:
    """The functions, classes, imports and module-level names of one file."""

    def __init__(self, tree: cst.Module, module: str, is_package: bool) -> None:
        self.module = module
        self.imports = ImportTable(module, is_package)
        self.functions: List[FunctionInfo] = []
        self.function_by_qualname: Dict[str, FunctionInfo] = {}
        self.classes: Dict[str, ClassInfo] = {}
        self.module_defs: Dict[str, str] = {}  # module-level def/class name -> qualified name
        self.module_names: set = set()  # names assigned at module level
        self.module_containers: set = set()  # module-level names bound to a dict/list/set
        # Module-level names bound to a type (``T = torch.Tensor``, ``Array = Union[np.ndarray, Tensor]``).
        self.type_aliases: Dict[str, cst.BaseExpression] = {}
        self._collect(tree)

    def _collect(self, tree: cst.Module) -> None:
        """Collect imports, functions, classes and module-level names by walking statements (not expressions)."""
        self._declare_block(tree.body, prefix=self.module, cls=None, parent=None, at_module=True)
        for info in self.classes.values():
            info.bases = tuple(filter(None, (self.callee_name_static(arg.value) for arg in info.node.bases)))
        for function in self.functions:
            node = function.node
            assert node is not None  # a declared function has its definition
            function.decorators = tuple(filter(None, (self._decorator_name(d) for d in node.decorators)))
            if function.cls is not None and function.cls in self.classes:
                self.classes[function.cls].methods[node.name.value] = function
                if {"property", "functools.cached_property"} & set(function.decorators):
                    self.classes[function.cls].properties.add(node.name.value)
        for info in self.classes.values():
            decorators = [self._decorator_name(d) for d in info.node.decorators]
            # A named tuple is built from its annotated fields like a dataclass.
            info.is_dataclass = any(name and name.split(".")[-1] == "dataclass" for name in decorators) or any(
                base.rpartition(".")[2] == "NamedTuple" for base in info.bases
            )

    def _decorator_name(self, decorator: cst.Decorator) -> Optional[str]:
        expression = decorator.decorator
        if isinstance(expression, cst.Call):
            expression = expression.func
        return self.callee_name_static(expression)

    def _declare_block(
        self, body: Block, *, prefix: str, cls: Optional[str], parent: Optional[FunctionInfo], at_module: bool
    ) -> None:
        for statement in body:
            if isinstance(statement, (cst.SimpleStatementLine, cst.BaseSmallStatement)):
                for small in small_statements(statement):
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self.imports.add(small)
                    elif at_module:
                        self._declare_module_assignment(small)
            elif isinstance(statement, cst.FunctionDef):
                info = FunctionInfo(statement, f"{prefix}.{statement.name.value}", cls, parent)
                self.functions.append(info)
                self.function_by_qualname[info.qualname] = info
                if at_module:
                    self.module_defs[statement.name.value] = info.qualname
                self._declare_block(
                    statement.body.body, prefix=f"{info.qualname}.<locals>", cls=None, parent=info, at_module=False
                )
            elif isinstance(statement, cst.ClassDef):
                qualname = f"{prefix}.{statement.name.value}"
                self.classes[qualname] = ClassInfo(statement, qualname)
                if at_module:
                    self.module_defs[statement.name.value] = qualname
                self._declare_block(statement.body.body, prefix=qualname, cls=qualname, parent=parent, at_module=False)
            elif isinstance(statement, cst.BaseCompoundStatement):
                for block in _child_blocks(statement):
                    self._declare_block(block, prefix=prefix, cls=cls, parent=parent, at_module=at_module)
                if at_module:
                    for target in _compound_targets(statement):
                        self.module_names.update(target_names(target))

    def _declare_module_assignment(self, small: cst.BaseSmallStatement) -> None:
        targets: List[cst.BaseExpression] = []
        value = None
        if isinstance(small, cst.Assign):
            targets = [target.target for target in small.targets]
            value = small.value
        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
            targets = [small.target]
            value = small.value
        imported = self._imported_module(value)
        for target in targets:
            if imported is not None and isinstance(target, cst.Name):
                self.imports.aliases[target.value] = imported  # ``np = pytest.importorskip("numpy")``
                continue
            if value is not None and isinstance(target, cst.Name) and self._is_type_expression(value):
                self.type_aliases[target.value] = value
            names = list(target_names(target))
            self.module_names.update(names)
            if value is not None and isinstance(target, cst.Name) and self._is_container_display(value):
                self.module_containers.add(target.value)

    def _imported_module(self, value: Optional[cst.BaseExpression]) -> Optional[str]:
        """The module a call like ``pytest.importorskip("torch")`` or ``importlib.import_module(...)`` returns."""
        if not isinstance(value, cst.Call) or not value.args:
            return None
        if self.callee_name_static(value.func) not in _IMPORTING_FUNCTIONS:
            return None
        name = value.args[0].value
        if isinstance(name, cst.SimpleString) and isinstance(name.evaluated_value, str):
            return name.evaluated_value
        return None

    def _is_type_expression(self, node: cst.BaseExpression) -> bool:
        """An imported name, or a subscript or ``|`` union of them: what a type alias is bound to."""
        if isinstance(node, (cst.Name, cst.Attribute)):
            name = dotted(node)
            return name is not None and self.imports.resolve(name) is not None
        if isinstance(node, cst.Subscript):
            return self._is_type_expression(node.value)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            return self._is_type_expression(node.left) and self._is_type_expression(node.right)
        return False

    def _is_container_display(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, (cst.Dict, cst.List, cst.Set, cst.DictComp, cst.ListComp, cst.SetComp)):
            return True
        return isinstance(node, cst.Call) and self.callee_name_static(node.func) in _CONTAINER_CONSTRUCTORS

    def callee_name_static(self, node: cst.BaseExpression) -> Optional[str]:
        """The qualified name of a name or attribute chain, from imports and module-level definitions."""
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self.module_defs:
            base = self.module_defs[head]
            return f"{base}.{rest}" if rest else base
        resolved = self.imports.resolve(name)
        if resolved is not None:
            return resolved
        return name if "." not in name else None


def small_statements(
    statement: Union[cst.SimpleStatementLine, cst.BaseSmallStatement],
) -> Sequence[cst.BaseSmallStatement]:
    """The small statements of a line, or the one small statement of a one-line suite's body."""
    return statement.body if isinstance(statement, cst.SimpleStatementLine) else (statement,)


def _child_blocks(statement: cst.BaseCompoundStatement) -> Iterator[Block]:
    """The statement lists nested in a compound statement other than a def or class."""
    for name in ("body", "orelse", "finalbody"):
        part = getattr(statement, name, None)
        if part is None:
            continue
        if isinstance(part, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            yield part.body
        elif isinstance(part, (cst.Else, cst.Finally, cst.If)):
            if isinstance(part, cst.If):
                yield from _child_blocks(part)
                yield part.body.body
            else:
                yield part.body.body
    for handler in getattr(statement, "handlers", ()):
        yield handler.body.body
    for case in getattr(statement, "cases", ()):
        yield case.body.body


def _compound_targets(statement: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    if isinstance(statement, cst.For):
        yield statement.target
    elif isinstance(statement, cst.With):
        for item in statement.items:
            if item.asname is not None:
                yield item.asname.name


def target_names(target: cst.BaseExpression) -> Iterator[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from target_names(target.value)
