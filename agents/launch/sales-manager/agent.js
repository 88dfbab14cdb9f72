// Sales Manager: the Monday pipeline review. Scores each open deal's risk from silence, a
// passed close date, time stuck in its stage and early stages closing soon; builds the
// closed / commit / best-case / pipeline forecast for the period; and gives every open deal a
// concrete next step. The model, when granted, only writes the summary on top.
//
// Input:  { "period": "2026-Q2" | "2026-05" | { "start", "end" }, "as_of": "2026-04-13",
//           "deals": [{ "id", "name", "account", "stage", "amount", "close_date", "last_activity", "stage_since" }] }
// Output: { period, as_of, forecast, at_risk: [{ id, risk, level, reasons, next_action, … }], deals, summary }
// Needs:  capabilities.llm, only for "summary"

const DAY = 86400000;
const STAGES = {
  prospecting: { p: 0.1, days: 14 },
  qualification: { p: 0.2, days: 21 },
  demo: { p: 0.3, days: 14 },
  proposal: { p: 0.5, days: 21 },
  negotiation: { p: 0.7, days: 21 },
  commit: { p: 0.9, days: 14 },
  closed_won: { p: 1 },
  closed_lost: { p: 0 },
};
const NEXT_STEP = {
  prospecting: "Book a discovery call and find out who owns the problem.",
  qualification: "Confirm budget, decision maker and timeline, or disqualify.",
  demo: "Run a demo on their own use case and agree the evaluation criteria.",
  proposal: "Walk them through the proposal live and ask what stands between it and a signature.",
  negotiation: "Bring in the economic buyer and close the open terms in one call.",
  commit: "Send the order form and agree the signature date with procurement.",
};
const round = (x) => Math.round(x * 100) / 100;

function date(value, field) {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new Error(`${field} must be a date as YYYY-MM-DD`);
  }
  return Date.parse(value);
}

function readPeriod(period) {
  const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
  if (typeof period === "string" && /^\d{4}-Q[1-4]$/.test(period)) {
    const [year, q] = [Number(period.slice(0, 4)), Number(period[6])];
    return { start: iso(Date.UTC(year, (q - 1) * 3, 1)), end: iso(Date.UTC(year, q * 3, 0)) };
  }
  if (typeof period === "string" && /^\d{4}-\d{2}$/.test(period)) {
    const [year, month] = period.split("-").map(Number);
    if (month < 1 || month > 12) throw new Error("input.period has no such month");
    return { start: iso(Date.UTC(year, month - 1, 1)), end: iso(Date.UTC(year, month, 0)) };
  }
  if (period && typeof period === "object") {
    if (date(period.end, "input.period.end") < date(period.start, "input.period.start")) {
      throw new Error("input.period.end is before input.period.start");
    }
    return { start: period.start, end: period.end };
  }
  throw new Error('input.period must be a quarter ("2026-Q2"), a month ("2026-05") or { "start", "end" }');
}

function readDeal(deal, i) {
  const field = `input.deals[${i}]`;
  if (deal === null || typeof deal !== "object") throw new Error(`${field} must be an object`);
  if (typeof deal.name !== "string" || deal.name.trim() === "") {
    throw new Error(`${field}.name must be a non-empty string`);
  }
  const stage = String(deal.stage ?? "")
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");
  if (!STAGES[stage]) throw new Error(`${field}.stage must be one of ${Object.keys(STAGES).join(", ")}`);
  if (typeof deal.amount !== "number" || !(deal.amount >= 0)) {
    throw new Error(`${field}.amount must be a number of at least 0`);
  }
  return {
    id: String(deal.id ?? i + 1),
    name: deal.name,
    account: deal.account ?? deal.name,
    stage,
    amount: deal.amount,
    close: date(deal.close_date, `${field}.close_date`),
    last: deal.last_activity === undefined ? null : date(deal.last_activity, `${field}.last_activity`),
    since: deal.stage_since === undefined ? null : date(deal.stage_since, `${field}.stage_since`),
  };
}

