import { closeSync, existsSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import Transport from 'winston-transport';

/** How often a log file that could not be written (disk full) is tried again. */
const RETRY_MS = 5_000;

/**
 * The log file: one JSON line per entry, written as it comes (a synchronous append: a line is never
 * queued behind a stalled stream), rotated by size with the newest always under the configured
 * name (gateway.log, then gateway1.log, gateway2.log ...). A disk that fills up does not stop the
 * service or the console: lines are dropped while it is full (said once on stderr), and the file
 * goes on, starting on a fresh line, as soon as it can be written again.
 */
export class LogFileTransport extends Transport {
  private fd?: number;
  private size = 0;
  private failedAt?: number;
  private dropped = 0;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
    private readonly maxFiles: number,
    options: Transport.TransportStreamOptions = {},
  ) {
    super(options);
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const line = `${String(info[Symbol.for('message')] ?? JSON.stringify(info))}\n`;
    this.append(line);
    next();
  }

  private append(line: string): void {
    if (this.failedAt !== undefined) {
      if (Date.now() - this.failedAt < RETRY_MS) {
        this.dropped++;
        return;
      }
      this.failedAt = undefined;
      const lost = this.dropped;
      this.dropped = 0;
      // the line the full disk cut off is ended first, then a word about the gap
      if (!this.writeText(this.endsWithNewline() ? '' : '\n')) return;
      if (!this.writeText(`${JSON.stringify({ level: 'warn', message: 'log file writable again', linesLost: lost, timestamp: new Date().toISOString() })}\n`))
        return;
    }
    this.writeText(line);
  }

  /** Writes all of `text` or notes the failure (the rest of the line is then lost). */
  private writeText(text: string): boolean {
    if (!text) return true;
    try {
      this.openIfNeeded(Buffer.byteLength(text));
      const bytes = Buffer.from(text);
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(this.fd!, bytes, offset);
      this.size += bytes.length;
      return true;
    } catch (err) {
      if (this.failedAt === undefined)
        process.stderr.write(
          `invoice-gateway: the log file ${this.file} cannot be written (${(err as Error).message}); the service goes on and tries it again every ${RETRY_MS / 1000} s\n`,
        );
      this.failedAt = Date.now();
      this.dropped++;
      this.closeFile();
      return false;
    }
  }

  private openIfNeeded(adding: number): void {
    if (this.fd !== undefined && this.size + adding > this.maxBytes && this.size > 0) {
      this.closeFile();
      this.rotate();
    }
    if (this.fd === undefined) {
      this.fd = openSync(this.file, 'a', 0o666);
      this.size = fstatSync(this.fd).size;
    }
  }

  /** gateway.log → gateway1.log → gateway2.log ...; the oldest beyond maxFiles is removed. */
  private rotate(): void {
    const ext = extname(this.file);
    const stem = join(dirname(this.file), basename(this.file, ext));
    const nth = (n: number): string => (n === 0 ? this.file : `${stem}${n}${ext}`);
    rmSync(nth(this.maxFiles - 1), { force: true });
    for (let n = this.maxFiles - 2; n >= 0; n--) if (existsSync(nth(n))) renameSync(nth(n), nth(n + 1));
  }

  private endsWithNewline(): boolean {
    let fd: number | undefined;
    try {
      fd = openSync(this.file, 'r');
      const size = fstatSync(fd).size;
      if (size === 0) return true;
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      return last[0] === 0x0a;
    } catch {
      return true;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  private closeFile(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already gone
    }
    this.fd = undefined;
  }

  override close(): void {
    this.closeFile();
  }
}
