"""Tracking tokens, customer hashes and identifiers: what may be trusted and what must be refused."""

import base64
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afterglow.errors import Unauthorized
from afterglow.signing import (
    InvalidToken,
    TokenSigner,
    TrackingClaims,
    hash_customer,
    new_api_key,
    new_id,
    new_webhook_secret,
)

OLD_SECRET = "old-secret-0123456789abcdef"
NEW_SECRET = "new-secret-fedcba9876543210"
TTL = 3_600
ISSUED_AT = 1_800_000_000
SKEW = 300


def signer(setting: str = f"k1:{OLD_SECRET}") -> TokenSigner:
    return TokenSigner.from_setting(setting, TTL)


def claims(retailer_id: str = "ret_1", issued_at: int = ISSUED_AT) -> TrackingClaims:
    return TrackingClaims(
        retailer_id=retailer_id,
        decision_id="dec_1",
        offer_id="off_1",
        arm="mixed",
        issued_at=issued_at,
        context={"category": "kitchen"},
    )


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- round trip ----------------------------------------------------------------------------------


@settings(max_examples=200)
@given(
    retailer_id=st.text(max_size=40),
    decision_id=st.text(max_size=40),
    offer_id=st.text(max_size=40),
    arm=st.sampled_from(["holdout", "first_party_only", "partner_only", "mixed"]) | st.text(max_size=20),
    issued_at=st.integers(min_value=0, max_value=4_000_000_000),
    age=st.integers(min_value=-SKEW, max_value=TTL),
    context=st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=4),
)
def test_a_signed_token_verifies_to_the_claims_it_was_signed_with(
    retailer_id, decision_id, offer_id, arm, issued_at, age, context
):
    # Given claims signed by the platform
    original = TrackingClaims(retailer_id, decision_id, offer_id, arm, issued_at, context)
    token = signer().sign(original)
    # When the token comes back within its lifetime (or a little early, clock skew)
    verified = signer().verify(token, now=issued_at + age, retailer_id=retailer_id)
    # Then it vouches for exactly what was signed
    assert verified == original


