"""A slate as an e-mail: e-mail-safe HTML and plain text. Pure, the standard library only.

"E-mail-safe" is what mail clients keep: a table layout with inline `style=` attributes only (no
`<style>`, no external CSS, no script), every image with `width`, `height` and `alt`, every link the
offer's own tracked click URL (`…/v1/c/{token}`, absolute) and, when given, a 1×1 open pixel
(`…/v1/o/{token}.gif`) that counts the whole slate as seen. Every retailer- or partner-supplied
string (title, body, call to action, image URL, shop name) is escaped.

Two shapes from one function: without a subject, a block (one `<table>`) for the retailer to put
into its own order-confirmation e-mail; with a subject, a whole document that a follow-up mailer
sends as it is. Wording is English; money follows the request's locale (`afterglow.money`).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from afterglow.money import format_amount

IMAGE_PX = 120  # offer images are square thumbnails of this size, whatever their source size
MAX_WIDTH_PX = 600  # the usual width of an e-mail body
FONT = "font-family:Helvetica,Arial,sans-serif"
INK = "color:#1d2330"


@dataclass(frozen=True)
class EmailOffer:
    """One offer as an e-mail shows it; `click_url` is its absolute tracked link."""

    title: str
    body: str
    cta: str
    click_url: str
    image_url: str | None = None
    price_minor: int | None = None
    discount_pct: int | None = None


@dataclass(frozen=True)
class SatisfactionPrompt:
    """The retailer's one-tap satisfaction question in a follow-up: one signed link per score."""

    question: str
    links: tuple[tuple[int, str], ...]  # (score, its one-tap `…/v1/s/{token}?score=N` URL), lowest first
    low_label: str | None = None
    high_label: str | None = None


@dataclass(frozen=True)
class RenderedEmail:
    """A slate ready to send: `subject` only for a whole e-mail (None for a block)."""

    subject: str | None
    html: str
    text: str


def _e(text: str) -> str:
    return escape(text, quote=True)


def _one_line(text: str) -> str:
    """A string as one line of plain text: a title cannot add lines (or fake links) to the mail."""
    return " ".join(text.split())


def _price(offer: EmailOffer, currency: str, locale: str | None) -> str:
    parts = []
    if offer.price_minor is not None:
        parts.append(format_amount(offer.price_minor, currency, locale))
    if offer.discount_pct:
        parts.append(f"{offer.discount_pct}% off")
    return " · ".join(parts)


def _offer_row(offer: EmailOffer, currency: str, locale: str | None) -> str:
    href = _e(offer.click_url)
    price = _price(offer, currency, locale)
    image = ""
    if offer.image_url:
        cell = IMAGE_PX + 16
        image = (
            f'<td width="{cell}" valign="top" style="width:{cell}px;padding:12px 16px 12px 0">'
            f'<a href="{href}" style="text-decoration:none"><img src="{_e(offer.image_url)}" '
            f'width="{IMAGE_PX}" height="{IMAGE_PX}" alt="{_e(offer.title)}" '
            f'style="display:block;width:{IMAGE_PX}px;height:{IMAGE_PX}px;border:0;border-radius:6px;'
            f'object-fit:cover"></a></td>'
        )
    span = "" if image else ' colspan="2"'
    return (
        f'<tr>{image}<td{span} valign="top" style="padding:12px 0;{FONT};{INK}">'
        f'<a href="{href}" style="font-size:17px;line-height:22px;font-weight:bold;{INK};'
        f'text-decoration:none">{_e(offer.title)}</a>'
        + (
            f'<p style="margin:4px 0 0;font-size:14px;line-height:20px;color:#4a5160">{_e(offer.body)}</p>'
            if offer.body
            else ""
        )
        + (f'<p style="margin:6px 0 0;font-size:14px;font-weight:bold;{INK}">{_e(price)}</p>' * bool(price))
        + '<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin-top:10px">'
        '<tr><td style="border-radius:6px;background:#1d2330">'
        f'<a href="{href}" style="display:inline-block;padding:10px 18px;{FONT};font-size:14px;'
        f'font-weight:bold;color:#ffffff;text-decoration:none">{_e(offer.cta)}</a>'
        "</td></tr></table></td></tr>"
    )


