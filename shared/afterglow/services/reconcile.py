"""Nightly reconciliation: one day of ledger → reports in S3, the manifest written last.

A day is read shard by shard (`LedgerStore.read_shard`, a few shards at a time on threads); each
shard folds into its own partial aggregate and each partial is merged into the day's total
(`reconciliation.merge_into`: order-free), which is exactly what the fan-out per shard does
across invocations (`reconcile_shard`, then `reconcile_day_from_partials`, driven by the
ReconcileStateMachine). Memory holds the running total and the partials not merged yet.
Files for D:

    reports/daily/dt=D/aggregates.csv    counters and money per retailer × partner × offer × arm × currency
    reports/daily/dt=D/actions.csv       money per cell × conversion action (invoices roll these up)
    reports/daily/dt=D/conversions.csv   every conversion and reversal (partner statement comparison)
    reports/daily/dt=D/rejections.csv    every refused partner webhook, with its reason
    reports/daily/dt=D/experiment.csv    sufficient statistics of the experiment read-out
    reports/daily/dt=D/refunds.csv       reversal rate per offer
    reports/daily/dt=D/summary.json      totals, read-out, rejections by reason, follow-up counts,
                                         own-brand add-on returns per offer (flagged ones listed)
    reports/daily/dt=D/report.html       the page for people (operators: every retailer)
    reports/daily/dt=D/retailer=R/report.html   one retailer's page (its figures only)
    followups/retailer=R/dt=D.csv        declined offers to follow up by e-mail (opt-outs removed),
                                         when to send each, one-tap satisfaction links if asked
    followups/retailer=R/dt=D.jsonl      the same follow-ups as e-mails ready to send (subject,
                                         HTML, text, tracked links); when PUBLIC_API_URL is set
    billing/month=M/dt=D.csv             D's money lines that month M's invoices bill (afterglow.billing)
    reports/daily/dt=D/manifest.json     last: every file above with rows, bytes and sha256

Nothing in a file depends on the time of the run, so re-running a day rewrites identical bytes;
a conversion that arrives late is in the ledger under the day it was recorded and is picked up by
the next run of that day.
"""

from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from afterglow import experiments, followups, offer_figures, reconciliation
from afterglow.catalog import CatalogIndex
from afterglow.observability import logger
from afterglow.pacing import pacing_rows
from afterglow.reconciliation import DayAggregation
from afterglow.report_html import DayReport, ReportNames, render, render_retailer
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.email import followup_emails
from afterglow.services.monthly import billing_files, reconcile_month
from afterglow.services.report_files import (
    HTML,
    ReportFile,
    complete_manifest,
    csv_file,
    json_file,
    jsonl_file,
    publish,
    read_verified,
)
from afterglow.services.satisfaction import followup_links
from afterglow.settings import get_settings
from afterglow.store import CatalogStore, LedgerStore, ReportStore, Stores
from afterglow.store.records import ConversionRecord

SHARD_READERS = 4  # shards read at once in one invocation (boto3 clients are thread-safe)
HISTORY_DAYS = 14  # the take-rate chart covers this many days up to the reconciled one
MAX_RANGE_DAYS = 367


def daily_prefix(day: date) -> str:
    """Where one day's reports live; the same day always maps to the same keys."""
    return f"reports/daily/dt={day.isoformat()}/"


def followups_key(retailer_id: str, day: date) -> str:
    return f"followups/retailer={retailer_id}/dt={day.isoformat()}.csv"


def followup_emails_key(retailer_id: str, day: date) -> str:
    return f"followups/retailer={retailer_id}/dt={day.isoformat()}.jsonl"


def optouts_key(retailer_id: str) -> str:
    return f"optouts/retailer={retailer_id}.txt"


