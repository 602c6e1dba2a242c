"""The `nabij` command for lecturers and IT staff, one module per area:

- operations: serve, migrate, makemigration, worker, purge, rotate-data-key, backup, demo
- content: modules check
- accounts: user create / erase / safeguarding-officer
- classes: class create / enroll / import, assign
- integrations: lti …, oidc check
- common: what they share (one-line errors, the schema check, lookups)
"""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Nabij: run the platform, check course modules and manage accounts and classes."""


# Each module adds its commands to `main` when imported.
from app.cli import accounts, classes, content, integrations, operations  # noqa: E402, F401
