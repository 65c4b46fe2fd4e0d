"""Autofix: mechanical repairs of gradient cuts, offered by the rules and applied with ``--fix``.

Each module holds the fix kinds of one rule family (``base`` what they share): a kind turns the reported node
into code that computes the same values and keeps the gradient, and says whether it is safe (nothing but the
gradient changes) or unsafe. :mod:`gradlint.fixes.apply` chooses and applies the fixes of a run, round after
round; :mod:`gradlint.edits` writes the files or shows the diff.
"""
