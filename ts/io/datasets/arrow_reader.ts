/** Reads Arrow IPC files (`.arrow`, `.feather` v2) and streams (`.arrows`), whole or streamed. */
import { z } from 'zod';
import { IsolatedFileReader } from './isolated_reader.ts';
import { fileReaderConfig } from './limit.ts';

/** `{KIND: ArrowReader, path, limit?}` */
export const ArrowReaderConfig = fileReaderConfig('ArrowReader');
/** `{KIND: ArrowReader, path, limit?}` */
export type ArrowReaderConfig = z.infer<typeof ArrowReaderConfig>;

/**
 * Reads an Arrow IPC file or stream (the layout is detected from the content, so a
 * stream saved as `.arrow` still reads). LZ4- and ZSTD-compressed bodies (pyarrow's
 * feather default) are decoded. Feather v1 is not supported.
 *
 * The file is decoded in a worker thread (see `isolated_decoder.ts`) — Arrow JS's
 * reader can loop forever on a corrupt message — and handed over written again
 * as IPC (one copy); a corrupt file ends in one error naming it.
 *
 * - {@link ArrowReader.read}: the whole file.
 * - {@link ArrowReader.batches}: one record batch at a time from disk (an IPC
 *   file by random access through its footer, a stream front to back), cut into
 *   tables of at most `batchRows` rows.
 */
export class ArrowReader extends IsolatedFileReader {
  protected readonly kind = 'ArrowReader';
  protected readonly formatName = 'Arrow IPC';
  protected readonly format = 'arrow';

  /** Unknown without reading the file (an IPC stream has no footer): `undefined`. */
  override async countRows(): Promise<number | undefined> {
    return undefined;
  }
}