def test_a_token_is_compact_and_url_safe():
    token = signer().sign(claims())
    assert re.fullmatch(r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+", token)


# --- tampering and forgery -----------------------------------------------------------------------


def test_a_token_whose_claims_were_edited_is_refused():
    # Given a genuine token whose payload is re-written to name another retailer, mac kept
    payload, mac = signer().sign(claims()).split(".")
    body = json.loads(unb64(payload))
    body["r"] = "ret_evil"
    forged = f"{b64(json.dumps(body, separators=(',', ':'), sort_keys=True).encode())}.{mac}"
    # When / Then
    with pytest.raises(InvalidToken) as refused:
        signer().verify(forged, now=ISSUED_AT)
    assert refused.value.reason == "invalid_token"


def test_a_token_with_an_altered_mac_is_refused():
    payload, mac = signer().sign(claims()).split(".")
    altered = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    with pytest.raises(InvalidToken):
        signer().verify(f"{payload}.{altered}", now=ISSUED_AT)


def test_a_token_signed_with_an_unknown_key_id_is_refused():
    # Given a token signed with a key id the verifier has never been given
    token = signer(f"k9:{NEW_SECRET}").sign(claims())
    # Then it is refused
    with pytest.raises(InvalidToken) as refused:
        signer().verify(token, now=ISSUED_AT)
    assert refused.value.reason == "invalid_token"


def test_a_token_signed_with_a_guessed_secret_under_a_known_key_id_is_refused():
    token = signer(f"k1:{NEW_SECRET}").sign(claims())
    with pytest.raises(InvalidToken):
        signer().verify(token, now=ISSUED_AT)


def test_invalid_tokens_are_unauthorized_errors():
    """Callers map `Unauthorized` to 401: an InvalidToken must be one."""
    with pytest.raises(Unauthorized) as refused:
        signer().verify("not-a-token", now=ISSUED_AT)
    assert refused.value.status == 401


# --- time ----------------------------------------------------------------------------------------


def test_a_token_is_valid_until_its_time_to_live_has_passed():
    token = signer().sign(claims())
    assert signer().verify(token, now=ISSUED_AT + TTL) == claims()


def test_an_expired_token_is_refused_as_expired():
    token = signer().sign(claims())
    with pytest.raises(InvalidToken) as refused:
        signer().verify(token, now=ISSUED_AT + TTL + 1)
    assert refused.value.reason == "token_expired"


def test_a_token_issued_a_little_in_the_future_is_tolerated_as_clock_skew():
    token = signer().sign(claims(issued_at=ISSUED_AT + SKEW))
    assert signer().verify(token, now=ISSUED_AT).issued_at == ISSUED_AT + SKEW


def test_a_token_issued_more_than_five_minutes_in_the_future_is_refused():
    token = signer().sign(claims(issued_at=ISSUED_AT + SKEW + 1))
    with pytest.raises(InvalidToken) as refused:
        signer().verify(token, now=ISSUED_AT)
    assert refused.value.reason == "invalid_token"


# --- tenancy -------------------------------------------------------------------------------------


def test_a_token_of_another_retailer_is_refused():
    token = signer().sign(claims(retailer_id="ret_other"))
    with pytest.raises(InvalidToken) as refused:
        signer().verify(token, now=ISSUED_AT, retailer_id="ret_1")
    assert refused.value.reason == "token_of_another_retailer"


def test_a_token_of_the_expected_retailer_is_accepted():
    token = signer().sign(claims(retailer_id="ret_1"))
    assert signer().verify(token, now=ISSUED_AT, retailer_id="ret_1").retailer_id == "ret_1"


# --- key rotation --------------------------------------------------------------------------------


def test_rotating_keys_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key():
    # Given a token signed before rotation
    before_rotation = signer(f"k1:{OLD_SECRET}")
    old_token = before_rotation.sign(claims())
    # When a new key is put first in the setting
    rotated = signer(f"k2:{NEW_SECRET},k1:{OLD_SECRET}")
    # Then the old token still verifies
    assert rotated.verify(old_token, now=ISSUED_AT) == claims()
    # And new tokens are signed with the new key: only a verifier holding it accepts them
    new_token = rotated.sign(claims())
    assert signer(f"k2:{NEW_SECRET}").verify(new_token, now=ISSUED_AT) == claims()
    with pytest.raises(InvalidToken):
        before_rotation.verify(new_token, now=ISSUED_AT)


def test_retiring_the_old_key_invalidates_its_tokens():
    old_token = signer(f"k1:{OLD_SECRET}").sign(claims())
    with pytest.raises(InvalidToken):
        signer(f"k2:{NEW_SECRET}").verify(old_token, now=ISSUED_AT)


# --- garbage -------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(token=st.text(max_size=200))
def test_any_garbage_text_is_refused_as_unauthorized(token):
    with pytest.raises(Unauthorized):
        signer().verify(token, now=ISSUED_AT)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children),
    max_leaves=12,
)


@settings(max_examples=200)
@given(
    body=_json_values | st.fixed_dictionaries({"k": _json_values}, optional={"r": _json_values}),
    mac=st.text(max_size=50),
)
def test_well_formed_but_unsigned_payloads_are_refused_as_unauthorized(body, mac):
    payload = b64(json.dumps(body).encode())
    with pytest.raises(Unauthorized):
        signer().verify(f"{payload}.{mac}", now=ISSUED_AT)


def test_a_deeply_nested_payload_is_refused_as_unauthorized():
    nested = b64(b"[" * 2_000)
    with pytest.raises(Unauthorized):
        signer().verify(f"{nested}.mac", now=ISSUED_AT)


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "setting",
    [
        "",
        "   ",
        ",",
        "k1:short",
        "k1:0123456789abcde",  # 15 characters: one short
        ":0123456789abcdef",  # no key id
        "k1",  # no secret at all
        f"k1:{OLD_SECRET},k2:short",  # one weak key spoils the set
    ],
)
def test_token_keys_setting_rejects_empty_or_short_secrets(setting):
    with pytest.raises(ValueError):
        TokenSigner.from_setting(setting, TTL)


