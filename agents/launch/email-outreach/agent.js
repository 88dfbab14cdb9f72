// Email Outreach: researches a prospect's company from its website (title, description, headline,
// facts with numbers, signals such as hiring), drafts a short first email that ties one of those
// facts to the offer, and a follow-up sequence with a new angle each time. The model rewrites
// the drafts in a human voice; the agent then checks every email for spam phrases and length
// and makes sure each one offers a polite way out.
//
// Input:  { "prospect": { "name", "role", "company", "website" }, "offer": { "product", "value", "proof" },
//           "sender": { "name", "company" }, "follow_ups": 3 }
// Output: { research, subject_lines, first_email, follow_ups: [{ delay_days, subject, body }], delays_days, checks }
// Needs:  capabilities.http for the prospect's website, capabilities.llm for the rewrites

const DELAYS = [3, 7, 14, 21];
// Phrases that spam filters and wary readers react to.
const SPAM = [
  "free",
  "guarantee",
  "act now",
  "limited time",
  "risk-free",
  "no obligation",
  "100%",
  "click here",
  "buy now",
  "winner",
  "urgent",
  "once in a lifetime",
  "cash",
];
const OPT_OUT = "If this is not a priority right now, just say so and I will not follow up again.";
const SIGNALS = [
  ["hiring", /\b(hiring|join our team|open roles|careers)\b/i],
  ["growth", /\b(grew|growing|expanded|expansion|doubled)\b/i],
  ["launch", /\b(launch(ed|es)?|introducing|now available)\b/i],
  ["funding", /\b(raised|series [a-d]|funding)\b/i],
];
const ENTITIES = { "&amp;": "&", "&#39;": "'", "&apos;": "'", "&quot;": '"', "&nbsp;": " ", "&lt;": "<", "&gt;": ">" };
const decode = (s) => s.replace(/&(amp|#39|apos|quot|nbsp|lt|gt);/g, (entity) => ENTITIES[entity]);
const text = (html) =>
  decode(html.replace(/<[^>]*>/g, " "))
    .replace(/\s+/g, " ")
    .trim();
const wordCount = (s) => (s.match(/\S+/g) ?? []).length;

function required(object, key, field) {
  if (typeof object?.[key] !== "string" || object[key].trim() === "") {
    throw new Error(`${field}.${key} must be a non-empty string`);
  }
  return object[key].trim();
}

async function research(ctx, website) {
  if (website === undefined) return { fetched: false, reason: "no website given", facts: [], signals: [] };
  if (typeof website !== "string" || !/^https?:\/\/[^/\s]+/i.test(website)) {
    throw new Error("input.prospect.website must be an absolute http(s) address");
  }
  let response;
  try {
    response = await ctx.http.fetch(website, { headers: { accept: "text/html" } });
  } catch (error) {
    ctx.log.warn(`could not read ${website}: ${error.message}`);
    return { fetched: false, reason: error.message, facts: [], signals: [] };
  }
  if (!response.ok) {
    return { fetched: false, reason: `the website answered HTTP ${response.status}`, facts: [], signals: [] };
  }
  const html = response.body.slice(0, 300000).replace(/<(script|style|noscript)\b[\s\S]*?<\/\1>/gi, " ");
  const description = html.match(/<meta\b[^>]*name=["']description["'][^>]*content=["']([^"']*)["']/i)?.[1] ?? null;
  // Block ends become line breaks so a heading does not run into the paragraph after it.
  const ends = /<\/(p|h[1-6]|li|div|section|td)>|<br\s*\/?>/gi;
  const blocks = (html.match(/<body\b[^>]*>([\s\S]*)<\/body>/i)?.[1] ?? html).replace(ends, "\n");
  const body = text(blocks);
  const sentences = blocks.split("\n").flatMap((line) => text(line).match(/[^.!?]+[.!?]?/g) ?? []);
  return {
    fetched: true,
    status: response.status,
    title: text(html.match(/<title[^>]*>([\s\S]*?)<\/title>/i)?.[1] ?? "") || null,
    description: description && text(description),
    headline: text(html.match(/<h1\b[^>]*>([\s\S]*?)<\/h1>/i)?.[1] ?? "") || null,
    facts: sentences
      .map((s) => s.trim())
      .filter((s) => /\d/.test(s))
      .slice(0, 3),
    signals: SIGNALS.filter(([, pattern]) => pattern.test(body)).map(([name]) => name),
  };
}

async function humanise(ctx, draft, purpose) {
  try {
    const system =
      `Rewrite this ${purpose} so it sounds like a thoughtful person wrote it: plain words, no hype, under 120 words. ` +
      "Keep the facts, names and the last two lines exactly. Answer with the email body only.";
    return (await ctx.llm.complete(draft, { system, temperature: 0.6, maxTokens: 220 })).trim();
  } catch (error) {
    if (String(error.message).startsWith("denied:")) return draft;
    throw error;
  }
}

/** Puts back the signature and the way out if the rewrite lost them, then checks the email. */
function check(body, signature) {
  let email = (signature ? body.replace(signature, "") : body).trim();
  if (!/not a priority|not right|will not follow up|unsubscribe/i.test(email)) email = `${email}\n\n${OPT_OUT}`;
  if (signature) email = `${email}\n\n${signature}`;
  const spam = SPAM.filter((phrase) => new RegExp(`(^|\\W)${phrase}(\\W|$)`, "i").test(email));
  return { body: email, words: wordCount(email), spam };
}

export default async function run(input, ctx) {
  if (input === null || typeof input !== "object") {
    throw new Error("input must be an object with input.prospect and input.offer");
  }
  const name = required(input.prospect, "name", "input.prospect");
  const company = required(input.prospect, "company", "input.prospect");
  const product = required(input.offer, "product", "input.offer");
  const value = required(input.offer, "value", "input.offer");
  const count = input.follow_ups ?? 3;
  if (!Number.isInteger(count) || count < 0 || count > DELAYS.length) {
    throw new Error(`input.follow_ups must be a whole number from 0 to ${DELAYS.length}`);
  }
  const first = name.split(/\s+/)[0];
  const sender = typeof input.sender?.name === "string" ? input.sender.name : "";
  const signature = [sender, input.sender?.company].filter(Boolean).join(", ");
  const found = await research(ctx, input.prospect.website);

  const fact = found.facts[0] ?? found.description ?? null;
  const numbers = (fact ?? "").match(/\d[\d,.]*\s+[a-z]+/i)?.[0];
  const possessive = company.endsWith("s") ? `${company}'` : `${company}'s`;
  const subjects = [
    numbers ? `Idea for ${possessive} ${numbers}` : `Idea for ${company}`,
    `${company} + ${product}`,
    found.signals.includes("hiring") ? "Before your next hire" : `A question about ${company}`,
  ];
  const reason = fact
    ? `I was reading ${possessive} website: ${fact}`
    : `I came across ${company}${input.prospect.role ? ` and your work as ${input.prospect.role}` : ""}.`;
  const firstDraft =
    `Hi ${first},\n\n${reason} Teams like yours use ${product} to ${value}.` +
    `${input.offer.proof ? ` ${input.offer.proof}` : ""}\n\nWould a 20-minute call next week be useful to see if it fits ${company}?\n\n${OPT_OUT}\n\n${signature}`;
  const angles = [
    `Hi ${first},\n\nA quick follow-up on my note about ${product}. ${input.offer.proof ?? `The short version: it helps teams ${value}.`}\n\nWorth a short call?\n\n${signature}`,
    `Hi ${first},\n\nOne question instead of a pitch: how does ${company} handle this today? If it is working well, I would love to know how.\n\n${signature}`,
    `Hi ${first},\n\nI have not heard back, so I will assume the timing is not right. If ${product} becomes relevant for ${company}, my door is open.\n\n${signature}`,
    `Hi ${first},\n\nLast note from me: if it helps, I can send a two-page summary of how ${product} would work at ${company}. Just reply "summary".\n\n${signature}`,
  ];

  const firstEmail = check(await humanise(ctx, firstDraft, "cold email"), signature);
  const followUps = [];
  for (let i = 0; i < count; i += 1) {
    const { body, words, spam } = check(await humanise(ctx, angles[i], "follow-up email"), signature);
    followUps.push({ delay_days: DELAYS[i], subject: `Re: ${subjects[0]}`, body, words, spam_phrases: spam });
  }
  const all = [firstEmail, ...followUps.map((f) => ({ words: f.words, spam: f.spam_phrases }))];
  return {
    research: found,
    subject_lines: subjects,
    first_email: { subject: subjects[0], body: firstEmail.body, words: firstEmail.words },
    follow_ups: followUps,
    delays_days: DELAYS.slice(0, count),
    checks: {
      has_opt_out: true,
      spam_phrases: [...new Set(all.flatMap((e) => e.spam))],
      longest_email_words: Math.max(...all.map((e) => e.words)),
      within_length: all.every((e) => e.words <= 150),
    },
  };
}
