// Customer Support: triages a customer message (topic, queue, urgency, sentiment), finds the
// help-centre entries that answer it and drafts a reply from those entries only. When nothing
// in the knowledge base covers the question, or an urgent message is also an angry one, it
// hands the ticket to a human. Ticket numbers and per-topic counts live in the key-value store.
//
// Input:  { "message": "…", "ticket": { "customer", "plan", "priority" }, "knowledge": [{ "id", "question", "answer" }] }
// Output: { ticket: { number, category, queue, urgency, sentiment }, reply, sources, confidence, needs_human, counts }
// Needs:  capabilities.kv (counters), capabilities.llm (the reply), config KNOWLEDGE_BASE and TONE

const CATEGORIES = {
  billing: ["invoice", "charge", "charged", "payment", "card", "billing", "receipt", "price", "vat"],
  refunds: ["refund", "money back", "reimburse", "return"],
  shipping: ["delivery", "shipped", "shipping", "tracking", "package", "parcel", "arrive", "courier"],
  account: ["login", "log in", "password", "sign in", "2fa", "locked", "account", "username"],
  technical: ["error", "bug", "crash", "broken", "not working", "doesn't work", "slow", "timeout", "500"],
  feature_request: ["feature", "would be great", "could you add", "wish", "suggestion", "roadmap"],
};
const QUEUES = {
  billing: "billing",
  refunds: "billing",
  shipping: "logistics",
  account: "accounts",
  technical: "tech-support",
  feature_request: "product",
  other: "general",
};
// Words that make a message urgent, with their weight; three points make it high.
const URGENT = [
  [/\b(urgent|asap|immediately|right now|emergency)\b/i, 3],
  [/\b(down|outage|can'?t log ?in|cannot log ?in|locked out|data loss|hacked|security)\b/i, 2],
  [/\b(charged twice|double charged)\b/i, 2],
];
const POSITIVE = "thanks thank great love appreciate happy awesome helpful".split(" ");
const NEGATIVE = ["angry", "frustrated", "terrible", "worst", "unacceptable", "disappointed", "ridiculous"];
const REPEATED = ["annoyed", "again", "still", "never", "second time"];
const STOP = new Set(
  (
    "the and for you your our with this that have has was were are can could would will what when how why who " +
    "does did not but from about into just any all get got there their them they its it's i'm"
  ).split(" "),
);
const words = (text) =>
  (text.toLowerCase().match(/[a-z0-9']+/g) ?? [])
    .filter((w) => w.length > 2 && !STOP.has(w))
    .map((w) => w.replace(/(ing|ed|es|s)$/, ""));
const count = (text, terms) => terms.filter((term) => new RegExp(`\\b${term}\\b`, "i").test(text)).length;

function readKnowledge(entries, field) {
  if (entries === undefined || entries === null) return [];
  if (!Array.isArray(entries)) throw new Error(`${field} must be an array of { question, answer } entries`);
  return entries.map((entry, i) => {
    if (typeof entry?.question !== "string" || typeof entry?.answer !== "string") {
      throw new Error(`${field}[${i}] must have a question and an answer as strings`);
    }
    return {
      id: String(entry.id ?? `${field}-${i + 1}`),
      question: entry.question,
      answer: entry.answer,
      tags: entry.tags ?? [],
    };
  });
}

export default async function run(input, ctx) {
  if (typeof input?.message !== "string" || input.message.trim() === "") {
    throw new Error("input.message must hold the customer's message");
  }
  if (input.ticket !== undefined && (input.ticket === null || typeof input.ticket !== "object")) {
    throw new Error("input.ticket must be an object");
  }
  const ticket = input.ticket ?? {};
  const message = input.message.trim();
  let configured = [];
  const stored = ctx.config.get("KNOWLEDGE_BASE");
  if (stored) {
    try {
      configured = JSON.parse(stored);
    } catch {
      throw new Error("the KNOWLEDGE_BASE configuration is not JSON: give an array of { question, answer }");
    }
  }
  const knowledge = [
    ...readKnowledge(configured, "KNOWLEDGE_BASE"),
    ...readKnowledge(input.knowledge, "input.knowledge"),
  ];

  const scores = Object.entries(CATEGORIES).map(([name, terms]) => [name, count(message, terms)]);
  const [category, hits] = scores.reduce((best, next) => (next[1] > best[1] ? next : best), ["other", 0]);
  let urgencyScore = URGENT.reduce((sum, [pattern, weight]) => sum + (pattern.test(message) ? weight : 0), 0);
  const letters = message.replace(/[^A-Za-z]/g, "");
  if (/!{2,}/.test(message) || (letters.length >= 20 && letters.replace(/[^A-Z]/g, "").length / letters.length > 0.3)) {
    urgencyScore += 1;
  }
  if (String(ticket.plan ?? "").toLowerCase() === "enterprise") urgencyScore += 1;
  if (String(ticket.priority ?? "").toLowerCase() === "high") urgencyScore += 1;
  const urgency = urgencyScore >= 3 ? "high" : urgencyScore >= 1 ? "medium" : "low";
  const mood = count(message, POSITIVE) - count(message, [...NEGATIVE, ...REPEATED]);
  const sentiment = mood > 0 ? "positive" : mood < 0 ? "negative" : "neutral";

  // Coverage of the message's words by each entry, words weighted by rarity across the entries.
  const asked = [...new Set(words(message))];
  const docs = knowledge.map(
    (entry) => new Set(words(`${entry.question} ${entry.question} ${entry.answer} ${entry.tags.join(" ")}`)),
  );
  const idf = (w) => Math.log(1 + (docs.length + 1) / (1 + docs.filter((d) => d.has(w)).length));
  const total = asked.reduce((sum, w) => sum + idf(w), 0) || 1;
  const matched = (i) => asked.filter((w) => docs[i].has(w)).reduce((sum, w) => sum + idf(w), 0);
  const ranked = knowledge
    .map((entry, i) => ({ entry, score: Math.round((matched(i) / total) * 100) / 100 }))
    .filter((r) => r.score >= 0.2)
    .sort((a, b) => b.score - a.score || a.entry.id.localeCompare(b.entry.id))
    .slice(0, 2);
  const best = ranked[0]?.score ?? 0;
  const confidence = best >= 0.35 ? "high" : best >= 0.2 ? "medium" : "low";
  const needsHuman = confidence === "low" || (urgency === "high" && sentiment === "negative");

  const sequence = (ctx.kv.get("tickets:seq") ?? 0) + 1;
  ctx.kv.set("tickets:seq", sequence);
  const perCategory = (ctx.kv.get(`tickets:category:${category}`) ?? 0) + 1;
  ctx.kv.set(`tickets:category:${category}`, perCategory);

  const queue = QUEUES[category];
  const tone = ctx.config.get("TONE") ?? "friendly and concise";
  const handover = `Thank you for getting in touch. I have passed your message to our ${queue} team, who will reply soon.`;
  const entries = ranked.map((r) => r.entry);
  const reply = entries.length === 0 ? handover : await draft(ctx, message, entries, tone, ticket.customer);
  ctx.log.info(`ticket ${sequence}: ${category} (${hits} signals), ${urgency}, ${sentiment}, confidence ${confidence}`);
  return {
    ticket: { number: `T-${String(sequence).padStart(6, "0")}`, category, queue, urgency, sentiment },
    reply,
    sources: ranked.map((r) => ({ id: r.entry.id, question: r.entry.question, score: r.score })),
    confidence,
    needs_human: needsHuman,
    counts: { total: sequence, [category]: perCategory },
  };
}

async function draft(ctx, message, entries, tone, customer) {
  const facts = entries.map((e) => `${e.answer} (from "${e.question}")`).join("\n");
  try {
    const system =
      `You are a customer support agent. Draft a reply in a ${tone} tone using ONLY the help-centre facts given first. ` +
      "Promise nothing the facts do not say; if they do not fully answer, say a colleague will follow up.";
    const prompt = `${facts}\n\nCustomer${customer ? ` ${customer}` : ""} wrote:\n${message}`;
    return (await ctx.llm.complete(prompt, { system, temperature: 0.3, maxTokens: 180 })).trim();
  } catch (error) {
    if (!String(error.message).startsWith("denied:")) throw error;
    return `Thank you for getting in touch. ${entries[0].answer}`;
  }
}
