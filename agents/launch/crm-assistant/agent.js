// CRM Assistant: turns call notes or an email thread into CRM updates. It extracts the contact's
// email, phone, role, company and deal stage with the sentence that shows each; finds dated
// follow-ups; warns about likely duplicates among the contacts it has seen; and keeps contacts
// and open follow-ups in its key-value store so due ones come back on later runs.
//
// Input:  { "contact": { "id", "name", "email", "phone", "company", "role", "stage" },
//           "notes": "…" and/or "email": "…", "as_of": "2026-04-15" }
// Output: { contact_id, changes: [{ field, from, to, evidence }], contact, tasks, duplicates, due_tasks, summary }
// Needs:  capabilities.kv (contacts, follow-ups), capabilities.llm (the activity summary)

const DAY = 86400000;
const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const MONTHS = "january february march april may june july august september october november december".split(" ");
const STAGES = [
  ["closed_lost", /\b(went with a competitor|chose another vendor|deal is lost|not moving forward)\b/i],
  ["closed_won", /\b(signed|contract is back|closed the deal)\b/i],
  ["negotiation", /\b(negotiat\w*|redlines?|discount)\b/i],
  ["proposal", /\bproposal\b/i],
  ["demo", /\bdemo\b/i],
];
// An action as an instruction ("Send the deck …") or a commitment ("we will call …"), not "Call with …".
const TASK =
  /(^|\b(?:will|to|should|must|need to|needs to)\s+)(please\s+)?(follow up|follow-up|send|email|call(?!\s+with\b)|remind|schedule|book|check in)\b/i;
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
const slug = (text) => (text.toLowerCase().match(/[a-z0-9]+/g) ?? ["contact"]).join("-");
const digits = (phone) => String(phone ?? "").replace(/[^\d+]/g, "");

export default async function run(input, ctx) {
  const contact = input?.contact;
  if (contact === null || typeof contact !== "object" || Array.isArray(contact)) {
    throw new Error("input.contact must be an object with at least a name");
  }
  if (typeof contact.name !== "string" || !contact.name.trim()) throw new Error("input.contact.name must be given");
  for (const field of ["notes", "email"]) {
    if (input[field] !== undefined && typeof input[field] !== "string") throw new Error(`input.${field} must be text`);
  }
  const text = [input.notes, input.email].filter((t) => t?.trim()).join("\n\n");
  if (!text) throw new Error("input.notes or input.email must hold the text to read");
  const asOf = input.as_of ?? iso(Date.now());
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || Number.isNaN(Date.parse(asOf))) {
    throw new Error("input.as_of must be a date as YYYY-MM-DD");
  }
  const today = Date.parse(asOf);
  const sentences = text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const evidence = (pattern) => sentences.find((s) => pattern.test(s)) ?? null;

  const found = {};
  // An address is the contact's when it holds part of their name: notes mention other people too.
  const nameParts = contact.name.toLowerCase().split(/\s+/);
  const addresses = [...text.matchAll(/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g)].map((m) => m[0].toLowerCase());
  const email = addresses.find((address) => nameParts.some((part) => address.includes(part)));
  if (email) found.email = { value: email, evidence: evidence(new RegExp(email.replace(/[.+]/g, "\\$&"), "i")) };
  const phone = text.match(/\+?\d[\d\s().-]{7,}\d/);
  if (phone) found.phone = { value: digits(phone[0]), evidence: evidence(/\+?\d[\d\s().-]{7,}\d/) };
  const roleAt = text.match(
    /\b(?:is now|is|now|joined as|as)\s+(?:the\s+|a\s+|an\s+)?((?:[A-Z][\w&/-]*\s?(?:of\s)?){1,5}?)\s+at\s+([A-Z][\w&.-]*(?:\s[A-Z][\w&.-]*){0,3})/,
  );
  if (roleAt) {
    found.role = { value: roleAt[1].trim(), evidence: evidence(/\sat\s/) };
    found.company = { value: roleAt[2].replace(/[.,]$/, ""), evidence: found.role.evidence };
  }
  const stage = STAGES.find(([, pattern]) => pattern.test(text));
  if (stage) found.stage = { value: stage[0], evidence: evidence(stage[1]) };

  const changes = [];
  const updated = { ...contact };
  for (const [field, { value, evidence: why }] of Object.entries(found)) {
    const current = contact[field] ?? null;
    const same = field === "phone" ? digits(current) === value : String(current).toLowerCase() === value.toLowerCase();
    if (!same) {
      changes.push({ field, from: current, to: value, evidence: why });
      updated[field] = value;
    }
  }
  const id = String(contact.id ?? slug(updated.email ?? contact.name));
  updated.id = id;

  const tasks = sentences
    .filter((s) => TASK.test(s))
    .map((s) => ({ title: s.replace(/\s+/g, " ").slice(0, 160), due: dueDate(s, today) }));
  const duplicates = findDuplicates(ctx, updated);
  ctx.kv.set(`contact:${id}`, updated);
  // Keys start with the due date, so listing them in order lists follow-ups by date.
  tasks.forEach((task, n) => {
    const key = `task:${task.due ?? "undated"}:${id}:${slug(task.title).slice(0, 60)}:${n}`;
    ctx.kv.set(key, { contact_id: id, ...task });
  });
  const dueTasks = ctx.kv
    .list("task:", 1000)
    .filter((key) => key.slice(5, 15) <= asOf && !key.startsWith("task:undated"))
    .map((key) => ctx.kv.get(key));

  const summary = await summarise(ctx, contact.name, text);
  return { contact_id: id, changes, contact: updated, tasks, duplicates, due_tasks: dueTasks, summary };
}

