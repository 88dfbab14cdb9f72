// Each feature is eval'd separately so one unsupported syntax does not sink the module.
const tests = {
  classes: "class A { #x = 1; static s = 2; get x() { return this.#x; } } class B extends A {} new B().x === 1 && B.s === 2",
  destructuring: "const { a, b: [c, ...d], ...r } = { a: 1, b: [2, 3, 4], e: 5 }; a === 1 && c === 2 && d.length === 2 && r.e === 5",
  spread_rest_default: "((x = 2, ...ys) => x + ys.length)(undefined, 1, 2) === 4 && Math.max(...[1, 5, 3]) === 5",
  template_literals: "`a${1 + 1}b` === 'a2b'",
  optional_chaining_nullish: "({}).a?.b ?? 'z' === 'z'",
  generators: "function* g() { yield 1; yield 2; } [...g()].length === 2",
  map_set_weakmap: "new Map([[1, 2]]).get(1) === 2 && new Set([1, 1]).size === 1 && new WeakMap() instanceof WeakMap",
  symbol_iterator: "typeof Symbol.iterator === 'symbol'",
  proxy_reflect: "new Proxy({}, { get: () => 7 }).q === 7 && Reflect.has({ a: 1 }, 'a')",
  json: "JSON.parse(JSON.stringify({ a: [1, 'x', null] })).a[1] === 'x'",
  date: "new Date(Date.UTC(2020, 0, 2)).toISOString() === '2020-01-02T00:00:00.000Z' && typeof Date.now() === 'number'",
  regexp_named_lookbehind_unicode: "/(?<y>\\d{4})/.exec('in 2024').groups.y === '2024' && /(?<=a)b/.test('ab') && /\\p{L}/u.test('é')",
  regexp_flags_v_d: "/a/d.exec('a').indices[0][0] === 0 && /[\\p{L}--[a-z]]/v.test('A')",
  typed_arrays: "const u = new Uint8Array([1, 2, 300]); u[2] === 44 && new Float64Array(2).length === 2 && new DataView(new ArrayBuffer(4)).getInt32(0) === 0",
  bigint: "(2n ** 64n).toString() === '18446744073709551616'",
  array_es2023: "[3, 1, 2].toSorted()[0] === 1 && [1, 2, 3].findLast(x => x < 3) === 2 && [1, 2].at(-1) === 2",
  object_groupBy: "Object.groupBy([1, 2, 3], x => x % 2 ? 'odd' : 'even').odd.length === 2",
  string_methods: "'abc'.replaceAll('b', 'x') === 'axc' && 'x'.padStart(3, '-') === '--x' && ' a '.trim() === 'a'",
  intl: "typeof Intl !== 'undefined' && new Intl.NumberFormat('en-US').format(1234.5) === '1,234.5'",
  toLocaleString: "(1234.5).toLocaleString() + ' / ' + new Date(0).toLocaleDateString('en-US', { timeZone: 'UTC' })",
  error_stack: "typeof new Error('x').stack === 'string' && new Error('x').stack.length > 0",
  structuredClone: "typeof structuredClone === 'function'",
  weakref_finalization: "typeof WeakRef === 'function' && typeof FinalizationRegistry === 'function'",
  atomics_sab: "typeof Atomics === 'object' && typeof SharedArrayBuffer === 'function'",
  set_methods_es2025: "new Set([1, 2]).union(new Set([3])).size === 3",
  iterator_helpers: "[1, 2, 3].values().map(x => x * 2).toArray()[2] === 6",
  temporal: "typeof Temporal === 'object'",
  eval_Function: "new Function('a', 'return a + 1')(1) === 2",
  labels_tail: "let n = 0; outer: for (;;) { for (;;) { n++; break outer; } } n === 1",
};
export default async function run(input) {
  const out = {};
  for (const [name, code] of Object.entries(tests)) {
    try { const v = (0, eval)(code); out[name] = v === true ? true : (v === false ? false : String(v)); }
    catch (e) { out[name] = "error: " + String(e && e.message || e).slice(0, 60); }
  }
  // async/await and promise jobs, in the module itself
  try {
    const sleep0 = (v) => new Promise((r) => r(v));
    async function* ag() { yield 1; yield 2; }
    let s = 0; for await (const x of ag()) s += x;
    out.async_await_for_await = (await sleep0(5)) + s === 8;
    out.promise_all_settled_any = (await Promise.allSettled([Promise.reject(1)]))[0].status === "rejected" && (await Promise.any([Promise.reject(1), 2])) === 2;
  } catch (e) { out.async_await_for_await = "error: " + e; }
  out.top_level_module_default_export = true;
  out.setTimeout = typeof setTimeout;
  out.console = typeof console;
  out.queueMicrotask = typeof queueMicrotask;
  out.globalThis = typeof globalThis;
  return out;
}
