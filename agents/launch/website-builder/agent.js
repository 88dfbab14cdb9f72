// Website Builder: turns a product description into a one-page site. It picks the sections the
// data supports (hero, benefits, social proof, pricing, FAQ), derives an accessible palette from
// the brand colours (text colour by WCAG contrast), has the model write the hero and benefit
// copy, and renders semantic, escaped HTML with a small responsive stylesheet.
//
// Input:  { "product": { "name", "description", "price"?, "features"?: [], "testimonials"?: [{ "quote", "author" }],
//           "faq"?: [{ "question", "answer" }] }, "audience", "sections"?: [], "brand_colors"?: { "primary", "accent" },
//           "cta"?: { "label", "href" } }
// Output: { sections, palette, copy, html, css, warnings }
// Needs:  capabilities.llm

const SECTIONS = ["hero", "benefits", "social-proof", "pricing", "faq"];
const escape = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function need(value, field, max = 1000) {
  if (typeof value !== "string" || value.trim() === "") throw new Error(`${field} must be a non-empty string`);
  if (value.length > max) throw new Error(`${field} must be at most ${max} characters`);
  return value.trim();
}

function list(value, field, check) {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${field} must be an array`);
  return value.map((item, i) => check(item, `${field}[${i}]`));
}

/** WCAG 2 contrast ratio between two #rrggbb colours. */
function contrast(a, b) {
  const luminance = (hex) => {
    const [r, g, bl] = [1, 3, 5]
      .map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

function colour(value, field, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(value)) {
    throw new Error(`${field} must be a hex colour such as #1d4ed8`);
  }
  return (value.length === 4 ? `#${[...value.slice(1)].map((c) => c + c).join("")}` : value).toLowerCase();
}

async function ask(ctx, system, prompt, maxTokens) {
  try {
    return (await ctx.llm.complete(prompt, { system, temperature: 0.7, maxTokens })).trim();
  } catch (error) {
    if (String(error.message).startsWith("denied:")) return null;
    throw error;
  }
}

