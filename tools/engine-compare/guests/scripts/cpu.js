function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
export default function run(input) {
  const f = fib(22);
  const items = [];
  for (let i = 0; i < 2000; i++) {
    items.push({ id: i, name: "item-" + i, tags: ["a", "b", String(i % 7)], value: i * 1.5, ok: i % 2 === 0 });
  }
  const text = JSON.stringify(items);
  return { fib: f, count: items.length, bytes: text.length };
}
