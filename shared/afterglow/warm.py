"""Warm state: what a Lambda container keeps in memory from one invocation to the next.

Every process-wide cache is registered here by name where it is created — the settings, the
stores (and their clients), the catalog, API keys, partners' webhook secrets, the learned policy,
rate limits — so that `reset()` forgets all of it at once. A running function never needs that
(each cache refreshes itself); tests do, to give each test its own AWS, and so do tools that point
one process at another stack.
"""

from collections.abc import Callable
from typing import Protocol, TypeVar


class Clearable(Protocol):
    def clear(self) -> None: ...


class CachedFunction(Protocol):
    def cache_clear(self) -> None: ...


Cache = TypeVar("Cache", bound=Clearable)
Function = TypeVar("Function", bound=CachedFunction)

_forgetters: dict[str, Callable[[], None]] = {}


def keep(name: str, cache: Cache) -> Cache:
    """Register a process-wide cache under `name` (`reset` calls its `clear()`); returns it."""
    _forgetters[name] = cache.clear
    return cache


def keep_cached(name: str) -> Callable[[Function], Function]:
    """Decorate a `functools.lru_cache` function to register it under `name` (`reset` calls its
    `cache_clear()`)."""

    def register(function: Function) -> Function:
        _forgetters[name] = function.cache_clear
        return function

    return register


def forget(name: str) -> None:
    """Forget what one cache holds, as if its time were up (e.g. a minute later on a warm
    function); KeyError for a name nothing registered."""
    _forgetters[name]()


def kept() -> list[str]:
    """The names of the caches this process holds (those of the modules imported so far)."""
    return sorted(_forgetters)


def reset() -> None:
    """Forget everything every registered cache holds."""
    for forget in _forgetters.values():
        forget()
