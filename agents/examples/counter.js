// Counter: counts its runs per name in the deployment's key-value store.
//
// Input:  { "name": "visits", "by": 1 }   (both optional)
// Output: { "name": "visits", "count": 3, "names": ["visits"] }
// Needs:  capabilities.kv
export default function run(input, ctx) {
  const name = String(input?.name ?? "runs");
  const by = Number.isFinite(input?.by) ? input.by : 1;
  const key = `count:${name}`;
  const count = (ctx.kv.get(key) ?? 0) + by;
  ctx.kv.set(key, count);
  const names = ctx.kv.list("count:").map((key) => key.slice("count:".length));
  return { name, count, names };
}
