import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { CLI, ROOT, tempDir } from './paths.js';

/** A gateway installation in a temporary folder: its own config, mappings, inbox, data and outputs. */
export interface Workspace {
  root: string;
  config: string;
  mappings: string;
  inbox: string;
  data: string;
  out: string;
}

/** Routes every customer to canonical JSON in a folder, so tests can count what arrived. */
const TEST_CUSTOMERS = {
  defaults: { language: 'nl', paymentTermsDays: 30, routes: [{ format: 'json', transport: 'folder', target: 'out' }] },
  unknownCustomers: 'default',
};

/** Creates a workspace; `gateway` overrides settings of the test gateway.yaml. */
export function workspace(gateway: Record<string, unknown> = {}, customers: Record<string, unknown> = TEST_CUSTOMERS): Workspace {
  const root = tempDir('igw-svc-');
  const ws: Workspace = {
    root,
    config: join(root, 'config'),
    mappings: join(root, 'mappings'),
    inbox: join(root, 'inbox'),
    data: join(root, 'data'),
    out: join(root, 'out'),
  };
  cpSync(join(ROOT, 'config'), ws.config, { recursive: true });
  cpSync(join(ROOT, 'mappings'), ws.mappings, { recursive: true });
  const base = parse(readFileSync(join(ROOT, 'config', 'gateway.yaml'), 'utf-8')) as Record<string, unknown>;
  const settings = {
    ...base,
    dataDir: ws.data,
    inbox: ws.inbox,
    watch: { stableFor: '300ms', rescanEvery: '1s', emptyFileTimeout: '1s', concurrency: 4, doneMarkers: [] },
    outbox: { maxAttempts: 5, firstRetryAfter: '200ms', maxRetryAfter: '1s', concurrency: 8, pollInterval: '100ms' },
    scheduler: { checkEvery: '200ms' },
    targets: { ...(base['targets'] as object), out: { kind: 'folder', path: ws.out } },
    logging: { level: 'info', file: join(ws.data, 'gateway.log') },
    ...gateway,
  };
  writeFileSync(join(ws.config, 'gateway.yaml'), stringify(settings));
  writeFileSync(join(ws.config, 'customers.yaml'), stringify(customers));
  for (const folder of ['access', 'erp', 'webshop', 'members']) mkdirSync(join(ws.inbox, folder), { recursive: true });
  return ws;
}

/** Makes each member a customer of its own: the members mapping names the customer by member number (accounting needs a debtor). */
export function membersAreCustomers(ws: Workspace): void {
  const mapping = join(ws.mappings, 'members-contribution.yaml');
  const line = '  buyerReference: { template: "Lid {Lidnummer}" }';
  writeFileSync(mapping, readFileSync(mapping, 'utf-8').replace(line, `${line}\n  customer: { column: Lidnummer }`));
}

/** Starts `invoice-gateway run` on a workspace as a child process (`env`: e.g. IGW_NODE_ID for one of several nodes). */
export function startService(ws: Workspace, env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'run', '--config', ws.config, '--mappings', ws.mappings, '--quiet'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.on('exit', (code, signal) => {
    if (code && code !== 0 && signal === null) process.stderr.write(`gateway exited ${code}: ${stderr}\n`);
  });
  return child;
}

/** Stops a service with SIGTERM and waits for it to exit. */
export async function stopService(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}

/** Polls until `check` returns a truthy value, or fails after `timeoutMs` with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined | false;
    try {
      value = await check();
    } catch {
      value = undefined;
    }
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Files in a folder (recursively), without receipts and reports. */
export function filesIn(dir: string, filter: (name: string) => boolean = () => true): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesIn(path, filter));
    else if (filter(entry.name)) out.push(path);
  }
  return out;
}

/** A members CSV (UTF-8, ";", Dutch decimals) with `count` members numbered from `first`. */
export function membersCsv(count: number, first = 5001, season = '2027'): string {
  const rows = ['Lidnummer;Voorletters;Tussenvoegsel;Achternaam;Straat;Huisnummer;Postcode;Woonplaats;E-mail;Soort lid;Contributie;Seizoen;Factuurdatum'];
  for (let i = 0; i < count; i++) {
    const nr = first + i;
    rows.push(`${nr};A.;;Lid ${nr};Dorpsstraat;${(i % 200) + 1};3811 AB;Amersfoort;lid${nr}@example.nl;Senior;215,00;${season};02-01-${season}`);
  }
  return `${rows.join('\n')}\n`;
}

/** Today as the Access exports write it (dd-mm-yyyy): test orders stay inside the issue-date window. */
export function todayNl(d = new Date()): string {
  return `${String(d.getDate()).padStart(2, '0')}-${String(d.getMonth() + 1).padStart(2, '0')}-${d.getFullYear()}`;
}
