"""What the analysis of one file hands to the whole-program solve: plain, picklable data.

Everything whose answer depends on other files stays symbolic (``Sym`` with references, marks naming other
functions), so a file's facts depend on its own text alone and can be cached and computed in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Tuple

from gradlint.analysis.values import CONSTANT, Sym
from gradlint.findings import Autofix, Location


@dataclass
class UseFact:
    """How a value was used: a concrete level, raised to the level of every named mark at solve time. The fact of
    a :class:`~gradlint.analysis.values.MixMark` also holds what its marked values were combined with."""

    level: int = 0
    via: FrozenSet = frozenset()  # marks (ParamUseMark, ReturnUseMark, AttrUseMark) the value flowed into
    combined_with: Optional[Sym] = None


@dataclass
class Candidate:
    """A possible finding; the solve decides its confidence from the receiver's grade and the value's use."""

    code: str
    rule: str
    location: Location
    message: str
    fix: str
    receiver: Sym
    use: UseFact
    gate: Optional[Sym] = None  # when set, the finding is at most as confident as this grade
    escape_cap: int = 2  # the most confidence when the value escapes to code we cannot see
    stored_cap: int = 2  # the most confidence when the value is only kept (on an object, in a container)
    source_line: str = ""
    autofix: Optional[Autofix] = None
    kept_fix: str = ""  # the hint where the cut value is only kept or looked at (Rule.kept_fix)
    autofix_outside_computation: str = ""  # what the fix becomes where the cut value does not feed computation


@dataclass(frozen=True)
class CallFact:
    """A call of a function or class that may belong to the scanned program."""

    function: str
    args: Tuple[Sym, ...]
    kwargs: Tuple[Tuple[str, Sym], ...]


@dataclass
class FunctionFacts:
    params: Tuple[str, ...]  # positional parameter names, ``self`` included
    returns: Sym
    is_property: bool = False
    # Annotated to return a plain Python value (float, int, bool, str, None), or returning only integers (indices,
    # labels, counts): what it returns carries no gradient by contract.
    returns_number: bool = False
    decides: Sym = CONSTANT  # what the truth values it returns were decided on (``Value.decides``)
    fields: Tuple[Tuple[str, Sym], ...] = ()  # what it returns under each constant key, when it returns dicts

    def result(self, decides: bool, field: Optional[str]) -> Sym:
        """What a call's result (``decides``: what its truth values were decided on; ``field``: what the returned
        dict holds under that key) is computed from."""
        if decides:
            return self.decides
        if field is not None:
            return next((sym for key, sym in self.fields if key == field), self.returns)
        return self.returns


@dataclass
class ClassFacts:
    bases: Tuple[str, ...]
    fields: Tuple[str, ...] = ()  # dataclass fields in order, for positional constructor arguments
    is_dataclass: bool = False
    number_fields: Tuple[str, ...] = ()  # fields annotated as plain Python values (float, int, bool, str)
    # Attributes holding an instance of a known class (a program class, or "torch.nn.Module"): calling one
    # (``self.encoder(x)``) calls that class.
    attribute_classes: Tuple[Tuple[str, str], ...] = ()


@dataclass
class ModuleFacts:
    path: str
    module: str
    aliases: Dict[str, str] = field(default_factory=dict)  # module-level imports: local name -> qualified name
    functions: Dict[str, FunctionFacts] = field(default_factory=dict)
    classes: Dict[str, ClassFacts] = field(default_factory=dict)
    # (ParamRef | AttrRef | GlobalRef) is at least this grade.
    equations: List[Tuple[object, Sym]] = field(default_factory=list)
    calls: List[CallFact] = field(default_factory=list)
    # ParamUseMark | ReturnUseMark | AttrUseMark -> how values carrying that mark were used here.
    uses: Dict[object, UseFact] = field(default_factory=dict)
    candidates: List[Candidate] = field(default_factory=list)
