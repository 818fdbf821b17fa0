import type { Readable } from 'node:stream';
import type { SourcePosition } from '../model/invoice.js';

/** One record read from a source file: its values and where it starts. */
export interface SourceRecord {
  /** values by column name (CSV, fixed-width) or the parsed object (JSON, XML) */
  values: Record<string, unknown>;
  position: SourcePosition;
  /** record type for header/line layouts (fixed-width "H"/"R"), when the reader knows it */
  type?: string;
  /** fast access to one column of a flat record, without building `values` */
  cell?(column: string): unknown;
  /** for a line: the record (the order) it belongs to, `$record` in its expressions */
  parent?: SourceRecord;
}

/** Where the bytes come from, for error messages. */
export interface ReadContext {
  /** file name as shown in reports */
  file: string;
  /** attachment name when the bytes came out of an e-mail */
  attachment?: string;
}

/** The input of a reader: a whole buffer or a stream (large CSV files stream). */
export type ReaderInput = Buffer | Readable;

/** Collects a stream into one buffer, refusing more than `maxBytes`. */
export async function readAll(input: ReaderInput, maxBytes: number, onTooLarge: () => Error): Promise<Buffer> {
  if (Buffer.isBuffer(input)) {
    if (input.length > maxBytes) throw onTooLarge();
    return input;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > maxBytes) {
      input.destroy();
      throw onTooLarge();
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
