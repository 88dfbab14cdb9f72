// The form an embed with input "form" shows: one field per property of its
// input_schema (a JSON Schema object), sent as {"input": {…}} to the same
// endpoint as a chat message. What the browser can check (required, lengths,
// ranges, patterns, formats) it checks before sending; the server checks
// the rest and its 422 shows as a notice.
//
//   string                      <input>, a <textarea> when maxLength > 200
//   enum (any type)             <select>
//   number, integer             <input type="number">
//   boolean                     a checkbox
//   anything else               a <textarea> of JSON
//
// A schema with no properties this can show gives null, and the frame
// falls back to the chat input.

import { h } from "./dom.js";

const FORMATS = { email: "email", uri: "url", url: "url", date: "date", "date-time": "datetime-local", time: "time" };

// ["string", "null"] is a string that may be left out.
const typeOf = (schema) =>
  Array.isArray(schema.type) ? schema.type.find((type) => type !== "null") : schema.type;

let serial = 0;

function field(name, schema, required) {
  const id = `f${serial++}`;
  const type = typeOf(schema);
  const label = typeof schema.title === "string" && schema.title ? schema.title : name;
  const help = typeof schema.description === "string" && schema.description ? schema.description : null;
  const helpId = help ? `${id}-help` : null;
  const common = { id, name, required: required && type !== "boolean", "aria-describedby": helpId };
  let control;
  let read;

  if (Array.isArray(schema.enum) && schema.enum.length) {
    const options = schema.enum.map((value, index) =>
      h("option", { value: String(index), selected: schema.default === value }, value === null ? "—" : String(value)),
    );
    if (!required || schema.default === undefined) options.unshift(h("option", { value: "" }, required ? "Choose…" : "—"));
    control = h("select", common, options);
    read = () => (control.value === "" ? undefined : schema.enum[Number(control.value)]);
  } else if (type === "boolean") {
    control = h("input", { ...common, type: "checkbox", checked: schema.default === true });
    read = () => control.checked;
  } else if (type === "number" || type === "integer") {
    control = h("input", {
      ...common,
      type: "number",
      inputmode: type === "integer" ? "numeric" : "decimal",
      step: type === "integer" ? "1" : "any",
      min: typeof schema.minimum === "number" ? schema.minimum : null,
      max: typeof schema.maximum === "number" ? schema.maximum : null,
      value: typeof schema.default === "number" ? schema.default : null,
    });
    read = () => (control.value === "" ? undefined : Number(control.value));
  } else if (type === "string") {
    const long = typeof schema.maxLength === "number" && schema.maxLength > 200;
    const limits = {
      minlength: typeof schema.minLength === "number" ? schema.minLength : null,
      maxlength: typeof schema.maxLength === "number" ? schema.maxLength : null,
    };
    if (long) {
      control = h("textarea", { ...common, ...limits, rows: 4 });
    } else {
      control = h("input", {
        ...common,
        ...limits,
        type: FORMATS[schema.format] || "text",
        pattern: typeof schema.pattern === "string" ? schema.pattern : null,
      });
    }
    if (typeof schema.default === "string") control.value = schema.default;
    read = () => {
      const value = control.value;
      if (value === "") return undefined;
      // <input type="datetime-local"> has no zone; the schema wants RFC 3339.
      if (schema.format === "date-time") {
        const when = new Date(value);
        return Number.isNaN(when.getTime()) ? value : when.toISOString();
      }
      return value;
    };
  } else {
    control = h("textarea", { ...common, rows: 3, class: "json", spellcheck: "false", placeholder: "JSON" });
    if (schema.default !== undefined) control.value = JSON.stringify(schema.default, null, 2);
    control.addEventListener("input", () => control.setCustomValidity(""));
    read = () => {
      if (control.value.trim() === "") return undefined;
      try {
        return JSON.parse(control.value);
      } catch (_) {
        control.setCustomValidity("Not valid JSON");
        control.reportValidity();
        throw new Error("invalid JSON");
      }
    };
  }

  const title = h("span", {}, [label, common.required && h("span", { class: "required", "aria-hidden": "true" }, " *")]);
  const el =
    type === "boolean"
      ? h("div", { class: "field check" }, [control, h("label", { for: id }, title), help && h("small", { id: helpId, class: "help" }, help)])
      : h("div", { class: "field" }, [h("label", { for: id }, title), control, help && h("small", { id: helpId, class: "help" }, help)]);
  return { name, label, el, control, read };
}

/** The form for `schema`, or null when it has no field this can show. */
export function createForm(schema, conversation) {
  if (!schema || typeof schema !== "object" || !schema.properties || typeof schema.properties !== "object") return null;
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const fields = Object.keys(schema.properties)
    .filter((name) => schema.properties[name] && typeof schema.properties[name] === "object")
    .map((name) => field(name, schema.properties[name], required.has(name)));
  if (!fields.length) return null;

  const button = h("button", { type: "submit", class: "send wide", "data-send": true }, "Send");
  const form = h("form", { class: "schema-form" }, [
    typeof schema.description === "string" && schema.description ? h("p", { class: "help" }, schema.description) : null,
    ...fields.map((f) => f.el),
    button,
  ]);
  let sending = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    const input = {};
    const lines = [];
    try {
      for (const f of fields) {
        const value = f.read();
        if (value === undefined) continue;
        input[f.name] = value;
        lines.push(`${f.label}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
      }
    } catch (_) {
      return;
    }
    sending = true;
    button.disabled = true;
    await conversation.send({ input }, lines.join("\n") || "(empty)");
    sending = false;
    button.disabled = false;
  });

  return { el: form, focus: () => fields[0].control.focus() };
}
