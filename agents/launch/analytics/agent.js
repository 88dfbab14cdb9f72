// Analytics: explains what moved in a metric. It groups the series into weeks (Monday first),
// computes the week-over-week change, tells a real movement from the usual weekly swing, flags
// days far from their usual level and ranks the segments that drove the change. The model,
// when granted, only writes the narrative on top of these numbers.
//
// Input:  { "metric": "signups", "series": [{ "date": "2026-03-02", "value": 412 }, …],
//           "segments": { "paid": [130, …] or [{ "date", "value" }, …] } }
// Output: { metric, granularity, weeks, latest, anomalies, drivers, headline, questions, narrative }
// Needs:  capabilities.llm, only for "narrative"

const DAY = 86400000;
const round = (x, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const stdDev = (xs) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};
const weekStart = (day) => iso(day - ((new Date(day).getUTCDay() + 6) % 7) * DAY);
const fmt = (x) => {
  const [int, frac] = String(round(Math.abs(x))).split(".");
  return (x < 0 ? "-" : "") + int.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (frac ? `.${frac}` : "");
};

export default async function run(input, ctx) {
  if (input === null || typeof input !== "object") throw new Error("input must be an object with input.series");
  const metric = input.metric ?? "value";
  if (typeof metric !== "string" || metric.trim() === "") throw new Error("input.metric must be a non-empty string");
  const points = readSeries(input.series, "input.series");
  const gap = median(points.slice(1).map((p, i) => (p.day - points[i].day) / DAY));
  if (gap !== 1 && gap !== 7) throw new Error(`input.series must be daily or weekly; its dates are ${gap} days apart`);
  const granularity = gap === 1 ? "daily" : "weekly";
  const weeks = toWeeks(points, granularity);
  if (weeks.length < 2) throw new Error("input.series must cover at least two complete weeks");

  const [previous, last] = weeks.slice(-2);
  const delta = last.total - previous.total;
  // How much a week usually differs from the one before, the latest change left out.
  const swings = weeks.slice(1, -1).map((week, i) => week.total - weeks[i].total);
  const usualSwing = swings.length >= 3 ? round(stdDev(swings)) : null;
  const latest = {
    week_start: last.week_start,
    total: last.total,
    previous: previous.total,
    delta: round(delta),
    pct_change: previous.total === 0 ? null : round((delta / previous.total) * 100, 1),
    usual_swing: usualSwing,
    significant: usualSwing === null ? null : Math.abs(delta) > 2 * usualSwing,
  };
  const anomalies = findAnomalies(points, granularity);
  const drivers = segmentDrivers(input.segments, points, granularity, previous.week_start, last.week_start);

  const direction = delta > 0 ? "up" : delta < 0 ? "down" : "flat";
  const pct = latest.pct_change === null ? "" : ` ${Math.abs(latest.pct_change)}%`;
  let headline = `${metric} was ${fmt(last.total)} in the week of ${last.week_start}, ${direction}${pct}`;
  headline += ` (${delta >= 0 ? "+" : ""}${fmt(delta)}) on the week before`;
  if (latest.significant === true) {
    headline += `: a real movement, beyond twice the usual weekly swing of ±${fmt(usualSwing)}`;
  }
  if (latest.significant === false) headline += `: within the usual weekly swing of ±${fmt(usualSwing)}`;
  if (drivers[0]) headline += `; ${drivers[0].segment} accounts for ${round(drivers[0].share * 100, 0)}% of the change`;
  headline += ".";

  const questions = [];
  if (Math.abs(drivers[0]?.share) >= 0.5) {
    questions.push(`What changed in ${drivers[0].segment} in the week of ${last.week_start}?`);
  }
  for (const a of anomalies.slice(0, 3)) {
    questions.push(`What happened on ${a.date}, when ${metric} was ${a.value} against a usual ${a.expected}?`);
  }
  const move = direction === "flat" ? "lack of change" : `move ${direction}`;
  if (latest.significant === false) questions.push(`Is the ${move} seasonal, or does it continue next week?`);
  if (latest.significant === null) {
    questions.push("Send at least five weeks of data to tell real movements from noise.");
  }

  const result = { metric, granularity, weeks, latest, anomalies, drivers, headline, questions };
  result.narrative = await narrative(ctx, result);
  return result;
}

function readSeries(series, field) {
  if (!Array.isArray(series) || series.length < 2) {
    throw new Error(`${field} must hold at least two { date, value } points`);
  }
  const points = series.map((point, index) => {
    const date = point?.date;
    if (typeof date !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) {
      throw new Error(`${field}[${index}].date must be a date as YYYY-MM-DD`);
    }
    if (!Number.isFinite(point.value)) throw new Error(`${field}[${index}].value must be a number`);
    return { date, day: Date.parse(date), value: point.value, index };
  });
  points.sort((a, b) => a.day - b.day);
  points.forEach((p, i) => {
    if (i > 0 && p.day === points[i - 1].day) throw new Error(`${field} has ${p.date} twice`);
  });
  return points;
}

