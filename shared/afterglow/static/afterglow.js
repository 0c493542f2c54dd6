/*! Afterglow storefront SDK 1.0.0 | post-purchase offers | no dependencies | Apache-2.0 */
/*
 * On the order-confirmation page, below the order summary:
 *
 *   <div id="afterglow"></div>
 *   <script src="https://<api>/v1/sdk.js" defer></script>
 *   <script>
 *     addEventListener("DOMContentLoaded", () => {
 *       if (!window.Afterglow) return; // blocked by an extension: the page stays as it is
 *       Afterglow.init({ publishableKey: "pk_…", apiBase: "https://<api>" });
 *       Afterglow.showOffers({
 *         container: "#afterglow",
 *         order: { id: "1001", value_minor: 24900, currency: "EUR",
 *                  line_items: [{ sku: "TENT-2P", title: "Trailhead 2-person tent", category: "camping",
 *                                price_minor: 24900 }] },
 *         customer: { email: "ada@example.com", country: "DE" },
 *       });
 *     });
 *   </script>
 *
 * init({ publishableKey, apiBase = where this script came from, timeoutMs = 1500,
 *        onAccept({ offer, quantity, decisionId }) → value or Promise (first-party "add to order";
 *        false or a throw/rejection means it failed), onEvent(event), openInNewTab = true,
 *        text: { any key of TEXT }, debug })
 * showOffers({ container: element | selector, order, customer, placement, survey, device, locale, k })
 *   → Promise of { decisionId, offers, destroy } or null. Never rejects, never throws.
 *   Each call that gets a decision counts a session (a `page_view`, sent with the next batch). When
 *   the retailer asks a satisfaction question, it shows after the offers — alone when there are
 *   none (the holdout: its answers are the baseline; then `offers` is 0).
 *
 * Offers render in a shadow root: the shop's CSS cannot reach in and ours cannot leak out. Theme them
 * with CSS variables on the container or any ancestor: --afterglow-font, --afterglow-text,
 * --afterglow-muted, --afterglow-bg, --afterglow-card-bg, --afterglow-border, --afterglow-radius,
 * --afterglow-accent, --afterglow-accent-text, --afterglow-focus, --afterglow-timer, --afterglow-gap.
 */
