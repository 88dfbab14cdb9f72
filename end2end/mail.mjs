// Mail as the journeys read it: the messages the server sent, from either
// - its outbox (no AGENTDECK_SMTP_URL): `<data dir>/outbox/<unix ms>-<hex>.eml`,
//   one RFC 5322 file per message, or
// - a Maildir (`new/` and `cur/`) that aiosmtpd's Mailbox handler fills when
//   the server sends over SMTP;
// decoded (quoted-printable or base64 parts of a MIME message), and the
// links inside (`<public url>/<page>#token=<43 base64url characters>`).

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** The outbox of a harness `Server` (mail goes there without SMTP). */
export function outboxOf(server) {
  return join(server.dataDir, "outbox");
}

/** Decodes a quoted-printable body (soft line breaks `=\r\n`, `=XX` bytes)
 * given as a binary ("latin1") string; answers the bytes. */
export function decodeQuotedPrintable(body) {
  // Whitespace at the end of an encoded line is transport padding.
  const text = body.replace(/[ \t]+(?=\r?\n|$)/g, "").replace(/=\r?\n/g, "");
  const bytes = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === "=" ? text.slice(i + 1, i + 3) : "";
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** A header value's RFC 2047 encoded words (`=?utf-8?q?…?=`) decoded. */
function decodeWords(value) {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, charset, kind, data) => {
      const bytes = kind.toLowerCase() === "b"
        ? Buffer.from(data, "base64")
        : decodeQuotedPrintable(data.replace(/_/g, " "));
      return bytes.toString(/^utf-?8$/i.test(charset) ? "utf8" : "latin1");
    });
}

/** Splits a message (or a MIME part) into lower-cased, unfolded headers
 * and its body. */
function split(raw) {
  const match = /\r?\n\r?\n/.exec(raw);
  const head = match ? raw.slice(0, match.index) : raw;
  const body = match ? raw.slice(match.index + match[0].length) : "";
  const headers = {};
  let last; // the header a folded line continues; null: one not kept
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line)) {
      if (last) headers[last] += " " + line.trim();
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      last = null;
      continue;
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    // The first of a repeated header wins (Received and such repeat).
    if (name in headers) {
      last = null;
    } else {
      headers[name] = line.slice(colon + 1).trim();
      last = name;
    }
  }
  return { headers, body };
}

/** A parameter of a structured header (`boundary`, `charset`). */
function param(value = "", name) {
  const match = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, "i").exec(value);
  return match ? (match[1] ?? match[2]) : undefined;
}

/** The leaf parts of a message: `{ type, text }`, bodies decoded. */
function leaves({ headers, body }) {
  const type = (headers["content-type"] ?? "text/plain").split(";")[0].trim().toLowerCase();
  if (type.startsWith("multipart/")) {
    const boundary = param(headers["content-type"], "boundary");
    if (!boundary) return [];
    const delimiter = "--" + boundary;
    const chunks = body.split(delimiter).slice(1);
    const parts = [];
    for (const chunk of chunks) {
      if (chunk.startsWith("--")) break; // the closing delimiter
      const part = chunk.replace(/^[ \t]*\r?\n/, "").replace(/\r?\n$/, "");
      parts.push(...leaves(split(part)));
    }
    return parts;
  }
  const encoding = (headers["content-transfer-encoding"] ?? "7bit").trim().toLowerCase();
  const bytes = encoding === "quoted-printable"
    ? decodeQuotedPrintable(body)
    : encoding === "base64"
      ? Buffer.from(body.replace(/\s+/g, ""), "base64")
      : Buffer.from(body, "latin1");
  const charset = param(headers["content-type"], "charset") ?? "utf-8";
  const text = bytes.toString(/^(us-ascii|utf-?8)$/i.test(charset) ? "utf8" : "latin1");
  return [{ type, text: text.replace(/\r\n/g, "\n") }];
}

/** One message: `{ to, from, subject, text, html, headers, raw }`; `text`
 * and `html` are its first text/plain and text/html parts, decoded. */
