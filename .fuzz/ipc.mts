import { readFileSync, writeFileSync } from 'node:fs';
import * as arrow from 'apache-arrow';
import { readerForPath } from '/work/wt/lead/ts/io/datasets/reader.ts';
const n = 300;
const t = arrow.tableFromArrays({ a: Float64Array.from({ length: n }, (_, i) => i), b: Float64Array.from({ length: n }, (_, i) => i * 2) });
const src = Buffer.from(arrow.tableToIPC(t, 'file'));
const only = process.argv[3] ? Number(process.argv[3]) : -1;
let seed = Number(process.argv[2] ?? 1);
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
for (let i = 0; i < 200; i++) {
  const b = Buffer.from(src);
  const k = 1 + Math.floor(rnd() * 4);
  for (let j = 0; j < k; j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
  if (only >= 0 && i !== only) continue;
  const p = `/tmp/fuzz/m${i}.arrow`;
  writeFileSync(p, b);
  const t0 = Date.now();
  console.log('start', i);
  try { const r = readerForPath(p); await r.read(); } catch (e) { }
  const dt = Date.now() - t0;
  if (dt > 500) console.log('slow', i, dt);
}
console.log('done');