def _satisfaction_row(prompt: SatisfactionPrompt) -> str:
    """The question, then one small button per score (a link: e-mails have no forms), then the
    scale's end labels."""
    cells = "".join(
        f'<td style="padding:0 2px"><a href="{_e(url)}" aria-label="{score}" '
        f'style="display:inline-block;min-width:24px;padding:8px 4px;border:1px solid #c4c8d0;'
        f'border-radius:4px;{FONT};font-size:14px;{INK};text-align:center;text-decoration:none">{score}</a></td>'
        for score, url in prompt.links
    )
    ends = ""
    if prompt.low_label or prompt.high_label:
        ends = (
            f'<p style="margin:4px 0 0;{FONT};font-size:12px;color:#4a5160">'
            f"{_e(prompt.low_label or '')} … {_e(prompt.high_label or '')}</p>"
        )
    return (
        f'<tr><td colspan="2" style="padding:20px 0 0;border-top:1px solid #e3e5ea;{FONT};{INK}">'
        f'<p style="margin:0 0 8px;font-size:15px;font-weight:bold">{_e(prompt.question)}</p>'
        f'<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>{cells}</tr></table>'
        f"{ends}</td></tr>"
    )


def _block(
    offers: Sequence[EmailOffer],
    heading: str,
    currency: str,
    locale: str | None,
    pixel_url: str | None,
    satisfaction: SatisfactionPrompt | None = None,
) -> str:
    pixel = (
        f'<tr><td colspan="2" style="padding:0;line-height:1px;font-size:1px">'
        f'<img src="{_e(pixel_url)}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0"></td></tr>'
        if pixel_url
        else ""
    )
    return (
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="width:100%;max-width:{MAX_WIDTH_PX}px;border-collapse:collapse">'
        f'<tr><td colspan="2" style="padding:16px 0 4px;{FONT};font-size:19px;line-height:24px;'
        f'font-weight:bold;{INK}">{_e(heading)}</td></tr>'
        + "".join(_offer_row(offer, currency, locale) for offer in offers)
        + (_satisfaction_row(satisfaction) if satisfaction and satisfaction.links else "")
        + pixel
        + "</table>"
    )


def _document(subject: str, block: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(subject)}</title></head>"
        '<body style="margin:0;padding:0;background:#f4f5f7">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="width:100%;background:#f4f5f7"><tr><td align="center" style="padding:24px 12px">'
        f'<table role="presentation" width="{MAX_WIDTH_PX}" cellpadding="0" cellspacing="0" border="0" '
        f'style="width:100%;max-width:{MAX_WIDTH_PX}px;background:#ffffff;border-radius:8px">'
        f'<tr><td style="padding:8px 24px 24px">{block}</td></tr></table>'
        "</td></tr></table></body></html>\n"
    )


def _text(
    offers: Sequence[EmailOffer],
    heading: str,
    currency: str,
    locale: str | None,
    satisfaction: SatisfactionPrompt | None = None,
) -> str:
    lines = [_one_line(heading), ""]
    for offer in offers:
        lines.append(_one_line(offer.title))
        if offer.body:
            lines.append(_one_line(offer.body))
        price = _price(offer, currency, locale)
        if price:
            lines.append(price)
        lines.extend([f"{_one_line(offer.cta)}: {offer.click_url}", ""])
    if satisfaction and satisfaction.links:
        lines.append(_one_line(satisfaction.question))
        lines.extend(f"{score}: {url}" for score, url in satisfaction.links)
        lines.append("")
    return "\n".join(lines)


def render(
    offers: Sequence[EmailOffer],
    *,
    heading: str,
    currency: str,
    locale: str | None = None,
    pixel_url: str | None = None,
    subject: str | None = None,
    satisfaction: SatisfactionPrompt | None = None,
) -> RenderedEmail:
    """The offers as e-mail HTML and plain text: a block to embed, or (with `subject`) a whole
    e-mail, with the retailer's one-tap satisfaction question after the offers when given. The
    plain text has no pixel: only the HTML part of a mail is "opened"."""
    block = _block(offers, heading, currency, locale, pixel_url, satisfaction)
    html = block if subject is None else _document(_one_line(subject), block)
    return RenderedEmail(
        subject=None if subject is None else _one_line(subject),
        html=html,
        text=_text(offers, heading, currency, locale, satisfaction),
    )
