"""What the routes of one service share: the scorer, the store, the live state, the
metrics, and the bearer token check."""

import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from custseg.online import AsOf, OnlineCentres, RecentCustomers
from custseg.scoring import ModelScorer
from custseg.service.metrics import Metrics
from custseg.store import EVENT_FEATURES, Store


@dataclass
class ServiceContext:
    """The state of one service (one app)."""

    scorer: ModelScorer
    store: Store | None
    online: OnlineCentres | None
    as_of: AsOf
    metrics: Metrics
    token: str | None = None
    recent: RecentCustomers = field(default_factory=RecentCustomers)
    started: float = field(default_factory=time.time)

    @property
    def meta(self) -> dict[str, Any]:
        return self.scorer.meta

    @property
    def sha(self) -> str:
        """The SHA-256 of the model served."""
        return str(self.meta.get("model_sha256"))

    @property
    def event_missing(self) -> list[str]:
        """The model's features that purchase events cannot give."""
        return [f for f in self.scorer.features if f not in EVENT_FEATURES]

    @property
    def events_ok(self) -> bool:
        """Whether purchase events give every feature of the model."""
        return not self.event_missing

    def need_store(self) -> Store:
        """The store, or 503 when the service runs without one."""
        if self.store is None:
            raise HTTPException(503, "this service runs without a store (--store)")
        return self.store

    def remember(self, rows: Sequence[dict[str, Any]],
                 results: Sequence[dict[str, Any]]) -> None:
        """Customers just scored: counted, kept for drift, fed to the online update."""
        self.recent.add(rows)
        for res in results:
            self.metrics.scored.labels(str(res["segment"])).inc()
        if self.online is not None:
            self.online.observe_scored(rows, results)

    def auth(self) -> list[Any]:
        """The dependencies of every route that needs the token (when one is set)."""
        bearer = HTTPBearer(auto_error=False, description="custseg serve --token / "
                            "CUSTSEG_TOKEN")
        token = self.token

        def require_token(creds: Annotated[HTTPAuthorizationCredentials | None,
                                           Depends(bearer)]) -> None:
            if token is None:
                return
            given = creds.credentials if creds is not None else ""
            if not hmac.compare_digest(given.encode(), token.encode()):
                raise HTTPException(401, "missing or wrong bearer token",
                                    headers={"WWW-Authenticate": "Bearer"})

        return [Depends(require_token)]
