// Event Manager: plans an event backwards from its date (a timeline of tasks with owners and
// deadlines), lays out the agenda from the start time, sizes the checklist from the headcount
// and drafts the invitation and reminder. The plan lives in the key-value store, so a change
// of date, time, venue or headcount recomputes it and reports every task and quantity that moved.
//
// Input:  { "event": { "name", "type", "date", "start_time", "duration_hours", "size", "location" }, "as_of" }
//    or:  { "change": { "event_id", "date"?, "start_time"?, "size"?, "location"? }, "as_of" }
// Output: { event_id, event, agenda, timeline, checklist, messages, warnings, changes? }
// Needs:  capabilities.kv (the plans), capabilities.llm (polishing the invitation)

const DAY = 86400000;
// Per type: default length, the share of invitees who usually come, and the agenda as
// [item, minutes] (the last item takes what is left).
// prettier-ignore
const TYPES = {
  meetup: { hours: 2.5, show: 0.6, agenda: [["Doors open and welcome", 30], ["Talk 1", 25], ["Talk 2", 25], ["Q&A", 15], ["Networking", 0]] },
  webinar: { hours: 1, show: 0.4, agenda: [["Welcome", 5], ["Presentation", 30], ["Live demo", 15], ["Q&A", 0]] },
  workshop: { hours: 3, show: 0.85, agenda: [["Introductions", 15], ["Session 1", 60], ["Break", 15], ["Session 2", 60], ["Wrap-up", 0]] },
  offsite: { hours: 8, show: 1, agenda: [["Arrival and coffee", 30], ["Strategy session", 120], ["Lunch", 60], ["Working groups", 120], ["Break", 15], ["Team activity", 0]] },
  conference: { hours: 8, show: 0.8, agenda: [["Registration", 45], ["Keynote", 45], ["Morning tracks", 120], ["Lunch", 60], ["Afternoon tracks", 120], ["Closing panel", 0]] },
};
const CHANGEABLE = ["name", "date", "start_time", "duration_hours", "size", "location"];
// [key, days before (negative: after), owner, types it applies to, what]
const TASKS = [
  ["goals", 60, "host", "offsite conference", "Agree goals, budget and owner"],
  ["goals", 35, "host", "meetup workshop webinar", "Agree goals, budget and owner"],
  ["venue", 56, "ops", "offsite conference", "Book the venue at {location} for {size} people"],
  ["venue", 28, "ops", "meetup workshop", "Book the venue at {location} for {size} people"],
  ["travel", 42, "ops", "offsite", "Book travel and rooms for {size} people"],
  ["platform", 14, "ops", "webinar", "Set up the streaming platform for {size} registrations"],
  ["speakers", 28, "host", "meetup conference webinar workshop", "Confirm speakers and the agenda"],
  ["invite", 21, "marketing", "meetup conference workshop offsite", "Send the invitations"],
  ["invite", 14, "marketing", "webinar", "Send the invitations"],
  ["catering", 10, "ops", "meetup conference workshop offsite", "Order catering for {catering} people"],
  ["reminder-week", 7, "marketing", "all", "Send the one-week reminder"],
  ["signage", 5, "ops", "meetup conference workshop", "Print {attendance} badges and the signage"],
  ["tech-check", 2, "host", "webinar conference", "Run the tech check with speakers"],
  ["reminder-day", 1, "marketing", "all", "Send the day-before reminder"],
  ["follow-up", -1, "marketing", "all", "Send thanks, slides and a feedback survey"],
];
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
const slug = (text) => (text.toLowerCase().match(/[a-z0-9]+/g) ?? ["event"]).join("-");
const two = (n) => String(n).padStart(2, "0");
const clock = (minutes) => `${two(Math.floor(minutes / 60) % 24)}:${two(minutes % 60)}`;
const isDate = (s) => typeof s === "string" && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s));

function check(event, field) {
  const text = (value) => typeof value === "string" && value.trim() !== "";
  const hours = event.duration_hours ?? 1;
  const problem = [
    [!text(event.name), "name must be a non-empty string"],
    [!TYPES[event.type], `type must be one of ${Object.keys(TYPES).join(", ")}`],
    [!isDate(event.date), "date must be a date as YYYY-MM-DD"],
    [!/^([01]\d|2[0-3]):[0-5]\d$/.test(event.start_time ?? ""), "start_time must be a time as HH:MM"],
    [!Number.isInteger(event.size) || event.size < 1 || event.size > 100000, "size must be 1 to 100000 people"],
    [event.type !== "webinar" && !text(event.location), "location must name the venue or city"],
    [!(hours > 0 && hours <= 24), "duration_hours must be more than 0 and at most 24"],
  ].find(([bad]) => bad);
  if (problem) throw new Error(`${field}.${problem[1]}`);
  return event;
}

