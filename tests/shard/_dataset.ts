/**
 * A multi-file, multi-row-group Parquet input for the sharding specs: rows of
 * the diabetes example (`examples/data/diabetes.parquet`), each feature scaled
 * by a small deterministic factor so that no two rows repeat, with a unique
 * int64 `id` (1,000,000 + position).
 */
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { ParquetWriter } from '../../ts/io/datasets/parquet_writer.ts';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { ROOT } from '../core/_fixtures.ts';

/** The diabetes model of the examples (XGBoost UBJSON). */
export const DIABETES_MODEL = join(ROOT, 'examples', 'models', 'diabetes.ubj');

/** Shape of the dataset: files × row groups per file × rows per row group (the last file may have `lastFileGroups`). */
export interface DatasetShape {
  files: number;
  rowGroups: number;
  rowsPerGroup: number;
}

/** Writes `inputs-00i.parquet` files into `dir` (local); returns their paths and the total rows. */
export async function writeDataset(dir: string, shape: DatasetShape): Promise<{ files: string[]; rows: number }> {
  const source = await readerForPath(join(ROOT, 'examples', 'data', 'diabetes.parquet')).read();
  const features = source.schema.fields.map((f) => f.name).filter((n) => n !== 'id' && n !== 'target');
  const perFile = shape.rowGroups * shape.rowsPerGroup;
  const files: string[] = [];
  for (let f = 0; f < shape.files; f++) {
    const id = new BigInt64Array(perFile);
    const cols: Record<string, Float64Array> = Object.fromEntries(features.map((n) => [n, new Float64Array(perFile)]));
    for (let r = 0; r < perFile; r++) {
      const i = f * perFile + r;
      id[r] = BigInt(1_000_000 + i);
      const src = i % source.numRows;
      const scale = 1 + 0.01 * (((i * 7919) % 23) - 11);
      for (const n of features) cols[n][r] = (source.getChild(n)!.get(src) as number) * scale;
    }
    const table = arrow.tableFromArrays({ id, ...cols });
    const path = join(dir, `inputs-${String(f).padStart(3, '0')}.parquet`);
    const out = await new ParquetWriter({ path }).open(table.schema, { rowGroupRows: shape.rowsPerGroup });
    await out.write(table);
    await out.close();
    files.push(path);
  }
  return { files, rows: perFile * shape.files };
}
