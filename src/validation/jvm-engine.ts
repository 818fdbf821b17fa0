import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import { artefact, installedRulesets, rulesetForDocument } from './artefacts.js';
import {
  CREDIT_NOTE_XSD,
  INVOICE_XSD,
  ruleIdOf,
  shortLocation,
  type Finding,
  type ProfileName,
  type ValidateOptions,
  type ValidationEngine,
} from './engine.js';

const JAVA_SOURCE = join(PROJECT_ROOT, 'src', 'validation', 'jvm', 'GatewayValidator.java');
/** Debian's libsaxonhe-java; SAXON_JAR overrides. */
export const DEFAULT_SAXON_JAR = '/usr/share/java/Saxon-HE.jar';

/** Why the JVM engine cannot run here, or undefined when it can. */
export function jvmUnavailable(saxonJar = process.env['SAXON_JAR'] ?? DEFAULT_SAXON_JAR): string | undefined {
  if (!existsSync(saxonJar)) return `Saxon-HE not found at ${saxonJar} (apt-get install libsaxonhe-java, or set SAXON_JAR)`;
  if (spawnSync('java', ['-version']).status !== 0) return 'java is not installed (apt-get install default-jdk-headless)';
  if (!existsSync(JAVA_SOURCE)) return `the helper source ${JAVA_SOURCE} is missing`;
  return undefined;
}

/** Compiles the helper once per source version into .cache/; returns the classes folder. */
function compiledHelper(saxonJar: string): string {
  const source = readFileSync(JAVA_SOURCE);
  const dir = join(PROJECT_ROOT, '.cache', 'validator', createHash('sha256').update(source).digest('hex').slice(0, 16));
  if (existsSync(join(dir, 'GatewayValidator.class'))) return dir;
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('javac', ['-nowarn', '-cp', saxonJar, '-d', dir, JAVA_SOURCE], { encoding: 'utf-8' });
  if (r.status !== 0)
    throw new Error(`cannot compile the validation helper (javac needs a JDK: apt-get install default-jdk-headless): ${r.stderr || r.error?.message}`);
  return dir;
}

interface Pending {
  resolve: (findings: Finding[]) => void;
  reject: (err: Error) => void;
  /** the profile, with ":rules" for schematron only */
  profile: string;
  xml: Buffer;
  retried: boolean;
}

/** One JVM running the helper; requests are answered in order. */
class Helper {
  private readonly child: ChildProcessWithoutNullStreams;
  readonly pending = new Map<string, Pending>();
  private buffer = '';
  readonly ready: Promise<void>;
  private markReady!: () => void;
  exited = false;

  constructor(
    classes: string,
    saxonJar: string,
    private readonly onExit: (h: Helper) => void,
  ) {
    // every installed release of every profile, as "peppol@3.0.21=<xslt>,<xslt>"; each compiled on first use
    const profiles = (['en16931', 'peppol', 'nlcius'] as const).flatMap((name) =>
      installedRulesets(name).map((r) => `${name}@${r.release}=${r.stylesheets.map((s) => artefact(s)).join(',')}`),
    );
    this.child = spawn(
      'java',
      ['-XX:+UseSerialGC', '-Xss8m', '-cp', `${saxonJar}:${classes}`, 'GatewayValidator', artefact(INVOICE_XSD), artefact(CREDIT_NOTE_XSD), ...profiles],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.child.stdout.setEncoding('utf-8');
    this.child.stdout.on('data', (chunk: string) => this.read(chunk));
    this.child.stderr.on('data', () => undefined);
    this.child.on('exit', () => {
      this.exited = true;
      this.onExit(this);
    });
    this.child.stdin.on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private read(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line === 'READY') {
        this.markReady();
        continue;
      }
      const answer = JSON.parse(line) as { id: string; findings: Finding[] };
      const p = this.pending.get(answer.id);
      if (!p) continue;
      this.pending.delete(answer.id);
      p.resolve(answer.findings.map((f) => ({ ...f, rule: ruleIdOf(f.rule, f.message), location: shortLocation(f.location) })));
    }
  }

  send(id: string, p: Pending): void {
    this.pending.set(id, p);
    this.child.stdin.write(`${id} ${p.profile} ${p.xml.length}\n`);
    this.child.stdin.write(p.xml);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }

  close(): void {
    this.child.stdin.end();
  }
}

/**
 * The reference engine: the official stylesheets on Saxon-HE in long-lived JVMs, one per core.
 * A helper that dies is replaced and its unanswered requests are sent once more.
 */
export class JvmEngine implements ValidationEngine {
  readonly name = 'saxon-he-jvm';
  private readonly helpers: Helper[] = [];
  private readonly classes: string;
  private next = 0;
  private closed = false;

  constructor(
    readonly size = availableParallelism(),
    private readonly saxonJar = process.env['SAXON_JAR'] ?? DEFAULT_SAXON_JAR,
  ) {
    this.classes = compiledHelper(saxonJar);
    for (let i = 0; i < size; i++) this.helpers.push(this.spawn());
  }

  private spawn(): Helper {
    return new Helper(this.classes, this.saxonJar, (dead) => this.replace(dead));
  }

  private replace(dead: Helper): void {
    const i = this.helpers.indexOf(dead);
    if (i === -1 || this.closed) {
      for (const p of dead.pending.values()) p.reject(new Error('validator stopped'));
      return;
    }
    const fresh = this.spawn();
    this.helpers[i] = fresh;
    for (const [id, p] of dead.pending) {
      if (p.retried) p.reject(new Error('the validation helper died twice on this document'));
      else fresh.send(id, { ...p, retried: true });
    }
  }

  /** Pids of the helper JVMs (the tests kill one). */
  pids(): number[] {
    return this.helpers.map((h) => h.pid ?? -1);
  }

  async validate(xml: string | Buffer, profile: ProfileName, options: ValidateOptions = {}): Promise<Finding[]> {
    const bytes = Buffer.isBuffer(xml) ? xml : Buffer.from(xml, 'utf-8');
    const key = `${profile}@${rulesetForDocument(bytes.subarray(0, 20_000).toString('utf-8'), profile, options).release}`;
    // the least busy helper
    let helper = this.helpers[this.next++ % this.helpers.length]!;
    for (const h of this.helpers) if (h.pending.size < helper.pending.size) helper = h;
    await helper.ready;
    const id = `${process.pid}-${this.next}-${Math.random().toString(36).slice(2, 8)}`;
    return new Promise((resolve, reject) =>
      helper.send(id, { resolve, reject, profile: options.rulesOnly ? `${key}:rules` : key, xml: bytes, retried: false }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const h of this.helpers) h.close();
  }
}
