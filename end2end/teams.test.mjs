// Teams in two browsers against the real server: Ada starts a team and
// invites Bob by link; Bob signs up through the link, is told to verify his
// address first, follows the mailed link and joins; Ada changes
// his role and reads it all in the filtered audit log; the workspace chosen
// in the top bar decides where a new API key acts, and survives a reload.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { journey } from "./harness.mjs";
import { signUp, verifyEmail } from "./agents.mjs";

const TIMEOUT = 20_000;
const PASSWORD = "correct horse battery staple";

async function activeWorkspaceIs(p, name) {
  await p.waitForFunction(
    (name) => document.querySelector('[data-testid="workspace-switcher"]')?.selectedOptions[0]?.textContent.includes(name),
    name,
  );
}

describe("Agentdeck teams", () => {
  const e2e = journey();

  test("create a team, invite by link, join, change a role, read the audit log, switch workspace", async () => {
    const errors = [];
    const adaContext = await e2e.browser.newContext();
    const ada = await adaContext.newPage();
    ada.setDefaultTimeout(TIMEOUT);
    ada.on("pageerror", (e) => errors.push(e));
    await signUp(ada, e2e.server, "Ada Lovelace", "ada@example.com");

    // A team, from the user menu.
    await ada.getByTestId("user-menu").getByRole("button").first().click();
    await ada.getByRole("link", { name: "Teams" }).click();
    await ada.getByTestId("no-teams").waitFor();
    await ada.getByLabel("Team name").fill("Acme Growth");
    await ada.getByRole("button", { name: "Create team" }).click();
    await ada.waitForURL("**/teams/acme-growth");
    assert.equal(await ada.getByTestId("my-role").textContent(), "owner");

    // An invite link, shown to the inviter.
    await ada.getByLabel("Email").fill("bob@example.com");
    await ada.getByRole("button", { name: "Create invite link" }).click();
    const link = (await ada.getByTestId("invite-link").locator("code").textContent()).trim();
    assert.match(link, /\/invites\/[A-Za-z0-9_-]{43}$/);
    await ada.getByTestId("invite-row").filter({ hasText: "bob@example.com" }).waitFor();

    // Bob opens it without an account: sign up, come back, accept.
    const bobContext = await e2e.browser.newContext();
    const bob = await bobContext.newPage();
    bob.setDefaultTimeout(TIMEOUT);
    bob.on("pageerror", (e) => errors.push(e));
    await bob.goto(link.replace(/^https?:\/\/[^/]+/, e2e.server.url));
    await bob.waitForURL("**/signin?return_to=*");
    await bob.getByRole("link", { name: "Create an account" }).click();
    await bob.getByLabel("Name").fill("Bob Stone");
    await bob.getByLabel("Email").fill("bob@example.com");
    await bob.getByLabel("Password").fill(PASSWORD);
    await bob.getByRole("button", { name: "Create account" }).click();
    // Back on the invite, unverified: joining waits for the mailed link.
    await bob.waitForURL("**/invites/*");
    await bob.getByTestId("verify-banner").waitFor();
    await bob.getByTestId("accept-invite").click();
    await bob.getByTestId("invite-error").getByText("Verify your email address first", { exact: false }).waitFor();
    await verifyEmail(bob, e2e.server, "bob@example.com");
    await bob.goto(link.replace(/^https?:\/\/[^/]+/, e2e.server.url));
    await bob.getByTestId("accept-invite").click();
    await bob.waitForURL("**/teams/acme-growth");
    assert.equal(await bob.getByTestId("my-role").textContent(), "member");
    // Joining makes the team Bob's active workspace.
    await activeWorkspaceIs(bob, "Acme Growth");

    // The link worked once.
    await bob.goto(link.replace(/^https?:\/\/[^/]+/, e2e.server.url));
    await bob.getByTestId("accept-invite").click();
    await bob.getByTestId("invite-error").waitFor();

    // Ada makes Bob a viewer; Bob sees it.
    await ada.reload();
    const bobRow = ada.getByTestId("member-row").filter({ hasText: "bob@example.com" });
    // Listen before acting: the answer can arrive before selectOption returns.
    const patched = ada.waitForResponse((r) => r.url().includes("/api/fn/change_member_role"));
    await bobRow.getByTestId("member-role").selectOption("viewer");
    await patched;
    await bob.goto(e2e.server.url + "/teams/acme-growth");
    await bob.getByTestId("my-role").getByText("viewer").waitFor();
    assert.equal(await bob.getByRole("link", { name: "Audit log" }).count(), 0, "viewers get no audit tab");

    // The audit log, filtered by kind and by actor.
    await ada.getByRole("link", { name: "Audit log" }).click();
    await ada.waitForURL("**/teams/acme-growth/audit");
    await ada.locator('[data-testid="audit-row"][data-action="team.create"]').waitFor();
    await ada.getByTestId("audit-action").selectOption("member.");
    await ada.locator('[data-testid="audit-row"][data-action="team.create"]').waitFor({ state: "detached" });
    const actions = async () =>
      ada.getByTestId("audit-row").evaluateAll((rows) => rows.map((r) => r.dataset.action));
    await ada.locator('[data-testid="audit-row"][data-action="member.role_change"]').waitFor();
    assert.deepEqual(await actions(), ["member.role_change", "member.join", "member.invite"]);
    await ada.getByTestId("audit-actor").fill("bob");
    await ada.getByRole("button", { name: "Filter" }).click();
    await ada.locator('[data-testid="audit-row"][data-action="member.invite"]').waitFor({ state: "detached" });
    assert.deepEqual(await actions(), ["member.join"]);

    // The top bar's workspace decides where a new key acts, across reloads.
    await ada.goto(e2e.server.url + "/settings/keys");
    await ada.getByTestId("key-workspace").getByText("Ada Lovelace").waitFor();
    await ada.getByTestId("workspace-switcher").selectOption({ label: "Acme Growth" });
    await ada.getByTestId("key-workspace").getByText("Acme Growth").waitFor();
    await ada.reload();
    await ada.getByTestId("key-workspace").getByText("Acme Growth").waitFor();
    await activeWorkspaceIs(ada, "Acme Growth");
    await ada.getByLabel("Name").fill("team reporting");
    await ada.locator('input[value="audit:read"]').check();
    await ada.getByRole("button", { name: "Create key" }).click();
    const token = (await ada.getByTestId("new-token").textContent()).trim();
    const me = await (await fetch(e2e.server.url + "/api/v1/me", { headers: { authorization: `Bearer ${token}` } })).json();
    assert.equal(me.user.handle, "ada");
    const audit = await fetch(e2e.server.url + "/api/v1/teams/acme-growth/audit", {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(audit.status, 200, "a key made in the team workspace reads its audit log");

    assert.deepEqual(errors, []);
    await adaContext.close();
    await bobContext.close();
  });
});
