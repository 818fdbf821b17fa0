import iconv from 'iconv-lite';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { ReaderError } from '../errors.js';
import type { ReadContext, ReaderInput } from './record.js';

/** Encodings a mapping may name; anything iconv-lite knows is accepted, these are the usual ones. */
export const COMMON_ENCODINGS = ['utf-8', 'windows-1252', 'iso-8859-1', 'iso-8859-15', 'utf-16le'];

/** Normalises an encoding name and rejects the unknown with a clear message. */
export function checkEncoding(name: string, ctx: ReadContext): string {
  const normal = name
    .toLowerCase()
    .replace(/^utf8$/, 'utf-8')
    .replace(/^cp1252$/, 'windows-1252')
    .replace(/^latin-?1$/, 'iso-8859-1');
  if (normal !== 'utf-8' && !iconv.encodingExists(normal)) {
    throw new ReaderError(`unknown encoding "${name}" (try one of ${COMMON_ENCODINGS.join(', ')})`, {
      file: ctx.file,
      attachment: ctx.attachment,
      field: 'reader.encoding',
    });
  }
  return normal;
}

/**
 * Strict UTF-8 decoding that counts lines, so invalid bytes are reported with their line:
 * a Windows-1252 file read as UTF-8 is the most common mistake in a mapping.
 */
class StrictUtf8Decoder extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  private line = 1;
  private offset = 0;
  constructor(private readonly ctx: ReadContext) {
    super({ decodeStrings: true, readableObjectMode: false, encoding: 'utf-8' });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      const text = this.decoder.decode(chunk, { stream: true });
      this.count(text);
      this.offset += chunk.length;
      done(null, text);
    } catch {
      done(this.invalid(chunk));
    }
  }
  override _flush(done: TransformCallback): void {
    try {
      const text = this.decoder.decode();
      done(null, text);
    } catch {
      done(new ReaderError('file ends in the middle of a UTF-8 character', { file: this.ctx.file, attachment: this.ctx.attachment, line: this.line }));
    }
  }
  private count(text: string): void {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.line++;
  }
  private invalid(chunk: Buffer): ReaderError {
    const bad = firstInvalidUtf8(chunk);
    for (let i = 0; i < bad; i++) if (chunk[i] === 10) this.line++;
    const byte = chunk[bad] ?? 0;
    return new ReaderError(
      `the file is not valid UTF-8: byte 0x${byte.toString(16).padStart(2, '0')} at offset ${this.offset + bad}; ` +
        'if the source writes Windows-1252 (common for MS Access and older Windows software), set reader.encoding: windows-1252 in the mapping',
      { file: this.ctx.file, attachment: this.ctx.attachment, line: this.line, field: 'reader.encoding' },
    );
  }
}

/** Index of the first byte that starts an invalid UTF-8 sequence (or the chunk's length). */
export function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const size = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (size === 0) return i;
    if (i + size > bytes.length) return i; // a sequence cut off by the chunk's end
    for (let k = 1; k < size; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    i += size;
  }
  return bytes.length;
}

/** Turns bytes in the given encoding into a text stream; UTF-8 is checked strictly, a BOM is dropped. */
export function decodeToText(input: ReaderInput, encoding: string, ctx: ReadContext): Readable {
  const source = Buffer.isBuffer(input) ? Readable.from([input]) : input;
  const name = checkEncoding(encoding, ctx);
  const decoder = (name === 'utf-8' ? new StrictUtf8Decoder(ctx) : iconv.decodeStream(name, { stripBOM: true })) as unknown as Transform;
  source.on('error', (err) => decoder.destroy(err));
  return source.pipe(decoder);
}
