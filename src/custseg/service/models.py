"""The request and response bodies of the service (pydantic), and their limits.

The features of ``/v1/score`` are the model's own: :func:`score_models` builds the request
models from a :class:`~custseg.scoring.ModelScorer`.  Numbers are strict (a boolean or a
string is no number) and finite, within the bounds of :mod:`custseg.schema`.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from custseg.schema import MAX_ABS_VALUE
from custseg.scoring import ModelScorer
from custseg.store import MAX_ID_LENGTH

#: Most customers in one /v1/score request, events in one /v1/events request.
MAX_BATCH = 1000
MAX_EVENTS = 1000
#: Largest absolute money amount and quantity in an event.
MAX_AMOUNT = 1e12
MAX_QUANTITY = 1e9


class ScoreResult(BaseModel):
    id: str | None
    segment: int
    segment_name: str
    distance: float | None
    probability: float | None = None


class ScoreResponse(BaseModel):
    model: str
    results: list[ScoreResult]


@dataclass
class ScoreModels:
    """The request models of ``/v1/score`` for one model's features."""

    Features: Any
    CustomerIn: Any
    ScoreRequest: Any


def _feature_fields(scorer: ModelScorer) -> dict[str, Any]:
    """A field per feature of the model, aliased by its name (numbers, categories, or the
    name of an ordered level)."""
    fields: dict[str, Any] = {}
    for i, f in enumerate(scorer.features):
        if f in scorer.levels:  # ordered levels: a level's name, read as its rank
            fields[f"f{i}"] = (str | None, Field(
                ..., alias=f, max_length=MAX_ID_LENGTH,
                description=f"{f} (one of {', '.join(scorer.levels[f])}; another or null: "
                            "missing, imputed as in the model)"))
        elif f in scorer.numeric:
            fields[f"f{i}"] = (float | None, Field(
                ..., alias=f, strict=True, allow_inf_nan=False, ge=-MAX_ABS_VALUE,
                le=MAX_ABS_VALUE,
                description=f"{f} (number; null: missing, imputed as in the model)"))
        else:
            fields[f"f{i}"] = (str | None, Field(..., alias=f, max_length=MAX_ID_LENGTH,
                                                 description=f"{f} (category)"))
    return fields


def score_models(scorer: ModelScorer) -> ScoreModels:
    """The ``/v1/score`` request models of the model ``scorer`` serves."""
    Features = create_model("Features", __config__=ConfigDict(extra="ignore"),
                            **_feature_fields(scorer))

    class CustomerIn(BaseModel):
        model_config = ConfigDict(extra="forbid")
        id: str | None = Field(None, max_length=MAX_ID_LENGTH,
                               description="Your customer id, echoed back")
        features: Features  # type: ignore[valid-type]

    class ScoreRequest(BaseModel):
        """One customer (``id``, ``features``) or a batch (``customers``)."""

        model_config = ConfigDict(extra="forbid")
        id: str | None = Field(None, max_length=MAX_ID_LENGTH)
        features: Features | None = None  # type: ignore[valid-type]
        customers: list[CustomerIn] | None = Field(None, min_length=1, max_length=MAX_BATCH)

        @model_validator(mode="after")
        def one_or_batch(self) -> Self:
            if (self.features is None) == (self.customers is None):
                raise ValueError("give either 'features' (one customer) or 'customers' (a "
                                 f"batch of 1 to {MAX_BATCH}), not both")
            if self.customers is not None and self.id is not None:
                raise ValueError("'id' goes with 'features'; in a batch each customer has "
                                 "its own 'id'")
            return self

    return ScoreModels(Features, CustomerIn, ScoreRequest)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH,
                          description="Unique id of the event: a replay is a no-op")
    customer_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    timestamp: dt.datetime = Field(description="Date or date-time of the purchase; its "
                                   "calendar day (in its own time zone) counts")
    amount: float | None = Field(None, strict=True, allow_inf_nan=False, ge=-MAX_AMOUNT,
                                 le=MAX_AMOUNT, description="Line value; negative: a "
                                 "return")
    quantity: float | None = Field(None, strict=True, allow_inf_nan=False,
                                   ge=-MAX_QUANTITY, le=MAX_QUANTITY,
                                   description="Negative: a return")
    unit_price: float | None = Field(None, strict=True, allow_inf_nan=False,
                                     ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    order_id: str | None = Field(None, min_length=1, max_length=MAX_ID_LENGTH,
                                 description="Order or invoice id; C and digits (C536379): "
                                 "a cancellation")
    product_id: str | None = Field(None, min_length=1, max_length=MAX_ID_LENGTH)

    @field_validator("timestamp")
    @classmethod
    def plausible_year(cls, v: dt.datetime) -> dt.datetime:
        if not 1900 <= v.year <= 2200:
            raise ValueError(f"year {v.year} is not plausible (1900-2200)")
        return v

    @model_validator(mode="after")
    def value_given(self) -> Self:
        if self.amount is None and (self.quantity is None or self.unit_price is None):
            raise ValueError("give 'amount', or 'quantity' and 'unit_price'")
        value = self.amount if self.amount is not None else \
            self.quantity * self.unit_price  # type: ignore[operator]
        if abs(value) > MAX_AMOUNT:
            raise ValueError(f"the line value {value:g} is beyond ±{MAX_AMOUNT:g}")
        return self


class EventsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)
