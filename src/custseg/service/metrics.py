"""The service's Prometheus metrics, in a registry of each app's own (several apps can live
in one process)."""

from typing import Any

import prometheus_client as prom

from custseg._version import __version__
from custseg.scoring import ModelScorer


class Metrics:
    """Every metric the service exports at ``/metrics`` (docs/service.md lists them)."""

    def __init__(self, scorer: ModelScorer) -> None:
        self.registry = registry = prom.CollectorRegistry()
        self.requests = prom.Counter("custseg_requests", "HTTP requests",
                                     ["endpoint", "method", "status"], registry=registry)
        self.latency = prom.Histogram(
            "custseg_request_seconds", "Request latency", ["endpoint"],
            buckets=(.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5), registry=registry)
        self.scored = prom.Counter("custseg_scored_customers", "Customers scored",
                                   ["segment"], registry=registry)
        self.events = prom.Counter("custseg_events", "Purchase events received", ["status"],
                                   registry=registry)
        self.changes = prom.Counter("custseg_segment_changes", "Customers whose segment "
                                    "changed on an event", registry=registry)
        self.live = prom.Gauge("custseg_live_customers", "Live customers in the store per "
                               "segment", ["segment"], registry=registry)
        self.psi = prom.Gauge("custseg_drift_psi", "Population stability index per feature "
                              "(last computed by /v1/drift)", ["feature"], registry=registry)
        self.resegment = prom.Gauge("custseg_resegment_recommended", "1 when the last drift "
                                    "check recommended re-segmenting", registry=registry)
        self.shift = prom.Gauge("custseg_centre_shift", "Online update: distance of each "
                                "centre from the model's (scaled units)", ["segment"],
                                registry=registry)
        meta = scorer.meta
        info = prom.Info("custseg_model", "The model served", registry=registry)
        info.info({"model_sha256": str(meta.get("model_sha256")),
                   "algorithm": str(meta.get("algorithm")), "k": str(meta.get("k")),
                   "custseg_version": __version__, "fast_path": str(scorer.fast).lower()})

    def set_live(self, sizes: dict[int, int], k: int) -> None:
        """The live customers of every segment (0 for those without)."""
        for s in range(k):
            self.live.labels(str(s)).set(sizes.get(s, 0))

    def text(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return bytes(prom.generate_latest(self.registry))

    content_type: Any = prom.CONTENT_TYPE_LATEST
