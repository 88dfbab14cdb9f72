// Data Insights: profiles a dataset (CSV text or an array of records) and ranks what stands out:
// per-column statistics, strong correlations, trends along the rows and outliers. Every number
// is computed here; the language model, when granted, only answers the question from them.
//
// Input:  { "data": "month,revenue\n2025-01,120\n…" or [{ "month": "2025-01", "revenue": 120 }], "question": "…" }
// Output: { rows, columns: [{ name, type, missing, … }], findings: [{ kind, columns, strength, text }], charts, answer }
// Needs:  capabilities.llm, only for "answer"

const MAX_ROWS = 10000;
const round = (x, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;
const isMissing = (v) => v === null || v === undefined || (typeof v === "string" && v.trim() === "");
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
const DATE = /^\d{4}-\d{2}(-\d{2})?([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export default async function run(input, ctx) {
  if (input === null || typeof input !== "object" || Array.isArray(input)) throw new Error("input.data is required");
  if (input.question !== undefined && typeof input.question !== "string") {
    throw new Error("input.question must be text");
  }
  const records = toRecords(input.data);
  const names = [...new Set(records.flatMap((record) => Object.keys(record)))];
  const cells = (name) => records.map((record) => record[name]);
  const columns = names.map((name) => profile(name, cells(name)));
  const numeric = columns.filter((column) => column.type === "number");
  const axis = columns.find((column) => column.type === "date");
  // Rows in time order when a column holds dates (ISO dates sort as text), else as given.
  const key = (index) => (axis ? String(records[index][axis.name] ?? "") : "");
  const order = records.map((_, index) => index).sort((a, b) => key(a).localeCompare(key(b)) || a - b);
  const values = (name) => order.map((index) => toNumber(records[index][name]));

  const findings = [];
  const finding = (kind, names, strength, text) =>
    findings.push({ kind, columns: names, strength: round(strength, 2), text });
  for (const c of columns.filter((c) => c.missing > 0)) {
    const text = `${c.name} is missing in ${c.missing} of ${records.length} rows`;
    finding("missing", [c.name], c.missing / records.length, text);
  }
  for (const c of numeric) {
    const trend = (c.trend = regression(values(c.name)));
    if (trend && trend.r2 >= 0.5) {
      const along = axis ? ` (ordered by ${axis.name})` : "";
      const text = `${c.name} ${trend.slope > 0 ? "rises" : "falls"} by about ${round(Math.abs(trend.slope), 2)} per row${along}`;
      finding("trend", [c.name], trend.r2, `${text}, R² ${round(trend.r2, 2)}`);
    }
    if (c.outliers.length > 0) {
      const text = `${c.name} has ${c.outliers.length} value(s) outside ${c.fences.join(" … ")}: ${c.outliers.join(", ")}`;
      finding("outlier", [c.name], Math.min(0.9, 0.5 + 0.1 * c.outliers.length), text);
    }
  }
  for (const [i, a] of numeric.entries()) {
    for (const b of numeric.slice(i + 1)) {
      const r = fit(values(a.name), values(b.name))?.r;
      if (r !== undefined && Math.abs(r) >= 0.7) {
        const text = `${a.name} and ${b.name} move ${r > 0 ? "together" : "in opposite directions"} (r = ${round(r, 3)})`;
        finding("correlation", [a.name, b.name], Math.abs(r), text);
      }
    }
  }
  findings.sort((a, b) => b.strength - a.strength || a.kind.localeCompare(b.kind));

  const charts = suggestCharts(columns, findings, axis);
  const result = { rows: records.length, columns, findings, charts };
  if (input.question?.trim()) result.answer = await answer(ctx, input.question, result);
  ctx.log.info(`profiled ${records.length} rows, ${columns.length} columns, ${findings.length} findings`);
  return result;
}

function toRecords(data) {
  if (typeof data !== "string" && !Array.isArray(data)) {
    throw new Error("input.data must be CSV text or an array of records");
  }
  const records = typeof data === "string" ? parseCsv(data) : data;
  const bad = records.findIndex((record) => record === null || typeof record !== "object" || Array.isArray(record));
  if (bad >= 0) throw new Error(`input.data[${bad}] must be an object of column → value`);
  if (records.length === 0) throw new Error("input.data has no rows");
  if (records.length > MAX_ROWS) throw new Error(`input.data has ${records.length} rows; at most ${MAX_ROWS} are read`);
  return records;
}

/** RFC 4180 CSV: a field is quoted (a quote inside doubled, line breaks allowed) or runs to a comma or line end. */
function parseCsv(text) {
  const field = /(?:"((?:[^"]|"")*)"|([^",\r\n]*))(,|\r\n|\n|\r|$)/y;
  const rows = [[]];
  while (field.lastIndex < text.length) {
    const match = field.exec(text);
    if (!match) throw new Error(`input.data has a stray or unclosed quote in row ${rows.length}`);
    const row = rows[rows.length - 1];
    row.push(match[1] === undefined ? match[2] : match[1].replaceAll('""', '"'));
    if (match[3] !== ",") rows.push([]);
    else if (field.lastIndex === text.length) row.push("");
  }
  const lines = rows.filter((row) => row.length > 1 || (row.length === 1 && row[0].trim() !== ""));
  if (lines.length < 2) throw new Error("input.data needs a header line and at least one row");
  const header = lines[0].map((name) => name.trim());
  if (header.some((name) => name === "")) throw new Error("input.data has an empty column name in its header");
  return lines.slice(1).map((row, index) => {
    if (row.length !== header.length) {
      throw new Error(`input.data row ${index + 2} has ${row.length} fields but the header has ${header.length}`);
    }
    return Object.fromEntries(header.map((name, column) => [name, row[column]]));
  });
}

