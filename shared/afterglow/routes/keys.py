"""Admin routes of credentials: API keys of the platform, a retailer or a partner, and a partner's
webhook secrets. Every one checks the caller's key fresh from the table (`KeyManager`)."""

from fastapi import APIRouter

from afterglow.models import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    WebhookSecretCreated,
    WebhookSecretList,
)
from afterglow.routes.access import KeyManager, StoresDep
from afterglow.services import keys, webhook_secrets

router = APIRouter(tags=["keys"])


# --- a retailer's keys ---------------------------------------------------------------------------


@router.get("/v1/admin/retailers/{retailer_id}/keys", response_model=ApiKeyList)
async def list_retailer_keys(retailer_id: str, caller: KeyManager, stores: StoresDep) -> ApiKeyList:
    """A retailer's API keys, active and revoked: ids and hints, never the keys."""
    caller.require_retailer(retailer_id)
    return keys.list_retailer_keys(stores, retailer_id)


@router.post("/v1/admin/retailers/{retailer_id}/keys", status_code=201, response_model=ApiKeyCreated)
async def create_retailer_key(
    retailer_id: str, body: ApiKeyCreate, caller: KeyManager, stores: StoresDep
) -> ApiKeyCreated:
    """A new publishable or secret key (rotation: deploy it, then revoke the old one). The key is
    shown only in this response; the table keeps its hash."""
    caller.require_retailer(retailer_id)
    return keys.create_retailer_key(stores, retailer_id, body.kind)


@router.post("/v1/admin/retailers/{retailer_id}/keys/{key_id}/revoke", response_model=ApiKey)
async def revoke_retailer_key(retailer_id: str, key_id: str, caller: KeyManager, stores: StoresDep) -> ApiKey:
    """Revoke a key: refused at once by the routes that manage keys and secrets, everywhere else
    within a minute (warm functions cache keys that long)."""
    caller.require_retailer(retailer_id)
    return keys.revoke_key(stores, retailer_id, key_id)


# --- a partner's keys and webhook secrets --------------------------------------------------------


@router.get("/v1/admin/partners/{partner_id}/keys", response_model=ApiKeyList)
async def list_partner_keys(partner_id: str, caller: KeyManager, stores: StoresDep) -> ApiKeyList:
    """A partner's API keys, active and revoked: ids and hints, never the keys."""
    caller.require_partner(partner_id)
    return keys.list_partner_keys(stores, partner_id)


@router.post("/v1/admin/partners/{partner_id}/keys", status_code=201, response_model=ApiKeyCreated)
async def create_partner_key(partner_id: str, caller: KeyManager, stores: StoresDep) -> ApiKeyCreated:
    """A secret key for the partner's own back office (platform, or the partner rotating its own):
    it reads the partner's profile, offers and delivery log and rotates its webhook secrets."""
    caller.require_partner(partner_id)
    return keys.create_partner_key(stores, partner_id)


@router.post("/v1/admin/partners/{partner_id}/keys/{key_id}/revoke", response_model=ApiKey)
async def revoke_partner_key(partner_id: str, key_id: str, caller: KeyManager, stores: StoresDep) -> ApiKey:
    """Revoke a partner key (refused everywhere within a minute)."""
    caller.require_partner(partner_id)
    return keys.revoke_key(stores, partner_id, key_id)


@router.get("/v1/admin/partners/{partner_id}/secrets", response_model=WebhookSecretList)
async def list_webhook_secrets(partner_id: str, caller: KeyManager, stores: StoresDep) -> WebhookSecretList:
    """A partner's valid webhook secrets: ids and hints, never the secrets (platform or the
    partner's own key)."""
    caller.require_partner(partner_id)
    return webhook_secrets.list_webhook_secrets(stores, partner_id)


@router.post("/v1/admin/partners/{partner_id}/secrets", status_code=201, response_model=WebhookSecretCreated)
async def add_webhook_secret(partner_id: str, caller: KeyManager, stores: StoresDep) -> WebhookSecretCreated:
    """Rotation, step one: a new webhook secret, valid alongside the current ones; shown once."""
    caller.require_partner(partner_id)
    return webhook_secrets.add_webhook_secret(stores, partner_id)


@router.delete("/v1/admin/partners/{partner_id}/secrets/{secret_id}", response_model=WebhookSecretList)
async def remove_webhook_secret(
    partner_id: str, secret_id: str, caller: KeyManager, stores: StoresDep
) -> WebhookSecretList:
    """Rotation, step two: the old secret stops verifying (within a minute). Never the last one."""
    caller.require_partner(partner_id)
    return webhook_secrets.remove_webhook_secret(stores, partner_id, secret_id)


# --- the platform's keys -------------------------------------------------------------------------


@router.get("/v1/admin/platform/keys", response_model=ApiKeyList)
async def list_platform_keys(caller: KeyManager, stores: StoresDep) -> ApiKeyList:
    """The platform's own keys, active and revoked (platform key)."""
    caller.require_platform()
    return keys.list_platform_keys(stores)


@router.post("/v1/admin/platform/keys", status_code=201, response_model=ApiKeyCreated)
async def create_platform_key(caller: KeyManager, stores: StoresDep) -> ApiKeyCreated:
    """Another platform key (rotation); shown only in this response."""
    caller.require_platform()
    return keys.create_platform_key_record(stores)


@router.post("/v1/admin/platform/keys/{key_id}/revoke", response_model=ApiKey)
async def revoke_platform_key(key_id: str, caller: KeyManager, stores: StoresDep) -> ApiKey:
    """Revoke a platform key (within a minute everywhere). `afterglow platform-key` mints a new
    one with AWS credentials should the last one go."""
    caller.require_platform()
    return keys.revoke_platform_key(stores, key_id)
