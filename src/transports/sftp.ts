import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import type { TargetConfig } from '../config/types.js';
import { withTimeout } from '../util/timeout.js';
import { fromEnvironment, TransportError, type SendRequest, type Transport } from './transport.js';

type SftpTarget = Extract<TargetConfig, { kind: 'sftp' }>;

/** OpenSSH's fingerprint form of a host key: "SHA256:" + unpadded base64 of its SHA-256. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** File names on the server: the route's pattern with {number}, {ext}, {name}; safe characters only. */
export function remoteName(pattern: string | undefined, fileName: string): string {
  const ext = fileName.includes('.') ? fileName.slice(fileName.lastIndexOf('.') + 1) : '';
  const stem = ext ? fileName.slice(0, -(ext.length + 1)) : fileName;
  const name = (pattern ?? '{name}')
    .replace(/\{number\}/g, stem)
    .replace(/\{ext\}/g, ext)
    .replace(/\{name\}/g, fileName);
  // "~" is how a number's other characters are written (see safeName)
  if (!/^[A-Za-z0-9~][A-Za-z0-9._~-]{0,160}$/.test(name))
    throw new TransportError(`remote file name "${name}" has unsafe characters (allowed: letters, digits, . _ - ~)`, true);
  return name;
}

/** The raw SFTP session of a connected client (ssh2's SFTPWrapper), for pipelined requests. */
interface RawSftp {
  open(path: string, flags: string, cb: (err: Error | undefined, handle: Buffer) => void): void;
  write(handle: Buffer, data: Buffer, offset: number, length: number, position: number, cb: (err: Error | undefined) => void): void;
  close(handle: Buffer, cb: (err: Error | undefined) => void): void;
}

/** Largest write request OpenSSH takes in one packet, with room for the header. */
const CHUNK = 32 * 1024;

/**
 * Writes a file in two round trips: open, then every write and the close sent at once and
 * answered together (the SFTP server handles them in order). The library's stream upload waits
 * for each request, which at network latency costs more than the bytes.
 */
async function upload(client: SftpClient, path: string, content: Buffer): Promise<void> {
  const sftp = (client as unknown as { sftp: RawSftp }).sftp;
  const call = <T>(fn: (cb: (err: Error | undefined, value: T) => void) => void): Promise<T> =>
    new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
  const handle = await call<Buffer>((cb) => sftp.open(path, 'w', cb));
  const writes: Promise<unknown>[] = [];
  for (let at = 0; at < content.length; at += CHUNK) {
    const length = Math.min(CHUNK, content.length - at);
    writes.push(call((cb) => sftp.write(handle, content, at, length, at, (err) => cb(err, undefined))));
  }
  const closed = call((cb) => sftp.close(handle, (err) => cb(err, undefined)));
  await Promise.all([...writes, closed]);
}

const PERMANENT = /authentication|host key|hostkey|fingerprint|permission denied|EACCES|no such file/i;

function classify(err: unknown, what: string): TransportError {
  if (err instanceof TransportError) return err;
  const message = (err as Error).message ?? String(err);
  return new TransportError(`${what}: ${message}`, PERMANENT.test(message));
}

/** Cuts a connection's socket, whatever state its server is in. */
function destroyConnection(client: SftpClient): void {
  try {
    (client as unknown as { client?: { destroy(): void } }).client?.destroy();
  } catch {
    // already gone
  }
}

/**
 * Uploads to an SFTP drop: a complete file or none. Written under a temporary name, then renamed
 * with the plain SFTP rename, which on OpenSSH is atomic and refuses an existing target (the
 * posix-rename extension would overwrite, so it is not used). The server's host key must match
 * the configured SHA-256 fingerprint. Connections are reused, at most maxConnections per target.
 */
export class SftpTransport implements Transport {
  private readonly idle: SftpClient[] = [];
  /** every connection, idle or busy: a stop must be able to close them all */
  private readonly connections = new Set<SftpClient>();
  private open = 0;
  private readonly waiting: ((client: SftpClient) => void)[] = [];
  private readonly limit: number;

  constructor(
    private readonly name: string,
    private readonly target: SftpTarget,
  ) {
    this.limit = target.maxConnections ?? 2;
    this.timeoutMs = target.timeoutMs ?? 30_000;
  }

  /** how long one connection attempt, one file operation or a wait for a free connection may take */
  private readonly timeoutMs: number;

