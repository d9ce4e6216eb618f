"""JSON Schema generated from Python types: :class:`~typing.TypedDict` objects, lists,
mappings, ``Literal`` enums and unions, with :data:`typing.Annotated` metadata for what the
types cannot say (:class:`Schema` keywords, :class:`Def` parts written once under
``$defs``).  :mod:`custseg.summary` declares ``summary.json`` with them; the conventions are
written there."""

import types
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    Required,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)


class Schema:
    """JSON Schema keywords added to a type's own: ``description`` and any keyword
    (``minimum=0``, ``pattern=...``).  ``extra`` says which keys an object may hold besides
    its declared ones: ``False`` none (a TypedDict's default), ``True`` any, or a type their
    values have.  A keyword's value may be a function without arguments, called when the
    schema is generated (a list kept elsewhere, e.g. the column roles)."""

    def __init__(self, description: str | None = None, *, extra: object = None,
                 **keywords: object) -> None:
        self.description = description
        self.extra = extra
        self.keywords = keywords


class Def(Schema):
    """The annotated type is written once, under ``$defs/<name>``, and referred to."""

    def __init__(self, name: str, description: str | None = None, **keywords: object
                 ) -> None:
        super().__init__(description, **keywords)
        self.name = name


_JSON_TYPES: dict[object, str] = {str: "string", int: "integer", float: "number",
                                  bool: "boolean", type(None): "null"}


def _text(doc: str | None) -> str | None:
    """A docstring as a one-line description."""
    return " ".join(doc.split()) if doc else None


def _not_required(hint: Any) -> bool:
    """Whether a key's hint says NotRequired (which a TypedDict misses in a module with
    ``from __future__ import annotations`` before Python 3.12)."""
    if get_origin(hint) is Annotated:
        hint = get_args(hint)[0]
    return get_origin(hint) is NotRequired


def _value(v: object) -> object:
    """A keyword's value: called first when it is a function."""
    return v() if callable(v) and not isinstance(v, type) else v


class SchemaGenerator:
    """Turns the types into JSON Schema; parts marked :class:`Def` go to ``defs``."""

    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}

    def schema(self, tp: Any) -> dict[str, Any]:
        """The JSON Schema of a type (its :class:`Def` parts added to ``defs``)."""
        origin = get_origin(tp)
        if origin is Annotated:
            return self._annotated(tp)
        if origin in (NotRequired, Required):
            return self.schema(get_args(tp)[0])
        if tp is Any:
            return {}
        if tp in _JSON_TYPES:
            return {"type": _JSON_TYPES[tp]}
        if origin is Literal:
            values = list(get_args(tp))
            return {"const": values[0]} if len(values) == 1 else {"enum": values}
        if origin in (Union, types.UnionType):
            return self._union(get_args(tp))
        if origin is list:
            return {"type": "array", "items": self.schema(get_args(tp)[0])}
        if origin is dict:
            return self._mapping(*get_args(tp))
        if is_typeddict(tp):
            return self._object(tp)
        raise TypeError(f"no JSON Schema for {tp!r}")

    def _annotated(self, tp: Any) -> dict[str, Any]:
        base, *meta = get_args(tp)
        marks = [m for m in meta if isinstance(m, Schema)]
        at = next((i for i, m in enumerate(marks) if isinstance(m, Def)), None)
        if at is None:
            return self._apply(self.schema(base), marks)
        mark = marks[at]
        assert isinstance(mark, Def)
        if mark.name not in self.defs:
            self.defs[mark.name] = {}  # taken while being built
            self.defs[mark.name] = self._apply(self.schema(base), marks[:at + 1])
        return self._apply({"$ref": f"#/$defs/{mark.name}"}, marks[at + 1:])

    def _apply(self, out: dict[str, Any], marks: list[Schema]) -> dict[str, Any]:
        for mark in marks:
            if mark.description:
                out = {"description": mark.description,
                       **{k: v for k, v in out.items() if k != "description"}}
            if mark.extra is True:
                out.pop("additionalProperties", None)
            elif mark.extra is not None:
                out = self._with_extra(out, self.schema(mark.extra))
            out.update({k: _value(v) for k, v in mark.keywords.items()})
        return out

    @staticmethod
    def _with_extra(out: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        """``out`` with ``additionalProperties`` last (after ``properties``)."""
        rest = {k: v for k, v in out.items() if k != "additionalProperties"}
        return {**rest, "additionalProperties": extra}

    def _union(self, members: tuple[Any, ...]) -> dict[str, Any]:
        if all(m in _JSON_TYPES for m in members):
            return {"type": [_JSON_TYPES[m] for m in members]}
        return {"anyOf": [self.schema(m) for m in members]}

    def _mapping(self, key: Any, value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "object"}
        if key is not str:
            out["propertyNames"] = self.schema(key)
        if value is not Any:
            out["additionalProperties"] = self.schema(value)
        return out

    def _object(self, tp: Any) -> dict[str, Any]:
        hints = get_type_hints(tp, include_extras=True)
        out: dict[str, Any] = {}
        description = _text(tp.__doc__)
        if description:
            out["description"] = description
        out.update(type="object", additionalProperties=False)
        required = [k for k, v in hints.items()
                    if k in tp.__required_keys__ and not _not_required(v)]
        if required:
            out["required"] = required
        out["properties"] = {k: self.schema(v) for k, v in hints.items()}
        return out
