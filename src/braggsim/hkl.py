"""Structure-factor tables in text form: one reflection per line, ``h k l F``; ``#`` starts a comment."""

from __future__ import annotations

from pathlib import Path


class HklFormatError(ValueError):
    """A line of an hkl file that is not ``h k l F`` with integer indices and a finite F >= 0."""


def parse_hkl_table(text: str) -> dict[tuple[int, int, int], float]:
    table: dict[tuple[int, int, int], float] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        try:
            h, k, l_index, amplitude = (int(fields[0]), int(fields[1]), int(fields[2]), float(fields[3]))
        except (ValueError, IndexError):
            raise HklFormatError(f"line {number}: expected 'h k l F', got {line.strip()!r}") from None
        if len(fields) != 4 or not 0 <= amplitude < float("inf"):
            raise HklFormatError(
                f"line {number}: expected 'h k l F' with a finite F >= 0, got {line.strip()!r}"
            )
        table[(h, k, l_index)] = amplitude
    return table


def read_hkl_table(path: Path) -> dict[tuple[int, int, int], float]:
    return parse_hkl_table(path.read_text(encoding="utf-8"))
