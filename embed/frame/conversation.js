// The conversation: the messages the server keeps for this visitor, what
// the frame shows before the server has them (the message being sent,
// notices), and the runs still answering.
//
// The server's list is the truth: each change (a run finished, a poll, a new
// session) reads it again and the list is drawn from it. A run's status
// comes from the live socket while it is running and from the messages once
// it has finished; a finished status wins over an unfinished one whatever
// its source. While a run is unfinished, the list is read every 3 s if the
// socket cannot follow it, and every 20 s anyway in case an event was lost.
//
// Drawing is keyed: an item whose content did not change keeps its element,
// so the live region announces only what is new.

import { h } from "./dom.js";
import { createLive, finished } from "./live.js";

const LABELS = { sending: "sending…", queued: "queued", running: "thinking…" };
const ENDINGS = {
  failed: "Sorry, no answer this time: something went wrong.",
  timed_out: "Sorry, no answer this time: it took too long.",
  cancelled: "The answer was cancelled.",
};
const POLL_MS = 3_000;
const SAFETY_POLL_MS = 20_000;
// A run the socket says finished whose answer the list does not have yet:
// read again this many times, a poll apart.
const SETTLE_TRIES = 5;

const unfinished = (status) => status === "queued" || status === "running" || status === "sending";

function clean(messages) {
  if (!Array.isArray(messages)) return [];
  return messages
    .filter((m) => m && typeof m === "object" && (m.role === "user" || m.role === "assistant"))
    .map((m) => ({
      id: String(m.id),
      role: m.role,
      text: typeof m.text === "string" ? m.text : "",
      at: typeof m.at === "string" ? m.at : null,
      run: typeof m.run === "string" && m.run ? m.run : null,
      status: typeof m.status === "string" ? m.status : null,
      error: typeof m.error === "string" && m.error ? m.error : null,
    }));
}

function bubble(role, text, { label, failed, pending, greeting, error, at } = {}) {
  const body = h("div", { class: "bubble" });
  if (text) body.textContent = text;
  else if (pending) body.append(h("span", { class: "dots", "aria-hidden": "true" }, [h("i"), h("i"), h("i")]), h("span", { class: "sr" }, "…"));
  let title = null;
  if (at) {
    const when = new Date(at);
    if (!Number.isNaN(when.getTime())) title = when.toLocaleString();
  }
  return h(
    "div",
    {
      class: failed ? "msg failed" : "msg",
      "data-role": role,
      "data-pending": pending,
      "data-failed": failed,
      "data-greeting": greeting,
      title,
    },
    [body, label && h("div", { class: "meta" }, label), error && h("div", { class: "meta" }, error)],
  );
}

/**
 * `api` from api.js, `greeting` the first assistant bubble (or null). `el`
 * is the list ([data-messages]); it scrolls itself unless scrollWith() names
 * the element that does (the form's, where form and list scroll together).
 */
