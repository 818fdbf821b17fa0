import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processEnvironment } from '../environment.js';
import { EnvironmentError } from '../errors.js';
import { PROJECT_ROOT } from '../paths.js';
import { artefact, installedRulesets, noBindingFinding, rulesetForDocument, stylesheetsFor } from './artefacts.js';
import { documentHeader, syntaxOfRoot } from './header.js';
import {
  DEFAULT_VALIDATION_TIMEOUT_MS,
  PROFILE_NAMES,
  SCHEMA_OF_ROOT,
  ruleIdOf,
  shortLocation,
  type Finding,
  type ProfileName,
  type ValidateOptions,
  type ValidationEngine,
} from './engine.js';

/** beside this module: the build copies it from src/ into dist/, so a running gateway reads nothing from src/ */
const JAVA_SOURCE = fileURLToPath(new URL('./jvm/GatewayValidator.java', import.meta.url));

/** Why the JVM engine cannot run here, or undefined when it can. */
export function jvmUnavailable(saxonJar = processEnvironment().saxonJar): string | undefined {
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

/** How the helpers are supervised (tests shorten the limits). */
export interface JvmEngineOptions {
  /** helper JVMs, one per core by default */
  size?: number;
  saxonJar?: string;
  /**
   * How long a helper may go without answering anything (READY or a result) while requests wait for
   * it; then it is killed and replaced and its requests are sent once more. Generous: a cold JVM on a
   * loaded machine needs tens of seconds before its first answer.
   */
  requestTimeoutMs?: number;
}

/**
 * One JVM running the helper; requests are answered in order. Requests are written to its stdin at
 * once, also before it said READY (the pipe keeps them), so a helper that dies while starting takes
 * nothing with it: its supervisor moves every unanswered request to the next one.
 */
class Helper {
  private child?: ChildProcessWithoutNullStreams;
  readonly pending = new Map<string, Pending>();
  private buffer = '';
  /** when it last showed life (started, READY, an answer): the watchdog compares against it */
  lastProgress = Date.now();
  readyAt?: number;
  exited = false;
  private readonly startTimer?: NodeJS.Timeout;

  constructor(
    private readonly command: string[],
    private readonly onExit: (h: Helper, beforeReady: boolean) => void,
    delayMs = 0,
  ) {
    // after helpers died while starting, the next one waits a little: a broken Java must not become a spawn storm
    if (delayMs > 0) this.startTimer = setTimeout(() => this.start(), delayMs);
    else this.start();
  }

  private start(): void {
    if (this.exited) return;
    this.lastProgress = Date.now();
    // its own process group: Ctrl+C in a terminal signals the whole foreground group, and the helpers
    // must not die under an engine that still waits for them; the engine stops them itself
    const child = spawn('java', this.command, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.child = child;
    LIVE_GROUPS.add(child);
    child.stdout.setEncoding('utf-8');
    child.stdout.on('data', (chunk: string) => this.read(chunk));
    child.stderr.on('data', () => undefined);
    child.on('error', () => undefined);
    child.on('exit', () => {
      LIVE_GROUPS.delete(child);
      this.exited = true;
      this.onExit(this, this.readyAt === undefined);
    });
    child.stdin.on('error', () => undefined);
    for (const [id, p] of this.pending) this.write(id, p);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private read(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      this.lastProgress = Date.now();
      if (line === 'READY') {
        this.readyAt = Date.now();
        continue;
      }
      // compiling a stylesheet: at work, not stopped (the time limit is for a helper that says nothing)
      if (line === 'BUSY') continue;
      const answer = JSON.parse(line) as { id: string; findings: Finding[] };
      const p = this.pending.get(answer.id);
      if (!p) continue;
      this.pending.delete(answer.id);
      p.resolve(answer.findings.map((f) => ({ ...f, rule: ruleIdOf(f.rule, f.message), location: shortLocation(f.location) })));
    }
  }

  send(id: string, p: Pending): void {
    // an idle helper's clock starts with its first request, not with the last answer long ago
    if (this.pending.size === 0) this.lastProgress = Date.now();
    this.pending.set(id, p);
    if (this.child) this.write(id, p);
  }

  private write(id: string, p: Pending): void {
    this.child!.stdin.write(`${id} ${p.profile} ${p.xml.length}\n`);
    this.child!.stdin.write(p.xml);
  }

  /** Kills the helper's whole process group now; its exit hands its requests on. */
  kill(): void {
    clearTimeout(this.startTimer);
    if (!this.child) {
      // never started: nothing will exit, so hand the requests on here
      if (this.exited) return;
      this.exited = true;
      this.onExit(this, true);
      return;
    }
    killGroup(this.child);
  }

  /** Asks the helper to finish (end of its input); `kill()` follows if it does not. */
  close(): Promise<void> {
    clearTimeout(this.startTimer);
    if (this.exited) return Promise.resolve();
    if (!this.child) {
      // never started: its requests are answered by the supervisor (which is closing: they are refused)
      this.exited = true;
      this.onExit(this, true);
      return Promise.resolve();
    }
    const child = this.child;
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.end();
    });
  }
}

/** Helper JVMs alive in this process, killed when it exits however it exits (they live in groups of their own). */
const LIVE_GROUPS = new Set<ChildProcessWithoutNullStreams>();
process.once('exit', () => {
  for (const child of LIVE_GROUPS) killGroup(child);
});

function killGroup(child: ChildProcessWithoutNullStreams): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/**
 * The reference engine: the official stylesheets on Saxon-HE in long-lived JVMs, one per core.
 * A helper that dies, or that goes silent for longer than the request time limit, is replaced and
 * its unanswered requests are sent once more; a request that fails twice is the environment's fault
 * (an EnvironmentError: the file waits, the sender is not blamed).
 */
