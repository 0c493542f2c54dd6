"""`afterglow audit --sample` on the demo stack's catalog: the demo shop's slates make sense."""

from afterglow.cli import main
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.relevance_audit import SampleOrder, audit_sample, misfits
from afterglow_dev.local.demo import seed_demo


def _shown(stores, retailer_id, *orders):
    index = catalog_cache.get(stores.catalog)
    audited = audit_sample(index, index.retailers[retailer_id], orders=orders)
    return audited, [[s.offer.creative.title for s in item.shown] for item in audited]


def test_the_demo_shop_offers_what_goes_with_each_order(stores):
    # Given the demo catalog `afterglow local` seeds
    demo = seed_demo(stores)
    # When the demo shop's own kinds of order ask for offers
    audited, shown = _shown(
        stores,
        demo.retailer_id,
        SampleOrder((("Trailhead 2-person tent", "camping", 24_900),)),
        SampleOrder((("Barista Duo espresso machine", "kitchen", 64_900),)),
        SampleOrder((("Ethiopia coffee beans 1 kg", "coffee", 2_890),)),
        SampleOrder((("Barista Duo espresso machine", "kitchen", 64_900),), gift=True),
        SampleOrder((("Chef's knife", "kitchen", 12_900),)),
    )
    # Then a tent gets trail meals and outdoor-gear cover; the machine the beans and its descaler first
    assert set(shown[0]) == {"Trail meals, delivered", "Insure your new gear"}
    assert shown[1][:2] == ["Fresh beans every fortnight", "Descaling kit, 3 months"]
    # And coffee beans never the beans subscription; a gift machine no subscription; a knife no descaler
    assert "Fresh beans every fortnight" not in shown[2]
    assert "Fresh beans every fortnight" not in shown[3]
    assert "Descaling kit, 3 months" not in shown[4]
    assert misfits(audited, among_eligible=True) == []


def test_afterglow_audit_sample_reads_the_stacks_catalog_and_a_retailers_rules(stores, capsys):
    demo = seed_demo(stores)
    assert main(["audit", demo.retailer_id, "--sample"]) == 0
    out = capsys.readouterr().out
    assert "Insure your new gear" in out and "obvious misfits: 0 (none)" in out
    assert main(["audit", "ret_nobody", "--sample"]) == 1
    assert "ret_nobody" in capsys.readouterr().err
