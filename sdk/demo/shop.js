/* The demo shop's own confirmation-page script: renders the order, then hands over to Afterglow.
   window.AFTERGLOW_DEMO ({apiBase, publishableKey}) comes from /demo-config.js (the demo server). */
(function () {
  "use strict";

  var ORDERS = {
    camping: {
      id: "NW-1001",
      customer: { name: "Ada", email: "ada@example.com", country: "DE", returning: true },
      address: "Ada Lovelace, Kastanienallee 12, 10435 Berlin, Germany",
      items: [
        {
          sku: "TENT-2P",
          name: "Trailhead 2-person tent",
          meta: "Green · 2.1 kg",
          category: "camping",
          brand: "Northwind",
          price_minor: 24900,
        },
        {
          sku: "BAG-DOWN-5",
          name: "Down sleeping bag",
          meta: "Comfort −5 °C · regular",
          category: "camping",
          brand: "Northwind",
          price_minor: 15900,
        },
      ],
    },
    running: {
      id: "NW-1002",
      customer: { name: "Grace", email: "grace@example.com", country: "NL" },
      address: "Grace Hopper, Prinsengracht 263, 1016 GV Amsterdam, Netherlands",
      items: [
        {
          sku: "SHOE-STRIDE-42",
          name: "Stride Pro road running shoes",
          meta: "EU 42 · neutral",
          category: "running",
          brand: "Stride",
          price_minor: 13900,
        },
        {
          sku: "SOCK-MERINO-3",
          name: "Merino running socks",
          meta: "3 pairs · M",
          category: "apparel",
          price_minor: 2400,
          quantity: 1,
        },
      ],
    },
    espresso: {
      id: "NW-1003",
      customer: { name: "Linus", email: "linus@example.com", country: "FR" },
      address: "Linus Pauling, 8 rue des Rosiers, 75004 Paris, France",
      items: [
        {
          sku: "ESP-DUO",
          name: "Barista Duo espresso machine",
          meta: "Dual boiler · brushed steel",
          category: "kitchen",
          brand: "Barista",
          price_minor: 64900,
        },
      ],
    },
    headphones: {
      id: "NW-1004",
      customer: { name: "Katherine", email: "katherine@example.com", country: "IE" },
      address: "Katherine Johnson, 4 Merrion Square, Dublin 2, Ireland",
      items: [
        {
          sku: "HP-QUIET",
          name: "Quiet Comfort headphones",
          meta: "Noise cancelling · black",
          category: "audio",
          brand: "Quiet",
          price_minor: 29900,
        },
      ],
    },
  };

  var config = window.AFTERGLOW_DEMO || {};
  var params = new URLSearchParams(location.search);
  var order = ORDERS[params.get("order")] || ORDERS.camping;
  var orderId = params.get("id") || order.id; // ?id=… gives a fresh order (and a fresh decision)
  var currency = "EUR";
  var money = new Intl.NumberFormat("en-IE", { style: "currency", currency: currency });
  var subtotal = 0;
  var shipping = 0;

  function text(id, value) {
    document.getElementById(id).textContent = value;
  }

  function euros(minor) {
    return money.format(minor / 100);
  }

  function row(name, meta, quantity, priceMinor, extraClass) {
    var tr = document.createElement("tr");
    if (extraClass) tr.className = extraClass;
    var item = document.createElement("td");
    item.textContent = name;
    var small = document.createElement("span");
    small.className = "item-meta";
    small.textContent = meta;
    item.appendChild(small);
    var qty = document.createElement("td");
    qty.className = "num";
    qty.textContent = String(quantity);
    var price = document.createElement("td");
    price.textContent = euros(priceMinor * quantity);
    tr.append(item, qty, price);
    document.getElementById("order-items").appendChild(tr);
  }

  function totals() {
    text("order-subtotal", euros(subtotal));
    text("order-shipping", shipping ? euros(shipping) : "Free");
    text("order-total", euros(subtotal + shipping));
  }

  order.items.forEach(function (item) {
    var quantity = item.quantity || 1;
    subtotal += item.price_minor * quantity;
    row(item.name, item.meta, quantity, item.price_minor);
  });
  shipping = subtotal >= 5000 ? 0 : 495;
  totals();
  text("customer-name", ", " + order.customer.name);
  text("customer-email", order.customer.email);
  text("order-number", orderId);
  text("order-address", order.address);
  text("order-delivery", "Standard, 2–4 working days");
  text("order-payment", "Visa ending 4242");

  // First-party "add to order": a real shop charges the saved payment method here.
  function addToOrder(accepted) {
    var offer = accepted.offer;
    var price = offer.price_minor || 0;
    subtotal += price * accepted.quantity;
    row(offer.title, "Added after checkout", accepted.quantity, price, "added-row");
    totals();
    return true;
  }

  if (!window.Afterglow) return; // the SDK was blocked: the confirmation page is complete without it
  Afterglow.init({
    publishableKey: config.publishableKey,
    apiBase: config.apiBase,
    onAccept: addToOrder,
    debug: !!config.debug,
  });
  var container = document.getElementById("afterglow-offers");
  Afterglow.showOffers({
    container: container,
    placement: "order_confirmation",
    order: {
      id: orderId,
      value_minor: subtotal + shipping,
      currency: currency,
      line_items: order.items.map(function (item) {
        return {
          sku: item.sku,
          category: item.category,
          title: item.name,
          brand: item.brand,
          price_minor: item.price_minor,
          quantity: item.quantity || 1,
        };
      }),
    },
    customer: {
      email: order.customer.email,
      country: order.customer.country,
      returning: !!order.customer.returning,
    },
  }).then(function (shown) {
    // showOffers never rejects: null means nothing was shown (holdout, no offers, API down, …)
    container.setAttribute("data-afterglow-offers", shown ? String(shown.offers) : "0");
  });
})();
