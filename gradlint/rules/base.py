"""What every rule is: a small class with a code, a docstring in fixed sections, and examples.

The docstring and the VALID/INVALID examples are the single source for the rule's tests
(``tests/test_rule_examples.py``) and its documentation (``docs/rules.md``, ``gradlint explain``).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Optional, Sequence

from gradlint.analysis.values import COMPUTATION, tensor_like
from gradlint.findings import Confidence
from gradlint.fixes.base import FixKind

if TYPE_CHECKING:
    from gradlint.analysis.context import CallSite

SECTION_TITLES = ("What it does", "Why it cuts gradients", "When it is fine")
# Rules whose operations are everywhere (branches, assignments in ``__init__``) look only in files that mention
# one of these: a file without them has no gradient source of its own.
GRADIENT_WORDS = ("torch", "Tensor", "grad", "Parameter")
_HEADING = re.compile(r"^(%s):\s*$" % "|".join(re.escape(title) for title in SECTION_TITLES))


@dataclass(frozen=True)
class Valid:
    """Code on which the rule reports nothing at the default confidence."""

    code: str


@dataclass(frozen=True)
class Invalid:
    """Code on which the rule reports at ``line``:``column`` with at least ``confidence``.

    ``fixed`` is the same code with the finding fixed, on which the rule reports nothing (like a ``Valid``
    example): the rule's page shows the first invalid example and its fixed version.
    """

    code: str
    line: int
    column: int
    confidence: Confidence = Confidence.MEDIUM
    fixed: str = ""


class Rule:
    """Base of every rule. Subclasses set the class variables and implement the hooks they need.

    Hooks are called by the analysis (``gradlint.analysis.interpreter``) after the node's children have
    been evaluated, with a context that knows every sub-expression's abstract value.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    # Substrings of which at least one must occur in a file for this rule to be able to report there.
    tokens: ClassVar[tuple[str, ...]] = ()
    # The most a finding can be trusted when its cut value escapes to code we cannot see (returned to unknown
    # callers, stored, passed on).
    escape_confidence: ClassVar[Confidence] = Confidence.MEDIUM
    # The most a finding can be trusted when its cut value is only kept: stored on an object or put into a
    # container that is not followed further. A detached tensor kept may be computed with later; a Python number
    # kept is a record (a metric, a log, a dict of diagnostics).
    stored_confidence: ClassVar[Confidence] = Confidence.MEDIUM
    # The fix hint where the cut value is only kept or looked at (a metric, a log, a record): there the cut is
    # usually right, and keeping the tensor instead would keep every step's graph alive. Empty: the same hint.
    kept_fix: ClassVar[str] = ""
    # The fix of the first invalid example changes code elsewhere than the reported line (a definition used there).
    fixed_elsewhere: ClassVar[bool] = False
    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()
    # The fix this rule offers (gradlint.fixes), if any; its docstring's "Fix safety" section documents it.
    autofix: ClassVar[Optional[FixKind]] = None

    @classmethod
    def summary(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "").split("\n", 1)[0].strip()

    def with_fix(self, mark, ctx, *args):
        """``mark``, with this rule's fix offered for it (built from ``args``) when the rule has one."""
        return ctx.offer_fix(mark, self.autofix, *args) if self.autofix is not None else mark

    @classmethod
    def sections(cls) -> dict[str, str]:
        """The docstring's sections by title, each dedented and stripped."""
        lines = inspect.cleandoc(cls.__doc__ or "").splitlines()
        sections: dict[str, list[str]] = {}
        current: list[str] | None = None
        for line in lines[1:]:
            heading = _HEADING.match(line)
            if heading:
                current = sections.setdefault(heading.group(1), [])
            elif current is not None:
                current.append(line)
        return {title: inspect.cleandoc("\n".join(body)) for title, body in sections.items()}


class TensorMethodRule(Rule):
    """A rule about calling one of ``methods`` on a value that carries a gradient, reported at the call.

    ``message`` and ``fix`` may name ``{method}`` and ``{subject}`` (the receiver's code). The later uses of
    the call's value decide the confidence, except for ``in_place`` methods, whose cut always matters. The
    receiver is a tensor (only tensors have these methods): one whose provenance is unknown, such as a
    function's parameter, may be a caller's tensor that requires grad, so it counts as medium.
    """

    methods: ClassVar[frozenset] = frozenset()
    in_place: ClassVar[frozenset] = frozenset()
    message: ClassVar[str]
    fix: ClassVar[str]

    def applies(self, site: CallSite) -> bool:
        return site.tensor_method in self.methods

    def receiver(self, site, ctx):
        return site.receiver.sym

    def on_call(self, site, ctx):
        if not self.applies(site):
            return None
        method = site.tensor_method
        mark = ctx.report(
            self,
            site.node,
            receiver=tensor_like(self.receiver(site, ctx)),
            subject=site.node.func.value,
            message=self.message.replace("{method}", method),
            fix=self.fix.replace("{method}", method),
            use=COMPUTATION if method in self.in_place else None,
        )
        return self.with_fix(mark, ctx, site)