export class JvmEngine implements ValidationEngine {
  readonly name = 'saxon-he-jvm';
  private readonly helpers: Helper[] = [];
  private readonly classPath: string;
  private next = 0;
  private closed = false;
  /** helpers that died before READY in a row: the next start waits longer */
  private startFailures = 0;
  private readonly watchdog: NodeJS.Timeout;
  readonly size: number;
  readonly requestTimeoutMs: number;

  constructor(options: JvmEngineOptions = {}) {
    this.size = options.size ?? availableParallelism();
    const saxonJar = options.saxonJar ?? processEnvironment().saxonJar;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_VALIDATION_TIMEOUT_MS;
    this.classPath = `${saxonJar}:${compiledHelper(saxonJar)}`;
    for (let i = 0; i < this.size; i++) this.helpers.push(this.spawn());
    this.watchdog = setInterval(() => this.checkProgress(), Math.max(50, Math.min(5_000, this.requestTimeoutMs / 4)));
    this.watchdog.unref();
  }

  private spawn(delayMs = 0): Helper {
    return new Helper(this.command(), (dead, beforeReady) => this.replace(dead, beforeReady), delayMs);
  }

  /**
   * The helper's command line, read at each start: every installed release of every profile, as
   * "peppol@3.0.21=<xslt>,<xslt>" (each compiled on first use), so a helper started after
   * install-standards knows what was installed meanwhile.
   */
  private command(): string[] {
    const profiles = PROFILE_NAMES.flatMap((name) =>
      installedRulesets(name).flatMap((r) => [
        `${name}@${r.release}=${r.stylesheets.map((s) => artefact(s)).join(',')}`,
        ...(r.ciiStylesheets ? [`${name}+cii@${r.release}=${r.ciiStylesheets.map((s) => artefact(s)).join(',')}`] : []),
      ]),
    );
    const schemas = Object.entries(SCHEMA_OF_ROOT)
      .filter(([, path]) => existsSync(artefact(path)))
      .map(([root, path]) => `xsd:${root}=${artefact(path)}`);
    return ['-XX:+UseSerialGC', '-Xss8m', '-cp', this.classPath, 'GatewayValidator', ...schemas, ...profiles];
  }

  /** Kills the helpers that have kept requests waiting longer than the limit without a sign of life. */
  private checkProgress(): void {
    const now = Date.now();
    for (const h of this.helpers) if (!h.exited && h.pending.size > 0 && now - h.lastProgress > this.requestTimeoutMs) h.kill();
  }

  private replace(dead: Helper, beforeReady: boolean): void {
    const i = this.helpers.indexOf(dead);
    if (i === -1 || this.closed) {
      for (const p of dead.pending.values()) p.reject(new EnvironmentError('the validation engine was stopped before it answered', {}));
      dead.pending.clear();
      return;
    }
    this.startFailures = beforeReady ? this.startFailures + 1 : 0;
    const delay = this.startFailures > 1 ? Math.min(30_000, 250 * 2 ** (this.startFailures - 2)) : 0;
    const fresh = this.spawn(delay);
    this.helpers[i] = fresh;
    for (const [id, p] of dead.pending) {
      if (p.retried)
        p.reject(
          new EnvironmentError(
            'the validation helper (Java) stopped or did not answer twice on this document; it is tried again later (check memory and the Java installation)',
            {},
          ),
        );
      else fresh.send(id, { ...p, retried: true });
    }
    dead.pending.clear();
  }

  /** Pids of the helper JVMs (the tests kill one). */
  pids(): number[] {
    return this.helpers.map((h) => h.pid ?? -1);
  }

  /** Resolves once every helper said READY (or `timeoutMs` passed): for the start-up summary and the bench. */
  async warmedUp(timeoutMs = this.requestTimeoutMs): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until && !this.closed) {
      if (this.helpers.every((h) => h.readyAt !== undefined)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  async validate(xml: string | Buffer, profile: ProfileName, options: ValidateOptions = {}): Promise<Finding[]> {
    if (this.closed) throw new EnvironmentError('the validation engine is stopped', {});
    const bytes = Buffer.isBuffer(xml) ? xml : Buffer.from(xml, 'utf-8');
    const ruleset = rulesetForDocument(bytes, profile, options);
    const syntax = syntaxOfRoot(documentHeader(bytes).root) ?? 'ubl';
    if (!stylesheetsFor(ruleset, syntax)) return [noBindingFinding(profile, ruleset, syntax)];
    const key = `${profile}${syntax === 'cii' ? '+cii' : ''}@${ruleset.release}`;
    // the least busy helper
    let helper = this.helpers[this.next++ % this.helpers.length]!;
    for (const h of this.helpers) if (h.pending.size < helper.pending.size) helper = h;
    const id = `${process.pid}-${this.next}-${Math.random().toString(36).slice(2, 8)}`;
    return new Promise((resolve, reject) =>
      helper.send(id, { resolve, reject, profile: options.rulesOnly ? `${key}:rules` : key, xml: bytes, retried: false }),
    );
  }

  /** Lets the helpers finish what they have (up to `graceMs`), then kills what is left. */
  async close(graceMs = 5_000): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
    const exits = Promise.all(this.helpers.map((h) => h.close()));
    await Promise.race([exits, grace]);
    clearTimeout(timer);
    for (const h of this.helpers) if (!h.exited) h.kill();
    // a killed JVM is gone at once; its exit is awaited so that nothing of it outlives the close
    await Promise.race([exits, new Promise((r) => setTimeout(r, 2_000).unref())]);
  }
}
