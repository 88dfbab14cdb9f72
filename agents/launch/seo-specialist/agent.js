// SEO Specialist: fetches a page and audits what search engines read: the title and meta
// description (length, the target query's words), the heading outline, content length and
// keyword placement, image alt text, links and technical tags. Each area is scored from the
// issues found, issues are ordered by impact, and the model (when granted) suggests rewrites.
//
// Input:  { "url": "https://www.example.com/guide", "target_query": "cold brew at home" }
// Output: { url, status, overall, scores: { title, description, headings, content, images, links, technical },
//           issues: [{ area, impact, message }], page, keyword, suggestions: { title, description, h1 } }
// Needs:  capabilities.http for the page's host, capabilities.llm for the rewrites

const STOP = new Set("a an and at for from how in is it of on or the to with your you what why".split(" "));
const AREAS = ["title", "description", "headings", "content", "images", "links", "technical"];
const IMPACT = { high: 0, medium: 1, low: 2 };
const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };
const code = (e) => Number(e.slice(1).replace(/^x/i, "0x")); // "#65" and "#x41"; NaN for nonsense
const entity = (m, e) => (e[0] !== "#" ? (ENTITIES[e] ?? m) : code(e) <= 0x10ffff ? String.fromCodePoint(code(e)) : m);
const decode = (s) => s.replace(/&(#x?[0-9a-f]+|\w+);/gi, entity);
const text = (html) =>
  decode(html.replace(/<[^>]*>/g, " "))
    .replace(/\s+/g, " ")
    .trim();
const terms = (s) => (s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !STOP.has(w));
const HEADING = /<h([1-6])\b[^>]*>([\s\S]*?)<\/h\1>/gi;
const HIDDEN = /<(script|style|noscript|template)\b[\s\S]*?<\/\1>|<!--[\s\S]*?-->/gi;
const cut = (s, max) => (s.length <= max ? s : `${s.slice(0, max - 1).replace(/\s+\S*$/, "")}…`);
const tags = (html, name) => [...html.matchAll(new RegExp(`<${name}\\b[^>]*>`, "gi"))].map((m) => attributes(m[0]));

function attributes(tag) {
  const found = {};
  for (const m of tag.matchAll(/([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) {
    found[m[1].toLowerCase()] = decode(m[2] ?? m[3] ?? m[4]);
  }
  return found;
}

/** What search engines read on the page. Only the first 300 KB: the head and main content of any real page. */
function readPage(source, url) {
  const html = source.slice(0, 300000);
  const metas = tags(html, "meta");
  const meta = (name) => metas.find((m) => (m.name ?? m.property)?.toLowerCase() === name)?.content?.trim() ?? null;
  const headings = [...html.matchAll(HEADING)].map((m) => ({ level: Number(m[1]), text: text(m[2]) }));
  const body = (html.match(/<body\b[^>]*>([\s\S]*)<\/body>/i)?.[1] ?? html).replace(HIDDEN, " ");
  const links = [...body.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a>/gi)].map((m) => ({
    ...attributes(m[1]),
    label: text(m[2]) || tags(m[2], "img")[0]?.alt || "",
  }));
  // Relative links and absolute ones to the same origin stay on the site.
  const origin = url.match(/^https?:\/\/[^/?#]+/i)[0].toLowerCase();
  const local = (href) => !/^(https?:)?\/\//i.test(href) || href.toLowerCase().startsWith(origin);
  const bodyText = text(body);
  const paragraphs = [...body.matchAll(/<p\b[^>]*>([\s\S]*?)<\/p>/gi).take(30)].map((m) => text(m[1])).join(" ");
  return {
    title: text(html.match(/<title[^>]*>([\s\S]*?)<\/title>/i)?.[1] ?? "") || null,
    description: meta("description"),
    robots: meta("robots"),
    viewport: meta("viewport"),
    canonical: tags(html, "link").find((l) => l.rel?.toLowerCase() === "canonical")?.href ?? null,
    lang: /<html\b[^>]*\blang\s*=/i.test(html),
    headings,
    h1: headings.filter((h) => h.level === 1).map((h) => h.text),
    words: terms(bodyText),
    word_count: bodyText ? bodyText.split(" ").length : 0,
    images: tags(body, "img"),
    links,
    internal: links.filter((l) => l.href && !/^(mailto|tel|javascript):/i.test(l.href) && local(l.href)),
    prose: (paragraphs || bodyText).slice(0, 5000),
  };
}

function audit(page, query, url) {
  const issues = [];
  const issue = (area, impact, penalty, message) => issues.push({ area, impact, penalty, message });
  const covers = (s) => query.filter((t) => terms(s ?? "").includes(t));
  const start = page.words.slice(0, 100);
  // The share of all words taken by the query's most repeated word.
  const [top, count] = query.map((t) => [t, page.words.filter((w) => w === t).length]).sort((a, b) => b[1] - a[1])[0];
  const density = page.word_count ? Math.round((count / page.word_count) * 1000) / 10 : 0;
  const keyword = {
    terms: query,
    in_title: covers(page.title),
    in_description: covers(page.description),
    in_h1: covers(page.h1.join(" ")),
    in_first_100_words: query.filter((t) => start.includes(t)),
    in_url: covers(url.replace(/^https?:\/\/[^/]+/i, "").replace(/[-_/]/g, " ")),
    density_pct: density,
  };
  const lacking = (area, found, none, some) => {
    const absent = query.filter((t) => !found.includes(t));
    const what = area === "headings" ? "H1" : `The ${area}`;
    if (absent.length === query.length) issue(area, ...none, `${what} has none of the query's words`);
    else if (absent.length > 0) issue(area, ...some, `${what} lacks: ${absent.join(", ")}`);
  };
  const { title, description, h1, headings, images, internal } = page;
  const [tl, dl] = [title?.length ?? 0, description?.length ?? 0];
  if (!title) issue("title", "high", 100, "The page has no <title>");
  if (title && (tl < 30 || tl > 60)) issue("title", "medium", 30, `The title is ${tl} characters; 30–60 shows in full`);
  if (title) lacking("title", keyword.in_title, ["high", 40], ["medium", 20]);
  if (!description) issue("description", "high", 100, "There is no meta description");
  if (description && (dl < 70 || dl > 160)) {
    issue("description", "medium", 30, `The description is ${dl} characters; aim for 70–160`);
  }
  if (description) lacking("description", keyword.in_description, ["medium", 30], ["low", 15]);
  if (h1.length === 0) issue("headings", "high", 60, "The page has no H1");
  if (h1.length > 1) issue("headings", "medium", 30, `The page has ${h1.length} H1s; keep one`);
  if (h1.length > 0) lacking("headings", keyword.in_h1, ["medium", 25], ["low", 10]);
  const skip = headings.findIndex((h, i) => i > 0 && h.level > headings[i - 1].level + 1);
  if (skip > 0) {
    const [before, after] = [headings[skip - 1], headings[skip]];
    issue("headings", "low", 15, `H${before.level} is followed by H${after.level} "${after.text}": a level is skipped`);
  }
  if (page.word_count < 300) issue("content", "high", 40, `Only ${page.word_count} words; ranking pages have 300+`);
  const late = query.filter((t) => !start.includes(t));
  if (late.length) issue("content", "medium", 25, `The first 100 words lack: ${late.join(", ")}`);
  if (density > 3) issue("content", "medium", 20, `"${top}" is ${density}% of the words: keyword stuffing`);
  const noAlt = images.filter((img) => img.alt === undefined);
  if (noAlt.length) {
    const message = `${noAlt.length} of ${images.length} images have no alt text: ${noAlt.map((img) => img.src).join(", ")}`;
    issue("images", "medium", Math.min(60, Math.round((100 * noAlt.length) / images.length)), message);
  }
  if (internal.length === 0) issue("links", "medium", 40, "There are no internal links");
  else if (internal.length < 3) issue("links", "low", 15, `Only ${internal.length} internal link(s); aim for 3+`);
  const unlabeled = page.links.filter((l) => !l.label && !l["aria-label"]).length;
  if (unlabeled) issue("links", "low", 10, `${unlabeled} link(s) have no text for search engines or readers`);
  if (/noindex/i.test(page.robots ?? "")) issue("technical", "high", 100, "robots says noindex: kept out of search");
  if (!page.viewport) issue("technical", "medium", 30, "No viewport meta tag: not set up for phones");
  if (!page.canonical) issue("technical", "low", 20, "There is no canonical link");
  if (!page.lang) issue("technical", "low", 10, "The <html> element has no lang attribute");
  return { issues, keyword };
}

export default async function run(input, ctx) {
  if (typeof input?.url !== "string" || !/^https?:\/\/[^/\s?#]+/i.test(input.url)) {
    throw new Error("input.url must be an absolute http(s) address of the page to audit");
  }
  if (typeof input.target_query !== "string" || terms(input.target_query).length === 0) {
    throw new Error("input.target_query must be the search query the page should rank for");
  }
  const response = await ctx.http.fetch(input.url, { headers: { accept: "text/html,application/xhtml+xml" } });
  if (!response.ok) throw new Error(`the page at input.url answered HTTP ${response.status}`);
  const page = readPage(response.body, input.url);
  const { issues, keyword } = audit(page, [...new Set(terms(input.target_query))], input.url);

  const lost = (area) => issues.filter((i) => i.area === area).reduce((sum, i) => sum + i.penalty, 0);
  const scores = Object.fromEntries(AREAS.map((area) => [area, Math.max(0, 100 - lost(area))]));
  const overall = Math.round(AREAS.reduce((sum, area) => sum + scores[area], 0) / AREAS.length);
  issues.sort((a, b) => IMPACT[a.impact] - IMPACT[b.impact] || b.penalty - a.penalty);
  const summary = {
    title: page.title,
    title_length: page.title?.length ?? 0,
    description: page.description,
    description_length: page.description?.length ?? 0,
    canonical: page.canonical,
    h1: page.h1,
    headings: page.headings,
    word_count: page.word_count,
    images: page.images.length,
    images_missing_alt: page.images.filter((img) => img.alt === undefined).length,
    internal_links: page.internal.length,
    external_links: page.links.length - page.internal.length,
  };
  const suggestions = await rewrite(ctx, input.target_query, page);
  ctx.log.info(`audited ${input.url}: ${response.status}, overall ${overall}, ${issues.length} issues`);
  const found = issues.map(({ area, impact, message }) => ({ area, impact, message }));
  const result = { url: input.url, status: response.status, overall, scores, issues: found };
  return { ...result, page: summary, keyword, suggestions };
}

/** The model's rewrites when it is granted and answers in shape; otherwise ones built from the page. */
async function rewrite(ctx, query, page) {
  const label = query.replace(/^\p{L}/u, (c) => c.toUpperCase());
  const wanted = terms(query);
  const coverage = (s) => wanted.filter((t) => terms(s).includes(t)).length;
  const complete = (s) => s && coverage(s) === wanted.length;
  // The title part (between separators) with most of the query, and the first sentence with most of it.
  const parts = (page.title ?? "").split(/\s+[|–—-]\s+/);
  const part = parts.sort((a, b) => coverage(b) - coverage(a) || a.length - b.length)[0];
  const sentences = (page.prose.match(/[^.!?]+[.!?]*/g) ?? []).map((s) => [s.trim(), coverage(s)]);
  const sentence = sentences.reduce((best, next) => (next[1] > best[1] ? next : best), ["", 0])[0];
  const length = page.description?.length ?? 0;
  const keep = complete(page.description) && length >= 70 && length <= 160;
  const fallback = {
    title: cut(complete(part) ? part : `${label}: ${part || "a complete guide"}`, 60),
    description: cut(keep ? page.description : sentence || page.prose, 155),
    h1: complete(page.h1[0]) ? page.h1[0] : label,
  };
  const current = `Current title: ${page.title}\nCurrent description: ${page.description}\nCurrent H1: ${page.h1.join(" | ")}`;
  const system =
    "You are an SEO editor. Answer with exactly three lines: 'Title: …' (at most 60 characters), " +
    "'Description: …' (70–155 characters), 'H1: …'. Use the query's words naturally.";
  try {
    const prompt = `Query: ${query}\n${current}\nPage text: ${cut(page.prose, 1500)}`;
    const answer = await ctx.llm.complete(prompt, { system, temperature: 0.4, maxTokens: 120 });
    const line = (name) => answer.match(new RegExp(`^\\s*${name}:\\s*(.+)$`, "im"))?.[1]?.trim();
    const title = cut(line("Title") ?? fallback.title, 60);
    return { title, description: cut(line("Description") ?? fallback.description, 155), h1: line("H1") ?? fallback.h1 };
  } catch (error) {
    if (String(error.message).startsWith("denied:")) return fallback;
    throw error;
  }
}
