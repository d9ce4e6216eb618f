"""``python -m custseg`` runs the command-line interface."""

from custseg.cli import entry

entry()
