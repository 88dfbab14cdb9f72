// embed.js, the launcher a customer's site includes:
//
//   <script src="https://agentdeck.example/embed.js" data-embed="emb_…" async></script>
//
// with optional data-user (a claim signed by the site's backend) and
// data-target (a CSS selector: where an inline embed goes; by default right
// after the script tag). It loads the frame page (/embed/<id>, embed.html
// from embed/frame/) in a hidden iframe and shows nothing until the frame
// says "ready" with the embed's look: a page whose origin the embed does not
// allow never gets that far (the browser refuses to frame it). Then it shows
// either a round launcher button that opens the frame as a panel ("bubble")
// or the frame in place, as tall as its content ("inline"), and tells the
// page with a CustomEvent "agentdeck:embed-ready" on the document.
//
// It runs on pages we do not control, so: no globals (scripts/build-embed.mjs
// bundles it as one function expression), nothing thrown into the page, and
// styles only through the CSSOM (el.style), which a page's
// Content-Security-Policy allows where a <style> element may be refused; the
// elements live in a shadow root so the page's selectors do not reach them.
// Each snippet on a page runs this file once and keeps to its own elements.
//
// The messages both ways are {source: "agentdeck-embed", type, …} and are
// taken only from the frame's window and the server's origin.

const SOURCE = "agentdeck-embed";
const TOP = "2147483000";
const EMBED_ID = /^emb_[0-9a-f]{32}$/;
const COLOR = /^#[0-9a-fA-F]{6}$/;
const DEFAULT_COLOR = "#4f46e5";
const SMALL_SCREEN = "(max-width: 480px)";
const SVG = "http://www.w3.org/2000/svg";
// A speech bubble, and the chevron that closes the panel.
const CHAT_ICON = "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6c-.5.4-1.3.1-1.3-.6V16A2.5 2.5 0 0 1 4 13.5z";
const CLOSE_ICON = "M6 9l6 6 6-6";

const warn = (...what) => {
  try {
    console.warn("Agentdeck embed:", ...what);
  } catch (_) {
    // A page that replaced console with something that throws.
  }
};

// Event handlers run later, outside the try around start(): each is wrapped
// so that an error in one still never reaches the page's error handlers.
const guard = (fn) =>
  function (...args) {
    try {
      return fn.apply(this, args);
    } catch (error) {
      warn(error);
    }
  };

// Inline declarations marked important, so a page's `agentdeck-embed { … }`
// or `[style] { … !important }` cannot undo them.
const css = (el, declarations) => {
  for (const name in declarations) el.style.setProperty(name, declarations[name], "important");
};

