// A strict OAuth 2 provider for the browser journeys: a consent page the
// browser is sent to (an "Allow" button), a token endpoint that checks the
// client's secret (HTTP Basic), the exact redirect URI, PKCE S256 and
// single-use codes, five-minute access tokens, rotating refresh tokens, a
// revocation endpoint, the identity endpoint and an API that answers only
// a live token. `catalogueDir()` writes its catalogue entry for
// `AGENTDECK_PROVIDERS_DIR`.

import { createServer } from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CLIENT_ID = "e2e-standin-client";
export const CLIENT_SECRET = "e2e-standin-secret";

const token = () => randomBytes(24).toString("base64url");

export class OAuthStandIn {
  constructor() {
    this.appUrl = null;
    this.codes = new Map();
    this.access = new Map();
    this.refresh = new Map();
    this.grants = [];
    this.revocations = 0;
    this.apiCalls = [];
  }

  /** The server's environment for this provider. */
  env() {
    return {
      AGENTDECK_PROVIDERS_DIR: this.catalogueDir(),
      AGENTDECK_CONNECT_STANDIN_CLIENT_ID: CLIENT_ID,
      AGENTDECK_CONNECT_STANDIN_CLIENT_SECRET: CLIENT_SECRET,
      // The agent's calls reach this stand-in on loopback.
      AGENTDECK_AGENT_PRIVATE_NETWORK: "true",
    };
  }

  catalogueDir() {
    const dir = mkdtempSync(join(tmpdir(), "agentdeck-providers-"));
    writeFileSync(join(dir, "standin.toml"), `name = "Stand-in"
description = "A strict local OAuth provider for the browser journeys."
categories = ["testing"]
icon = { letters = "SI", background = "#334455" }
verified_on = "2026-12-07"
[docs]
auth = "https://www.rfc-editor.org/rfc/rfc6749"
api = "https://www.rfc-editor.org/rfc/rfc6750"
[auth]
kind = "oauth2"
authorize_url = "${this.url}/authorize"
token_url = "${this.url}/token"
pkce = "required"
client_auth = "basic"
default_scopes = ["profile"]
scopes = [
  { name = "profile", description = "Read who you are" },
  { name = "items:read", description = "Read your items" },
]
revoke = { url = "${this.url}/revoke", style = "form" }
[request]
header = "Authorization"
format = "Bearer {token}"
base_urls = ["${this.url}/api"]
[identity]
url = "${this.url}/me"
id = "/id"
name = "/name"
`);
    return dir;
  }

  /** Every grant ends (the person revoked the app at the provider). */
  endEveryGrant() {
    for (const grant of this.grants) grant.live = false;
    for (const entry of this.access.values()) entry.expires = 0;
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

  issue(grant) {
    const access = token();
    const refresh = token();
    this.access.set(access, { grant, expires: Date.now() + 300_000 });
    this.refresh.set(refresh, { grant, used: false });
    return { access_token: access, refresh_token: refresh, token_type: "Bearer", expires_in: 300, scope: grant.scopes.join(" ") };
  }

  live(req) {
    const bearer = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    const entry = this.access.get(bearer);
    return entry && entry.grant.live && entry.expires > Date.now() ? entry.grant : null;
  }

  clientOk(req) {
    const expected = "Basic " + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64");
    return req.headers.authorization === expected;
  }

  async handle(req, res) {
    const body = await new Promise((ok) => {
      let text = "";
      req.on("data", (d) => (text += d));
      req.on("end", () => ok(text));
    });
    const url = new URL(req.url, this.url);
    const q = url.searchParams;
    if (req.method === "GET" && url.pathname === "/authorize") {
      const redirect = `${this.appUrl}/connect/callback`;
      if (q.get("client_id") !== CLIENT_ID || q.get("redirect_uri") !== redirect) {
        return text(res, 400, "unknown client or redirect URI");
      }
      if (!q.get("state") || q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) {
        return text(res, 400, "state and PKCE S256 are required");
      }
      // The consent page: "Allow" comes back to /consent with the request.
      res.writeHead(200, { "content-type": "text/html" });
      return res.end(`<!doctype html><title>Stand-in</title><h1>Allow Agentdeck?</h1>
<p>It asks for: ${escape(q.get("scope") ?? "")}</p>
<form method="post" action="/consent">${[...q].map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v)}">`).join("")}
<button type="submit">Allow</button></form>`);
    }
    if (req.method === "POST" && url.pathname === "/consent") {
      const form = new URLSearchParams(body);
      const grant = { scopes: (form.get("scope") ?? "").split(" ").filter(Boolean), live: true };
      this.grants.push(grant);
      const code = token();
      this.codes.set(code, { grant, challenge: form.get("code_challenge"), redirect: form.get("redirect_uri") });
      const back = new URL(form.get("redirect_uri"));
      back.searchParams.set("code", code);
      back.searchParams.set("state", form.get("state"));
      res.writeHead(303, { location: back.toString() });
      return res.end();
    }
    if (req.method === "POST" && url.pathname === "/token") {
      if (!this.clientOk(req)) return json(res, 401, { error: "invalid_client" });
      const form = new URLSearchParams(body);
      if (form.get("grant_type") === "authorization_code") {
        const code = this.codes.get(form.get("code"));
        this.codes.delete(form.get("code"));
        const verifier = form.get("code_verifier") ?? "";
        const challenge = createHash("sha256").update(verifier).digest("base64url");
        if (!code || code.redirect !== form.get("redirect_uri") || code.challenge !== challenge) {
          return json(res, 400, { error: "invalid_grant" });
        }
        return json(res, 200, this.issue(code.grant));
      }
      if (form.get("grant_type") === "refresh_token") {
        const entry = this.refresh.get(form.get("refresh_token"));
        if (!entry || entry.used || !entry.grant.live) {
          if (entry) entry.grant.live = false;
          return json(res, 400, { error: "invalid_grant" });
        }
        entry.used = true;
        return json(res, 200, this.issue(entry.grant));
      }
      return json(res, 400, { error: "unsupported_grant_type" });
    }
    if (req.method === "POST" && url.pathname === "/revoke") {
      if (!this.clientOk(req)) return json(res, 401, { error: "invalid_client" });
      const form = new URLSearchParams(body);
      const entry = this.refresh.get(form.get("token")) ?? this.access.get(form.get("token"));
      if (entry) {
        entry.grant.live = false;
        this.revocations += 1;
      }
      return json(res, 200, {});
    }
    if (req.method === "GET" && url.pathname === "/me") {
      if (!this.live(req)) return json(res, 401, { error: "invalid_token" });
      return json(res, 200, { id: "u-ada", name: "Ada at the stand-in" });
    }
    // The same answer without a credential, for measuring what the host's
    // credentialed path adds (end2end/connections_measure.mjs).
    if (url.pathname.startsWith("/open/")) {
      return json(res, 200, { items: ["tea", "biscuits"], scopes: [] });
    }
    if (url.pathname.startsWith("/api/")) {
      this.apiCalls.push(url.pathname);
      const grant = this.live(req);
      if (!grant) return json(res, 401, { error: "invalid_token" });
      return json(res, 200, { items: ["tea", "biscuits"], scopes: grant.scopes });
    }
    return json(res, 404, { error: "not_found" });
  }
}

function escape(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function json(res, status, value) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

function text(res, status, value) {
  res.writeHead(status, { "content-type": "text/plain" });
  res.end(value);
}
