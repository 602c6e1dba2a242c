"""Course modules: `nabij modules check`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from app.cli import main
from app.config import get_settings


@main.group()
def modules() -> None:
    """Work with course modules."""


@modules.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of lines.")
def modules_check(directory: Path | None, as_json: bool) -> None:
    """Check every module in DIRECTORY (default: the modules folder) and report each problem.

    Each problem is printed as `path:line: message`. The exit status is 1 when there is any problem.
    """
    from app.content.catalogue import module_files
    from app.content.checking import check_directory

    directory = directory or get_settings().modules_dir
    if not directory.exists():
        click.echo(f"{directory}: map bestaat niet", err=True)
        sys.exit(2)
    report = check_directory(directory)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for error in report["errors"]:
            click.echo(f"{error['path']}:{error['line']}: {error['message']}")
        count = len(module_files(directory))
        summary = f"{count} module(s) gecontroleerd, {len(report['errors'])} probleem/problemen"
        click.echo(summary, err=True)
    sys.exit(1 if report["errors"] else 0)
