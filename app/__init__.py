"""Nabij: an e-learning platform for teaching professionele nabijheid."""

from pathlib import Path

# The repository root: templates, static files, modules and migrations live beside the package.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
