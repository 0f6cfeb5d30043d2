/**
 * Buffer codecs for compressed Arrow IPC (`.arrow` / `.feather` / `.arrows`).
 *
 * pyarrow compresses IPC bodies with LZ4 frames by default (`pandas.to_feather`,
 * `pyarrow.feather.write_feather`), or ZSTD on request; Arrow JS reads them only
 * with a registered codec. Importing this module registers pure-JS decoders
 * (lz4js, fzstd) once. Decoding copies each buffer, so columns of a compressed
 * file are not views of the file bytes (uncompressed files still are).
 */
import { CompressionType, compressionRegistry } from 'apache-arrow';
import { decompress as zstdDecompress } from 'fzstd';
import lz4 from 'lz4js';

/**
 * `bytes` starting at an 8-byte-aligned offset: Arrow JS views each decoded buffer
 * as a typed array in place, which needs the element alignment (fzstd may return
 * an unaligned subarray).
 */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
}

/** Registers the LZ4-frame and ZSTD decoders with Arrow JS (idempotent). */
export function registerIpcCodecs(): void {
  if (!compressionRegistry.get(CompressionType.LZ4_FRAME)?.decode) {
    compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: (data) => aligned(lz4.decompress(data)) });
  }
  if (!compressionRegistry.get(CompressionType.ZSTD)?.decode) {
    compressionRegistry.set(CompressionType.ZSTD, { decode: (data) => aligned(zstdDecompress(data)) });
  }
}

registerIpcCodecs();
