"""Token buckets for abuse limits on the public endpoints. Pure; the clock is passed in.

Each warm function keeps its own buckets, so the limit a client sees is per container; API
Gateway's route throttling (template.yaml) is the global ceiling. This layer stops one key or one
address from hogging a container, and answers 429 with Retry-After instead of queueing.
"""

from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: float
    tokens: float = -1.0
    updated_at: float = 0.0

    def take(self, now: float) -> float:
        """Take one token; returns 0 when allowed, else the seconds until one is available."""
        if self.tokens < 0:
            self.tokens, self.updated_at = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated_at) * self.rate_per_s)
        self.updated_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate_per_s


@dataclass
class RateLimiter:
    """Buckets by key (a publishable key, an IP address), bounded in number."""

    rate_per_s: float
    burst: float
    max_keys: int = 10_000
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def check(self, key: str, now: float) -> float:
        """0 when `key` may proceed, else seconds to wait."""
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                self.buckets.clear()  # forget everyone rather than grow without bound
            bucket = self.buckets[key] = TokenBucket(self.rate_per_s, self.burst)
        return bucket.take(now)
