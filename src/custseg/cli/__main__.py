"""``python -m custseg.cli`` runs the command-line interface."""

from custseg.cli import entry

if __name__ == "__main__":
    entry()