// White or near-black text on the accent colour, whichever contrasts more.
const textOn = (hex) => {
  const channel = (at) => {
    const c = parseInt(hex.slice(at, at + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? "#ffffff" : "#111111";
};

// Elements whose style makes them the containing block of position: fixed
// descendants: a bubble inside one would be fixed to it, not to the window.
const trapsFixed = (el) => {
  const root = el.ownerDocument;
  for (let node = el.parentElement; node && node !== root.documentElement && node !== root.body; node = node.parentElement) {
    const s = getComputedStyle(node);
    if (
      s.transform !== "none" ||
      s.perspective !== "none" ||
      s.filter !== "none" ||
      (s.backdropFilter && s.backdropFilter !== "none") ||
      /paint|layout|strict|content/.test(s.contain || "") ||
      /transform|perspective|filter/.test(s.willChange || "") ||
      (s.containerType && s.containerType !== "normal")
    ) {
      return true;
    }
  }
  return false;
};

function icon(path) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "26");
  svg.setAttribute("height", "26");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const shape = document.createElementNS(SVG, "path");
  shape.setAttribute("d", path);
  shape.setAttribute("fill", path === CHAT_ICON ? "currentColor" : "none");
  shape.setAttribute("stroke", "currentColor");
  shape.setAttribute("stroke-width", path === CHAT_ICON ? "0" : "2.5");
  shape.setAttribute("stroke-linecap", "round");
  shape.setAttribute("stroke-linejoin", "round");
  svg.appendChild(shape);
  css(svg, { display: "block", "pointer-events": "none" });
  return svg;
}

/** Where the host element goes before the look is known. */
function place(script, host) {
  const doc = script.ownerDocument;
  const selector = script.getAttribute("data-target");
  if (selector) {
    let target = null;
    try {
      target = doc.querySelector(selector);
    } catch (_) {
      warn(`data-target ${JSON.stringify(selector)} is not a CSS selector`);
    }
    if (target) return target.appendChild(host);
    // An async script can run before the parser reached the target.
    if (doc.readyState === "loading") {
      return doc.addEventListener("DOMContentLoaded", guard(() => place(script, host)), { once: true });
    }
    warn(`no element matches data-target ${JSON.stringify(selector)}; the embed goes at the end of the page`);
  } else if (script.parentNode && doc.body && doc.body.contains(script)) {
    return script.parentNode.insertBefore(host, script.nextSibling);
  }
  if (doc.body) return doc.body.appendChild(host);
  doc.addEventListener("DOMContentLoaded", guard(() => doc.body.appendChild(host)), { once: true });
}

function start(script) {
  script.setAttribute("data-agentdeck-started", "");
  const id = (script.getAttribute("data-embed") || "").trim();
  if (!id) return warn("the script tag has no data-embed attribute (the embed's id, emb_…)");
  if (!EMBED_ID.test(id)) return warn(`data-embed ${JSON.stringify(id)} is not an embed id (emb_ and 32 hex digits)`);
  const server = new URL(script.src, location.href).origin;
  const doc = script.ownerDocument;
  const user = script.getAttribute("data-user");

  const host = doc.createElement("agentdeck-embed");
  host.setAttribute("data-embed", id);
  css(host, { all: "initial", display: "block", width: "100%", height: "0", margin: "0", padding: "0", border: "0" });
  const root = host.attachShadow({ mode: "open" });

  let src = `${server}/embed/${encodeURIComponent(id)}?origin=${encodeURIComponent(location.origin)}`;
  if (user) src += `&user=${encodeURIComponent(user)}`;
  const frame = doc.createElement("iframe");
  frame.setAttribute("title", "Chat");
  // Loaded, laid out at the width an inline embed will have, and invisible.
  css(frame, {
    display: "block", width: "100%", height: "0", border: "0", margin: "0", padding: "0",
    visibility: "hidden", "color-scheme": "normal", background: "transparent",
  });
  frame.src = src;
  root.appendChild(frame);

  let look = null;
  let launcher = null;
  let open = false;
  let height = 0;
  let moved = false;
  let announced = false;
  const small = window.matchMedia ? window.matchMedia(SMALL_SCREEN) : null;

  const post = (type) => {
    if (frame.contentWindow) frame.contentWindow.postMessage({ source: SOURCE, type }, server);
  };

  // The panel: the iframe itself, fixed above the launcher; the whole
  // window on a small screen.
  const layoutPanel = () => {
    const side = look.position === "bottom-left" ? "left" : "right";
    const full = small && small.matches;
    css(frame, {
      position: "fixed", [side]: full ? "0" : "20px", [side === "left" ? "right" : "left"]: "auto",
      top: full ? "0" : "auto", bottom: full ? "0" : "88px",
      width: full ? "100%" : "380px", height: full ? "100%" : "560px",
      "max-width": full ? "none" : "calc(100vw - 40px)", "max-height": full ? "none" : "calc(100vh - 108px)",
      "border-radius": full ? "0" : "16px",
      "box-shadow": "0 12px 48px rgba(0,0,0,.28)",
      "z-index": "2",
      visibility: open ? "visible" : "hidden",
      opacity: open ? "1" : "0",
      transform: open ? "none" : "translateY(12px)",
      "pointer-events": open ? "auto" : "none",
      transition: "opacity .16s ease, transform .16s ease, visibility .16s",
    });
    if (launcher) css(launcher, { display: open && full ? "none" : "flex" });
  };

  const toggle = (next) => {
    if (next === open || !launcher) return;
    const hadFocus = root.activeElement === frame;
    open = next;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.replaceChild(icon(open ? CLOSE_ICON : CHAT_ICON), launcher.firstChild);
    layoutPanel();
    if (open) {
      frame.focus();
      post("open");
    } else {
      post("close");
      if (hadFocus) launcher.focus();
    }
  };

  const showBubble = () => {
    const color = look.color;
    css(host, { position: "fixed", top: "0", left: "0", width: "0", height: "0", overflow: "visible", "z-index": TOP });
    if (!launcher) {
      launcher = doc.createElement("button");
      launcher.type = "button";
      launcher.setAttribute("data-agentdeck-launcher", "");
      launcher.setAttribute("aria-expanded", "false");
      launcher.appendChild(icon(CHAT_ICON));
      launcher.addEventListener("click", guard(() => toggle(!open)));
      launcher.addEventListener("keydown", guard((event) => {
        if (event.key === "Escape") toggle(false);
      }));
      launcher.addEventListener("mouseenter", guard(() => css(launcher, { transform: "scale(1.06)" })));
      launcher.addEventListener("mouseleave", guard(() => css(launcher, { transform: "none" })));
      root.appendChild(launcher);
      if (small) {
        const relayout = guard(layoutPanel);
        if (small.addEventListener) small.addEventListener("change", relayout);
        else small.addListener(relayout);
      }
    }
    launcher.setAttribute("aria-label", look.title);
    launcher.setAttribute("title", look.title);
    const side = look.position === "bottom-left" ? "left" : "right";
    css(launcher, {
      all: "initial", position: "fixed", bottom: "20px", [side]: "20px", [side === "left" ? "right" : "left"]: "auto",
      width: "56px", height: "56px", "border-radius": "50%", border: "0", margin: "0", padding: "0",
      display: "flex", "align-items": "center", "justify-content": "center", cursor: "pointer",
      background: color, color: textOn(color), "box-shadow": "0 4px 16px rgba(0,0,0,.25)",
      "z-index": "1", transition: "transform .15s ease", "box-sizing": "border-box",
    });
    layoutPanel();
  };

  const showInline = () => {
    css(host, { position: "static", display: "block", width: "100%", height: "auto" });
    css(frame, { position: "static", width: "100%", height: `${height}px`, visibility: "visible" });
  };

  const ready = (data) => {
    const given = data.look || {};
    look = {
      mode: given.mode === "inline" ? "inline" : "bubble",
      position: given.position === "bottom-left" ? "bottom-left" : "bottom-right",
      color: COLOR.test(given.color) ? given.color : DEFAULT_COLOR,
      title: typeof given.title === "string" && given.title.trim() ? given.title.trim().slice(0, 120) : "Chat",
    };
    frame.setAttribute("title", look.title);
    if (look.mode === "bubble") {
      // Moving an iframe reloads it (it says ready again, once) unless the
      // browser can move it as it is.
      if (!moved && doc.body && host.parentNode !== doc.body && trapsFixed(host)) {
        moved = true;
        if (doc.body.moveBefore) {
          doc.body.moveBefore(host, null);
        } else {
          doc.body.appendChild(host);
          return;
        }
      }
      showBubble();
    } else {
      showInline();
    }
    if (!announced) {
      announced = true;
      doc.dispatchEvent(
        new CustomEvent("agentdeck:embed-ready", {
          bubbles: true,
          detail: { embed: id, mode: look.mode, at: performance.now() },
        }),
      );
    }
  };

  window.addEventListener("message", guard((event) => {
    if (event.origin !== server || event.source !== frame.contentWindow) return;
    const data = event.data;
    if (!data || typeof data !== "object" || data.source !== SOURCE) return;
    if (data.type === "ready") {
      ready(data);
    } else if (data.type === "refused") {
      warn(`embed ${id} is not shown here: ${String(data.message).slice(0, 300)}`);
    } else if (data.type === "close") {
      if (look && look.mode === "bubble") toggle(false);
    } else if (data.type === "resize") {
      const next = Number(data.height);
      if (!Number.isFinite(next)) return;
      height = Math.min(Math.max(Math.ceil(next), 0), 20000);
      if (look && look.mode === "inline") css(frame, { height: `${height}px` });
    }
  }));

  place(script, host);
}

try {
  const me = document.currentScript;
  if (me) {
    start(me);
  } else {
    // Run some other way than from its own <script> (a tag manager's
    // eval): every snippet of ours that has not started yet.
    for (const script of document.querySelectorAll("script[data-embed]:not([data-agentdeck-started])")) {
      if (/\/embed\.js(?:[?#]|$)/.test(script.src)) guard(start)(script);
    }
  }
} catch (error) {
  warn(error);
}