export function parseMail(raw) {
  const message = split(raw);
  const parts = leaves(message);
  const header = (name) => decodeWords(message.headers[name] ?? "");
  return {
    to: header("to"),
    from: header("from"),
    subject: header("subject"),
    text: parts.find((p) => p.type === "text/plain")?.text ?? "",
    html: parts.find((p) => p.type === "text/html")?.text ?? "",
    headers: message.headers,
    raw,
  };
}

/** When a message file was written, in ms, from its name (outbox:
 * `<unix ms>-<hex>.eml`; Maildir: `<s>.M<µs>P<pid>…`), else its mtime. */
function writtenAt(path, name) {
  let match = /^(\d{13})-/.exec(name);
  if (match) return Number(match[1]);
  match = /^(\d+)\.M(\d+)/.exec(name);
  if (match) return Number(match[1]) * 1000 + Number(match[2]) / 1000;
  return statSync(path).mtimeMs;
}

/**
 * Every message in `dir`, oldest first, each parsed (see `parseMail`) with
 * its `file` and `at`. `dir` is an outbox (`*.eml` files) or a Maildir
 * (`new/` and `cur/`); half-written files (`.*.partial`, a Maildir's
 * `tmp/`) are never read. A directory not made yet holds no mail.
 */
export function readMails(dir) {
  const files = [];
  const maildir = ["new", "cur"].some((sub) => existsSync(join(dir, sub)));
  const folders = maildir ? ["new", "cur"].map((sub) => join(dir, sub)) : [dir];
  for (const folder of folders) {
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder)) {
      if (name.startsWith(".")) continue;
      if (!maildir && !name.endsWith(".eml")) continue;
      const file = join(folder, name);
      if (!statSync(file).isFile()) continue;
      files.push({ file, name, at: writtenAt(file, name) });
    }
  }
  files.sort((a, b) => a.at - b.at || a.name.localeCompare(b.name));
  return files.map(({ file, at }) => ({ file, at, ...parseMail(readFileSync(file, "latin1")) }));
}

/** The first link to `page` (`verify-email`, `reset-password`) in a
 * message's text: the whole URL, or undefined. */
export function linkIn(mail, page) {
  const match = new RegExp(`https?://[^\\s"<>]+/${page}#token=[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])`)
    .exec(mail.text);
  return match?.[0];
}

function addressedTo(mail, to) {
  return to === undefined || mail.to.toLowerCase().includes(to.toLowerCase());
}

function summary(mails) {
  return mails.length
    ? mails.map((m) => `  ${m.file}: to ${m.to}, "${m.subject}"`).join("\n")
    : "  (none)";
}

/**
 * Waits for a message in `dir` (see `readMails`) that `matches`, and
 * answers the newest such one. `to`: an address the To header must hold;
 * `subject`: a string it must contain or a RegExp; `matches(mail)`: any
 * other test. Throws after `timeout` ms, listing what did arrive.
 */
export async function waitForMail(dir, { to, subject, matches = () => true, timeout = 30_000 } = {}) {
  const deadline = Date.now() + timeout;
  const wanted = (mail) =>
    addressedTo(mail, to) &&
    (subject === undefined ||
      (subject instanceof RegExp ? subject.test(mail.subject) : mail.subject.includes(subject))) &&
    matches(mail);
  for (;;) {
    const mails = readMails(dir);
    const found = mails.filter(wanted).at(-1);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `no mail${to ? ` to ${to}` : ""}${subject ? ` with subject ${subject}` : ""} in ${dir} ` +
          `after ${timeout} ms; there are:\n${summary(mails)}`,
      );
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

/** Waits for mail to `to` with a link to `page` and answers the newest such
 * link (a full URL with `#token=…`). `except`: links already used, which do
 * not count. */
export async function waitForLink(dir, { to, page, except = [], timeout = 30_000 }) {
  const mail = await waitForMail(dir, {
    to,
    matches: (m) => {
      const link = linkIn(m, page);
      return link !== undefined && !except.includes(link);
    },
    timeout,
  });
  return linkIn(mail, page);
}
