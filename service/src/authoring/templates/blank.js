// A new agent. `run` receives the input as JSON and returns the output.
// `ctx` holds what the manifest grants: ctx.log, ctx.llm, ctx.http, ctx.kv,
// ctx.config and ctx.secrets. Throwing an Error fails the run with its
// message and line.
export default function run(input, ctx) {
  const name = input?.name;
  if (typeof name !== "string" || name.trim() === "") {
    throw new Error("give a name as input.name");
  }
  ctx.log.info(`greeting ${name}`);
  return { greeting: `Hello, ${name}!`, length: name.length };
}