def test_token_keys_setting_accepts_a_sixteen_character_secret_and_surrounding_spaces():
    tokens = TokenSigner.from_setting(" k1:0123456789abcdef , ", TTL)
    assert tokens.verify(tokens.sign(claims()), now=ISSUED_AT) == claims()


def test_a_signer_needs_at_least_one_key():
    with pytest.raises(ValueError):
        TokenSigner({}, TTL)


# --- customer hashes and identifiers -------------------------------------------------------------


def test_customer_hash_ignores_case_and_surrounding_whitespace():
    assert hash_customer("salt", "  Ada@Example.COM\n") == hash_customer("salt", "ada@example.com")


def test_customer_hash_differs_between_retailers_salts():
    assert hash_customer("salt-a", "ada@example.com") != hash_customer("salt-b", "ada@example.com")


def test_customer_hash_never_contains_the_identifier():
    hashed = hash_customer("salt", "ada@example.com")
    assert re.fullmatch(r"[0-9a-f]{64}", hashed)
    assert "ada" not in hashed


def test_new_ids_carry_their_prefix_and_128_random_bits():
    identifier = new_id("clk")
    assert re.fullmatch(r"clk_[A-Za-z0-9_\-]{22}", identifier)
    assert len(unb64(identifier.removeprefix("clk_"))) == 16
    assert len({new_id("clk") for _ in range(100)}) == 100


def test_new_api_keys_carry_their_kind_and_192_random_bits():
    key = new_api_key("sk")
    assert re.fullmatch(r"sk_[A-Za-z0-9_\-]{32}", key)
    assert len(unb64(key.removeprefix("sk_"))) == 24
    assert new_api_key("pk").startswith("pk_")
    assert new_api_key("sk") != new_api_key("sk")


def test_new_webhook_secret_is_whsec_and_base64_of_32_bytes():
    secret = new_webhook_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert new_webhook_secret() != secret


def test_an_open_pixel_token_carries_its_slate_and_a_slate_is_at_most_three_offers():
    slate = TrackingClaims("ret_1", "dec_1", "", "mixed", ISSUED_AT, slate=("off_1", "off_2", "off_3"))
    token = signer().sign(slate)
    assert signer().verify(token, now=ISSUED_AT) == slate
    assert signer().verify(signer().sign(claims()), now=ISSUED_AT).slate == ()  # other tokens: none
    with pytest.raises(ValueError, match="at most 3"):
        signer().sign(TrackingClaims("ret_1", "dec_1", "", "mixed", ISSUED_AT, slate=("a", "b", "c", "d")))


def test_an_explicit_expiry_outlives_the_signers_lifetime_and_is_kept_to_the_second():
    # Given a follow-up link that must last 40 days from its decision (the signer's TTL is an hour)
    expires = ISSUED_AT + 40 * 86_400
    long_lived = TrackingClaims("ret_1", "dec_1", "off_1", "mixed", ISSUED_AT, expires_at=expires)
    token = signer().sign(long_lived)
    # Then it is valid until then and not a second longer
    assert signer().verify(token, now=expires) == long_lived
    with pytest.raises(InvalidToken) as refused:
        signer().verify(token, now=expires + 1)
    assert refused.value.reason == "token_expired"


@pytest.mark.parametrize("lifetime", [0, -1, 181 * 86_400])
def test_an_expiry_before_issue_or_beyond_the_longest_lifetime_is_not_signed(lifetime):
    with pytest.raises(ValueError, match="expires_at"):
        signer().sign(
            TrackingClaims("ret_1", "dec_1", "off_1", "mixed", ISSUED_AT, expires_at=ISSUED_AT + lifetime)
        )