function toNumber(value) {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" && NUMBER.test(value.trim())) return Number(value.trim());
  return null;
}

function profile(name, raw) {
  const present = raw.filter((value) => !isMissing(value));
  const column = { name, type: "string", missing: raw.length - present.length, count: present.length };
  if (present.length > 0 && present.every((value) => toNumber(value) !== null)) {
    const sorted = present.map(toNumber).sort((a, b) => a - b);
    const n = sorted.length;
    const mean = sorted.reduce((sum, x) => sum + x, 0) / n;
    const variance = n > 1 ? sorted.reduce((sum, x) => sum + (x - mean) ** 2, 0) / (n - 1) : 0;
    const [q1, median, q3] = [0.25, 0.5, 0.75].map((q) => quantile(sorted, q));
    const stats = { mean, median, std_dev: Math.sqrt(variance), q1, q3 };
    const fences = [round(q1 - 1.5 * (q3 - q1)), round(q3 + 1.5 * (q3 - q1))];
    const outliers = sorted.filter((x) => x < fences[0] || x > fences[1]);
    for (const key of Object.keys(stats)) stats[key] = round(stats[key]);
    return { ...column, type: "number", min: sorted[0], max: sorted[n - 1], ...stats, fences, outliers };
  }
  const strings = present.map((value) => String(value).trim()).sort();
  if (strings.length > 0 && strings.every((value) => DATE.test(value) && !Number.isNaN(Date.parse(value)))) {
    return { ...column, type: "date", min: strings[0], max: strings[strings.length - 1] };
  }
  const counts = new Map();
  for (const value of strings) counts.set(value, (counts.get(value) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5);
  const boolean = strings.length > 0 && [...counts.keys()].every((v) => v === "true" || v === "false");
  return {
    ...column,
    type: boolean ? "boolean" : "string",
    distinct: counts.size,
    top: top.map(([value, n]) => ({ value, count: n })),
  };
}

function quantile(sorted, q) {
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

/** Least squares of ys on xs (positions when xs is null) over the rows where both are present. */
function fit(xs, ys) {
  const points = ys.map((y, i) => [xs ? xs[i] : i, y]).filter(([x, y]) => x !== null && y !== null);
  const n = points.length;
  if (n < 3) return null;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let [sxx, sxy, syy] = [0, 0, 0];
  for (const [x, y] of points) [sxx, sxy, syy] = [sxx + (x - mx) ** 2, sxy + (x - mx) * (y - my), syy + (y - my) ** 2];
  if (sxx === 0 || syy === 0) return { n, mx, my, slope: 0, r: undefined, r2: 0 };
  return { n, mx, my, slope: sxy / sxx, r: sxy / Math.sqrt(sxx * syy), r2: (sxy * sxy) / (sxx * syy) };
}

/** The trend along the rows, with the next value when it is clear; null with fewer than 4 points. */
function regression(values) {
  const line = fit(null, values);
  if (!line || line.n < 4) return null;
  const trend = { slope: round(line.slope), r2: round(line.r2) };
  if (line.n >= 6 && line.r2 >= 0.6) trend.next = round(line.my + line.slope * (values.length - line.mx), 2);
  return trend;
}

function suggestCharts(columns, findings, axis) {
  const charts = [];
  const numeric = columns.filter((c) => c.type === "number");
  if (axis) for (const c of numeric) charts.push({ type: "line", x: axis.name, y: c.name });
  for (const f of findings.filter((f) => f.kind === "correlation")) {
    charts.push({ type: "scatter", x: f.columns[0], y: f.columns[1] });
  }
  const category = columns.find((c) => c.type === "string" && c.distinct >= 2 && c.distinct <= 12);
  if (category && numeric[0]) charts.push({ type: "bar", x: category.name, y: numeric[0].name, aggregate: "mean" });
  for (const c of numeric.filter((c) => c.outliers.length > 0)) charts.push({ type: "box", y: c.name });
  if (charts.length === 0 && numeric[0]) charts.push({ type: "histogram", x: numeric[0].name });
  return charts;
}

async function answer(ctx, question, result) {
  const stats = (c) =>
    `- ${c.name}: mean ${c.mean}, median ${c.median}, min ${c.min}, max ${c.max}, std dev ${c.std_dev}`;
  const numeric = result.columns.filter((c) => c.type === "number");
  const facts = [...numeric.map(stats), ...result.findings.map((f) => `- ${f.text}`)];
  const system = "You are a data analyst. Answer in at most four sentences from these computed facts, quoting numbers.";
  try {
    const prompt = `${question}\n\nComputed facts (${result.rows} rows):\n${facts.join("\n")}`;
    return (await ctx.llm.complete(prompt, { system, temperature: 0.2, maxTokens: 200 })).trim();
  } catch (error) {
    if (String(error.message).startsWith("denied:")) return null;
    throw error;
  }
}