/** Totals per week starting Monday; daily data keeps only complete weeks. */
function toWeeks(points, granularity) {
  const weeks = new Map();
  for (const p of points) {
    const start = weekStart(p.day);
    const week = weeks.get(start) ?? { week_start: start, total: 0, days: 0 };
    week.total = round(week.total + p.value);
    week.days += granularity === "daily" ? 1 : 7;
    weeks.set(start, week);
  }
  return [...weeks.values()].filter((w) => w.days === 7).map(({ week_start, total }) => ({ week_start, total }));
}

/**
 * Robust z-score (median and MAD) of each point against what was expected: for daily data the
 * same weekday's median scaled by its week's level, so weekends and a shifted week are not
 * anomalies; otherwise the median of up to three neighbours on each side. A point must also
 * be at least 10% off, since a very steady series has a tiny spread.
 */
function findAnomalies(points, granularity) {
  let expected;
  if (granularity === "daily" && points.length >= 21) {
    const weekday = (p) => new Date(p.day).getUTCDay();
    const onWeekday = (d) => points.filter((p) => weekday(p) === d).map((p) => p.value);
    const usual = new Map([0, 1, 2, 3, 4, 5, 6].map((d) => [d, median(onWeekday(d))]));
    const level = new Map();
    for (const p of points.filter((p) => usual.get(weekday(p)) !== 0)) {
      const week = weekStart(p.day);
      level.set(week, [...(level.get(week) ?? []), p.value / usual.get(weekday(p))]);
    }
    expected = (p) => usual.get(weekday(p)) * median(level.get(weekStart(p.day)) ?? [1]);
  } else {
    expected = (_, i) => median(points.filter((__, j) => j !== i && Math.abs(j - i) <= 3).map((p) => p.value));
  }
  const rows = points.map((p, i) => ({ p, expected: expected(p, i), residual: p.value - expected(p, i) }));
  const residuals = rows.map((row) => row.residual);
  const center = median(residuals);
  let spread = median(residuals.map((r) => Math.abs(r - center))) / 0.6745;
  if (spread === 0) spread = (residuals.reduce((a, r) => a + Math.abs(r - center), 0) / residuals.length) * 1.2533;
  if (spread === 0) return [];
  return rows
    .filter((row) => Math.abs(row.residual) >= 0.1 * Math.abs(row.expected))
    .map(({ p, expected, residual }) => ({
      date: p.date,
      value: p.value,
      expected: round(expected),
      score: round((residual - center) / spread, 1),
    }))
    .filter((a) => Math.abs(a.score) > 3.5)
    .sort((a, b) => Math.abs(b.score) - Math.abs(a.score) || a.date.localeCompare(b.date));
}

function segmentDrivers(segments, points, granularity, previousWeek, lastWeek) {
  if (segments === undefined) return [];
  if (segments === null || typeof segments !== "object" || Array.isArray(segments)) {
    throw new Error("input.segments must be an object of segment name → series");
  }
  const changes = Object.entries(segments).map(([name, series]) => {
    const field = `input.segments.${name}`;
    const aligned = Array.isArray(series) && series.every((v) => typeof v === "number");
    if (aligned && series.length !== points.length) {
      throw new Error(`${field} has ${series.length} values but input.series has ${points.length}`);
    }
    // Plain numbers line up with input.series as it was given, before sorting.
    const own = aligned ? points.map((p) => ({ ...p, value: series[p.index] })) : readSeries(series, field);
    const weeks = toWeeks(own, granularity);
    const total = (start) => weeks.find((w) => w.week_start === start)?.total ?? 0;
    const [before, after] = [total(previousWeek), total(lastWeek)];
    return { segment: name, previous: before, total: after, delta: round(after - before) };
  });
  const net = changes.reduce((sum, c) => sum + c.delta, 0);
  return changes
    .map((c) => ({ ...c, share: net === 0 ? 0 : round(c.delta / net, 3) }))
    .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta) || a.segment.localeCompare(b.segment));
}

async function narrative(ctx, result) {
  const facts = [
    result.headline,
    ...result.anomalies.map((a) => `${a.date}: ${a.value} against a usual ${a.expected}`),
    ...result.drivers.map((d) => `${d.segment}: ${d.previous} → ${d.total} (${d.delta >= 0 ? "+" : ""}${d.delta})`),
  ].join("\n");
  try {
    const system = "You are a product analyst. Write a weekly report of at most five sentences from these facts only.";
    return (await ctx.llm.complete(facts, { system, temperature: 0.3, maxTokens: 220 })).trim();
  } catch (error) {
    if (String(error.message).startsWith("denied:")) return null;
    throw error;
  }
}
