// Content Creator: drafts a blog post, article or landing-page copy from a topic, an audience and
// key points. The structure is planned here (title and alternatives, one section per key point
// with a word budget, a closing call to action); the model writes each section in the brand
// voice from the configuration. It can also rewrite an existing draft shorter, friendlier or
// more formal. Either way the result is checked for the words the brand avoids.
//
// Input:  { "topic", "audience", "key_points": ["…"], "length": 800, "format": "blog", "cta": "…" }
//    or:  { "draft": "…", "style": "shorter" | "friendlier" | "more_formal" }
// Output: { title, alternatives, outline: [{ heading, words }], body (Markdown), word_count, … }
// Needs:  capabilities.llm; config BRAND_TONE, WORDS_TO_AVOID (comma-separated), READING_LEVEL

const FORMATS = ["blog", "article", "landing-page"];
const STYLES = {
  shorter: "Cut it to about 60% of its length, keeping every key fact.",
  friendlier: "Make it warmer and more conversational.",
  more_formal: "Make it more formal and precise.",
};
const words = (text) => (text.match(/\S+/g) ?? []).length;
const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);
const tens = (n) => Math.max(30, Math.round(n / 10) * 10);

function text(value, field, max = 300) {
  if (typeof value !== "string" || value.trim() === "") throw new Error(`${field} must be a non-empty string`);
  if (value.length > max) throw new Error(`${field} must be at most ${max} characters`);
  return value.trim().replace(/\s+/g, " ");
}

function voice(ctx) {
  const tone = ctx.config.get("BRAND_TONE") ?? "clear, warm and confident";
  const level = ctx.config.get("READING_LEVEL") ?? "a general professional audience";
  const avoid = (ctx.config.get("WORDS_TO_AVOID") ?? "")
    .split(",")
    .map((w) => w.trim())
    .filter(Boolean);
  const rules =
    `Write in a ${tone} voice for ${level}. Use short paragraphs and concrete examples.` +
    (avoid.length ? ` Never use these words: ${avoid.join(", ")}.` : "");
  return { rules, avoid };
}

function flagged(body, avoid) {
  return avoid.filter((word) =>
    new RegExp(`(^|[^\\p{L}])${word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}([^\\p{L}]|$)`, "iu").test(body),
  );
}

async function write(ctx, system, prompt, budget) {
  const answer = await ctx.llm.complete(prompt, { system, temperature: 0.7, maxTokens: Math.ceil(budget * 1.5) });
  return answer.trim();
}

export default async function run(input, ctx) {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new Error("input must be an object: { topic, audience, key_points } or { draft, style }");
  }
  const { rules, avoid } = voice(ctx);

  if (input.draft !== undefined) {
    const draft = text(input.draft, "input.draft", 50000);
    if (!STYLES[input.style]) throw new Error(`input.style must be one of ${Object.keys(STYLES).join(", ")}`);
    const target = input.style === "shorter" ? tens(words(draft) * 0.6) : tens(words(draft));
    const system = `${rules} Rewrite the user's draft. ${STYLES[input.style]} Keep its Markdown headings. Answer with the text only.`;
    const body = await write(ctx, system, input.draft, target);
    return {
      mode: "rewrite",
      style: input.style,
      body,
      word_count: words(body),
      original_words: words(draft),
      target_words: target,
      flagged_words: flagged(body, avoid),
    };
  }

  const topic = text(input.topic, "input.topic", 200);
  const audience = text(input.audience, "input.audience", 200);
  if (!Array.isArray(input.key_points) || input.key_points.length === 0 || input.key_points.length > 8) {
    throw new Error("input.key_points must be an array of 1 to 8 points");
  }
  const points = input.key_points.map((point, i) => text(point, `input.key_points[${i}]`));
  const length = input.length ?? 800;
  if (!Number.isInteger(length) || length < 300 || length > 3000) {
    throw new Error("input.length must be a whole number of words from 300 to 3000");
  }
  const format = input.format ?? "blog";
  if (!FORMATS.includes(format)) throw new Error(`input.format must be one of ${FORMATS.join(", ")}`);
  const cta = input.cta === undefined ? null : text(input.cta, "input.cta");

  const title = `${capital(topic)}: a practical guide for ${audience}`;
  const alternatives = [
    `${points.length} things ${audience} should know about ${topic}`,
    `How ${audience} can get ${topic} right`,
    `${capital(topic)}, explained for ${audience}`,
  ];
  // Introduction 15% of the words, closing 10%, the rest shared by the key points.
  const bare = points.map((point) => point.replace(/[.!?]+$/, ""));
  const plan = [
    {
      heading: format === "landing-page" ? "Why it matters" : "Introduction",
      words: tens(length * 0.15),
      role: "the opening: hook the reader and say what they will learn",
      material: `${capital(topic)} matters to ${audience}. ${bare.join(". ")}.`,
    },
    ...bare.map((point) => ({
      heading: capital(point).slice(0, 80),
      words: tens((length * 0.75) / points.length),
      role: `the section about "${point}"`,
      material: `${capital(point)}.`,
    })),
    {
      heading: format === "landing-page" ? "Get started" : "Next steps",
      words: tens(length * 0.1),
      role: `the close: sum up and end with this call to action: ${cta ?? "invite the reader to take the next step"}`,
      material: cta ?? `Put ${topic} into practice.`,
    },
  ];
  const outline = plan.map(({ heading, words }) => ({ heading, words }));

  const sections = [];
  for (const part of plan) {
    const system = `${rules} You are writing ${part.role} of a ${format} titled "${title}" for ${audience}, in about ${part.words} words, as Markdown paragraphs without a heading.`;
    sections.push(`## ${part.heading}\n\n${await write(ctx, system, part.material, part.words)}`);
  }
  const body = `# ${title}\n\n${sections.join("\n\n")}\n`;
  const count = words(body);
  ctx.log.info(`drafted ${count} words in ${outline.length} sections`);
  const minutes = Math.max(1, Math.ceil(count / 200));
  const result = {
    mode: "write",
    format,
    title,
    alternatives,
    outline,
    body,
    word_count: count,
    target_length: length,
  };
  return { ...result, reading_time_minutes: minutes, flagged_words: flagged(body, avoid) };
}
