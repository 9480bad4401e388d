"""Prometheus metrics that add up across processes (prometheus-client multiprocess mode when configured)."""

from __future__ import annotations

import os

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess, values

REQUESTS = Counter("egov_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "egov_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
AUDIT_EVENTS = Counter("egov_audit_events_total", "Audit events written", ["event_type"])
LOGIN_ATTEMPTS = Counter("egov_login_attempts_total", "Sign-in attempts", ["outcome"])


def render_metrics() -> bytes:
    """In multiprocess mode, sum every worker's files; else this process's registry.

    The mode is the one prometheus_client chose when it was imported, not whether the variable is
    set now: a PROMETHEUS_MULTIPROC_DIR set after the import leaves the counters in memory, and
    reading the (empty) directory then would answer an empty page.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and values.ValueClass is not values.MutexValue:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(DEFAULT_REGISTRY)
