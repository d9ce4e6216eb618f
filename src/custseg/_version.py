"""The version of custseg, in a module of its own so that any module can read it without
importing the package's ``__init__`` (which sits above every layer: see the import-linter
contracts in pyproject.toml)."""

__version__ = "0.1.0"
