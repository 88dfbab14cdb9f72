// Summarizer: asks the language model for a short summary of a text.
//
// Input:  { "text": "…", "sentences": 2 }
// Output: { "summary": "…", "model": "…", "words": 42 }
// Needs:  capabilities.llm
export default async function run(input, ctx) {
  const text = typeof input === "string" ? input : input?.text;
  if (typeof text !== "string" || text.trim() === "") {
    throw new Error("give the text to summarise as input.text");
  }
  const sentences = Math.min(Math.max(Number(input?.sentences ?? 2), 1), 10);
  const answer = await ctx.llm.chat(
    [
      { role: "system", content: `Summarise the user's text in at most ${sentences} sentences. Answer with the summary only.` },
      { role: "user", content: text },
    ],
    { temperature: 0.2, maxTokens: 60 * sentences },
  );
  const summary = answer.content.trim();
  ctx.log.info(`summarised ${text.length} characters into ${summary.length}`);
  return { summary, model: answer.model, words: summary.split(/\s+/).filter(Boolean).length };
}
