// Social Media: adapts one message to each network. The model writes a platform-native post;
// the agent then enforces each network's rules: character limits (on X a link counts as 23),
// how many hashtags fit the culture, threads for X when the text is long. It can also plan a
// content calendar that rotates networks, formats and angles, with launch days on every network.
//
// Input:  { "message" or "theme", "platforms": ["linkedin", "x", "instagram"], "link"?, "hashtags"?: [],
//           "calendar_days"?: 7, "start_date"?: "2026-05-04", "launches"?: [{ "date", "name" }] }
// Output: { posts: [{ platform, text, thread?, characters, limit, within_limit, hashtags }], hashtags, calendar }
// Needs:  capabilities.llm

// Per network: its character limit, how many hashtags suit it, the voice and the formats it takes.
// prettier-ignore
const PLATFORMS = {
  linkedin: { limit: 3000, tags: 3, style: "a thoughtful LinkedIn post: a strong first line, short paragraphs, one question at the end", formats: ["text", "document", "image", "poll"] },
  x: { limit: 280, tags: 2, style: "a punchy post for X: one idea, plain words, no filler", formats: ["text", "thread", "image", "poll"] },
  instagram: { limit: 2200, tags: 5, style: "an Instagram caption: visual, warm, a call to action to the link in bio", formats: ["image", "carousel", "reel", "story"] },
  facebook: { limit: 63206, tags: 2, style: "a friendly Facebook post for a community page", formats: ["text", "image", "video", "event"] },
  threads: { limit: 500, tags: 1, style: "a casual Threads post that invites replies", formats: ["text", "image", "question"] },
  mastodon: { limit: 500, tags: 3, style: "a plain, sincere Mastodon toot without marketing speak", formats: ["text", "image", "poll"] },
};
const ANGLES = [
  "how-to tip",
  "behind the scenes",
  "customer story",
  "question for the audience",
  "product highlight",
  "industry insight",
  "team spotlight",
];
const STOP = new Set(
  (
    "about after again also because been before being could every from have into just like more most only other over " +
    "same some such than that their them then there these they this those through very what when where which while " +
    "will with would your ours ourselves"
  ).split(" "),
);
const DAY = 86400000;
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
const isDate = (s) => typeof s === "string" && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s));
// X counts every link as 23 characters, whatever its length.
const length = (platform, text) =>
  platform === "x" ? text.replace(/https?:\/\/\S+/g, "x".repeat(23)).length : text.length;

function deriveHashtags(text) {
  const counts = new Map();
  for (const word of text.toLowerCase().match(/[a-z][a-z0-9]{3,}/g) ?? []) {
    if (!STOP.has(word)) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 5)
    .map(([w]) => `#${w.charAt(0).toUpperCase()}${w.slice(1)}`);
}

/** Splits text into numbered posts that each fit the limit, breaking between words. */
function thread(platform, text, limit) {
  const words = text.split(/\s+/);
  const parts = [];
  let current = "";
  for (const word of words) {
    const next = current ? `${current} ${word}` : word;
    if (length(platform, next) > limit - 8 && current) {
      parts.push(current);
      current = word;
    } else current = next;
  }
  if (current) parts.push(current);
  return parts.map((part, i) => `${part} (${i + 1}/${parts.length})`);
}

