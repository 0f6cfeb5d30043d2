/** Writes Arrow tables as Arrow IPC files (`.arrow`, `.feather`) or streams (`.arrows`). */
import { extname } from 'node:path';
import { tableToIPC, type Table } from 'apache-arrow';
import { z } from 'zod';
import { writeFileAtomic } from '../atomic.ts';
import type { Writer } from './writer.ts';

/** `{KIND: ArrowWriter, path, format?}` */
export const ArrowWriterConfig = z
  .object({
    KIND: z.literal('ArrowWriter'),
    /** The file to write. */
    path: z.string().min(1),
    /** IPC layout; by default `stream` for `.arrows`, else `file`. */
    format: z.enum(['file', 'stream']).optional(),
  })
  .strict();
/** `{KIND: ArrowWriter, path, format?}` */
export type ArrowWriterConfig = z.input<typeof ArrowWriterConfig>;

/** Writes a table to one Arrow IPC file or stream, atomically. */
export class ArrowWriter implements Writer {
  readonly path: string;
  readonly format: 'file' | 'stream';

  constructor(config: { path: string; format?: 'file' | 'stream' }) {
    this.path = config.path;
    this.format = config.format ?? (extname(config.path).toLowerCase() === '.arrows' ? 'stream' : 'file');
  }

  async write(table: Table): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = tableToIPC(table, this.format);
    } catch (err) {
      throw new Error(`cannot write ${this.path} as Arrow IPC: ${err instanceof Error ? err.message : String(err)}`);
    }
    await writeFileAtomic(this.path, bytes);
  }

  describe(): string {
    return `ArrowWriter(${this.path}, ${this.format})`;
  }
}
