// The frame's one way of making elements. Text goes in as text nodes
// (append of a string) or textContent, never as markup: what the server and
// the agent send is shown, not parsed.

/**
 * `h("button", {type: "button", "data-send": true, onclick: send}, ["Send"])`:
 * attributes by name (true for an empty one; null, undefined and false for
 * none), `on<event>` for listeners.
 */
export function h(tag, attributes = {}, children = []) {
  const el = document.createElement(tag);
  for (const name in attributes) {
    const value = attributes[name];
    if (value == null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of [].concat(children)) {
    if (child != null && child !== false) el.append(child);
  }
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

/** A 20px stroked icon from one path, hidden from assistive technology. */
export function icon(d) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", d);
  svg.append(path);
  return svg;
}

export const CLOSE_ICON = "M6 6l12 12M18 6L6 18";
export const SEND_ICON = "M5 12h13M13 6l6 6-6 6";
