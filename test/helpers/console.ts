import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { CLI } from './paths.js';
import type { Workspace } from './service.js';
import { freePort } from './net.js';
import { mailWorkspace, type TestSmtp } from './smtp.js';

/** Adds a console user with `invoice-gateway console-user add`, the password on standard input. */
export function addConsoleUser(ws: Workspace, name: string, role: 'viewer' | 'operator' | 'admin', password: string, language: 'nl' | 'en' = 'en'): void {
  const run = spawnSync(
    process.execPath,
    [CLI, 'console-user', 'add', name, '--role', role, '--language', language, '--password-stdin', '--config', ws.config, '--mappings', ws.mappings],
    { input: `${password}\n`, encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`console-user add ${name} failed: ${run.stderr}`);
}

/**
 * Makes members 5001.. customers with a debtor code whose invoices go as a PDF by e-mail and into
 * an Exact Online file for administration devries (picked up in ws.out/devries).
 */
export function withAccountingRoute(ws: Workspace, members = 3): void {
  const customers = join(ws.config, 'customers.yaml');
  const c = parse(readFileSync(customers, 'utf8')) as { customers?: Record<string, unknown> };
  c.customers = Object.fromEntries(
    Array.from({ length: members }, (_, i) => [
      String(5001 + i),
      {
        party: { name: `Lid ${5001 + i}`, address: { city: 'Amersfoort', country: 'NL' } },
        debtorCode: `D${5001 + i}`,
        routes: [
          { format: 'pdf', transport: 'email', template: 'membership' },
          { format: 'exact-online', transport: 'folder', administration: 'devries' },
        ],
      },
    ]),
  );
  writeFileSync(customers, stringify(c));
  // the members mapping names the member number as the customer
  const mapping = join(ws.mappings, 'members-contribution.yaml');
  writeFileSync(
    mapping,
    readFileSync(mapping, 'utf8').replace(
      '  buyerReference: { template: "Lid {Lidnummer}" }',
      '  buyerReference: { template: "Lid {Lidnummer}" }\n  customer: { column: Lidnummer }',
    ),
  );
  const accounting = join(ws.config, 'accounting.yaml');
  const a = parse(readFileSync(accounting, 'utf8')) as { administrations: Record<string, { pickupFolder: string }> };
  a.administrations['devries']!.pickupFolder = join(ws.out, 'devries');
  writeFileSync(accounting, stringify(a));
}

/**
 * The console's test installation: members' invoices by e-mail to `smtp` (whose mailbox for member
 * 5001 does not exist: that delivery goes dead with the server's 550) and into an Exact Online file,
 * the console on a free port. Returns the workspace and the console's base URL.
 */
export async function consoleWorkspace(smtp: TestSmtp): Promise<{ ws: Workspace; base: string }> {
  smtp.reject = (to) => (to === 'lid5001@example.nl' ? { code: 550, message: 'No such user here' } : undefined);
  const port = await freePort();
  const ws = mailWorkspace(smtp);
  const gateway = join(ws.config, 'gateway.yaml');
  writeFileSync(gateway, `${readFileSync(gateway, 'utf8')}console:\n  port: ${port}\n`);
  withAccountingRoute(ws);
  return { ws, base: `http://127.0.0.1:${port}` };
}

/** A client of the console's JSON API with its own session cookie and CSRF token, as a script would use it. */
export class ApiClient {
  /** the session cookie (name=value); another node's client may take it over */
  cookie = '';
  csrf = '';

  constructor(readonly base: string) {}

  /** Fetches with the session cookie; a new cookie from the answer replaces it. */
  async request(
    method: string,
    path: string,
    options: { json?: unknown; form?: FormData; body?: string; csrf?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (this.cookie) headers['cookie'] = this.cookie;
    if (options.csrf !== false && method !== 'GET' && this.csrf) headers['x-csrf-token'] = this.csrf;
    let body: string | FormData | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form) body = options.form;
    else if (options.body !== undefined) body = options.body;
    const response = await fetch(`${this.base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}), redirect: 'manual' });
    const set = response.headers.getSetCookie().find((c) => c.startsWith('igw_session='));
    if (set) this.cookie = set.split(';')[0]!;
    return response;
  }

  async get<T = unknown>(path: string): Promise<T> {
    const response = await this.request('GET', path);
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** Gets a CSRF token (and a session), then signs in; returns the status of the login. */
  async login(name: string, password: string): Promise<number> {
    this.csrf = (await this.get<{ csrfToken: string }>('/api/session')).csrfToken;
    const response = await this.request('POST', '/api/login', { json: { name, password } });
    if (response.status === 200) this.csrf = ((await response.json()) as { csrfToken: string }).csrfToken;
    return response.status;
  }
}