export function createConversation({ api, greeting }) {
  let messages = [];
  let local = []; // {key, kind: "user" | "pending" | "notice", text}
  const runs = new Map(); // run → status from the POST or the socket
  const settling = new Map(); // run → reads left
  let drawn = new Map(); // key → {sig, el}
  let serial = 0;
  let fetching = null;
  let again = false;
  let lastRead = 0;
  let poll = null;
  let scroller = null;
  // The embed was turned off or removed while a run was being followed:
  // nothing to follow until a message is accepted again.
  let halted = false;

  const list = h("div", {
    class: "messages",
    "data-messages": true,
    role: "log",
    "aria-live": "polite",
    "aria-label": "Conversation",
  });

  const live = createLive({
    token: api.token,
    renew: api.renew,
    onStatus(run, status) {
      runs.set(run, status);
      if (finished(status)) {
        settling.set(run, SETTLE_TRIES);
        read();
      }
      draw();
    },
    onGap: () => read(),
  });

  function statusOf(run) {
    let last = null;
    for (const m of messages) {
      if (m.run !== run) continue;
      if (finished(m.status)) return m.status;
      if (m.status) last = m.status;
    }
    const told = runs.get(run);
    return told || last;
  }

  function items() {
    const out = [];
    if (greeting) out.push({ key: "greeting", sig: greeting, make: () => bubble("assistant", greeting, { greeting: true }) });
    const answered = new Set(messages.filter((m) => m.role === "assistant" && m.run).map((m) => m.run));
    for (const m of messages) {
      const status = m.run ? statusOf(m.run) : m.status;
      if (m.role === "user") {
        out.push({ key: m.id, sig: `u${m.text}`, make: () => bubble("user", m.text, { at: m.at }) });
        if (m.run && !answered.has(m.run)) {
          answered.add(m.run);
          const item = placeholder(`run:${m.run}`, status);
          if (item) out.push(item);
        }
      } else if (m.error) {
        out.push({
          key: m.id,
          sig: `f${m.text}\n${m.error}`,
          // The server's error is a sentence for the visitor; beside an
          // answer's text, a line under it.
          make: () =>
            m.text
              ? bubble("assistant", m.text, { failed: true, error: m.error, at: m.at })
              : bubble("assistant", m.error, { failed: true, at: m.at }),
        });
      } else if (unfinished(m.status) && (unfinished(status) || !m.text)) {
        // Still answering, or finished with its answer not read yet.
        out.push({
          key: m.id,
          sig: `p${m.text}\n${status}`,
          make: () => bubble("assistant", m.text, { pending: true, label: LABELS[status], at: m.at }),
        });
      } else {
        out.push({ key: m.id, sig: `a${m.text}`, make: () => bubble("assistant", m.text, { at: m.at }) });
      }
    }
    for (const item of local) {
      if (item.kind === "notice") {
        out.push({ key: item.key, sig: item.text, make: () => h("div", { class: "notice" }, item.text) });
      } else if (item.kind === "user") {
        out.push({ key: item.key, sig: item.text, make: () => bubble("user", item.text) });
      } else {
        out.push({ key: item.key, sig: "", make: () => bubble("assistant", "", { pending: true, label: LABELS.sending }) });
      }
    }
    return out;
  }

  // The bubble of a run that has no answer in the list yet.
  function placeholder(key, status) {
    if (unfinished(status)) {
      return { key, sig: status, make: () => bubble("assistant", "", { pending: true, label: LABELS[status] }) };
    }
    if (ENDINGS[status]) {
      return { key, sig: status, make: () => bubble("assistant", ENDINGS[status], { failed: true }) };
    }
    // Succeeded, its answer being read.
    if (status === "succeeded") return { key, sig: status, make: () => bubble("assistant", "", { pending: true }) };
    return null;
  }

  function draw(toEnd = false) {
    const view = scroller || list;
    const atEnd = view.scrollHeight - view.scrollTop - view.clientHeight < 48;
    const next = new Map();
    let cursor = list.firstChild;
    for (const item of items()) {
      let known = drawn.get(item.key);
      if (!known || known.sig !== item.sig) known = { sig: item.sig, el: item.make() };
      next.set(item.key, known);
      if (known.el === cursor) cursor = cursor.nextSibling;
      else list.insertBefore(known.el, cursor);
    }
    while (cursor) {
      const after = cursor.nextSibling;
      cursor.remove();
      cursor = after;
    }
    drawn = next;
    if (toEnd || atEnd) view.scrollTop = view.scrollHeight;
    follow();
  }

  // The socket follows the unfinished runs; the poll covers what it cannot.
  function follow() {
    const open = new Set();
    if (halted) {
      for (const run of live.watching()) live.unwatch(run);
      return;
    }
    for (const m of messages) if (m.run && unfinished(statusOf(m.run))) open.add(m.run);
    for (const [run, status] of runs) if (unfinished(status) && !finished(statusOf(run))) open.add(run);
    for (const run of live.watching()) if (!open.has(run)) live.unwatch(run);
    for (const run of open) live.watch(run);
    if (!poll && (open.size || settling.size)) poll = setTimeout(tick, POLL_MS);
  }

  function tick() {
    poll = null;
    const stale = Date.now() - lastRead >= SAFETY_POLL_MS;
    if (!live.healthy() || settling.size || stale) read().then(follow);
    else follow();
  }

  function replace(received) {
    messages = clean(received);
    for (const [run, left] of settling) {
      const done = messages.some((m) => m.run === run && (m.role === "assistant" || finished(m.status)));
      if (done || left <= 1) settling.delete(run);
      else settling.set(run, left - 1);
    }
    draw();
  }

  /** Reads the list again; calls while one is under way share the next. */
  function read() {
    if (fetching) {
      again = true;
      return fetching;
    }
    fetching = api
      .messages()
      .then(
        (body) => replace(body && body.messages),
        (error) => {
          if (error.status === 403 || error.status === 404) halted = true;
          notice(error.message, true);
        },
      )
      .finally(() => {
        fetching = null;
        lastRead = Date.now();
        if (again) {
          again = false;
          read();
        }
      });
    return fetching;
  }

  /** A notice at the end of the list; `once`: not if it is already the last. */
  function notice(text, once = false) {
    const last = local[local.length - 1];
    if (once && last && last.kind === "notice" && last.text === text) return;
    local.push({ key: `n${serial++}`, kind: "notice", text });
    draw(true);
  }

  /**
   * Sends `payload` ({text} or {input}), showing `preview` as the visitor's
   * bubble until the server's copy comes back. False when it was refused
   * (the reason is shown as a notice).
   */
  async function send(payload, preview) {
    const keys = [`l${serial++}`, `l${serial++}`];
    local = local.filter((item) => item.kind !== "notice");
    local.push({ key: keys[0], kind: "user", text: preview }, { key: keys[1], kind: "pending" });
    draw(true);
    const drop = () => {
      local = local.filter((item) => !keys.includes(item.key));
    };
    try {
      const body = (await api.send(payload)) || {};
      drop();
      halted = false;
      const run = typeof body.run === "string" ? body.run : null;
      const stored = clean(body.messages);
      for (const m of stored) {
        if (m.role === "user" && !m.run) m.run = run;
        if (!messages.some((known) => known.id === m.id)) messages.push(m);
      }
      if (run && !runs.has(run)) runs.set(run, "queued");
      if (!stored.length) read();
      draw(true);
      return true;
    } catch (error) {
      drop();
      notice(error.message);
      return false;
    }
  }

  async function clear() {
    try {
      await api.clear();
    } catch (error) {
      notice(error.message);
      return;
    }
    messages = [];
    local = [];
    runs.clear();
    settling.clear();
    draw();
  }

  return {
    el: list,
    /** The element that scrolls when the list is not the one that does. */
    scrollWith(el) {
      scroller = el;
    },
    replace,
    send,
    clear,
    notice,
  };
}
