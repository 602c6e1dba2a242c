"""`python -m app.cli`: the same as the `nabij` command."""

from app.cli import main

main()