export default async function run(input, ctx) {
  const product = input?.product;
  if (product === null || typeof product !== "object" || Array.isArray(product)) {
    throw new Error("input.product must be an object with a name and a description");
  }
  const name = need(product.name, "input.product.name", 80);
  const description = need(product.description, "input.product.description", 2000);
  const audience = need(input.audience, "input.audience", 200);
  const features = list(product.features, "input.product.features", (f, field) => need(f, field, 200));
  const testimonials = list(product.testimonials, "input.product.testimonials", (t, field) => ({
    quote: need(t?.quote, `${field}.quote`, 500),
    author: need(t?.author, `${field}.author`, 100),
  }));
  const faq = list(product.faq, "input.product.faq", (q, field) => ({
    question: need(q?.question, `${field}.question`, 200),
    answer: need(q?.answer, `${field}.answer`, 1000),
  }));
  const price = product.price === undefined ? null : need(product.price, "input.product.price", 60);
  const cta = { label: input.cta?.label ?? "Get started", href: input.cta?.href ?? "#pricing" };
  if (typeof cta.label !== "string" || typeof cta.href !== "string" || /^\s*javascript:/i.test(cta.href)) {
    throw new Error("input.cta must have a label and an href as strings (no javascript: links)");
  }

  const available = {
    hero: true,
    benefits: features.length > 0,
    "social-proof": testimonials.length > 0,
    pricing: price !== null,
    faq: faq.length > 0,
  };
  const needs = {
    benefits: "input.product.features",
    "social-proof": "input.product.testimonials",
    pricing: "input.product.price",
    faq: "input.product.faq",
  };
  let sections = SECTIONS.filter((s) => available[s]);
  if (input.sections !== undefined) {
    sections = list(input.sections, "input.sections", (s, field) => {
      if (!SECTIONS.includes(s)) throw new Error(`${field} must be one of ${SECTIONS.join(", ")}`);
      if (!available[s]) throw new Error(`${needs[s]} is needed for the ${s} section`);
      return s;
    });
  }

  const primary = colour(input.brand_colors?.primary, "input.brand_colors.primary", "#1d4ed8");
  const accent = colour(input.brand_colors?.accent, "input.brand_colors.accent", "#f59e0b");
  const ratios = { "#ffffff": contrast(primary, "#ffffff"), "#111111": contrast(primary, "#111111") };
  const onPrimary = ratios["#ffffff"] >= ratios["#111111"] ? "#ffffff" : "#111111";
  const palette = { primary, accent, on_primary: onPrimary, contrast_ratio: Math.round(ratios[onPrimary] * 100) / 100 };
  const warnings =
    palette.contrast_ratio < 4.5
      ? [`Text on ${primary} reaches only ${palette.contrast_ratio}:1 contrast; WCAG AA asks for 4.5:1`]
      : [];

  const heroPrompt =
    "Write a landing-page headline (under 10 words) on the first line and a one-sentence subheadline on the second, " +
    `for ${audience}. No quotes, no labels.`;
  const pitch = await ask(ctx, heroPrompt, `${name}: ${description}`, 50);
  const [headline, subheadline] = (pitch ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const copy = {
    // A model that ignores the shape (or the offline one) must not put a paragraph in the <h1>.
    hero: {
      headline: headline && headline.length <= 90 ? headline : name,
      subheadline: subheadline ?? description.split(/(?<=[.!?])\s/)[0],
      cta: cta.label,
    },
    benefits: [],
    testimonials,
    pricing: price && { price, cta: cta.label },
    faq,
  };
  for (const feature of sections.includes("benefits") ? features : []) {
    const system = `In one sentence, say what this feature of ${name} means for ${audience}. Answer with the sentence only.`;
    copy.benefits.push({ title: feature, text: (await ask(ctx, system, feature, 40)) ?? feature });
  }

  const e = escape;
  const button = `<a class="button" href="${e(cta.href)}">${e(cta.label)}</a>`;
  const section = (id, heading, lines) =>
    [`<section id="${id}">`, `  <h2>${heading}</h2>`, ...lines.map((line) => `  ${line}`), "</section>"].join("\n");
  const benefit = (b) => `  <li><h3>${e(b.title)}</h3><p>${e(b.text)}</p></li>`;
  const quote = (t) => `<figure><blockquote>${e(t.quote)}</blockquote><figcaption>${e(t.author)}</figcaption></figure>`;
  const answer = (q) => `<details><summary>${e(q.question)}</summary><p>${e(q.answer)}</p></details>`;
  const parts = {
    hero: `<header class="hero">\n  <h1>${e(copy.hero.headline)}</h1>\n  <p>${e(copy.hero.subheadline)}</p>\n  ${button}\n</header>`,
    benefits: section("benefits", `Why ${e(name)}`, ['<ul class="grid">', ...copy.benefits.map(benefit), "</ul>"]),
    "social-proof": section("social-proof", "What customers say", testimonials.map(quote)),
    pricing: section("pricing", "Pricing", [`<p class="price">${e(price)}</p>`, button]),
    faq: section("faq", "Questions", faq.map(answer)),
  };
  const main = sections.filter((s) => s !== "hero").map((s) => parts[s]);
  const html = [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(name)}</title>`,
    `<meta name="description" content="${e(copy.hero.subheadline)}">`,
    '<link rel="stylesheet" href="styles.css">',
    "</head>",
    "<body>",
    ...(sections.includes("hero") ? [parts.hero] : []),
    "<main>",
    ...main,
    "</main>",
    `<footer><p>© ${e(name)}</p></footer>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
  const css = `:root { --primary: ${primary}; --on-primary: ${onPrimary}; --accent: ${accent}; --text: #1f2937; }
* { box-sizing: border-box; }
body { margin: 0; font: 1.05rem/1.6 system-ui, sans-serif; color: var(--text); }
.hero { background: var(--primary); color: var(--on-primary); padding: 4rem 1.5rem; text-align: center; }
.hero h1 { font-size: clamp(2rem, 6vw, 3.2rem); margin: 0 0 1rem; }
main { max-width: 60rem; margin: 0 auto; padding: 0 1.5rem; }
section { padding: 3rem 0; border-bottom: 1px solid #e5e7eb; }
.grid { list-style: none; padding: 0; display: grid; gap: 1.5rem; grid-template-columns: repeat(auto-fit, minmax(15rem, 1fr)); }
.button { display: inline-block; background: var(--accent); color: #111111; padding: 0.8rem 1.6rem; border-radius: 0.5rem; font-weight: 600; text-decoration: none; }
.button:focus-visible { outline: 3px solid var(--text); outline-offset: 3px; }
blockquote { font-size: 1.2rem; margin: 0; } figure { margin: 0 0 1.5rem; } figcaption { color: #6b7280; }
.price { font-size: 2rem; font-weight: 700; }
details { padding: 0.75rem 0; } summary { cursor: pointer; font-weight: 600; }
footer { text-align: center; padding: 2rem; color: #6b7280; }
`;
  return { sections, palette, copy, html, css, warnings };
}
