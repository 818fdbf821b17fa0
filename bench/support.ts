import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { PROJECT_ROOT } from '../src/paths.js';
import { freePort } from '../test/helpers/net.js';
import { membersCsv } from '../test/helpers/service.js';

/** Peak resident memory of this process so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Runs a bench script in its own process (so its peak memory is its own) and returns its JSON result. */
export function runIsolated<T>(script: string, args: string[], env: NodeJS.ProcessEnv = {}): T {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const result = spawnSync(process.execPath, [path, ...args], { encoding: 'utf-8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${script} failed (${result.status}): ${result.stderr}`);
  const last = result.stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(last) as T;
}

/** The machine's busy and total CPU time so far (jiffies, from /proc/stat). */
function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf-8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3]! + (fields[4] ?? 0);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * Waits until the machine is calm (under a fifth of its CPU busy for a second, at most a minute):
 * nodes that just started still load code and their validation helpers compile for a while after
 * they answer, which would otherwise be measured as part of the first files (more of it the more
 * nodes start).
 */
export async function settled(): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const before = cpuTimes();
    await new Promise((r) => setTimeout(r, 1000));
    const after = cpuTimes();
    if ((after.busy - before.busy) / Math.max(1, after.total - before.total) < 0.2) return;
  }
}

/** A number with thousands separators, for printing. */
export function fmt(n: number, decimals = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: decimals, minimumFractionDigits: decimals });
}

/** A gateway installed for one bench run: the shipped config with overrides, started as a child process. */
export interface BenchGateway {
  root: string;
  config: string;
  ledgerFile: string;
  /**
   * Starts `invoice-gateway run` (with `env`, e.g. IGW_NODE_ID) and resolves once it is on the
   * ledger (`ready`; default: the SQLite file is there) and its /healthz answers, which it does once
   * it takes files: after its validation helpers started and it watches the inbox.
   */
  start(extraNodeArgs?: string[], env?: NodeJS.ProcessEnv, ready?: () => Promise<boolean>): Promise<ChildProcess>;
}

/** Copies config/ under .bench-tmp/<name>-<time>, with `gateway` settings over gateway.yaml and the given customers. */
export function benchGateway(
  name: string,
  gateway: (root: string, base: Record<string, unknown>) => Record<string, unknown>,
  customers: Record<string, unknown>,
): BenchGateway {
  const root = join(PROJECT_ROOT, '.bench-tmp', `${name}-${Date.now()}`);
  const config = join(root, 'config');
  cpSync(join(PROJECT_ROOT, 'config'), config, { recursive: true });
  const base = parse(readFileSync(join(config, 'gateway.yaml'), 'utf-8')) as Record<string, unknown>;
  writeFileSync(
    join(config, 'gateway.yaml'),
    stringify({
      ...base,
      dataDir: join(root, 'data'),
      inbox: join(root, 'inbox'),
      logging: { level: 'warn', file: join(root, 'data', 'gateway.log') },
      ...gateway(root, base),
    }),
  );
  writeFileSync(join(config, 'customers.yaml'), stringify(customers));
  const ledgerFile = join(root, 'data', 'ledger.sqlite');
  return {
    root,
    config,
    ledgerFile,
    async start(extraNodeArgs = [], env: NodeJS.ProcessEnv = {}, given?: () => Promise<boolean>) {
      // measured from when the node takes files (its validation helpers answer): its /healthz answers from then on
      const port = env['IGW_CONSOLE_PORT'] ?? String(await freePort());
      env = { IGW_CONSOLE_PORT: port, ...env };
      // `given` says the node is on the ledger (a shared one has no file to look for); /healthz that it takes files
      const onLedger = given ?? (async () => existsSync(ledgerFile));
      const ready = async () => (await onLedger()) && (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok === true;
      const child = spawn(
        process.execPath,
        [
          ...extraNodeArgs,
          join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js'),
          'run',
          '--config',
          config,
          '--mappings',
          join(PROJECT_ROOT, 'mappings'),
          '--quiet',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } },
      );
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      while (!(await ready())) {
        // a gateway that refuses to start (a configuration problem) must not leave the bench waiting forever
        if (child.exitCode !== null) throw new Error(`the gateway exited (${child.exitCode}) before it was ready: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 500));
      return child;
    },
  };
}

/** A bulk mail run: a gateway whose members' invoices go out as PDF by mail, and their file staged beside its inbox. */
export interface MailRun extends BenchGateway {
  /** moves the members file into the inbox at once; the moment it did */
  drop(): number;
}

/**
 * The gateway of a mail bench: every invoice a PDF by e-mail through target `name` (its settings
 * `target`, over gateway.yaml's own targets), and a members file of `invoices` invoices written next
 * to the inbox, so that the drop is one rename.
 */
export function mailRun(name: string, target: Record<string, unknown>, invoices: number, settings: Record<string, unknown> = {}): MailRun {
  const gateway = benchGateway(
    name,
    (_root, base) => ({
      watch: { stableFor: '200ms', rescanEvery: '30s' },
      email: { server: 'mail' },
      ...settings,
      targets: { ...(base['targets'] as object), mail: target },
    }),
    { defaults: { paymentTermsDays: 30, routes: [{ format: 'pdf', transport: 'email', template: 'membership' }] } },
  );
  const inbox = join(gateway.root, 'inbox', 'members');
  mkdirSync(inbox, { recursive: true });
  const staged = join(gateway.root, 'contributie_bulk.csv');
  writeFileSync(staged, membersCsv(invoices));
  return {
    ...gateway,
    drop: () => {
      const at = Date.now();
      renameSync(staged, join(inbox, 'contributie_bulk.csv'));
      return at;
    },
  };
}

/**
 * A TCP relay on 127.0.0.1 that holds every chunk `delayMs` before passing it on, in both
 * directions and in order: network latency for a server on loopback (the machine has no netem).
 */
export async function latencyRelay(targetPort: number, delayMs: number): Promise<{ port: number; close(): void }> {
  const { createServer, connect } = await import('node:net');
  const relay = (from: import('node:net').Socket, to: import('node:net').Socket): void => {
    from.on('data', (chunk: Buffer) => {
      // timers of the same delay fire in the order they were set, so chunks keep their order
      setTimeout(() => to.write(chunk), delayMs);
    });
    from.on('end', () => setTimeout(() => to.end(), delayMs));
    from.on('error', () => to.destroy());
  };
  const server = createServer((client) => {
    client.setNoDelay(true);
    const upstream = connect(targetPort, '127.0.0.1');
    upstream.setNoDelay(true);
    client.unref();
    upstream.unref();
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // the relay never keeps a finished bench alive: the clients' own sockets do while they work
  server.unref();
  return { port: (server.address() as import('node:net').AddressInfo).port, close: () => server.close() };
}