((w, d) => {
  "use strict";
  if (w.Afterglow && w.Afterglow.version) return; // included twice: keep the first

  const VERSION = "1.0.0";
  const BATCH = 20; // events per request: the API takes 50; 20 keeps a beacon far below 64 KiB
  const FLUSH_MS = 1000; // batching window
  const MAX_TRIES = 6; // a batch that keeps failing is retried with backoff, then dropped
  const VISIBLE_MS = 1000; // an impression needs >= 50% of the offer on screen this long
  const SCALES = { nps: [0, 10], csat: [1, 5] }; // the satisfaction question's scores
  const MAX_VIEWS = 20; // page views one decision can count (the API takes 1–20)

  const TEXT = {
    heading: "Picked for your order",
    intro: "A few offers that go with what you just bought.",
    partner: "Partner offer",
    own: "From our shop",
    cta: "View offer",
    newTab: "(opens in a new tab)",
    endsIn: "Exclusive offer ends in",
    expired: "This offer has expired.",
    expiredSay: "Offer expired: ",
    minute: "One minute left on your exclusive offer.",
    off: "{n}% off",
    dismiss: "Not interested",
    dismissed: "Offer dismissed.",
    none: "No more offers. Enjoy your order!",
    add: "Add to order",
    qty: "Quantity",
    confirm: "Confirm and add",
    cancel: "Cancel",
    added: "Added to your order.",
    addFailed: "Sorry, that could not be added. Please try again.",
    thanks: "Thanks for your answer!",
    updated: "Offers updated.",
    score: "{n} out of {max}",
    rated: "Thank you for your feedback!",
  };

  // --l (line), --a (accent), --m (muted), --r (radius): the theme, with defaults, in one place.
  // Without --afterglow-font, font-family is invalid at computed-value time, so it inherits the shop's.
  const CSS =
    ":host{all:initial;display:block;margin-top:var(--afterglow-gap,1.5rem);font-size:1rem;" +
    "line-height:1.45;font-family:var(--afterglow-font);color:var(--afterglow-text,#1d2330);" +
    "--l:var(--afterglow-border,#d5d9e2);--a:var(--afterglow-accent,#0b57d0);" +
    "--m:var(--afterglow-muted,#5b6475);--r:var(--afterglow-radius,12px)}" +
    "*{box-sizing:border-box}" +
    "section{background:var(--afterglow-bg,none);border-radius:var(--r)}" +
    "h2{font-size:1.2em;margin:0 0 .2em}" +
    "h3{font-size:1.05em}" +
    "h3,.label{margin:0 2.5rem .3em 0}" +
    "p{margin:0 0 .5em}" +
    ".sub,.label{color:var(--m)}" +
    ".sub{font-size:.9em;margin-bottom:1em}" +
    "ul{list-style:none;margin:0;padding:0;display:grid;gap:var(--afterglow-gap,1rem);" +
    "grid-template-columns:repeat(auto-fit,minmax(15rem,1fr))}" +
    "article{position:relative;display:flex;flex-direction:column;height:100%;padding:1rem;" +
    "background:var(--afterglow-card-bg,#fff);border:1px solid var(--l);border-radius:var(--r);" +
    "animation:i .3s ease-out}" +
    "[data-state=expired]{opacity:.7}" +
    "img{display:block;width:100%;aspect-ratio:16/9;object-fit:cover;border-radius:8px;" +
    "margin-bottom:.75rem}" +
    ".label{font-size:.75em;text-transform:uppercase;letter-spacing:.06em}" +
    ".price{font-weight:600}" +
    ".off{margin-left:.5em;padding:0 .5em;border-radius:1em;font-size:.8em}" +
    ".off,.cta{background:var(--a);color:var(--afterglow-accent-text,#fff);border:1px solid transparent}" +
    ".timer{font-size:.85em;font-variant-numeric:tabular-nums;color:var(--afterglow-timer,#a3330b)}" +
    ".actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin-top:auto;padding-top:.5rem}" +
    ".actions p{margin:0}" +
    ".cta{display:inline-flex;align-items:center;min-height:44px;padding:.55em 1.1em;border-radius:8px;" +
    "font:inherit;font-weight:600;text-decoration:none;cursor:pointer}" +
    ".cta:hover{filter:brightness(1.1)}" +
    ".cta:disabled{opacity:.6}" +
    ".ghost{background:none;color:inherit;border-color:var(--l)}" +
    ".x{position:absolute;top:.4rem;right:.4rem;width:44px;height:44px;border:0;border-radius:50%;" +
    "background:none;color:var(--m);font:inherit;font-size:1.4em;cursor:pointer}" +
    ".x:hover{background:#7f7f7f26}" +
    ":focus-visible{outline:3px solid var(--afterglow-focus,#0b57d0);outline-offset:2px}" +
    ".survey,.rate{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:0 0 1rem;" +
    "padding:.75rem 1rem;border:1px dashed var(--l);border-radius:var(--r)}" +
    ".survey p,.rate>p{margin:0;font-weight:600}" +
    ".rate{margin:1rem 0 0;display:block}.rate>p{margin-bottom:.5rem}" +
    ".scores{display:flex;flex-wrap:wrap;gap:.35rem}.scores .cta{min-width:44px;justify-content:center}" +
    ".rate .ends{display:flex;justify-content:space-between;margin:.3rem 0 0;font-size:.85em;font-weight:400;" +
    "color:var(--m)}" +
    "input{width:4.5em;min-height:44px;margin-left:.4em;padding:.4em;font:inherit;color:inherit;" +
    "background:none;border:1px solid var(--l);border-radius:6px}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    "@keyframes i{from{opacity:0;transform:translateY(.4rem)}}" +
    "@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}" +
    "@media (forced-colors:active){.cta,.off{border-color:ButtonText}}";

  let cfg = { text: TEXT };
  let queue = []; // events waiting to be sent
  let sending = null; // the batch in flight
  let flushTimer = 0;
  let tries = 0;
  let listening = false;
  let sheet = null;
  const mounted = new WeakMap(); // container -> widget
  let scriptBase = ""; // <script src="https://api…/v1/sdk.js"> → default apiBase "https://api…"
  try {
    const src = d.currentScript.src;
    if (src.includes("/v1/sdk.js")) scriptBase = src.split("/v1/sdk.js")[0];
  } catch (e) {
    // injected asynchronously (no currentScript): apiBase must be given
  }

  const log = (...args) => {
    if (cfg.debug && w.console) console.warn("[afterglow]", ...args);
  };

  // Everything the browser calls back (listeners, timers, observers) goes through here: nothing of
  // ours may ever throw into the shop's page or leave an unhandled rejection behind.
  const safe =
    (fn) =>
    (...args) => {
      try {
        const result = fn(...args);
        if (result && result.catch) result.catch(log);
        return result;
      } catch (e) {
        log(e);
      }
    };

  const uid = () => {
    const c = w.crypto;
    if (c && c.randomUUID) return c.randomUUID();
    const bytes = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(bytes);
    else bytes.forEach((_, i) => (bytes[i] = Math.random() * 256));
    return Array.from(bytes, (b) => (b + 256).toString(16).slice(1)).join("");
  };

  // createElement with attributes ("text" = textContent, "on…" = safe listener) and children;
  // strings become text nodes: nothing from the API is ever parsed as HTML.
  const h = (tag, attrs = {}, kids = []) => {
    const el = d.createElement(tag);
    Object.keys(attrs).forEach((k) => {
      const v = attrs[k];
      if (v == null || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), safe(v));
      else el.setAttribute(k, v);
    });
    kids.forEach((kid) => kid != null && kid !== "" && el.append(kid));
    return el;
  };

  const button = (cls, text, onclick, attrs) =>
    h("button", { type: "button", class: cls, text, onclick, ...attrs });

  const isWebUrl = (url) => {
    try {
      return typeof url == "string" && ["http:", "https:"].includes(new URL(url, location.href).protocol);
    } catch (e) {
      return false;
    }
  };

  const money = (minor, currency, locale) => {
    if (typeof minor != "number" || !currency) return "";
    try {
      const f = new Intl.NumberFormat(locale, { style: "currency", currency });
      return f.format(minor / 10 ** f.resolvedOptions().maximumFractionDigits);
    } catch (e) {
      return "";
    }
  };

  const pad = (n) => (n < 10 ? "0" : "") + n;
  const clock = (s) => {
    const hours = Math.floor(s / 3600);
    const minutes = Math.floor(s / 60) % 60;
    return (hours ? hours + ":" + pad(minutes) : minutes) + ":" + pad(s % 60);
  };

  // POST JSON with the publishable key. Rejects on network errors, and after `ms` (aborting).
  const post = (path, body, ms) => {
    const ctl = w.AbortController && new AbortController();
    let timer;
    return Promise.race([
      fetch(cfg.base + path, {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        headers: { Authorization: "Bearer " + cfg.key, "Content-Type": "application/json" },
        body: JSON.stringify(body),
        signal: ctl ? ctl.signal : undefined,
      }).then((r) => (r.ok ? r.json().then((json) => ({ status: r.status, json })) : { status: r.status })),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          if (ctl) ctl.abort();
          reject(new Error("timeout"));
        }, ms);
      }),
    ]).finally(() => clearTimeout(timer));
  };

  // A decision, or undefined on any failure: error status, timeout, blocked, malformed.
  const decide = (req) =>
    post("/v1/decisions", req, cfg.timeout).then(
      ({ status, json }) => {
        if (!json || !Array.isArray(json.offers)) return log("no decision", status);
        json.receivedAt = Date.now();
        return json;
      },
      (e) => log("decision failed", e),
    );

  // ---- events: batched, retried with backoff, sent by beacon when the page goes away ----------

  // `lazy`: no request of its own; it goes with the next batch or the beacon on page hide.
  const track = (type, token, data, lazy) => {
    if (!token || !cfg.key) return;
    const event = { event_id: uid(), type, token, occurred_at: new Date().toISOString() };
    if (data) event.data = data;
    queue.push(event);
    if (cfg.onEvent) safe(cfg.onEvent)(event);
    if (!lazy || queue.length >= BATCH) schedule(queue.length >= BATCH ? 0 : FLUSH_MS);
  };

  const schedule = (ms) => {
    if (flushTimer && ms) return;
    clearTimeout(flushTimer);
    flushTimer = setTimeout(safe(flush), ms);
  };

  const flush = () => {
    clearTimeout(flushTimer);
    flushTimer = 0;
    if (sending || !queue.length || !cfg.key) return Promise.resolve();
    const batch = (sending = queue.splice(0, BATCH));
    return post("/v1/events", { events: batch }, 10000)
      .then(
        // each event's own verdict is in the body; a 4xx cannot get better by retrying
        ({ status }) => status >= 500 || status == 408 || status == 429,
        () => true, // network error or timeout
      )
      .then((retry) => {
        sending = null;
        if (retry && ++tries < MAX_TRIES) {
          queue = batch.concat(queue); // same event ids: the API says "duplicate" if it had them
          return schedule(Math.min(30000, 1000 * 2 ** tries));
        }
        if (retry) log("dropped events after retries", batch);
        tries = 0;
        if (queue.length) schedule(0);
      })
      .catch(log);
  };

  // sendBeacon cannot set headers: the key goes in the query, the JSON as text/plain.
  const beacon = () => {
    const events = (sending || []).concat(queue);
    queue = [];
    clearTimeout(flushTimer);
    flushTimer = 0;
    const url = cfg.base + "/v1/events?key=" + encodeURIComponent(cfg.key);
    for (let i = 0; i < events.length; i += BATCH) {
      const body = JSON.stringify({ events: events.slice(i, i + BATCH) });
      let sent = false;
      try {
        sent = navigator.sendBeacon(url, body);
      } catch (e) {
        // no sendBeacon: fall back to a keepalive fetch
      }
      if (!sent)
        fetch(url, { method: "POST", body, keepalive: true, mode: "no-cors", credentials: "omit" }).catch(
          log,
        );
    }
  };

  // ---- the request; a survey answer survives a reload of the confirmation page ---------------

  const storeKey = (req) => "afterglow:" + req.placement + ":" + req.order_id;
  const recall = (req) => {
    try {
      return JSON.parse(sessionStorage.getItem(storeKey(req))) || {};
    } catch (e) {
      return {};
    }
  };
  const remember = (req, answers) => {
    try {
      sessionStorage.setItem(storeKey(req), JSON.stringify(answers));
    } catch (e) {
      // storage disabled: the answer lasts as long as the page
    }
  };

  // The how-many-th render of this decision's page on this device (a reload is the next one).
  const nextView = (id) => {
    try {
      const views = JSON.parse(localStorage.getItem("afterglow:views")) || {};
      const n = Math.min(MAX_VIEWS, (views[id] || 0) + 1);
      delete views[id];
      views[id] = n;
      const ids = Object.keys(views); // the 20 latest decisions are plenty
      ids.slice(0, -MAX_VIEWS).forEach((old) => delete views[old]);
      localStorage.setItem("afterglow:views", JSON.stringify(views));
      return n;
    } catch (e) {
      return 1;
    }
  };
  const ratedKey = (dec) => "afterglow:rated:" + dec.decision_id;

  // The retailer's satisfaction question, when it is one and this decision has no answer yet.
  const question = (dec) => {
    const q = dec && dec.satisfaction;
    let rated = false;
    try {
      rated = !!sessionStorage.getItem(ratedKey(dec));
    } catch (e) {
      // storage disabled: ask again after a reload (the API counts the first answer only)
    }
    return q && SCALES[q.scale] && typeof q.question == "string" && dec.decision_token && !rated ? q : null;
  };

  const pick = (source, keys) => {
    const out = {};
    keys.forEach((k) => source && source[k] != null && (out[k] = source[k]));
    return out;
  };

  const device = () => {
    try {
      if (!w.matchMedia("(pointer: coarse)").matches) return "desktop";
      return w.innerWidth < 768 ? "mobile" : "tablet";
    } catch (e) {
      return undefined;
    }
  };

  const buildRequest = (opts) => {
    const o = opts.order || {};
    const req = {
      order_id: String(o.order_id != null ? o.order_id : o.id != null ? o.id : ""),
      order_value_minor: o.order_value_minor != null ? o.order_value_minor : o.value_minor,
      currency: o.currency,
      line_items: (o.line_items || []).map((item) =>
        pick(item, ["sku", "category", "title", "brand", "price_minor", "quantity"]),
      ),
      customer: pick(opts.customer, ["id", "email", "segment", "returning", "country"]),
      placement: opts.placement || "order_confirmation",
      device: opts.device || device(),
      locale: String(opts.locale || navigator.language || "").slice(0, 35) || undefined,
      k: opts.k,
    };
    const survey = { ...opts.survey, ...recall(req) };
    if (Object.keys(survey).length) req.survey = survey;
    return req;
  };

  // When an exclusive offer ends on this device's clock (0: no timer). Never later than the server
  // granted, even when this clock is behind the server's.
  const deadline = (offer, dec) => {
    const end = Date.parse(offer.expires_at);
    if (!offer.expires_at || isNaN(end)) return 0;
    const created = Date.parse(dec.created_at);
    return isNaN(created) ? end : Math.min(end, dec.receivedAt + Math.max(0, end - created));
  };

  // Offers that can be shown: complete, with web links, not already expired (a late reload), ≤ 3.
  const usable = (dec) =>
    ((dec && dec.offers) || [])
      .filter((o) => o && typeof o.title == "string" && o.tracking_token && isWebUrl(o.click_url))
      .filter((o) => !o.expires_at || deadline(o, dec) > Date.now())
      .slice(0, 3);

  // A constructed stylesheet also works on shops whose CSP forbids inline <style>.
  const styleInto = (root) => {
    try {
      if (!sheet) (sheet = new CSSStyleSheet()).replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.append(h("style", { text: CSS }));
    }
  };

  // ---- the widget --------------------------------------------------------------------------

  const mount = (container, decision, offers, req, rating) => {
    const T = cfg.text;
    const cards = [];
    let alive = true;
    let tickTimer = 0;
    let ids = 0;
    const host = h("div", { class: "afterglow-offers", "data-afterglow": VERSION });
    const root = host.attachShadow({ mode: "open" });
    const live = h("div", { class: "sr", role: "status" });
    const list = h("ul", { role: "list" }); // role: Safari drops list semantics with list-style:none
    const observer =
      w.IntersectionObserver && new IntersectionObserver(safe(onIntersect), { threshold: [0, 0.5, 1] });
    const onVisibility = safe(() => cards.forEach(arm));

    function say(message) {
      // the same message twice must still be announced
      live.textContent = live.textContent === message ? message + "\u00a0" : message;
    }

    function focusNote(parent, text) {
      const note = h("p", { tabindex: "-1", text });
      parent.append(note);
      return note;
    }

    function surveyBox(survey) {
      if (!survey || !survey.key || !Array.isArray(survey.options) || survey.options.length < 2) return null;
      const box = h("div", { class: "survey", role: "group", "aria-labelledby": "ag-q" }, [
        h("p", { id: "ag-q", text: survey.question }),
      ]);
      survey.options.forEach((option) =>
        box.append(button("cta ghost", option.label, () => answer(box, survey.key, option.value))),
      );
      return box;
    }

    // The one-tap satisfaction question: one button per score; the first tap is the answer.
    function rateBox(q) {
      if (!q) return null;
      const [low, high] = SCALES[q.scale];
      const scores = h("div", { class: "scores" });
      for (let n = low; n <= high; n++) {
        const label = T.score.replace("{n}", n).replace("{max}", high);
        scores.append(button("cta ghost", String(n), () => rate(n), { "aria-label": label }));
      }
      return h("div", { class: "rate", role: "group", "aria-labelledby": "ag-r" }, [
        h("p", { id: "ag-r", text: q.question }),
        scores,
        q.low_label || q.high_label
          ? h("p", { class: "ends", "aria-hidden": "true" }, [
              h("span", { text: q.low_label || "" }),
              h("span", { text: q.high_label || "" }),
            ])
          : null,
      ]);
    }

    function rate(score) {
      track("satisfaction", decision.decision_token, { score });
      try {
        sessionStorage.setItem(ratedKey(decision), "1");
      } catch (e) {
        // storage disabled: the thanks lasts as long as the page
      }
      const thanks = h("p", { tabindex: "-1", class: "rated", text: T.rated });
      rater.replaceWith(thanks);
      rater = null;
      thanks.focus();
    }

    function answer(box, key, value) {
      const answers = { ...req.survey, [key]: value };
      remember(req, answers);
      track("survey_answer", decision.decision_token, { answer: value });
      const thanks = h("p", { tabindex: "-1", text: T.thanks });
      box.replaceWith(thanks);
      thanks.focus();
      req = { ...req, survey: answers };
      section.setAttribute("aria-busy", "true");
      return decide(req).then((next) => {
        section.removeAttribute("aria-busy");
        if (!alive || !next) return; // the refresh failed: the offers shown are still valid
        const fresh = usable(next);
        if (!fresh.length && !rater) return destroy();
        decision = next;
        cards.splice(0).forEach(retire);
        list.textContent = "";
        fresh.forEach(addCard);
        tick();
        if (fresh.length) return say(T.updated);
        // no offers left, the satisfaction question unanswered: it stays, alone
        section.setAttribute("aria-labelledby", "ag-r");
        section.replaceChildren(rater, live);
      });
    }

    function addCard(offer) {
      const n = ++ids;
      const own = offer.kind === "first_party";
      const card = { offer, inView: false, seen: false, wait: 0, state: "" };
      const price = money(offer.price_minor, req.currency, req.locale);
      const discount = offer.discount_pct > 0 ? T.off.replace("{n}", offer.discount_pct) : "";
      card.actions = h("div", { class: "actions" });
      card.deadline = deadline(offer, decision);
      if (card.deadline) {
        card.clock = h("span", { role: "timer" });
        card.timer = h("p", { class: "timer" }, [T.endsIn + " ", card.clock]);
      }
      card.el = h(
        "article",
        {
          "aria-labelledby": "ag-t" + n,
          "data-offer-id": offer.offer_id,
          "data-kind": own ? "first_party" : "partner",
          "data-tier": offer.tier || null,
        },
        [
          isWebUrl(offer.image_url)
            ? h("img", {
                src: offer.image_url,
                alt: "",
                loading: "lazy",
                referrerpolicy: "no-referrer",
                // An image that cannot load leaves the card without one, never a broken-image box.
                onerror: (event) => event.target.remove(),
              })
            : null,
          h("p", { class: "label", text: own ? T.own : T.partner }),
          h("h3", { id: "ag-t" + n, text: offer.title }),
          offer.body ? h("p", { text: offer.body }) : null,
          price || discount
            ? h("p", { class: "price" }, [price, discount && h("span", { class: "off", text: discount })])
            : null,
          card.timer,
          card.actions,
          button("x", "\u00d7", () => dismiss(card), { "aria-label": T.dismiss + ": " + offer.title }),
        ],
      );
      showActions(card);
      card.li = h("li", {}, [card.el]);
      list.append(card.li);
      cards.push(card);
      if (observer) observer.observe(card.el);
    }

    function showActions(card) {
      const { offer, actions } = card;
      actions.textContent = "";
      actions.append(
        offer.kind === "first_party" && cfg.onAccept
          ? button("cta", T.add, () => openConfirm(card))
          : h("a", {
              class: "cta",
              href: offer.click_url,
              target: cfg.newTab && "_blank",
              rel: "noopener noreferrer",
              // the visible words first (WCAG "label in name"), then which offer, then the new tab
              "aria-label": (offer.cta || T.cta) + ": " + offer.title + (cfg.newTab ? " " + T.newTab : ""),
              text: offer.cta || T.cta,
            }),
      );
    }

    // First-party "add to order" takes two steps: engage (open) then accept (confirm a quantity).
    function openConfirm(card) {
      if (!card.engaged) track("engage", card.offer.tracking_token);
      card.engaged = true;
      const quantity = h("input", { type: "number", min: 1, max: 99, value: 1, inputmode: "numeric" });
      const confirm = button("cta", T.confirm, () => accept(card, quantity, confirm));
      card.actions.textContent = "";
      card.actions.append(
        h("label", {}, [T.qty, quantity]),
        confirm,
        button("cta ghost", T.cancel, () => {
          showActions(card);
          card.actions.firstChild.focus();
        }),
      );
      confirm.focus();
    }

    function accept(card, input, confirm) {
      const quantity = Math.max(1, Math.min(99, parseInt(input.value, 10) || 1));
      confirm.disabled = true;
      return Promise.resolve()
        .then(() => cfg.onAccept({ offer: card.offer, quantity, decisionId: decision.decision_id }))
        .then(
          (ok) => ok !== false,
          (e) => log("onAccept failed", e),
        )
        .then((ok) => {
          confirm.disabled = false;
          if (!alive || card.state) return; // expired or dismissed meanwhile
          if (!ok) {
            confirm.focus();
            return say(T.addFailed);
          }
          track("accept", card.offer.tracking_token, { quantity });
          card.state = "accepted";
          if (card.timer) card.timer.remove();
          card.actions.textContent = "";
          focusNote(card.actions, T.added).focus();
        });
    }

    function dismiss(card) {
      const at = cards.indexOf(card);
      track("dismiss", card.offer.tracking_token);
      retire(card);
      cards.splice(at, 1);
      card.li.remove();
      say(T.dismissed);
      const next = cards[at] || cards[at - 1];
      if (next) return (next.el.querySelector(".cta") || next.el.querySelector(".x")).focus();
      list.remove();
      focusNote(section, T.none).focus();
    }

    function retire(card) {
      clearTimeout(card.wait);
      card.state = card.state || "gone";
      if (observer) observer.unobserve(card.el);
    }

    // ---- impressions: >= 50% on screen (or half the viewport, for a tall card) for 1 s -------

    function onIntersect(entries) {
      entries.forEach((entry) => {
        const card = cards.find((c) => c.el === entry.target);
        if (!card) return;
        const { intersectionRect: seen, rootBounds: view } = entry;
        card.inView =
          entry.isIntersecting &&
          (entry.intersectionRatio >= 0.5 ||
            (!!view && seen.width * seen.height >= 0.5 * view.width * view.height));
        card.el.toggleAttribute("data-in-view", card.inView);
        arm(card);
      });
    }

    function arm(card) {
      const counting =
        alive && card.inView && !card.seen && !card.state && d.visibilityState !== "hidden";
      // Still in view (the ratio moved past another threshold): the second runs on from when it began.
      if (counting && card.wait) return;
      clearTimeout(card.wait);
      card.wait = 0;
      if (!counting) return;
      card.wait = setTimeout(
        safe(() => {
          card.seen = true;
          card.el.setAttribute("data-seen", "");
          if (observer) observer.unobserve(card.el);
          track("impression", card.offer.tracking_token);
        }),
        VISIBLE_MS,
      );
    }

    // ---- the exclusive-offer countdown --------------------------------------------------------

    function tick() {
      clearTimeout(tickTimer);
      if (!alive) return;
      const now = Date.now();
      const expired = [];
      let next = Infinity;
      let warn = false;
      cards.forEach((card) => {
        if (!card.deadline || card.state) return;
        const left = card.deadline - now;
        if (left <= 0) return expired.push(expire(card));
        const seconds = Math.ceil(left / 1000);
        card.clock.textContent = clock(seconds);
        warn = warn || (card.warned === false && seconds <= 60);
        card.warned = seconds <= 60;
        next = Math.min(next, left % 1000 || 1000); // wake exactly when the display changes
      });
      if (expired.length) say(T.expiredSay + expired.join(", "));
      else if (warn) say(T.minute);
      if (next < Infinity) tickTimer = setTimeout(safe(tick), next);
    }

    function expire(card) {
      const focused = root.activeElement && card.actions.contains(root.activeElement);
      retire(card);
      card.state = "expired";
      card.el.setAttribute("data-state", "expired");
      card.timer.remove();
      card.actions.textContent = ""; // the link is gone: an expired offer cannot be claimed
      const note = focusNote(card.actions, T.expired);
      if (focused) note.focus();
      return card.offer.title;
    }

    function destroy() {
      if (!alive) return;
      alive = false;
      clearTimeout(tickTimer);
      cards.forEach(retire);
      if (observer) observer.disconnect();
      d.removeEventListener("visibilitychange", onVisibility);
      host.remove();
      if (mounted.get(container) === widget) mounted.delete(container);
    }

    let rater = rateBox(rating);
    const section = h(
      "section",
      { "aria-labelledby": offers.length ? "ag-h" : "ag-r" },
      offers.length
        ? [
            h("h2", { id: "ag-h", text: T.heading }),
            h("p", { class: "sub", text: T.intro }),
            surveyBox(decision.survey),
            list,
            rater,
            live,
          ]
        : [rater, live], // no offers (the holdout): the question alone
    );
    const widget = { destroy: safe(destroy) };
    styleInto(root);
    root.append(section);
    offers.forEach(addCard);
    d.addEventListener("visibilitychange", onVisibility);
    container.append(host);
    mounted.set(container, widget);
    tick();
    return widget;
  };

  // ---- public API --------------------------------------------------------------------------

  const init = (o = {}) => {
    try {
      let base = String(o.apiBase || scriptBase);
      while (base.endsWith("/")) base = base.slice(0, -1);
      cfg = {
        key: String(o.publishableKey || ""),
        base,
        timeout: o.timeoutMs > 0 ? +o.timeoutMs : 1500,
        text: { ...TEXT, ...o.text },
        newTab: o.openInNewTab !== false,
        onAccept: typeof o.onAccept == "function" && o.onAccept,
        onEvent: typeof o.onEvent == "function" && o.onEvent,
        debug: !!o.debug,
      };
      if (!listening) {
        listening = true;
        w.addEventListener("pagehide", safe(beacon));
        d.addEventListener(
          "visibilitychange",
          safe(() => d.visibilityState === "hidden" && beacon()),
        );
      }
      return !!cfg.key;
    } catch (e) {
      log(e);
      return false;
    }
  };

  const showOffers = (opts = {}) => {
    try {
      const container = typeof opts.container == "string" ? d.querySelector(opts.container) : opts.container;
      const req = buildRequest(opts);
      if (!cfg.key || !req.order_id || !container || !container.attachShadow) return Promise.resolve(null);
      return decide(req)
        .then((dec) => {
          const offers = usable(dec);
          const previous = mounted.get(container);
          if (previous) previous.destroy(); // showOffers again on a container replaces its offers
          if (dec && dec.decision_id) {
            track("page_view", dec.decision_token, { view: nextView(dec.decision_id) }, true);
          }
          const rating = question(dec);
          if (!offers.length && !rating) return null;
          return {
            decisionId: dec.decision_id,
            offers: offers.length,
            destroy: mount(container, dec, offers, req, rating).destroy,
          };
        })
        .catch((e) => log(e) || null);
    } catch (e) {
      log(e);
      return Promise.resolve(null);
    }
  };

  w.Afterglow = {
    version: VERSION,
    init,
    showOffers,
    flush: () => {
      try {
        return flush();
      } catch (e) {
        return Promise.resolve(log(e));
      }
    },
  };
})(window, document);