/** A date the sentence names: ISO, "tomorrow", "next week", "in 3 days", "by Friday", "on May 4". */
function dueDate(sentence, today) {
  const s = sentence.toLowerCase();
  let m = s.match(/\b(\d{4}-\d{2}-\d{2})\b/);
  if (m && !Number.isNaN(Date.parse(m[1]))) return m[1];
  if (/\btomorrow\b/.test(s)) return iso(today + DAY);
  if (/\bnext week\b/.test(s)) return iso(today + ((8 - new Date(today).getUTCDay()) % 7 || 7) * DAY);
  if ((m = s.match(/\bin (\d+|a|one|two|three) (day|week)s?\b/))) {
    const n = { a: 1, one: 1, two: 2, three: 3 }[m[1]] ?? Number(m[1]);
    return iso(today + n * (m[2] === "week" ? 7 : 1) * DAY);
  }
  if ((m = s.match(new RegExp(`\\b(${MONTHS.join("|")}) (\\d{1,2})(?:st|nd|rd|th)?\\b`)))) {
    const year = new Date(today).getUTCFullYear();
    const date = Date.UTC(year, MONTHS.indexOf(m[1]), Number(m[2]));
    return iso(date < today ? Date.UTC(year + 1, MONTHS.indexOf(m[1]), Number(m[2])) : date);
  }
  if ((m = s.match(new RegExp(`\\b(?:by|on|next|this)?\\s*(${WEEKDAYS.join("|")})\\b`)))) {
    const ahead = (WEEKDAYS.indexOf(m[1]) - new Date(today).getUTCDay() + 7) % 7 || 7;
    return iso(today + ahead * DAY);
  }
  return null;
}

function findDuplicates(ctx, contact) {
  const name = (n) =>
    String(n ?? "")
      .toLowerCase()
      .replace(/[^a-z ]/g, "");
  const domain = (e) => String(e ?? "").split("@")[1] ?? null;
  const duplicates = [];
  for (const key of ctx.kv.list("contact:", 1000)) {
    const other = ctx.kv.get(key);
    if (!other || other.id === contact.id) continue;
    const reasons = [];
    if (contact.email && other.email?.toLowerCase() === contact.email.toLowerCase()) reasons.push("same email");
    if (contact.phone && digits(other.phone) === digits(contact.phone)) reasons.push("same phone");
    const distance = levenshtein(name(contact.name), name(other.name));
    const sameOrg =
      (contact.company && other.company?.toLowerCase() === contact.company.toLowerCase()) ||
      (domain(contact.email) && domain(contact.email) === domain(other.email));
    const similar = distance === 0 ? "same name" : `similar name (${distance} letter${distance > 1 ? "s" : ""} apart)`;
    if (distance <= 2 && sameOrg) reasons.push(`${similar} at the same company`);
    if (reasons.length > 0) {
      duplicates.push({ contact_id: other.id, name: other.name, email: other.email ?? null, reasons });
    }
  }
  return duplicates;
}

function levenshtein(a, b) {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const next = [i];
    for (let j = 1; j <= b.length; j += 1) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

async function summarise(ctx, name, text) {
  try {
    const system = `Write a one-sentence CRM activity log entry about this interaction with ${name}. Facts only.`;
    return (await ctx.llm.complete(text, { system, temperature: 0.2, maxTokens: 50 })).trim();
  } catch (error) {
    if (String(error.message).startsWith("denied:")) return null;
    throw error;
  }
}
