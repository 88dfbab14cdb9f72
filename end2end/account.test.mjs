// The account journey in headless Chromium against the real server: sign up,
// sign out, sign in (and a wrong password), protected pages sending visitors
// to sign in and back, no API key until the address is verified through the
// mailed link, then an API key shown exactly once, then revoked.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { journey } from "./harness.mjs";
import { verifyEmail } from "./agents.mjs";

const TIMEOUT = 20_000;
const PASSWORD = "correct horse battery staple";

describe("Agentdeck accounts", () => {
  const e2e = journey();

  test("sign up, sign out, sign in, and an API key seen once then revoked", async () => {
    const context = await e2e.browser.newContext();
    const p = await context.newPage();
    p.setDefaultTimeout(TIMEOUT);
    const errors = [];
    p.on("pageerror", (e) => errors.push(e));

    // A protected page sends a visitor to sign in, remembering the way back.
    await p.goto(e2e.server.url + "/settings/keys");
    await p.waitForURL("**/signin?return_to=%2Fsettings%2Fkeys");
    await p.getByRole("link", { name: "Create an account" }).click();
    await p.waitForURL("**/signup?return_to=%2Fsettings%2Fkeys");

    // Field errors come back from the server, next to the field.
    await p.getByLabel("Name").fill("Ada Lovelace");
    await p.getByLabel("Email").fill("ada@example.com");
    await p.getByLabel("Password").fill("password123");
    await p.getByRole("button", { name: "Create account" }).click();
    await p.getByText("too easy to guess", { exact: false }).waitFor();

    await p.getByLabel("Password").fill(PASSWORD);
    await p.getByRole("button", { name: "Create account" }).click();
    await p.waitForURL("**/settings/keys");
    await p.getByTestId("user-menu").getByText("Ada Lovelace").waitFor();
    await p.getByTestId("no-keys").waitFor();

    // Unverified, the account gets no key: the banner says so on every
    // page, and the server refuses (403, email_unverified) with the reason.
    await p.getByTestId("verify-banner").getByText("ada@example.com").waitFor();
    await p.getByLabel("Name").fill("CI deploys");
    await p.locator('input[value="deployments:write"]').check();
    const refusal = p.waitForResponse((r) => r.url().includes("/api/fn/create_api_key"));
    await p.getByRole("button", { name: "Create key" }).click();
    assert.equal((await refusal).status(), 403);
    assert.match(await (await refusal).text(), /email_unverified/);
    await p.getByRole("alert").getByText("Verify your email address first", { exact: false }).waitFor();
    assert.equal(await p.getByTestId("new-key").count(), 0);
    assert.equal(await p.getByTestId("no-keys").count(), 1);

    // The link in the verification mail (the server's outbox) proves the
    // address; the banner goes.
    await verifyEmail(p, e2e.server, "ada@example.com");
    await p.goto(e2e.server.url + "/settings");
    await p.getByTestId("email-status").getByText("Verified", { exact: true }).waitFor();
    assert.equal(await p.getByTestId("verify-banner").count(), 0);
    await p.goto(e2e.server.url + "/settings/keys");
    await p.getByTestId("no-keys").waitFor();

    // An API key: its token is shown once, then only its prefix.
    await p.getByLabel("Name").fill("CI deploys");
    await p.locator('input[value="deployments:write"]').check();
    await p.getByRole("button", { name: "Create key" }).click();
    const token = (await p.getByTestId("new-token").textContent()).trim();
    assert.match(token, /^adk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const row = p.getByTestId("key-row").filter({ hasText: "CI deploys" });
    await row.waitFor();
    assert.ok((await row.textContent()).includes("deployments:write"));
    const fromKey = await fetch(e2e.server.url + "/api/v1/me", { headers: { authorization: `Bearer ${token}` } });
    assert.equal(fromKey.status, 200);
    await p.getByRole("button", { name: "I have copied it" }).click();
    await p.getByTestId("new-key").waitFor({ state: "detached" });
    await p.reload();
    await row.waitFor();
    assert.equal(await p.getByText(token).count(), 0, "the token is never shown again");

    await row.getByRole("button", { name: "Revoke" }).click();
    await p.locator('[data-testid="key-row"][data-state="revoked"]').waitFor();
    const revoked = await fetch(e2e.server.url + "/api/v1/me", { headers: { authorization: `Bearer ${token}` } });
    assert.equal(revoked.status, 401);

    // Sign out, then a wrong password, then the right one.
    await p.getByTestId("user-menu").getByRole("button").first().click();
    await p.getByTestId("sign-out").click();
    await p.getByTestId("signin-link").waitFor();
    assert.equal((await p.request.get(e2e.server.url + "/api/v1/me")).status(), 401);

    await p.getByTestId("signin-link").click();
    await p.getByLabel("Email").fill("ada@example.com");
    await p.getByLabel("Password").fill("not my password at all");
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByTestId("form-error").getByText("incorrect").waitFor();
    await p.getByLabel("Password").fill(PASSWORD);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByTestId("user-menu").waitFor();
    await p.goto(e2e.server.url + "/settings");
    await p.getByTestId("profile-name").getByText("Ada Lovelace").waitFor();
    // The sessions list is its own request: wait for it, do not count early.
    await p.getByTestId("session-row").first().waitFor();

    // Signed in, the marketplace and an agent page still load (their data
    // calls carry the session cookie, so the CSRF rules apply to them too).
    await p.goto(e2e.server.url + "/");
    await p.getByTestId("agent-grid").waitFor();
    assert.equal(await p.getByTestId("agent-card").count(), 12);
    await p.getByTestId("agent-card").filter({ hasText: "SEO Specialist" }).click();
    await p.getByTestId("agent-name").getByText("SEO Specialist").waitFor();

    assert.deepEqual(errors, []);
    await context.close();
  });
});