export default async function run(input, ctx) {
  if (input === null || typeof input !== "object") {
    throw new Error("input must be an object with input.message (or input.theme) and input.platforms");
  }
  const source = input.message ?? input.theme;
  if (typeof source !== "string" || source.trim() === "") {
    throw new Error("input.message (or input.theme) must be a non-empty string");
  }
  if (source.length > 5000) throw new Error("input.message must be at most 5000 characters");
  if (!Array.isArray(input.platforms) || input.platforms.length === 0) {
    throw new Error(`input.platforms must list at least one of ${Object.keys(PLATFORMS).join(", ")}`);
  }
  const platforms = input.platforms.map((p, i) => {
    const given = String(p).toLowerCase();
    const name = given === "twitter" ? "x" : given;
    if (!PLATFORMS[name]) throw new Error(`input.platforms[${i}] must be one of ${Object.keys(PLATFORMS).join(", ")}`);
    return name;
  });
  if (input.link !== undefined && (typeof input.link !== "string" || !/^https?:\/\/\S+$/.test(input.link))) {
    throw new Error("input.link must be an http(s) address");
  }
  const listed =
    input.hashtags === undefined ||
    (Array.isArray(input.hashtags) && input.hashtags.every((t) => typeof t === "string"));
  if (!listed) throw new Error("input.hashtags must be an array of strings");
  const hashtags = input.hashtags
    ? input.hashtags.map((t) => `#${t.replace(/^#/, "").replace(/\s+/g, "")}`)
    : deriveHashtags(source);

  const calendar = plan(input, platforms, source);
  const posts = [];
  for (const platform of [...new Set(platforms)]) {
    const rules = PLATFORMS[platform];
    const written = (
      await ctx.llm.complete(source, {
        system: `Write ${rules.style}, about this message. Stay under ${rules.limit} characters. No hashtags and no links; they are added afterwards. Answer with the post only.`,
        temperature: 0.8,
        maxTokens: Math.min(400, Math.ceil(rules.limit / 4)),
      })
    ).trim();
    const tags = hashtags.slice(0, rules.tags);
    const tail = [input.link, tags.join(" ")].filter(Boolean).join("\n");
    let text = tail ? `${written}\n\n${tail}` : written;
    const post = { platform, limit: rules.limit, hashtags: tags };
    if (length(platform, text) > rules.limit && platform === "x") {
      post.thread = thread(platform, text, rules.limit);
      text = post.thread[0];
    } else if (length(platform, text) > rules.limit) {
      const room = rules.limit - length(platform, tail) - 3;
      text = `${written.slice(0, room).replace(/\s+\S*$/, "")}…${tail ? `\n\n${tail}` : ""}`;
    }
    const fits = (post.thread ?? [text]).every((t) => length(platform, t) <= rules.limit);
    posts.push({ ...post, text, characters: length(platform, text), within_limit: fits });
  }

  return { posts, hashtags, calendar };
}

/** A calendar that rotates the networks, each network's formats and the angles; a launch day goes on every network. */
function plan(input, platforms, source) {
  const days = input.calendar_days ?? 0;
  if (!Number.isInteger(days) || days < 0 || days > 31) throw new Error("input.calendar_days must be 0 to 31");
  if (days === 0) return [];
  const start = input.start_date ?? iso(Date.now());
  if (!isDate(start)) throw new Error("input.start_date must be a date as YYYY-MM-DD");
  if (input.launches !== undefined && !Array.isArray(input.launches))
    throw new Error("input.launches must be an array");
  const launches = (input.launches ?? []).map((l, i) => {
    if (!isDate(l?.date) || typeof l.name !== "string") throw new Error(`input.launches[${i}] needs a date and a name`);
    return l;
  });
  const theme = input.theme ?? source.split(/(?<=[.!?])\s/)[0].slice(0, 80);
  const calendar = [];
  const used = new Map();
  for (let d = 0; d < days; d += 1) {
    const date = iso(Date.parse(start) + d * DAY);
    const weekday = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][new Date(date).getUTCDay()];
    const launch = launches.find((l) => l.date === date);
    if (launch) {
      for (const platform of new Set(platforms)) {
        const format = PLATFORMS[platform].formats[0];
        calendar.push({ date, weekday, platform, format, angle: "launch", topic: `Launch: ${launch.name}` });
      }
      continue;
    }
    const platform = platforms[d % platforms.length];
    const n = used.get(platform) ?? 0;
    used.set(platform, n + 1);
    const formats = PLATFORMS[platform].formats;
    calendar.push({
      date,
      weekday,
      platform,
      format: formats[n % formats.length],
      angle: ANGLES[d % ANGLES.length],
      topic: theme,
    });
  }
  return calendar;
}
