function down(n) { return n === 0 ? 0 : 1 + down(n - 1); }
export default function run(input) {
  const out = {};
  for (const n of (input.depths || [1000, 5000, 20000, 100000])) {
    try { out["depth_" + n] = down(n) === n; } catch (e) { out["depth_" + n] = String(e).slice(0, 60); }
  }
  try { const a = []; a.length = 1e6; out.big_string = "x".repeat(1 << 24).length; } catch (e) { out.big_string = String(e).slice(0, 60); }
  return out;
}
