import { readFileSync, writeFileSync } from 'node:fs';
import { ParquetReader } from '/work/wt/lead/ts/io/datasets/parquet_reader.ts';
const src = readFileSync('/work/wt/lead/examples/data/diabetes.parquet');
let uncaught = 0;
process.on('uncaughtException', (e) => { uncaught++; console.log('UNCAUGHT', String(e).slice(0, 100)); });
process.on('unhandledRejection', (e) => { uncaught++; console.log('UNHANDLED', String(e).slice(0, 100)); });
let seed = Number(process.argv[2] ?? 1);
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const kinds: Record<string, number> = {};
for (let i = 0; i < 150; i++) {
  const b = Buffer.from(src);
  const n = 1 + Math.floor(rnd() * 8);
  for (let k = 0; k < n; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
  const p = `/tmp/fuzz/m${i}.parquet`;
  writeFileSync(p, b);
  for (const mode of ['read', 'batches']) {
    try {
      const r = new ParquetReader({ KIND: 'ParquetReader', path: p } as any);
      if (mode === 'read') await r.read(); else for await (const _ of r.batches({ batchRows: 50 })) {}
      kinds['ok'] = (kinds['ok'] ?? 0) + 1;
    } catch (e) {
      const m = String((e as Error).message ?? e).slice(0, 60);
      const key = (e as Error).name + ': ' + m.replace(/[0-9]+/g, 'N');
      kinds[key] = (kinds[key] ?? 0) + 1;
    }
  }
}
console.log(JSON.stringify(kinds, null, 1), 'uncaught', uncaught);
