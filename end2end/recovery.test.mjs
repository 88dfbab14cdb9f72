// Proving an address and getting back in, in headless Chromium against the
// real server sending its mail over SMTP to a real SMTP server (aiosmtpd,
// into a Maildir): sign up, see the banner, follow the verification link
// from the mail, the banner goes; a second browser signs in too; the first
// signs out, forgets the password, asks for a link, follows the reset mail,
// sets a new password and lands signed in on Settings with one session;
// the second browser's session is gone; the old password no longer works,
// the new one does.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { journey } from "./harness.mjs";
import { linkIn, outboxOf, readMails, waitForMail } from "./mail.mjs";
import { SmtpServer } from "./smtp.mjs";

const TIMEOUT = 30_000;
const NAME = "Ada Lovelace";
const EMAIL = "ada@example.com";
const OLD_PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "purple elephant under stairs";

async function signOut(p) {
  await p.getByTestId("user-menu").getByRole("button").first().click();
  await p.getByTestId("sign-out").click();
  await p.getByTestId("signin-link").waitFor();
}

async function signIn(p, password) {
  await p.getByLabel("Email").fill(EMAIL);
  await p.getByLabel("Password").fill(password);
  await p.getByRole("button", { name: "Sign in" }).click();
}

describe("Agentdeck account recovery", () => {
  const smtp = new SmtpServer();
  const e2e = journey({ standIns: [smtp], env: () => smtp.env() });

  test("verify the address by mail, reset a forgotten password by mail, and other sessions end", async () => {
    const url = e2e.server.url;
    const errors = [];
    const firstContext = await e2e.browser.newContext();
    const p = await firstContext.newPage();
    p.setDefaultTimeout(TIMEOUT);
    p.on("pageerror", (e) => errors.push(e));

    // Sign up through the form: signed in, the banner asks for the link.
    await p.goto(url + "/signup");
    await p.getByLabel("Name").fill(NAME);
    await p.getByLabel("Email").fill(EMAIL);
    await p.getByLabel("Password").fill(OLD_PASSWORD);
    await p.getByRole("button", { name: "Create account" }).click();
    await p.getByTestId("user-menu").getByText(NAME).waitFor();
    await p.getByTestId("verify-banner").getByText(EMAIL).waitFor();

    // The verification mail reaches the SMTP server, the link in both parts.
    const verification = await waitForMail(smtp.maildir, { to: EMAIL, subject: "Verify your email address" });
    assert.equal(verification.headers["x-rcptto"], EMAIL, "delivered over SMTP to the address");
    const verifyLink = linkIn(verification, "verify-email");
    assert.ok(verifyLink?.startsWith(url + "/verify-email#token="), `a verification link: ${verification.text}`);
    assert.ok(verification.html.includes(verifyLink), "the HTML part has the same link");
    // The address is not proven yet: the mail names nobody.
    assert.match(verification.text, /^Hello,$/m, `a greeting without a name: ${verification.text}`);
    assert.ok(!verification.text.includes(NAME) && !verification.html.includes(NAME), "no name in the mail");
    assert.deepEqual(readMails(outboxOf(e2e.server)), [], "with SMTP set, nothing goes to the outbox");

    // Following it proves the address; the banner goes.
    await p.goto(verifyLink);
    // Opening the link does nothing by itself (mail scanners open links).
    await p.getByTestId("confirm-email").waitFor();
    await p.getByTestId("confirm-email").click();
    await p.getByTestId("email-verified").getByText(EMAIL).waitFor();
    await p.getByTestId("verify-banner").waitFor({ state: "detached" });
    await p.goto(url + "/settings");
    await p.getByTestId("email-status").getByText("Verified", { exact: true }).waitFor();
    assert.equal(await p.getByTestId("verify-banner").count(), 0);

    // A second browser signs in too: the older session.
    const secondContext = await e2e.browser.newContext();
    const q = await secondContext.newPage();
    q.setDefaultTimeout(TIMEOUT);
    q.on("pageerror", (e) => errors.push(e));
    await q.goto(url + "/signin");
    await signIn(q, OLD_PASSWORD);
    await q.getByTestId("user-menu").getByText(NAME).waitFor();
    await q.goto(url + "/settings");
    await q.getByTestId("profile-name").getByText(NAME).waitFor();
    await q.getByTestId("session-row").nth(1).waitFor();
    assert.equal(await q.getByTestId("session-row").count(), 2);

    // The first signs out and has forgotten the password: a link by mail.
    await signOut(p);
    await p.getByTestId("signin-link").click();
    await p.getByRole("link", { name: "Forgot your password?" }).click();
    await p.waitForURL("**/forgot-password");
    await p.getByLabel("Email").fill(EMAIL);
    await p.getByRole("button", { name: "Send me a link" }).click();
    await p.getByTestId("reset-sent").getByText(EMAIL).waitFor();

    const reset = await waitForMail(smtp.maildir, { to: EMAIL, subject: "Reset your Agentdeck password" });
    const resetLink = linkIn(reset, "reset-password");
    assert.ok(resetLink?.startsWith(url + "/reset-password#token="), `a reset link: ${reset.text}`);

    // A new password: signed in here, on Settings, the only session left.
    await p.goto(resetLink);
    await p.getByLabel("New password").fill(NEW_PASSWORD);
    await p.getByRole("button", { name: "Set password and sign in" }).click();
    await p.waitForURL("**/settings?reset=1");
    await p.getByTestId("reset-done").getByText("every other device", { exact: false }).waitFor();
    await p.getByTestId("user-menu").getByText(NAME).waitFor();
    await p.getByTestId("profile-name").getByText(NAME).waitFor();
    const sessions = p.getByTestId("sessions");
    await sessions.getByTestId("session-row").first().waitFor();
    assert.equal(await sessions.getByTestId("session-row").count(), 1);
    await sessions.getByTestId("session-row").getByText("This device").waitFor();
    // And a notice of the change, by mail too.
    const notice = await waitForMail(smtp.maildir, { to: EMAIL, subject: "Your Agentdeck password was changed" });
    assert.equal(reset.headers["x-rcptto"], EMAIL, "the reset link went over SMTP");
    assert.equal(notice.headers["x-rcptto"], EMAIL, "the notice went over SMTP");
    assert.deepEqual(readMails(outboxOf(e2e.server)), [], "still nothing in the outbox");

    // The second browser's session ended with the reset.
    assert.equal(await q.evaluate(() => fetch("/api/fn/current_user").then((r) => r.status)), 401);
    await q.reload();
    await q.waitForURL("**/signin?return_to=%2Fsettings");

    // The reset link worked once.
    await p.goto(resetLink);
    await p.getByLabel("New password").fill("another long passphrase here");
    await p.getByRole("button", { name: "Set password and sign in" }).click();
    // Said in words, without the field's name in front.
    await p.getByRole("alert").getByText("This link is not valid", { exact: false }).waitFor();
    assert.ok(p.url().includes("/reset-password#token="), `still on the reset page: ${p.url()}`);

    // Signed out, the old password no longer works; the new one does.
    await p.goto(url + "/settings");
    await p.getByTestId("profile-name").getByText(NAME).waitFor();
    await signOut(p);
    await p.getByTestId("signin-link").click();
    await signIn(p, OLD_PASSWORD);
    await p.getByTestId("form-error").getByText("incorrect").waitFor();
    await signIn(p, NEW_PASSWORD);
    await p.getByTestId("user-menu").getByText(NAME).waitFor();

    assert.deepEqual(errors, []);
    await firstContext.close();
    await secondContext.close();
  });
});
