"""Parameters get the names they were bound to, and their creation site."""

from __future__ import annotations

import torch
from trace_toys import naming

from gradlint.trace.results import Frame, TargetKind
from gradlint.trace.session import TraceSession

TOY = "trace_toys/naming.py"


def test_names_from_assignment_helper_return_keyword_dict_key_receiver_and_module(traced, line):
    result = traced(naming.bound_in_many_ways)
    created = {p.name: p.created for p in result.parameters}
    here = "bound_in_many_ways"
    assert created == {
        "direct": Frame(TOY, line("naming", "direct"), here),
        "through_helper": Frame(TOY, line("naming", "through helper"), here),
        "keyword": Frame(TOY, line("naming", "keyword"), here),
        "in_dict": Frame(TOY, line("naming", "in dict"), here),
        "flagged": Frame(TOY, line("naming", "flagged"), here),
        # Made by torch inside the module: the site where the user built it, named from the frame's locals.
        "model.weight": Frame(TOY, line("naming", "module"), here),
        "model.bias": Frame(TOY, line("naming", "module"), here),
    }


def test_parameters_made_in_a_comprehension_are_named_from_the_list_holding_them(traced, line):
    result = traced(naming.loop_of_parameters)
    assert [(p.name, p.created.line) for p in result.parameters] == [
        ("weights[0]", line("naming", "comprehension")),
        ("weights[1]", line("naming", "comprehension")),
    ]


def test_explicitly_named_parameters_keep_their_names():
    weight = torch.tensor([3.0, 4.0], requires_grad=True)
    with TraceSession(parameters={"the weight": weight}) as session:
        (weight**2 / 2).sum().backward()
    result = session.result("block", TargetKind.BLOCK)
    assert [(p.name, p.created, p.norm, p.max_abs) for p in result.parameters] == [("the weight", None, 5.0, 4.0)]


def test_a_parameter_made_again_after_the_backward_does_not_replace_the_one_differentiated(traced):
    result = traced(naming.recreated_after_backward)
    assert [(p.name, p.norm) for p in result.parameters] == [("weight", 3.0)]
