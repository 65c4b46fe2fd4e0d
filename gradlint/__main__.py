"""``python -m gradlint`` runs the ``gradlint`` command."""

from __future__ import annotations

from gradlint.cli import main

if __name__ == "__main__":
    main()
