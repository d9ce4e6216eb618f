"""The column roles: what each role is and what a column of it is used for (``ROLE_TABLE``,
in the order of the summary's enum), and the roles a user gives columns (``--role
COLUMN=ROLE``, a roles file).  :mod:`custseg.roles` assigns them."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from custseg.errors import UsageError


@dataclass(frozen=True)
class Role:
    """A column role: what it is and what a column of it is used for.

    ``use`` is ``"feature"`` (segmented on), ``"describe"`` (shown beside the segments) or
    ``"dropped"``; ``numeric``: a column given this role is read as numbers;
    ``overridable``: a user may give it (``--role COLUMN=ROLE``), else it is only found;
    ``profile_as``: the role :mod:`custseg.profiling` words the column's evidence by
    (``custseg.profiling.ROLES``; None: the role's own name).
    """

    name: str
    what: str
    use: str
    numeric: bool = False
    overridable: bool = True
    profile_as: str | None = None


#: Every column role, in the order of the summary's enum (``columns[].role``).  The id, date,
#: text, category and birth_year roles are also handled by name in
#: :func:`custseg.roles.assign_roles` (what they drop, derive or encode); any other role needs
#: only its entry here and, when it is found from a column's name or values, a rule in
#: :data:`custseg.roles.NUMERIC_RULES`.
ROLE_TABLE: dict[str, Role] = {r.name: r for r in (
    Role("id", "the customer id", "dropped"),
    Role("constant", "one value for everyone", "dropped", overridable=False),
    Role("date", "a date (customer since, last purchase): days since it", "feature"),
    Role("calendar", "a day of the month, a month, a weekday or an hour", "describe",
         numeric=True),
    Role("birth_year", "a year of birth: age", "feature", numeric=True, profile_as="measure"),
    Role("age", "an age in years", "feature", numeric=True),
    Role("count", "a non-negative whole number (children, visits, orders)", "feature",
         numeric=True),
    Role("money", "an amount (income, spend, balance)", "feature", numeric=True),
    Role("rate", "a share or percentage (0-1 or 0-100)", "feature", numeric=True),
    Role("flag", "0/1 (accepted an offer, complained, responded)", "describe", numeric=True),
    Role("category", "a few text levels or integer codes (region, gender)", "describe"),
    Role("level", "ordered text levels (Low < Average < High, Bronze < Silver < Gold): "
         "their rank", "feature", overridable=False, profile_as="measure"),
    Role("text", "free text with many values", "dropped"),
    Role("measure", "any other number (age, score, duration)", "feature", numeric=True),
    Role("duplicate", "moves with an earlier column", "describe", overridable=False),
)}
ROLES = tuple(ROLE_TABLE)
#: Roles a user may give a column (the others are found, not chosen).
OVERRIDABLE = tuple(name for name, r in ROLE_TABLE.items() if r.overridable)
#: Roles of feature columns as profiling sees them (derived columns: age, tenure).
NUMERIC_ROLES = ("count", "money", "rate", "flag", "measure", "age", "tenure", "calendar")


def parse_role_overrides(items: Sequence[str] | None) -> dict[str, str]:
    """``["Fresh=money", "Kidhome=count"]`` as a dict, roles checked.

    >>> parse_role_overrides(["Fresh=money", " Kidhome = count "])
    {'Fresh': 'money', 'Kidhome': 'count'}
    """
    out: dict[str, str] = {}
    for item in items or []:
        col, sep, role = str(item).rpartition("=")
        col, role = col.strip(), role.strip().lower()
        if not sep or not col:
            raise UsageError(f"a role is given as COLUMN=ROLE (e.g. Income=money_reason), got "
                             f"{item!r}", "role")
        out[col] = role
    _check_roles(out, "role")
    return out


def _check_roles(overrides: Mapping[str, str], where: str) -> None:
    allowed = [name for name, r in ROLE_TABLE.items() if r.overridable]
    bad = {c: r for c, r in overrides.items() if r not in allowed}
    if bad:
        raise UsageError(f"{where}: unknown role(s) {bad}; a role is one of "
                         f"{allowed}", "role")


def load_role_overrides(path: str | Path) -> dict[str, str]:
    """Roles from a file: TOML (``[roles]`` table of ``column = "role"``) or CSV
    (``column,role`` per line, an optional header)."""
    p = Path(path)
    try:
        text = p.read_text("utf-8-sig")
    except OSError as exc:
        raise UsageError(f"roles file {path}: cannot read it: {exc}", "roles") from exc
    if p.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"roles file {path} is not valid TOML: {exc}", "roles") from exc
        table = data.get("roles", data)
        out = {str(k): str(v).strip().lower() for k, v in table.items()}
    else:
        import csv
        import io

        out = {}
        for row in csv.reader(io.StringIO(text)):
            if len(row) < 2 or not row[0].strip():
                continue
            col, role = row[0].strip(), row[1].strip().lower()
            if (col.lower(), role) == ("column", "role"):
                continue
            out[col] = role
    _check_roles(out, f"roles file {path}")
    return out

