"""Admin routes of the relevance audit: recent bought → shown for review, and marking an offer
irrelevant after a purchase category."""

from typing import Annotated

from fastapi import APIRouter, Query

from afterglow.models import AuditSample, AuditSuppression, views
from afterglow.routes.access import Caller, Limit, StoresDep
from afterglow.services import retailers
from afterglow.services.audit import sample_decisions

router = APIRouter()


@router.get("/v1/admin/retailers/{retailer_id}/audit", response_model=AuditSample, tags=["admin"])
async def audit_sample(
    retailer_id: str,
    caller: Caller,
    stores: StoresDep,
    limit: Limit = 50,
    traced: Annotated[bool, Query(description="Only decisions that kept a trace of their reasoning")] = False,
) -> AuditSample:
    """Recent decisions that showed offers — what was bought, what was shown — for relevance review;
    a sampled share also says why (every offer considered, its rule verdict or score parts)."""
    caller.require_retailer(retailer_id)
    return sample_decisions(stores, retailer_id, limit=limit, traced_only=traced)


@router.post(
    "/v1/admin/retailers/{retailer_id}/audit/suppressions", response_model=views.Retailer, tags=["admin"]
)
async def suppress(
    retailer_id: str, body: AuditSuppression, caller: Caller, stores: StoresDep
) -> views.Retailer:
    """Mark an offer irrelevant after purchases in a category; decisions stop showing it at once."""
    caller.require_retailer(retailer_id)
    return retailers.suppress_for_category(stores, retailer_id, body)
