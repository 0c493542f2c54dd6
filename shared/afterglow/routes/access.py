"""What admin routes depend on: the stores, the caller, and paging parameters.

Admin routes take secret keys only: a publishable key, which any web page can read, never
reaches them. Routes that mint, revoke, rotate or list credentials (`KeyManager`) check the
caller's key in the table itself rather than in the minute-long key cache, so that a key revoked
elsewhere a moment ago cannot mint a successor that would outlive it.
"""

from typing import Annotated

from fastapi import Depends, Query, Request

from afterglow.api import bearer_key, principal, stores
from afterglow.services.auth import Principal, authenticate_fresh
from afterglow.store import Stores

StoresDep = Annotated[Stores, Depends(stores)]


async def admin_caller(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    """The caller of an admin route: a secret key (checked against the key cache)."""
    return caller.require_secret()


async def key_manager(request: Request, stores: StoresDep) -> Principal:
    """The caller of a route that manages credentials: a secret key, read fresh from the table."""
    return authenticate_fresh(stores.catalog, bearer_key(request)).require_secret()


Caller = Annotated[Principal, Depends(admin_caller)]
KeyManager = Annotated[Principal, Depends(key_manager)]
Cursor = Annotated[str | None, Query(max_length=2048, description="`next_cursor` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=100)]
