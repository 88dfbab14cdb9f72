// A stand-in for the payment provider in the browser journeys: the
// checkout API the server calls (`POST /v1/checkout/sessions`, bearer key,
// form-encoded) and the hosted payment page the browser is sent to. Paying
// there signs a `checkout.session.completed` event like the provider does
// (HMAC-SHA256 over `<timestamp>.<body>`), delivers it to the server's
// webhook, and sends the browser back to the session's success URL.

import { createServer } from "node:http";
import { createHmac, randomUUID } from "node:crypto";

export const SECRET_KEY = "sk_test_e2e";
export const WEBHOOK_SECRET = "whsec_test_e2e";

export class FakeStripe {
  constructor() {
    this.sessions = new Map();
    this.appUrl = null;
    this.deliveries = [];
  }

  /** The server's environment for this provider. */
  env() {
    return {
      AGENTDECK_STRIPE_SECRET_KEY: SECRET_KEY,
      AGENTDECK_STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      AGENTDECK_STRIPE_API_URL: this.url,
    };
  }

  async start() {
    this.server = createServer((req, res) => this.handle(req, res).catch((e) => {
      res.writeHead(500).end(String(e));
    }));
    await new Promise((ok) => this.server.listen(0, "127.0.0.1", ok));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
  }

  async stop() {
    await new Promise((ok) => this.server.close(ok));
  }

  async handle(req, res) {
    const body = await new Promise((ok) => {
      let text = "";
      req.on("data", (d) => (text += d));
      req.on("end", () => ok(text));
    });
    const path = new URL(req.url, this.url).pathname;
    if (req.method === "POST" && path === "/v1/checkout/sessions") {
      if (req.headers.authorization !== `Bearer ${SECRET_KEY}`) {
        return json(res, 401, { error: { message: "Invalid API Key provided" } });
      }
      const form = new URLSearchParams(body);
      const amount = Number(form.get("line_items[0][price_data][unit_amount]"));
      const id = `cs_test_${randomUUID().replaceAll("-", "")}`;
      const session = {
        id,
        object: "checkout.session",
        status: "open",
        payment_status: "unpaid",
        amount_total: amount * Number(form.get("line_items[0][quantity]")),
        currency: form.get("line_items[0][price_data][currency]"),
        client_reference_id: form.get("client_reference_id"),
        success_url: form.get("success_url"),
        cancel_url: form.get("cancel_url"),
        url: `${this.url}/pay/${id}`,
      };
      this.sessions.set(id, session);
      return json(res, 200, session);
    }
    const pay = path.match(/^\/pay\/([\w]+)$/);
    const session = pay && this.sessions.get(pay[1]);
    if (!session) return json(res, 404, { error: { message: "no such session" } });
    if (req.method === "GET") {
      const price = `$${(session.amount_total / 100).toFixed(2)}`;
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return res.end(`<!doctype html><title>Pay</title><h1>Pay Agentdeck ${price}</h1>
        <form method="post"><button type="submit">Pay ${price}</button></form>`);
    }
    // Paid: the provider tells the server, then sends the browser back.
    session.status = "complete";
    session.payment_status = "paid";
    const event = JSON.stringify({
      id: `evt_${randomUUID().replaceAll("-", "")}`,
      object: "event",
      type: "checkout.session.completed",
      data: { object: session },
    });
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = createHmac("sha256", WEBHOOK_SECRET).update(`${timestamp}.${event}`).digest("hex");
    const delivered = await fetch(`${this.appUrl}/webhooks/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": `t=${timestamp},v1=${signature}` },
      body: event,
    });
    this.deliveries.push({ status: delivered.status, body: await delivered.text() });
    res.writeHead(303, { location: session.success_url });
    res.end();
  }
}

function json(res, status, value) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}
