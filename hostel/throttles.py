"""API throttles that cost the same at any rate: one counter per client and window.

DRF's own throttles keep the time of every request in the window and read and write that
whole list through the cache on each request, so their cost grows with the rate they allow
(at the gate's scan rate, a noticeable share of each scan's CPU). These count requests in
fixed windows instead: one cache add or increment per request (shared by every app server
when CACHE_URL points at Redis). A client may burst up to twice the rate across a window's
edge; that is the price of O(1).
"""

import time
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from rest_framework import throttling

if TYPE_CHECKING:  # rest_framework.views imports the throttle classes from settings
    from rest_framework.request import Request
    from rest_framework.views import APIView


def window_count(key: str, duration: int, now: float) -> tuple[int, float]:
    """Count one request under ``key`` in the current window of ``duration`` seconds;
    returns the window's count so far and when the window ends."""
    window = int(now // duration)
    counter = f"{key}:{window}"
    if cache.add(counter, 1, duration + 1):
        return 1, (window + 1) * duration
    try:
        count = cache.incr(counter)
    except ValueError:  # expired between add and incr: a new window began
        cache.add(counter, 1, duration + 1)
        count = 1
    return int(count), (window + 1) * duration


def rate_exceeded(key: str, rate: str) -> float:
    """Count a request against ``rate`` ("20/min"); the seconds to wait if over it, else 0."""
    number, _, period = rate.partition("/")
    limit, duration = int(number), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[:1]]
    now = time.time()
    count, window_end = window_count(key, duration, now)
    return window_end - now if count > limit else 0.0


class FixedWindowMixin(throttling.SimpleRateThrottle):
    num_requests: int | None  # set from the rate by SimpleRateThrottle
    duration: int | None
    window_end = 0.0

    def allow_request(self, request: "Request", view: "APIView") -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        limit, duration = self.num_requests, self.duration
        assert limit is not None and duration is not None
        self.now = self.timer()
        count, self.window_end = window_count(self.key, duration, self.now)
        return count <= limit

    def wait(self) -> float:
        return max(0.0, self.window_end - self.now)


class AnonRateThrottle(FixedWindowMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FixedWindowMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(FixedWindowMixin, throttling.ScopedRateThrottle):
    def allow_request(self, request: "Request", view: Any) -> bool:
        # DRF's scoped throttle reads the view's scope first, then counts.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
