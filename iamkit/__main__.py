"""``python -m iamkit`` runs the command line."""

from .cli import run

run()
