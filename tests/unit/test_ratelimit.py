"""Token buckets: a burst passes, then the caller is told how long to wait; others are unaffected."""

from afterglow.ratelimit import RateLimiter


def test_burst_then_wait_then_refill():
    limiter = RateLimiter(rate_per_s=10, burst=20)
    assert all(limiter.check("1.2.3.4", now=100.0) == 0 for _ in range(20))
    wait = limiter.check("1.2.3.4", now=100.0)
    assert 0 < wait <= 0.1 + 1e-9
    assert limiter.check("5.6.7.8", now=100.0) == 0  # another caller has its own bucket
    assert limiter.check("1.2.3.4", now=100.2) == 0  # refilled at 10 per second


def test_the_number_of_buckets_is_bounded():
    limiter = RateLimiter(rate_per_s=1, burst=1, max_keys=100)
    for i in range(1_000):
        limiter.check(f"10.0.{i // 256}.{i % 256}", now=0.0)
    assert len(limiter.buckets) <= 100
