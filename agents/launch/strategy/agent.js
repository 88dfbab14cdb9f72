// Strategy: structures a business decision. From the competitors' figures it builds a grid
// (who leads each dimension, where you lead or trail) that seeds the SWOT with facts; from the
// goals it computes measurable key results; the model fills in the rest of the SWOT, weighs
// each option and names the objective. The one-page plan puts it all together in Markdown.
//
// Input:  { "business", "market", "question", "competitors": [{ "name", "is_us"?, "<dimension>": number|string }],
//           "goals": [{ "metric", "current", "target", "unit"? }], "options": ["…"] }
// Output: { question, competitor_grid, swot, options: [{ option, assessment }], okrs: { objective, key_results }, plan }
// Needs:  capabilities.llm

const LOWER_IS_BETTER = /price|cost|churn|time|latency|days|fee|cac/i;
const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);

function need(value, field, max = 2000) {
  if (typeof value !== "string" || value.trim() === "") throw new Error(`${field} must be a non-empty string`);
  if (value.length > max) throw new Error(`${field} must be at most ${max} characters`);
  return value.trim();
}

function grid(competitors) {
  if (competitors === undefined) return null;
  if (!Array.isArray(competitors) || competitors.length < 2) {
    throw new Error('input.competitors must be an array of at least two entries (include yourself with "is_us": true)');
  }
  competitors.forEach((c, i) => need(c?.name, `input.competitors[${i}].name`, 100));
  // Sorted: a JSON object's key order does not survive every store it passes through.
  const names = [...new Set(competitors.flatMap((c) => Object.keys(c)))]
    .filter((k) => k !== "name" && k !== "is_us")
    .sort();
  const dimensions = names.map((name) => {
    const numeric = competitors.every((c) => c[name] === undefined || typeof c[name] === "number");
    return { name, numeric, better: numeric ? (LOWER_IS_BETTER.test(name) ? "lower" : "higher") : null };
  });
  const rows = competitors.map((c) => ({
    name: c.name,
    is_us: c.is_us === true,
    values: Object.fromEntries(names.map((n) => [n, c[n] ?? null])),
    ranks: {},
  }));
  const leaders = {};
  for (const d of dimensions.filter((d) => d.numeric)) {
    const sign = d.better === "lower" ? 1 : -1;
    const scored = rows.filter((r) => r.values[d.name] !== null);
    scored.sort((a, b) => sign * (a.values[d.name] - b.values[d.name]));
    scored.forEach((row) => {
      row.ranks[d.name] = 1 + scored.findIndex((other) => other.values[d.name] === row.values[d.name]);
    });
    leaders[d.name] = scored.filter((r) => r.ranks[d.name] === 1).map((r) => r.name);
  }
  return { dimensions, rows, leaders };
}

/** Strengths and weaknesses the grid proves: where you rank first, and where you trail. */
function gridFacts(table) {
  const facts = { strengths: [], weaknesses: [] };
  const us = table?.rows.find((r) => r.is_us);
  if (!us) return facts;
  for (const d of table.dimensions.filter((d) => d.numeric && us.ranks[d.name])) {
    const rivals = table.rows.filter((r) => !r.is_us && r.ranks[d.name]);
    const best = rivals.sort((a, b) => a.ranks[d.name] - b.ranks[d.name])[0];
    if (!best) continue;
    if (us.ranks[d.name] === 1) {
      facts.strengths.push(`Leads on ${d.name}: ${us.values[d.name]} against ${best.values[d.name]} at ${best.name}`);
    } else if (us.ranks[d.name] > Math.ceil(table.rows.length / 2)) {
      facts.weaknesses.push(
        `Trails on ${d.name}: ${us.values[d.name]} against ${best.values[d.name]} at ${best.name} (${d.better} is better)`,
      );
    }
  }
  return facts;
}

function keyResults(goals) {
  if (goals === undefined) return [];
  if (!Array.isArray(goals)) throw new Error("input.goals must be an array of { metric, current, target }");
  return goals.map((g, i) => {
    const metric = need(g?.metric, `input.goals[${i}].metric`, 100);
    for (const key of ["current", "target"]) {
      if (typeof g[key] !== "number" || !Number.isFinite(g[key])) {
        throw new Error(`input.goals[${i}].${key} must be a number`);
      }
    }
    const unit = typeof g.unit === "string" ? g.unit : "";
    const verb = g.target >= g.current ? "Grow" : "Cut";
    return {
      metric,
      from: g.current,
      to: g.target,
      change_pct: g.current === 0 ? null : Math.round(((g.target - g.current) / Math.abs(g.current)) * 1000) / 10,
      key_result: `${verb} ${metric} from ${g.current}${unit} to ${g.target}${unit}`,
    };
  });
}

async function ask(ctx, system, prompt, maxTokens = 160) {
  return (await ctx.llm.complete(prompt, { system, temperature: 0.5, maxTokens })).trim();
}

const bullets = (text) =>
  text
    .split("\n")
    .map((l) => l.replace(/^\s*([-*•]|\d+[.)])\s*/, "").trim())
    .filter(Boolean)
    .slice(0, 4);

export default async function run(input, ctx) {
  if (input === null || typeof input !== "object") {
    throw new Error("input must be an object with business, market and question");
  }
  const business = need(input.business, "input.business");
  const market = need(input.market, "input.market");
  const question = need(input.question, "input.question", 500);
  const table = grid(input.competitors);
  const krs = keyResults(input.goals);
  if (input.options !== undefined && (!Array.isArray(input.options) || input.options.length > 4)) {
    throw new Error("input.options must be an array of at most 4 options");
  }
  const given = (input.options ?? []).map((o, i) => need(o, `input.options[${i}]`, 300));

  const context = `Business: ${business}\nMarket: ${market}\nDecision: ${question}`;
  const list = (what, prompt) =>
    ask(
      ctx,
      `You are a strategy consultant. List ${what} as 2 to 4 short lines starting with "- ". No preamble.`,
      prompt,
    );
  const facts = gridFacts(table);
  const outside = `${market}\n${business}`;
  const swot = {
    strengths: [...facts.strengths, ...bullets(await list("the business's internal strengths", context))],
    weaknesses: [...facts.weaknesses, ...bullets(await list("the business's internal weaknesses", context))],
    opportunities: bullets(await list("external opportunities in the market", outside)),
    threats: bullets(await list("external threats in the market", outside)),
  };
  const choices = given.length
    ? given
    : bullets(await list("distinct options for the decision", `${question}\n${context}`));
  const weigh =
    "In three sentences, give this option's main upside, its main risk and what must be true for it to work.";
  const options = [];
  for (const option of choices)
    options.push({ option, assessment: await ask(ctx, weigh, `${option}\n${context}`, 120) });
  const goal =
    "Write one inspiring, qualitative quarterly objective (under 15 words) for this decision. Answer with it only.";
  const objective = (await ask(ctx, goal, question, 20)).split("\n")[0];
  const okrs = { objective, key_results: krs };

  const items = (lines) => lines.map((line) => `- ${line}`).join("\n") || "- (none)";
  const plan = [
    `# ${cap(question)}`,
    `## Situation\n${business} ${market}`,
    ...Object.entries(swot).map(([k, v]) => `## ${cap(k)}\n${items(v)}`),
    `## Options\n${options.map((o) => `- **${o.option}**: ${o.assessment}`).join("\n")}`,
    `## Objective\n${objective}`,
    `## Key results\n${items(krs.map((k) => k.key_result))}`,
  ].join("\n\n");
  return { question, competitor_grid: table, swot, options, okrs, plan };
}
