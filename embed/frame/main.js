// The frame page, /embed/<id>?origin=<the page's origin>[&user=<claim>]:
// what embed.js (embed/launcher.js) shows on a customer's site. It starts a
// session for this browser's visitor id, draws the chat (or the form) in
// the embed's look, and tells the page it is ready; until then the page
// shows nothing, so an embed that refuses the session (turned off, another
// origin, a bad claim) stays out of sight. The refusal is still written in
// the frame, for the owner looking at it directly.
//
// Messages to the page go to window.parent with the page's origin as the
// target (never "*"): a parent of another origin gets nothing. Messages
// from the page are taken only from window.parent and that origin.

import { createApi } from "./api.js";
import { createComposer } from "./composer.js";
import { createConversation } from "./conversation.js";
import { CLOSE_ICON, h, icon } from "./dom.js";
import { createForm } from "./form.js";

const SOURCE = "agentdeck-embed";
const COLOR = /^#[0-9a-fA-F]{6}$/;
const DEFAULT_COLOR = "#4f46e5";
const VISITOR_KEY = "agentdeck.visitor";
const VISITOR = /^[A-Za-z0-9_-]{22,64}$/;

const match = /^\/embed\/([^/]+)/.exec(location.pathname);
const embedId = match ? decodeURIComponent(match[1]) : "";
const query = new URLSearchParams(location.search);
const pageOrigin = query.get("origin");
const claim = query.get("user");
const framed = window.parent !== window;
const app = document.getElementById("app") || document.body;

function post(message) {
  if (!framed || !pageOrigin) return;
  try {
    window.parent.postMessage({ source: SOURCE, ...message }, pageOrigin);
  } catch (_) {
    // An origin parameter that is no origin: nobody to tell.
  }
}

/**
 * This browser's visitor id: 24 characters of [A-Za-z0-9_-] (144 random
 * bits), kept in localStorage; where the browser keeps no storage for a
 * framed site, a new one each time the frame loads.
 */
function visitorId() {
  try {
    const kept = localStorage.getItem(VISITOR_KEY);
    if (kept && VISITOR.test(kept)) return kept;
  } catch (_) {
    // Storage blocked.
  }
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  let id = "";
  for (const byte of crypto.getRandomValues(new Uint8Array(24))) id += alphabet[byte & 63];
  try {
    localStorage.setItem(VISITOR_KEY, id);
  } catch (_) {
    // Kept in memory only, for this page view.
  }
  return id;
}

// White or near-black text on the accent colour, whichever contrasts more.
function textOn(hex) {
  const channel = (at) => {
    const c = parseInt(hex.slice(at, at + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? "#ffffff" : "#111111";
}

function fail(message) {
  app.textContent = "";
  app.append(h("div", { class: "notice fatal", role: "alert" }, message));
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function start() {
  let conversation = null;
  const api = createApi(
    embedId,
    // No origin parameter: "", which the server refuses with a reason.
    { visitor: visitorId(), page_origin: pageOrigin || "", user: claim || null },
    // A renewed session brings the list as it is now.
    (session) => conversation && conversation.replace(session.messages),
  );

  // A server that could not be reached or failed gets two more tries; a
  // refusal is final.
  let session;
  for (let attempt = 0; ; attempt++) {
    try {
      session = await api.start();
      break;
    } catch (error) {
      if (attempt < 2 && (error.status === 0 || error.status >= 500)) {
        await sleep(1000 * 3 ** attempt);
        continue;
      }
      // The page hears why, for its developer's console (the visitor
      // sees nothing).
      post({ type: "refused", message: String(error.message || "refused").slice(0, 300) });
      return fail(error.message);
    }
  }

  const embed = session.embed && typeof session.embed === "object" ? session.embed : {};
  const given = embed.look && typeof embed.look === "object" ? embed.look : {};
  const look = {
    mode: given.mode === "inline" ? "inline" : "bubble",
    position: given.position === "bottom-left" ? "bottom-left" : "bottom-right",
    color: COLOR.test(given.color) ? given.color : DEFAULT_COLOR,
    theme: given.theme === "dark" ? "dark" : "light",
    title: typeof embed.title === "string" && embed.title.trim() ? embed.title.trim() : "Chat",
  };
  const root = document.documentElement;
  root.setAttribute("data-theme", look.theme);
  root.setAttribute("data-mode", look.mode);
  root.style.setProperty("--accent", look.color);
  root.style.setProperty("--accent-text", textOn(look.color));
  document.title = look.title;

  const greeting = typeof embed.greeting === "string" && embed.greeting.trim() ? embed.greeting : null;
  conversation = createConversation({ api, greeting });

  const clear = h("button", { type: "button", class: "text-button", "data-clear": true, "aria-label": "Clear conversation" }, "Clear");
  clear.addEventListener("click", () => conversation.clear());
  const close =
    look.mode === "bubble"
      ? h("button", { type: "button", class: "icon-button", "data-close": true, "aria-label": "Close" }, [icon(CLOSE_ICON)])
      : null;
  if (close) close.addEventListener("click", () => post({ type: "close" }));
  const header = h("header", { class: "top" }, [h("h1", {}, look.title), clear, close]);

  const form = embed.input === "form" ? createForm(embed.input_schema, conversation) : null;
  let input;
  app.textContent = "";
  if (form) {
    const body = h("div", { class: "scroll" }, [form.el, conversation.el]);
    conversation.scrollWith(body);
    root.classList.add("form-mode");
    app.append(header, body);
    input = form;
  } else {
    input = createComposer(conversation);
    app.append(header, conversation.el, input.el);
  }
  conversation.replace(session.messages);

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || event.origin !== pageOrigin) return;
    const data = event.data;
    if (!data || typeof data !== "object" || data.source !== SOURCE) return;
    if (data.type === "open") input.focus();
  });
  if (look.mode === "bubble") {
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") post({ type: "close" });
    });
  }

  post({ type: "ready", look });

  // An inline embed is as tall as its content. Not scrollHeight: the root's
  // never falls below the frame's own height, so the frame could grow but
  // not shrink.
  if (look.mode === "inline" && window.ResizeObserver) {
    let last = -1;
    new ResizeObserver(() => {
      const height = Math.ceil(root.getBoundingClientRect().height);
      if (height === last) return;
      last = height;
      post({ type: "resize", height });
    }).observe(root);
  }
}

// Only framed: opened on its own (a link, a popup) the frame would let any
// site hand out someone else's embed. The server refuses such a load too
// (`Sec-Fetch-Dest`); this covers browsers that do not say.
if (framed) {
  start().catch((error) => {
    console.error(error);
    fail("This chat could not start.");
  });
} else {
  fail("This chat shows only inside the site it belongs to.");
}