def _with_their_conversions(
    ledger: LedgerStore, records: Iterable[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """Reversal records repeat neither their conversion's action nor when it locks (which says
    on which invoice the reversal goes): look them up (reversals are rare)."""
    conversions: dict[tuple[str, str], ConversionRecord | None] = {}
    for record in records:
        if record.get("kind") == "reversal":
            named = (str(record.get("partner_id")), str(record.get("conversion_id")))
            if named not in conversions:
                conversions[named] = ledger.find_conversion(*named)
            conversion = conversions[named]
            record = {
                **record,
                "action": record.get("action")
                or ((conversion.action if conversion else "") or reconciliation.UNKNOWN_ACTION),
                "conversion_locks_at": conversion.locks_at.isoformat() if conversion else None,
            }
        yield record


def aggregate_shard(ledger: LedgerStore, day: date, shard: int) -> DayAggregation:
    """One shard of one day as a partial aggregate (the unit of the fan-out)."""
    return reconciliation.aggregate_day(
        _with_their_conversions(ledger, ledger.read_shard(day.isoformat(), shard))
    )


def aggregate_ledger_day(ledger: LedgerStore, day: date, *, workers: int = SHARD_READERS) -> DayAggregation:
    """The whole day, its shards read by `workers` threads (DynamoDB reads wait on the network),
    each shard's partial merged into the total and then dropped; merging is order-free."""
    total = DayAggregation()
    if workers <= 1:
        for shard in range(ledger.shards):
            reconciliation.merge_into(total, aggregate_shard(ledger, day, shard))
        return total
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shard") as pool:
        for partial in pool.map(lambda shard: aggregate_shard(ledger, day, shard), range(ledger.shards)):
            reconciliation.merge_into(total, partial)
    return total


def _history(reports: ReportStore, day: date) -> dict[date, dict[experiments.MetricKey, int]]:
    """Experiment statistics of the days before `day` that completed (for the take-rate chart)."""
    found = {}
    for back in range(HISTORY_DAYS - 1, 0, -1):
        earlier = day - timedelta(days=back)
        prefix = daily_prefix(earlier)
        manifest = complete_manifest(reports, prefix + "manifest.json")
        body = read_verified(reports, manifest, prefix + "experiment.csv") if manifest else None
        if body is not None:
            found[earlier] = experiments.parse_metrics_csv(body)
    return found


def _take_rate_history(
    day: date,
    today: Mapping[experiments.MetricKey, int],
    history: Mapping[date, Mapping[experiments.MetricKey, int]],
) -> tuple[list[str], dict[str, dict[str, list[float | None]]]]:
    days = [day - timedelta(days=back) for back in range(HISTORY_DAYS - 1, -1, -1)]
    per_day = {**history, day: today}
    series: dict[str, dict[str, list[float | None]]] = {}
    arms = {(retailer, arm) for retailer, arm, _, _ in today}
    for retailer, arm in sorted(arms):
        points: list[float | None] = []
        for moment in days:
            stats = per_day.get(moment, {})
            transactions = stats.get((retailer, arm, "transactions", "-"), 0)
            taken = stats.get((retailer, arm, "taken", "-"), 0)
            points.append(taken / transactions if transactions else None)
        series.setdefault(retailer, {})[arm] = points
    return [moment.isoformat() for moment in days], series


def report_names(catalog: CatalogStore) -> ReportNames:
    """Retailer and partner names, offer titles, partners' budgets and retailers' return flag
    rates, as the catalog has them now (a re-run with the same ledger and catalog writes the same
    bytes)."""
    index = catalog_cache.get(catalog)
    return ReportNames(
        retailers={retailer_id: r.name for retailer_id, r in index.retailers.items()},
        partners={partner_id: p.name for partner_id, p in index.partners.items()},
        offers={offer_id: o.creative.title for offer_id, o in index.offers.items()},
        budgets={partner_id: p.budget for partner_id, p in index.partners.items() if p.budget is not None},
        return_flag_rates={retailer_id: r.return_flag_rate for retailer_id, r in index.retailers.items()},
        tiers={offer_id: o.slate_tier for offer_id, o in index.offers.items() if o.slate_tier},
    )


def satisfaction_scales(catalog: CatalogStore) -> dict[str, str]:
    """The scale of each retailer's satisfaction question (retailers that ask one), for the
    follow-ups' one-tap links."""
    index = catalog_cache.get(catalog)
    return {rid: r.satisfaction.scale for rid, r in index.retailers.items() if r.satisfaction}


def retailer_page_key(day: date, retailer_id: str) -> str:
    return f"{daily_prefix(day)}retailer={retailer_id}/report.html"


def day_files(
    reports: ReportStore,
    day: date,
    aggregation: DayAggregation,
    names: ReportNames | None = None,
    satisfaction: Mapping[str, str] | None = None,
    index: CatalogIndex | None = None,
) -> dict[str, ReportFile]:
    """Every file of the day (opt-out lists and earlier days' statistics are read from the bucket);
    `names` puts names beside the ids of the HTML pages; `satisfaction` (retailer → scale) adds
    one-tap links to the follow-ups of retailers that ask (when PUBLIC_API_URL says where to);
    `index` (the catalog now) times refill follow-ups and, with PUBLIC_API_URL, renders each
    follow-up's e-mail (`followups/…/dt=D.jsonl`)."""
    prefix = daily_prefix(day)
    cells = aggregation.cells
    totals = reconciliation.totals(cells)
    found = experiments.metrics(aggregation)
    readouts = experiments.readout(found)
    refunds = offer_figures.offer_refunds(cells.items())
    names = names or ReportNames()
    add_on_returns = offer_figures.offer_returns(cells.items(), names.return_flag_rates)
    by_tier = offer_figures.tier_figures(cells.items(), names.tiers)
    declined = followups.declined(aggregation.trails, _offer_kinds(index))
    retailers = sorted({key[0] for key in cells} | declined.keys())
    files: dict[str, ReportFile] = {}
    followup_counts: dict[str, int] = {}
    for retailer in retailers:
        if retailer == reconciliation.NO_PARTNER:
            continue
        opted_out = followups.parse_optouts(reports.get(optouts_key(retailer)))
        rows = followups.without_optouts(declined.get(retailer, []), opted_out)
        api_url = get_settings().public_api_url.rstrip("/")
        scale = (satisfaction or {}).get(retailer)
        if scale and api_url:
            rows = followups.with_satisfaction_links(rows, followup_links(retailer, scale, api_url))
        followup_counts[retailer] = len(rows)
        files[followups_key(retailer, day)] = csv_file(followups.followups_csv(rows))
        shop = index.retailers.get(retailer) if index else None
        if index and shop and api_url:
            emails = followups.followups_jsonl(rows, followup_emails(shop, index, api_url))
            files[followup_emails_key(retailer, day)] = jsonl_file(emails)
    rejections: dict[str, int] = {}
    for rejection in aggregation.rejections.values():
        rejections[rejection.reason] = rejections.get(rejection.reason, 0) + 1
    history_days, history = _take_rate_history(day, found, _history(reports, day))
    pacing = pacing_rows(aggregation.money_lines.values(), names.budgets)
    summary = {
        "date": day.isoformat(),
        "totals": totals,
        "experiment": experiments.as_rows(readouts),
        "rejections_by_reason": dict(sorted(rejections.items())),
        "late_conversions": sum(
            1
            for line in aggregation.money_lines.values()
            if line.kind == "conversion" and line.occurred_at and line.occurred_at[:10] < day.isoformat()
        ),
        "followups": followup_counts,
        "offers_flagged_for_refunds": [r.offer_id for r in refunds if r.flagged],
        "add_on_returns": experiments.as_rows(add_on_returns),
        "offers_flagged_for_returns": [r.offer_id for r in add_on_returns if r.flagged],
        "by_tier": experiments.as_rows(by_tier),
        "pacing": experiments.as_rows(pacing),
    }
    report = DayReport(
        day=day.isoformat(),
        totals=totals,
        readouts=readouts,
        take_rate_history=history,
        history_days=history_days,
        top_offers=offer_figures.top_offers_by_source(cells.items(), limit=10),
        refunds=refunds,
        add_on_returns=add_on_returns,
        by_tier=by_tier,
        rejections_by_reason=rejections,
        followups=followup_counts,
        names=names,
        revenue=experiments.revenue_by_source(cells.items()),
        retailer_totals={
            retailer: reconciliation.totals({key: cell for key, cell in cells.items() if key[0] == retailer})
            for retailer in retailers
        },
        pacing=pacing,
    )
    files.update(
        {
            prefix + "aggregates.csv": csv_file(reconciliation.aggregates_csv(cells)),
            prefix + "actions.csv": csv_file(reconciliation.actions_csv(aggregation.actions)),
            prefix + "conversions.csv": csv_file(reconciliation.money_lines_csv(aggregation.money_lines)),
            prefix + "rejections.csv": csv_file(reconciliation.rejections_csv(aggregation.rejections)),
            prefix + "experiment.csv": csv_file(experiments.metrics_csv(found)),
            prefix + "refunds.csv": csv_file(offer_figures.refunds_csv(refunds)),
            prefix + "summary.json": json_file(summary),
            prefix + "report.html": ReportFile(render(report), HTML, 1),
        }
    )
    for retailer in sorted({r.retailer_id for r in readouts}):
        files[retailer_page_key(day, retailer)] = ReportFile(render_retailer(report, retailer), HTML, 1)
    files.update(billing_files(aggregation.money_lines.values(), day))
    return files


def _offer_kinds(index: CatalogIndex | None) -> dict[str, followups.OfferKind]:
    """Each offer's type and product type (what times a follow-up), as the catalog has them now."""
    if index is None:
        return {}
    return {oid: followups.OfferKind(o.offer_type, o.product_type) for oid, o in index.offers.items()}


def reconcile_day(stores: Stores, day: date, names: ReportNames | None = None) -> dict[str, Any]:
    """Aggregate one day's ledger and write its reports; re-running rewrites identical bytes.
    `names` (default: the catalog's, now) puts names beside the ids of the HTML pages."""
    aggregation = aggregate_ledger_day(stores.ledger, day)
    return _publish_day(
        stores.reports,
        day,
        aggregation,
        names or report_names(stores.catalog),
        satisfaction_scales(stores.catalog),
        catalog_cache.get(stores.catalog),
    )


# --- the same, fanned out over invocations: one per shard, then a merge (ReconcileStateMachine) ---


class PartialMissing(RuntimeError):
    """The merge step found a shard without its partial: it fails, and is retried, publishing nothing."""


def partial_key(day: date, shard: int) -> str:
    """Where a shard's partial aggregate waits for the merge step (expired by a bucket rule)."""
    return f"work/reconcile/dt={day.isoformat()}/shard={shard:03d}.json"


def reconcile_shard(stores: Stores, day: date, shard: int) -> dict[str, Any]:
    """Fan-out step: one shard of one day as a partial aggregate, left in the bucket for the
    merge step. Re-running it rewrites the same bytes."""
    if not 0 <= shard < stores.ledger.shards:
        raise ValueError(f"shard must be 0..{stores.ledger.shards - 1}")
    partial = aggregate_shard(stores.ledger, day, shard)
    stores.reports.put(partial_key(day, shard), reconciliation.partial_to_json(partial), "application/json")
    return {"date": day.isoformat(), "shard": shard, "cells": len(partial.cells)}


def reconcile_day_from_partials(stores: Stores, day: date) -> dict[str, Any]:
    """Fan-out last step: merge every shard's partial and write the day's reports — the same bytes
    as `reconcile_day` in one invocation. `PartialMissing` if a shard has not been aggregated."""
    total = DayAggregation()
    for shard in range(stores.ledger.shards):
        raw = stores.reports.get(partial_key(day, shard))
        if raw is None:
            raise PartialMissing(f"no partial for shard {shard} of {day.isoformat()}")
        reconciliation.merge_into(total, reconciliation.partial_from_json(raw))
    return _publish_day(
        stores.reports,
        day,
        total,
        report_names(stores.catalog),
        satisfaction_scales(stores.catalog),
        catalog_cache.get(stores.catalog),
    )


def _publish_day(
    reports: ReportStore,
    day: date,
    aggregation: DayAggregation,
    names: ReportNames | None,
    satisfaction: Mapping[str, str] | None = None,
    index: CatalogIndex | None = None,
) -> dict[str, Any]:
    files = day_files(reports, day, aggregation, names, satisfaction, index)
    publish(reports, daily_prefix(day) + "manifest.json", files, {"date": day.isoformat()})
    logger.info(
        "day reconciled",
        extra={"date": day.isoformat(), "cells": len(aggregation.cells), "files": len(files)},
    )
    return {"date": day.isoformat(), "totals": reconciliation.totals(aggregation.cells)}


def months_of(days: Iterable[date]) -> list[str]:
    """The distinct months (YYYY-MM) of some days, in order."""
    return sorted({day.strftime("%Y-%m") for day in days})


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last` inclusive; ValueError for a reversed or too long range."""
    if last < first:
        raise ValueError("until must not be before date")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise ValueError(f"reconcile at most {MAX_RANGE_DAYS} days per run")
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def reconcile_range(stores: Stores, first: date, last: date) -> list[dict[str, Any]]:
    """Reconcile every day from `first` to `last` inclusive (backfill), then roll up each month
    touched into invoices and statements (month to date), moving the conversions that locked on
    those days (or were invoiced) along their lifecycle."""
    days = days_between(first, last)
    names = report_names(stores.catalog)
    summaries = [reconcile_day(stores, day, names) for day in days]
    for month in months_of(days):
        reconciled_now = [day for day in days if day.strftime("%Y-%m") == month]
        reconcile_month(stores, month, reconciled_now=reconciled_now)
    return summaries
