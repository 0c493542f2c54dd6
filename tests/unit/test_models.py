"""Models by job: API views carry no secrets; the entities and the stored items do."""

import inspect
import json
from importlib.resources import files

from pydantic import BaseModel

from afterglow.models import entities, inputs, views
from afterglow.store.entities import partner_item, retailer_item, retailer_of, webhook_secrets_of
from tests.unit.builders import make_partner, make_retailer

SECRET_FIELDS = {"salt", "webhook_secrets", "webhook_secret_hashes", "key_hash"}


def _models(module) -> list[type[BaseModel]]:
    return [
        model
        for _, model in inspect.getmembers(module, inspect.isclass)
        if issubclass(model, BaseModel) and model.__module__ == module.__name__
    ]


def test_no_api_model_has_a_secret_field_not_even_an_excluded_one():
    for model in _models(views) + _models(inputs):
        names = set(model.model_fields)
        assert not names & SECRET_FIELDS, model
        assert not [name for name, field in model.model_fields.items() if field.exclude], model


def test_the_published_api_document_names_no_secret_field():
    document = json.loads(files("afterglow").joinpath("openapi.json").read_text())
    for name, schema in document["components"]["schemas"].items():
        assert not set(schema.get("properties", {})) & SECRET_FIELDS, name


def test_a_retailers_salt_is_stored_but_its_view_has_none():
    shop = make_retailer()
    assert retailer_item(shop)["salt"] == "salt-1"
    assert retailer_of(retailer_item(shop)) == shop
    assert "salt" not in views.Retailer.of(shop).model_dump()


def test_a_partners_webhook_secrets_live_only_in_the_stored_item():
    partner = make_partner()
    item = partner_item(partner, webhook_secrets=["whsec_a", "whsec_b"])
    assert webhook_secrets_of(item) == ["whsec_a", "whsec_b"]
    assert "webhook_secrets" not in entities.Partner.model_validate(item).model_dump()
    assert views.Partner.of(entities.Partner.model_validate(item)).model_dump() == partner.model_dump()
