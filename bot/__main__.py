"""``python -m bot`` runs the newsbot command line."""

from bot.cli import cli

cli()
