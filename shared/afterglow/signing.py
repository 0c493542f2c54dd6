"""Tracking tokens, API keys and identifiers: HMAC and hashing, nothing else."""

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

from afterglow.errors import Unauthorized

MAX_SLATE = 3  # offer ids an open-pixel token may carry: a slate is 1–3 offers
MAX_LIFETIME_SECONDS = 180 * 24 * 3600  # the longest an explicit `expires_at` may reach past issue


class InvalidToken(Unauthorized):
    """A tracking token that must not be trusted; `reason` is a stable code for event results."""

    def __init__(self, reason: str, message: str = "invalid tracking token") -> None:
        super().__init__(message)
        self.reason = reason


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_id(prefix: str) -> str:
    """A random, unguessable identifier such as `clk_3kX…` (128 bits)."""
    return f"{prefix}_{_b64(secrets.token_bytes(16))}"


def new_api_key(kind: str) -> str:
    """A fresh API key (`pk`, `sk`) with 192 bits of randomness; shown once, stored as a hash."""
    return f"{kind}_{_b64(secrets.token_bytes(24))}"


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_secret_id(secret: str) -> str:
    """A stable name for a webhook secret that reveals nothing of it (to list and remove it)."""
    return "whk_" + hashlib.sha256(secret.encode()).hexdigest()[:16]


def hash_key(key: str) -> str:
    """The only form in which API keys are stored (keys are long and random, so no salt is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def hash_customer(retailer_salt: str, identifier: str) -> str:
    """A customer id or e-mail, normalised and salted per retailer: never stored raw."""
    normalised = identifier.strip().lower()
    return hashlib.sha256(f"{retailer_salt}:{normalised}".encode()).hexdigest()


@dataclass(frozen=True)
class TrackingClaims:
    """What a tracking token vouches for: which offer was shown to whom, when.

    `offer_id` is empty in a decision-level token (survey answers). `context` carries the few
    context features the learner keys its counters on, so feedback needs no extra read. `slate`
    (≤ MAX_SLATE offer ids) is what an e-mail's open pixel counts as seen. `expires_at` (epoch
    seconds) replaces the signer's lifetime for links that must outlive it (a refill follow-up
    sent weeks after its decision); it may reach at most MAX_LIFETIME_SECONDS past `issued_at`.
    """

    retailer_id: str
    decision_id: str
    offer_id: str
    arm: str
    issued_at: int
    context: dict[str, str] = field(default_factory=dict)
    slate: tuple[str, ...] = ()
    expires_at: int | None = None


class TokenSigner:
    """Signs and verifies tracking tokens with a rotating key set.

    The first key signs; every key verifies, so a new key can be put first while tokens signed with
    the old one stay valid until they expire.
    """

    def __init__(self, keys: dict[str, bytes], ttl_seconds: int) -> None:
        if not keys:
            raise ValueError("at least one token key is required")
        self._keys = keys
        self._active = next(iter(keys))
        self._ttl = ttl_seconds

    @classmethod
    def from_setting(cls, setting: str, ttl_seconds: int) -> "TokenSigner":
        """Parse `kid:secret,kid:secret` (the TOKEN_KEYS setting)."""
        if not setting.strip():
            raise ValueError("TOKEN_KEYS is not set: tracking tokens need at least one kid:secret key")
        keys: dict[str, bytes] = {}
        for pair in filter(None, (part.strip() for part in setting.split(","))):
            kid, _, secret = pair.partition(":")
            if not kid or len(secret) < 16:
                raise ValueError("TOKEN_KEYS entries must be kid:secret with a secret of 16+ chars")
            keys[kid] = secret.encode()
        return cls(keys, ttl_seconds)

    def _mac(self, kid: str, payload: str) -> str:
        return _b64(hmac.new(self._keys[kid], payload.encode(), hashlib.sha256).digest())

    def sign(self, claims: TrackingClaims) -> str:
        """A compact, URL-safe token: `base64url(json claims).base64url(hmac)`."""
        body: dict[str, object] = {
            "r": claims.retailer_id,
            "d": claims.decision_id,
            "o": claims.offer_id,
            "a": claims.arm,
            "t": claims.issued_at,
            "k": self._active,
        }
        if claims.context:
            body["x"] = claims.context
        if claims.slate:
            if len(claims.slate) > MAX_SLATE:
                raise ValueError(f"a token carries at most {MAX_SLATE} offer ids")
            body["s"] = list(claims.slate)
        if claims.expires_at is not None:
            if not claims.issued_at < claims.expires_at <= claims.issued_at + MAX_LIFETIME_SECONDS:
                raise ValueError("expires_at must be after issued_at and within MAX_LIFETIME_SECONDS")
            body["e"] = claims.expires_at
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{self._mac(self._active, payload)}"

    def verify(self, token: str, *, now: int, retailer_id: str | None = None) -> TrackingClaims:
        """Claims of a genuine, unexpired token; `Unauthorized` for anything else."""
        try:
            payload, mac = token.split(".")
            # The MAC is checked before anything is parsed: a forged token never reaches the JSON
            # parser (deeply nested JSON would otherwise raise RecursionError, found by a test).
            signed_by = next(
                (kid for kid in self._keys if hmac.compare_digest(mac, self._mac(kid, payload))), None
            )
            if signed_by is None:
                raise InvalidToken("invalid_token")
            body = json.loads(_unb64(payload))
            if body["k"] != signed_by:
                raise InvalidToken("invalid_token")
            claims = TrackingClaims(
                retailer_id=str(body["r"]),
                decision_id=str(body["d"]),
                offer_id=str(body["o"]),
                arm=str(body["a"]),
                issued_at=int(body["t"]),
                context={str(k): str(v) for k, v in body.get("x", {}).items()},
                slate=tuple(str(offer_id) for offer_id in body.get("s", ())[:MAX_SLATE]),
                expires_at=int(body["e"]) if "e" in body else None,
            )
        except InvalidToken:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
            raise InvalidToken("invalid_token") from error
        if claims.issued_at > now + 300:  # tolerate a few minutes of clock skew, no more
            raise InvalidToken("invalid_token")
        expires_at = claims.issued_at + self._ttl if claims.expires_at is None else claims.expires_at
        if now > expires_at:
            raise InvalidToken("token_expired", "tracking token expired")
        if retailer_id is not None and claims.retailer_id != retailer_id:
            raise InvalidToken("token_of_another_retailer", "tracking token belongs to another retailer")
        return claims
