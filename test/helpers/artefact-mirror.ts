import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import yazl from 'yazl';
import { standardsHome } from '../../src/validation/artefacts.js';
import { manifest } from '../../src/validation/manifest.js';
import { mirrorPath } from '../../src/validation/sources.js';

/** A change to one installed file as it is put into the mirror (to make a bad download). */
export type Alter = (installed: string, content: Buffer) => Buffer;

/**
 * Builds, from the installed artefacts (verified copies of ../shared/standards), the downloads of
 * the manifest's official addresses as their publishers ship them: each archive with its own top
 * folder and upstream names (plus a file the gateway does not take), each single file as it is.
 * Laid out as `<host>/<path>`, like a mirror made with `wget -x`.
 */
export async function buildOfficialMirror(dir: string, alter?: Alter): Promise<void> {
  const m = manifest();
  for (const component of Object.values(m.components)) {
    for (const part of component.parts) {
      const target = join(dir, mirrorPath(part.url));
      mkdirSync(dirname(target), { recursive: true });
      const content = (key: string): Buffer => {
        const installed = `${component.folder}${part.into}${key}`;
        const bytes = readFileSync(join(standardsHome(), installed));
        return alter ? alter(installed, bytes) : bytes;
      };
      if (part.root === undefined) {
        writeFileSync(target, content(Object.keys(part.files)[0]!));
        continue;
      }
      const zip = new yazl.ZipFile();
      for (const key of Object.keys(part.files)) zip.addBuffer(content(key), `${part.root}${part.renames?.[key] ?? key}`);
      zip.addBuffer(Buffer.from('not used by the gateway\n'), `${part.root}build/pom.xml`);
      zip.end();
      await new Promise<void>((resolve, reject) => zip.outputStream.pipe(createWriteStream(target)).on('close', resolve).on('error', reject));
    }
  }
}

/** A release feed (an Atom list of tags) as GitHub serves it, put into the mirror. */
export function writeTagFeed(dir: string, url: string, tags: string[]): void {
  const target = join(dir, mirrorPath(url));
  mkdirSync(dirname(target), { recursive: true });
  const entries = tags.map((t) => `  <entry><id>tag:github.com,2008:Repository/1/${t}</id><title>${t}</title><updated>2026-11-01T00:00:00Z</updated></entry>`);
  writeFileSync(
    target,
    `<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n  <title>Tags</title>\n${entries.join('\n')}\n</feed>\n`,
  );
}

/** A web server on 127.0.0.1 serving a mirror folder; it can cut chosen downloads off half-way, once. */
export class MirrorServer {
  private server?: Server;
  /** requests per path */
  readonly requests = new Map<string, number>();
  /** paths whose first download stops half-way (the connection is dropped) */
  readonly interruptOnce = new Set<string>();

  constructor(private readonly dir: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/`;
  }

  /** The mirror path of an official address, as this server counts it. */
  static pathOf(url: string): string {
    return `/${mirrorPath(url)}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
      const file = join(this.dir, path);
      if (!existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404).end('not found');
        return;
      }
      const size = statSync(file).size;
      res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
      if (this.interruptOnce.delete(path)) {
        const half = readFileSync(file).subarray(0, Math.floor(size / 2));
        res.write(half, () => res.socket?.destroy());
        return;
      }
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
