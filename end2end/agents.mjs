// What the journeys and the deploy benchmark share: a verified account, a
// published agent, and a recorder of the deploy badge's statuses.

import assert from "node:assert/strict";
import { outboxOf, waitForLink } from "./mail.mjs";

const PASSWORD = "correct horse battery staple";

export const ECHO = `export default async function run(input, ctx) {
  ctx.log.info("greeting " + input.name);
  const greeting = ctx.config.get("greeting");
  ctx.log.warn("config says " + (greeting ?? "nothing"));
  return { greeting: (greeting ?? "Hello") + ", " + input.name + "!" };
}
`;

/** Signs up through the form on the harness `server` (a `Server`: its
 * `url`, and its `dataDir` whose outbox the verification mail goes to),
 * then follows the mailed link, so the account may create keys, publish,
 * join teams and buy credits. */
export async function signUp(page, server, name, email) {
  await page.goto(server.url + "/signup");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("user-menu").getByText(name).waitFor();
  await verifyEmail(page, server, email);
}

/** Opens the newest verification link mailed to `email` (read from
 * `mailDir`: by default the server's outbox) in `page`, and waits for the
 * page to say the address is verified. Answers the link. */
export async function verifyEmail(page, server, email, { mailDir = outboxOf(server) } = {}) {
  const link = await waitForLink(mailDir, { to: email, page: "verify-email" });
  assert.ok(link.startsWith(server.url + "/verify-email#token="), `a link to this server: ${link}`);
  await page.goto(link);
  // The link is used by a click, never by the page load (mail scanners).
  await page.getByTestId("confirm-email").click();
  await page.getByTestId("email-verified").waitFor();
  return link;
}

/** Publishes version 1.0.0 of a new agent through the REST API, with the
 * page's session (and its CSRF token). */
export async function publishAgent(page, url, name, source, listing = {}) {
  const me = await (await page.request.get(url + "/api/v1/me")).json();
  const headers = { "x-csrf-token": me.csrf_token };
  const created = await page.request.post(url + "/api/v1/agents", { headers, data: { name } });
  assert.equal(created.status(), 201, await created.text());
  const { slug } = await created.json();
  const draft = await (await page.request.get(`${url}/api/v1/agents/${slug}/draft`)).json();
  const saved = await page.request.put(`${url}/api/v1/agents/${slug}/draft`, {
    headers,
    data: {
      revision: draft.revision,
      listing: { ...draft.listing, ...listing },
      readme: draft.readme,
      source,
      manifest: { ...draft.manifest, capabilities: { ...draft.manifest.capabilities, config: ["greeting"] } },
      example_input: '{"name": "Ada"}',
    },
  });
  assert.equal(saved.status(), 200, await saved.text());
  const published = await page.request.post(`${url}/api/v1/agents/${slug}/versions`, {
    headers,
    data: { version: "1.0.0" },
  });
  assert.equal(published.status(), 201, await published.text());
  return slug;
}

/** Records every status the deploy badge shows, with the time since the
 * click on Deploy (both read in the page). */
export async function watchBadge(page) {
  await page.evaluate(() => {
    window.__badges = [];
    window.__clicked = null;
    document.querySelector('[data-testid="deploy"]').addEventListener("click", () => {
      window.__clicked = performance.now();
    }, { capture: true });
    const seen = () => {
      const badge = document.querySelector('[data-testid="deploy-progress"] [data-testid="deployment-status"]');
      const status = badge?.dataset.status;
      if (status && window.__badges.at(-1)?.status !== status) {
        window.__badges.push({ status, ms: performance.now() - window.__clicked });
      }
    };
    // Kept on the window: an observer nothing refers to may be collected.
    window.__badgeObserver = new MutationObserver(seen);
    window.__badgeObserver.observe(document.body, {
      subtree: true, childList: true, characterData: true, attributes: true,
    });
    seen();
  });
}
