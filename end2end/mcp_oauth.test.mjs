// An MCP client connecting with a browser sign-in, as a desktop client
// does: the official TypeScript SDK (@modelcontextprotocol/sdk, pinned in
// package.json) meets /mcp without a token, discovers the protected-resource
// and authorization-server metadata, registers itself, and sends its person
// to the authorization page with a PKCE challenge. The person, signed in in
// Chromium, sees the consent page name the app, approves it, and the browser
// goes back to the app's redirect address with a code, which the SDK trades
// for tokens. The SDK then lists and calls the person's tools; the refresh
// token rotates, and revoking it ends access.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { journey } from "./harness.mjs";
import { apiAccount, deployAgent } from "./agents.mjs";

const REDIRECT = "http://127.0.0.1:53682/callback";
const ECHO = `export default async function run(input) {
  return { echoed: input.text };
}
`;

/** The SDK's OAuthClientProvider, keeping everything in memory. */
class MemoryProvider {
  constructor() {
    this.saved = {};
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: "Desktop test app",
      redirect_uris: [REDIRECT],
      application_type: "native",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() {
    this.saved.state = crypto.randomUUID();
    return this.saved.state;
  }
  clientInformation() { return this.saved.client; }
  saveClientInformation(client) { this.saved.client = client; }
  tokens() { return this.saved.tokens; }
  saveTokens(tokens) { this.saved.tokens = tokens; }
  redirectToAuthorization(url) { this.saved.authorizationUrl = url; }
  saveCodeVerifier(verifier) { this.saved.verifier = verifier; }
  codeVerifier() { return this.saved.verifier; }
}

const info = { name: "agentdeck-oauth-e2e", version: "1.0.0" };

describe("MCP with a browser sign-in (OAuth 2.1)", () => {
  const e2e = journey();

  test("the SDK registers, the person approves, the SDK calls tools; refresh rotates and revoking ends it", { timeout: 120_000 }, async () => {
    const { server, browser } = e2e;
    const account = await apiAccount(server, "oauth-sdk@example.com", ["agents:write", "deployments:write"]);
    await deployAgent(server, account.key, {
      name: "Echo",
      source: ECHO,
      deployment: "echo",
      manifest: { input_schema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } },
      example: '{"text": "hi"}',
    });
    const url = new URL(`${server.url}/mcp`);
    const provider = new MemoryProvider();

    // No token: discovery, registration, and the authorization address.
    await assert.rejects(
      new Client(info).connect(new StreamableHTTPClientTransport(url, { authProvider: provider })),
      UnauthorizedError,
    );
    assert.match(provider.saved.client?.client_id ?? "", /^mcp_client_/);
    const authorization = provider.saved.authorizationUrl;
    assert.equal(authorization.origin + authorization.pathname, `${server.url}/oauth/authorize`);
    assert.equal(authorization.searchParams.get("code_challenge_method"), "S256");
    assert.equal(authorization.searchParams.get("resource"), url.href);

    // The person, signed in, approves on the consent page; the browser goes
    // back to the app's address (caught here: nothing listens there).
    const context = await browser.newContext();
    await context.addCookies(account.cookie.split("; ").map((pair) => {
      const [name, ...value] = pair.split("=");
      return { name, value: value.join("="), url: server.url };
    }));
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    let returned;
    await page.route(`${REDIRECT}**`, (route) => {
      returned = new URL(route.request().url());
      return route.fulfill({ status: 200, contentType: "text/plain", body: "back in the app" });
    });
    await page.goto(authorization.href);
    await page.getByTestId("consent-request").waitFor();
    assert.equal(await page.getByTestId("consent-client").innerText(), "“Desktop test app”");
    assert.equal(await page.getByTestId("consent-redirect").innerText(), "http://127.0.0.1:53682");
    await page.getByTestId("consent-approve").click();
    await page.waitForURL(`${REDIRECT}**`);
    assert.equal(returned.searchParams.get("state"), provider.saved.state);
    assert.equal(returned.searchParams.get("iss"), server.url);
    const code = returned.searchParams.get("code");
    assert.match(code ?? "", /^mcp_code_/);

    // The code for tokens (with the verifier), then the tools.
    const transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
    await transport.finishAuth(code);
    assert.match(provider.saved.tokens.access_token, /^mcp_at_/);
    const client = new Client(info);
    await client.connect(transport);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name), ["echo"]);
    const result = await client.callTool({ name: "echo", arguments: { text: "signed in" } });
    assert.equal(result.isError, false, JSON.stringify(result));
    assert.deepEqual(JSON.parse(result.content[0].text), { echoed: "signed in" });
    await transport.terminateSession();
    await client.close();

    // Refresh rotates; the old refresh token no longer works.
    const form = (fields) => ({
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
    const clientId = provider.saved.client.client_id;
    const first = provider.saved.tokens.refresh_token;
    const rotated = await fetch(`${server.url}/oauth/token`, form({ grant_type: "refresh_token", refresh_token: first, client_id: clientId }));
    assert.equal(rotated.status, 200);
    const tokens = await rotated.json();
    assert.notEqual(tokens.refresh_token, first);
    const mcpWith = (token) => fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: info } }),
    });
    assert.equal((await mcpWith(tokens.access_token)).status, 200);

    // Revoking the refresh token ends the approval and its access tokens;
    // no refresh token of it works any more, the old one neither.
    const revoked = await fetch(`${server.url}/oauth/revoke`, form({ token: tokens.refresh_token, client_id: clientId }));
    assert.equal(revoked.status, 200);
    const refused = await mcpWith(tokens.access_token);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get("www-authenticate"), /resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource\/mcp"/);
    for (const refresh of [first, tokens.refresh_token]) {
      const again = await fetch(`${server.url}/oauth/token`, form({ grant_type: "refresh_token", refresh_token: refresh, client_id: clientId }));
      assert.equal(again.status, 400);
      assert.equal((await again.json()).error, "invalid_grant");
    }
    await context.close();
  });
});