  private async connect(): Promise<SftpClient> {
    const client = new SftpClient(`igw-${this.name}`);
    const expected = this.target.hostKeySha256.trim();
    let offered: string | undefined;
    const password = fromEnvironment(this.target.password, `target ${this.name} password`);
    const keyFile = fromEnvironment(this.target.privateKeyFile, `target ${this.name} privateKeyFile`);
    let privateKey: Buffer | undefined;
    if (keyFile) {
      try {
        privateKey = readFileSync(keyFile);
      } catch (err) {
        throw new TransportError(`target ${this.name}: cannot read private key ${keyFile}: ${(err as Error).message}`, true);
      }
    }
    // Own reconnect with back-off: the library tries once.
    for (let attempt = 1; ; attempt++) {
      try {
        await client.connect({
          host: this.target.host,
          port: this.target.port ?? 22,
          username: this.target.user,
          ...(privateKey ? { privateKey } : {}),
          ...(password ? { password } : {}),
          readyTimeout: this.timeoutMs,
          retries: 0,
          hostVerifier: (key: Buffer) => {
            offered = hostKeyFingerprint(key);
            return offered === expected;
          },
        } as SftpClient.ConnectOptions);
        // every upload is a chain of small request/answer pairs: Nagle's algorithm would hold each
        // request back until the previous answer's delayed ACK, about 40 ms per round trip
        (client as unknown as { client: { setNoDelay(on: boolean): void } }).client.setNoDelay(true);
        this.connections.add(client);
        return client;
      } catch (err) {
        if (offered && offered !== expected) {
          throw new TransportError(
            `target ${this.name}: the server's host key ${offered} is not the configured ${expected}; refusing to connect (if the server's key really changed, update hostKeySha256)`,
            true,
          );
        }
        const e = classify(err, `target ${this.name}: cannot connect to ${this.target.host}:${this.target.port ?? 22}`);
        if (e.permanent || attempt >= 3) throw e;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  private async acquire(): Promise<SftpClient> {
    const client = this.idle.pop();
    if (client) return client;
    if (this.open < this.limit) {
      this.open++;
      try {
        return await this.connect();
      } catch (err) {
        this.open--;
        throw err;
      }
    }
    // a waiter gives up when no connection comes free in time (all of them stuck on a dead server)
    let waiter: ((client: SftpClient) => void) | undefined;
    const waited = new Promise<SftpClient>((resolve) => {
      waiter = resolve;
      this.waiting.push(resolve);
    });
    return withTimeout(waited, this.timeoutMs, () => {
      const i = this.waiting.indexOf(waiter!);
      if (i >= 0) this.waiting.splice(i, 1);
      return new TransportError(`target ${this.name}: no connection came free within ${this.timeoutMs / 1000} s`, false);
    });
  }

  private release(client: SftpClient, broken: boolean): void {
    if (broken) {
      this.open--;
      this.connections.delete(client);
      void client.end().catch(() => undefined);
      // a server that stopped answering never answers the goodbye either: the socket goes regardless
      setTimeout(() => destroyConnection(client), 2_000).unref();
      const next = this.waiting.shift();
      if (next) void this.acquire().then(next, () => undefined);
      return;
    }
    const next = this.waiting.shift();
    if (next) next(client);
    else this.idle.push(client);
  }

  async send({ document }: SendRequest): Promise<string> {
    const name = remoteName(this.target.fileName, document.fileName);
    const dir = this.target.folder;
    const final = posix.join(dir, name);
    const temp = posix.join(dir, `.${name}.${process.pid}.part`);
    const client = await this.acquire();
    let broken = false;
    // a server that stops answering must not hold the connection (and the delivery) forever
    const op = <T>(what: string, work: Promise<T>): Promise<T> =>
      withTimeout(work, this.timeoutMs, () => {
        broken = true;
        return new TransportError(`target ${this.name}: ${what} got no answer within ${this.timeoutMs / 1000} s`, false);
      });
    try {
      try {
        await op('upload', upload(client, temp, document.content));
      } catch (err) {
        // a half-written temporary file is not left behind on the server
        await client.delete(temp, true).catch(() => undefined);
        throw err;
      }
      try {
        await op('rename', client.rename(temp, final));
      } catch (err) {
        // the plain SFTP rename refuses an existing name: the same file sent before is delivered, a different one is never overwritten
        await client.delete(temp, true).catch(() => undefined);
        if (await op('stat', client.exists(final)).catch(() => false)) {
          const existing = (await op('download', client.get(final))) as Buffer;
          if (Buffer.compare(existing, document.content) === 0) return `${this.name}:${final} (already there)`;
          throw new TransportError(`${this.name}:${final} already exists with different content; it is not overwritten`, true);
        }
        throw err;
      }
      return `${this.name}:${final}`;
    } catch (err) {
      const e = classify(err, `target ${this.name}: upload of ${name} failed`);
      broken = broken || !e.permanent || !(err instanceof TransportError);
      throw e;
    } finally {
      this.release(client, broken);
    }
  }

  /** Says goodbye to every connection; one whose server does not answer within 2 s is cut (a frozen server must not hold a stop). */
  async close(): Promise<void> {
    const clients = [...this.connections];
    this.connections.clear();
    this.idle.length = 0;
    this.open = 0;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, 2_000)));
    await Promise.race([Promise.all(clients.map((c) => c.end().catch(() => undefined))), grace]);
    clearTimeout(timer);
    for (const c of clients) destroyConnection(c);
  }
}