function plan(event, today) {
  const type = TYPES[event.type];
  const attendance = Math.ceil(event.size * type.show);
  const values = {
    location: event.location ?? "online",
    size: event.size,
    attendance,
    catering: Math.ceil(attendance * 1.1),
  };
  const fill = (text) => text.replace(/\{(\w+)\}/g, (_, key) => String(values[key]));
  const day = Date.parse(event.date);
  const timeline = TASKS.filter(([, , , types]) => types === "all" || types.split(" ").includes(event.type))
    .map(([key, before, owner, , what]) => ({ key, task: fill(what), owner, due: iso(day - before * DAY) }))
    .map((task) => ({ ...task, status: task.due < iso(today) ? "overdue" : "todo" }))
    .sort((a, b) => a.due.localeCompare(b.due));

  const total = Math.round((event.duration_hours ?? type.hours) * 60);
  const fixed = type.agenda.reduce((sum, [, minutes]) => sum + minutes, 0);
  const scale = fixed >= total ? (total * 0.8) / fixed : 1;
  let at = Number(event.start_time.slice(0, 2)) * 60 + Number(event.start_time.slice(3));
  const end = at + total;
  const agenda = type.agenda.map(([item, minutes], i) => {
    const length = i === type.agenda.length - 1 ? end - at : Math.round(minutes * scale);
    const slot = { time: clock(at), item, minutes: length };
    at += length;
    return slot;
  });

  const quantities =
    event.type === "webinar"
      ? { "Streaming seats": event.size, "Speaker headsets": 2 }
      : {
          Chairs: attendance,
          "Name badges": attendance,
          "Catering portions": values.catering,
          "Water bottles": values.catering * (total > 180 ? 2 : 1),
        };
  const checklist = Object.entries(quantities).map(([item, quantity]) => ({ item, quantity }));
  const overdue = timeline.filter((t) => t.status === "overdue").map((t) => t.task);
  const warnings = overdue.length
    ? [`${overdue.length} task(s) are already past their deadline: ${overdue.join("; ")}`]
    : [];
  const where = event.type === "webinar" ? "online" : `at ${event.location}`;
  const when = `${event.date} from ${event.start_time} ${where}`;
  const items = agenda.slice(1).map((a) => a.item);
  const messages = {
    invitation: `You are invited to ${event.name}, a ${event.type} on ${when}. On the agenda: ${items.join(", ")}. Please reply by ${iso(day - 7 * DAY)} so we can plan for you.`,
    reminder: `Reminder: ${event.name} is tomorrow, ${when}. We look forward to seeing you.`,
  };
  return { agenda, timeline, checklist, messages, warnings, expected_attendance: attendance };
}

function diff(before, after) {
  const moved = [];
  for (const task of after.timeline) {
    const old = before.timeline.find((t) => t.key === task.key);
    if (old && (old.due !== task.due || old.task !== task.task)) {
      moved.push({ task: task.task, from: old.due, to: task.due });
    }
  }
  for (const item of after.checklist) {
    const old = before.checklist.find((c) => c.item === item.item);
    if (old && old.quantity !== item.quantity) moved.push({ item: item.item, from: old.quantity, to: item.quantity });
  }
  const [was, is] = [before.agenda[0]?.time, after.agenda[0]?.time];
  if (was !== is) moved.push({ agenda: "start", from: was, to: is });
  return moved;
}

export default async function run(input, ctx) {
  if (input === null || typeof input !== "object") throw new Error("input.event or input.change is required");
  const asOf = input.as_of ?? iso(Date.now());
  if (!isDate(asOf)) throw new Error("input.as_of must be a date as YYYY-MM-DD");
  const today = Date.parse(asOf);
  let id, event, changes;
  if (input.change !== undefined) {
    const change = input.change;
    if (typeof change?.event_id !== "string") throw new Error("input.change.event_id must name the event to change");
    const stored = ctx.kv.get(`event:${change.event_id}`);
    if (stored === null) throw new Error(`input.change.event_id: there is no event ${JSON.stringify(change.event_id)}`);
    const { event_id: _, ...fields } = change;
    const keys = Object.keys(fields).sort();
    if (keys.length === 0) throw new Error(`input.change must change at least one of ${CHANGEABLE.join(", ")}`);
    const fixed = keys.find((key) => !CHANGEABLE.includes(key));
    if (fixed) {
      throw new Error(`input.change.${fixed} cannot be changed; it is one of the event's fixed fields or unknown`);
    }
    id = change.event_id;
    event = check({ ...stored.event, ...fields }, "input.change");
    const changed = keys.filter((key) => stored.event[key] !== fields[key]);
    changes = { fields: changed.map((key) => ({ field: key, from: stored.event[key] ?? null, to: fields[key] })) };
    changes.moved = diff(stored.plan, plan(event, today));
  } else if (input.event !== undefined) {
    if (input.event === null || typeof input.event !== "object") throw new Error("input.event must be an object");
    event = check({ ...input.event }, "input.event");
    id = `${slug(event.name)}-${event.date}`;
  } else {
    throw new Error("input.event (a new event) or input.change (to a stored one) is required");
  }
  const result = plan(event, today);
  ctx.kv.set(`event:${id}`, { event, plan: result });
  result.messages.invitation = await polish(ctx, result.messages.invitation);
  return { event_id: id, event, ...result, ...(changes ? { changes } : {}) };
}

async function polish(ctx, text) {
  try {
    const system =
      "Rewrite this invitation to be warm and concise (at most 90 words), keeping every date, time and place.";
    return (await ctx.llm.complete(text, { system, temperature: 0.5, maxTokens: 160 })).trim();
  } catch (error) {
    if (String(error.message).startsWith("denied:")) return text;
    throw error;
  }
}
