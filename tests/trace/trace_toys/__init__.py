"""Small differentiable programs, one per way of cutting (or keeping) a gradient.

Lines the tests check are marked with a trailing ``# <- name`` comment.
"""