function assess(deal, today) {
  const stage = STAGES[deal.stage];
  const reasons = [];
  let risk = 0;
  let action = NEXT_STEP[deal.stage];
  const silent = deal.last === null ? null : Math.round((today - deal.last) / DAY);
  const inStage = deal.since === null ? null : Math.round((today - deal.since) / DAY);
  const toClose = Math.round((deal.close - today) / DAY);
  if (inStage !== null && inStage > stage.days) {
    risk += inStage > 2 * stage.days ? 20 : 10;
    reasons.push(`${inStage} days in ${deal.stage} (usually ${stage.days})`);
  }
  if (stage.p <= 0.3 && toClose >= 0 && toClose <= 30) {
    risk += 20;
    reasons.push(`closes in ${toClose} days but is still in ${deal.stage}`);
    action = `Confirm the timeline with ${deal.account} this week, or move the close date out of the period.`;
  }
  if (silent === null || silent > 14) {
    risk += silent === null || silent > 30 ? 40 : 25;
    reasons.push(silent === null ? "no activity recorded" : `no activity for ${silent} days`);
    action = `Re-engage ${deal.account}: send a short check-in with one specific question, and reach a second stakeholder if there is no answer in two days.`;
  }
  if (toClose < 0) {
    risk += 30;
    reasons.push(`close date passed ${-toClose} days ago`);
    action = `Agree a new close date with ${deal.account}: the current one passed ${-toClose} days ago.`;
  }
  risk = Math.min(risk, 100);
  return { risk, level: risk >= 60 ? "high" : risk >= 30 ? "medium" : "low", reasons, next_action: action };
}

export default async function run(input, ctx) {
  if (input === null || typeof input !== "object") {
    throw new Error("input must be an object with input.deals and input.period");
  }
  if (!Array.isArray(input.deals) || input.deals.length === 0) {
    throw new Error("input.deals must be a non-empty array of deals");
  }
  const period = readPeriod(input.period);
  const asOf = input.as_of ?? new Date().toISOString().slice(0, 10);
  const today = date(asOf, "input.as_of");
  const deals = input.deals.map(readDeal);
  const [start, end] = [Date.parse(period.start), Date.parse(period.end)];

  const open = deals.filter((d) => !d.stage.startsWith("closed_")).map((d) => ({ ...d, ...assess(d, today) }));
  const inPeriod = (d) => d.close >= start && d.close <= end;
  const forecast = {
    closed_won: 0,
    commit: 0,
    best_case: 0,
    pipeline: 0,
    weighted: 0,
    risk_adjusted: 0,
    deals_in_period: 0,
  };
  for (const d of deals.filter((d) => d.stage === "closed_won" && inPeriod(d))) {
    for (const key of ["closed_won", "commit", "best_case", "weighted", "risk_adjusted"]) forecast[key] += d.amount;
    forecast.deals_in_period += 1;
  }
  for (const d of open.filter(inPeriod)) {
    const p = STAGES[d.stage].p;
    forecast.deals_in_period += 1;
    forecast.pipeline += d.amount;
    forecast.weighted += d.amount * p;
    forecast.risk_adjusted += d.amount * p * (1 - d.risk / 200);
    if (p >= 0.7 && d.level !== "high") forecast.commit += d.amount;
    if (p >= 0.5) forecast.best_case += d.amount;
  }
  forecast.weighted = round(forecast.weighted);
  forecast.risk_adjusted = round(forecast.risk_adjusted);

  const view = (d) => ({
    id: d.id,
    name: d.name,
    account: d.account,
    stage: d.stage,
    amount: d.amount,
    risk: d.risk,
    level: d.level,
    reasons: d.reasons,
    next_action: d.next_action,
  });
  const ranked = [...open].sort((a, b) => b.risk - a.risk || b.amount - a.amount || a.id.localeCompare(b.id));
  const atRisk = ranked.filter((d) => d.level !== "low").map(view);
  const result = { period, as_of: asOf, forecast, at_risk: atRisk, deals: ranked.map(view) };
  result.summary = await summarise(ctx, result);
  return result;
}

async function summarise(ctx, result) {
  const f = result.forecast;
  const facts = [
    `Forecast ${result.period.start} to ${result.period.end}: closed ${f.closed_won}, commit ${f.commit}, best case ${f.best_case}, pipeline ${f.pipeline}, weighted ${f.weighted}.`,
    ...result.at_risk.map((d) => `${d.name} (${d.amount}, ${d.stage}) is ${d.level} risk: ${d.reasons.join("; ")}.`),
  ].join("\n");
  try {
    return (
      await ctx.llm.complete(facts, {
        system:
          "You are a sales manager. Summarise this pipeline review for the team in at most four sentences, quoting the numbers given and nothing else.",
        temperature: 0.3,
        maxTokens: 180,
      })
    ).trim();
  } catch (error) {
    if (String(error.message).startsWith("denied:")) return null;
    throw error;
  }
}
