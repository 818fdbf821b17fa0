import { carriedEInvoice } from '../formats/carried-xml.js';
import type { PeppolSettings } from '../peppol/lookup.js';
import { configuredRoutes } from '../routing/route.js';
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join, relative } from 'node:path';
import { ConfigError } from '../errors.js';
import { loadMapping, type CompiledMapping } from '../mapping/compile.js';
import { dirname, isAbsolute, resolve } from 'node:path';
import { durationMs } from './duration.js';
import type { CustomersConfig, GatewayFileConfig, SellersConfig, SeriesFormats, TargetConfig } from './types.js';
import type { AdministrationConfig } from '../formats/accounting/admin.js';
import { ConfigErrors, loadYaml } from './yaml-file.js';
import { didYouMean } from './suggest.js';
import { isBatchedFormat } from '../formats/batched.js';
import { DEFAULT_LIMITS, type PlausibilityLimits } from '../model/limits.js';
import { DEFAULT_VALIDATION_TIMEOUT_MS } from '../validation/engine.js';
import { processEnvironment, type GatewayEnvironment } from '../environment.js';

/** The console's settings with defaults filled in and paths absolute. */
export interface ConsoleSettings {
  host: string;
  port: number;
  /** the users file (YAML: names, roles, password hashes) */
  usersFile: string;
  tls?: { cert: string; key: string };
  trustProxy: boolean | string;
  sessionIdleMs: number;
  /** the lowest role that may download originals, PDFs, UBL and accounting files */
  downloadRole: 'viewer' | 'operator' | 'admin';
}

/** Service settings from gateway.yaml with defaults filled in, paths absolute, durations in ms. */
export interface ServiceSettings {
  dataDir: string;
  inbox: string;
  ledger: LedgerSettings;
  /** the web console and HTTP endpoint (pages, API, health, readiness, metrics); off unless configured */
  console?: ConsoleSettings;
  /** how receivers are found on the Peppol network */
  peppol: PeppolSettings;
  watch: {
    /** events: file-system events plus a rescan; scan: periodic scans only (network shares, several nodes) */
    mode: 'events' | 'scan';
    polling: boolean;
    pollIntervalMs: number;
    stableForMs: number;
    rescanEveryMs: number;
    emptyFileTimeoutMs: number;
    doneMarkers: string[];
    concurrency: number;
  };
  onRejectedInvoice: 'continue' | 'hold-file';
  onDuplicateFile: 'skip' | 'process';
  numbering: { default: Required<SeriesFormats>; sellers: Record<string, SeriesFormats> };
  outbox: {
    maxAttempts: number;
    firstRetryAfterMs: number;
    maxRetryAfterMs: number;
    concurrency: number;
    perTargetConcurrency: number;
    sendTimeoutMs: number;
    pollIntervalMs: number;
    renderThreads: number;
  };
  scheduler: { checkEveryMs: number };
  email: { server?: string };
  targets: Record<string, TargetConfig>;
  logging: { level: 'error' | 'warn' | 'info' | 'debug'; file?: string; maxSizeMb: number; maxFiles: number };
  accounting: Record<string, unknown>;
  /** plausibility limits checked before an invoice takes a number */
  limits: PlausibilityLimits;
  /** permission bits taken away from every file and folder the gateway creates (ledger, logs, outputs) */
  umask: number;
  /** how long a stop may finish the work under way before it leaves the rest to the next start */
  stopWithinMs: number;
  /** the engine and Saxon-HE's jar come from the environment (VALIDATION_ENGINE, SAXON_JAR) */
  validation: { requestTimeoutMs: number; engine: 'auto' | 'jvm' | 'saxon-js'; saxonJar: string };
  /** how long mapping a file may go without handing over an invoice, and may take in all */
  mappingDeadlines: { stallMs: number; fileMs: number };
}

/** Where the ledger lives and how this node takes part in it. */
export interface LedgerSettings {
  kind: 'sqlite' | 'postgres';
  /** postgres only: postgres://user@host:port/database (the password from PGPASSWORD) */
  url?: string;
  poolSize: number;
  /** how long a claim (file, delivery, batch, due held invoice) lasts unless renewed; a dead node's work is taken over after it */
  leaseMs: number;
  /** this node's id: IGW_NODE_ID, else ledger.nodeId, else the host name (stable across restarts) */
  nodeId: string;
}

/** Everything the gateway reads from config/ and mappings/. */
export interface GatewayConfig {
  configDir: string;
  mappingsDir: string;
  sellers: SellersConfig;
  customers: CustomersConfig;
  mappings: CompiledMapping[];
  service: ServiceSettings;
  /** config/accounting.yaml: the administrations accounting files go to */
  accounting: Record<string, AdministrationConfig>;
}

/** Whether any route of the configuration (UBL, CII, a hybrid PDF) or an e-invoice source folder needs the validator. */
export function usesUblValidation(config: GatewayConfig): boolean {
  return (
    configuredRoutes(config.customers).some(
      ({ format, transport: _t, target: _g, ...options }) => carriedEInvoice({ format, options }, { kind: 'invoice' }) !== undefined,
    ) || config.mappings.some((m) => m.definition.reader.format === 'ubl')
  );
}

/** A target with its folders and key files made absolute (relative paths are read from the folder above config/, as check-config reads them). */
function withAbsolutePaths(t: TargetConfig, abs: (p: string) => string): TargetConfig {
  const opt = (p: string | undefined): string | undefined => (p === undefined || p.includes('${') ? p : abs(p));
  const cert = <C extends { certificateFile: string; privateKeyFile: string } | undefined>(c: C): C =>
    (c ? { ...c, certificateFile: opt(c.certificateFile), privateKeyFile: opt(c.privateKeyFile) } : c) as C;
  switch (t.kind) {
    case 'folder':
    case 'pickup':
      return { ...t, path: abs(t.path) };
    case 'sftp':
      return { ...t, ...(t.privateKeyFile ? { privateKeyFile: opt(t.privateKeyFile)! } : {}) };
    case 'graph':
      return { ...t, ...(t.caFile ? { caFile: opt(t.caFile)! } : {}), ...(t.certificate ? { certificate: cert(t.certificate) } : {}) };
    case 'smtp':
      return {
        ...t,
        ...(t.caFile ? { caFile: opt(t.caFile)! } : {}),
        ...(t.dkim ? { dkim: { ...t.dkim, privateKeyFile: opt(t.dkim.privateKeyFile)! } } : {}),
        ...(t.imap?.caFile ? { imap: { ...t.imap, caFile: opt(t.imap.caFile)! } } : {}),
        ...(t.oauth2
          ? {
              oauth2: {
                ...t.oauth2,
                ...(t.oauth2.caFile ? { caFile: opt(t.oauth2.caFile)! } : {}),
                ...(t.oauth2.certificate ? { certificate: cert(t.oauth2.certificate) } : {}),
              },
            }
          : {}),
      };
    default:
      return t;
  }
}

/** Fills in defaults and makes paths absolute (relative to the folder above config/). */
export function serviceSettings(
  file: GatewayFileConfig,
  base: string,
  configDir = resolve(base, 'config'),
  env: GatewayEnvironment = processEnvironment(),
): ServiceSettings {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const dataDir = abs(file.dataDir ?? './data');
  const targets: Record<string, TargetConfig> = {};
  for (const [name, t] of Object.entries(file.targets ?? {})) {
    targets[name] = withAbsolutePaths(t, abs);
  }
  const w = file.watch ?? {};
  const o = file.outbox ?? {};
  const mode = w.mode ?? 'events';
  return {
    dataDir,
    inbox: abs(file.inbox ?? `${dataDir}/inbox`),
    // IGW_CONSOLE_PORT: each node of a shared configuration on one machine needs a port of its own
    ...(file.console || env.consolePort ? { console: consoleSettings(file.console ?? {}, configDir, env) } : {}),
    peppol: peppolSettings(file.peppol ?? {}, configDir),
    ledger: {
      kind: file.ledger?.kind ?? 'sqlite',
      ...(file.ledger?.url ? { url: file.ledger.url } : {}),
      poolSize: file.ledger?.poolSize ?? 8,
      leaseMs: durationMs(file.ledger?.leaseFor, 60_000),
      nodeId: env.nodeId || file.ledger?.nodeId || hostname(),
    },
    watch: {
      mode,
      polling: w.polling ?? false,
      pollIntervalMs: durationMs(w.pollInterval, 1000),
      stableForMs: durationMs(w.stableFor, 2000),
      rescanEveryMs: durationMs(w.rescanEvery, mode === 'scan' ? 5_000 : 30_000),
      emptyFileTimeoutMs: durationMs(w.emptyFileTimeout, 60_000),
      doneMarkers: w.doneMarkers ?? [],
      // each file waits for a few round trips to a PostgreSQL ledger: twice the files in flight keep the node busy meanwhile
      concurrency: w.concurrency ?? (file.ledger?.kind === 'postgres' ? 32 : 16),
    },
    onRejectedInvoice: file.onRejectedInvoice ?? 'continue',
    onDuplicateFile: file.onDuplicateFile ?? 'skip',
    numbering: {
      default: { invoice: '{yyyy}-{seq:5}', creditNote: '', quote: 'OFF{yyyy}-{seq:4}', ...(file.numbering?.default ?? {}) } as Required<SeriesFormats>,
      sellers: file.numbering?.sellers ?? {},
    },
    outbox: {
      maxAttempts: o.maxAttempts ?? 8,
      firstRetryAfterMs: durationMs(o.firstRetryAfter, 30_000),
      maxRetryAfterMs: durationMs(o.maxRetryAfter, 3_600_000),
      concurrency: o.concurrency ?? 8,
      // one target may take at most this many slots, so a dead one leaves the rest for the others
      perTargetConcurrency: o.perTargetConcurrency ?? Math.max(1, Math.ceil((o.concurrency ?? 8) / 2)),
      sendTimeoutMs: durationMs(o.sendTimeout, 120_000),
      pollIntervalMs: durationMs(o.pollInterval, 500),
      // one PDF thread per core (up to 4): the main thread mostly waits on the ledger and the network
      renderThreads: o.renderThreads ?? Math.min(4, availableParallelism()),
    },
    scheduler: { checkEveryMs: durationMs(file.scheduler?.checkEvery, 5000) },
    email: file.email ?? {},
    targets,
    logging: {
      level: file.logging?.level ?? 'info',
      file: file.logging?.file ? abs(file.logging.file) : undefined,
      maxSizeMb: file.logging?.maxSizeMb ?? 20,
      maxFiles: file.logging?.maxFiles ?? 10,
    },
    accounting: file.accounting ?? {},
    limits: { ...DEFAULT_LIMITS, ...(file.limits ?? {}) },
    umask: parseInt(file.umask ?? '027', 8),
    stopWithinMs: durationMs(file.stopWithin, 30_000),
    mappingDeadlines: { stallMs: durationMs(file.mappingDeadlines?.stalled, 30_000), fileMs: durationMs(file.mappingDeadlines?.file, 15 * 60_000) },
    validation: {
      requestTimeoutMs: durationMs(file.validation?.requestTimeout, DEFAULT_VALIDATION_TIMEOUT_MS),
      engine: env.validationEngine,
      saxonJar: env.saxonJar,
    },
  };
}

/** Accounting routes must name an administration of accounting.yaml. */
function checkAdministrations(customers: CustomersConfig, administrations: Record<string, AdministrationConfig>, file: string, errors: ConfigError[]): void {
  for (const r of configuredRoutes(customers)) {
    if (!isBatchedFormat(r.format)) continue;
    const name = r.administration ?? r.target ?? 'default';
    if (!administrations[name])
      errors.push(
        new ConfigError(`administration '${name}' of a ${r.format} route is not in config/accounting.yaml${didYouMean(name, Object.keys(administrations))}`, {
          file,
          field: 'administration',
        }),
      );
  }
}

/** Route targets that must exist in gateway.yaml: SFTP and folder routes name one. */
function checkRouteTargets(customers: CustomersConfig, targets: Record<string, TargetConfig>, file: string, errors: ConfigError[]): void {
  const all = [
    ...(customers.defaults?.routes ?? []).map((r, i) => ({ r, where: `defaults.routes.${i}` })),
    ...Object.entries(customers.customers ?? {}).flatMap(([key, c]) => (c.routes ?? []).map((r, i) => ({ r, where: `customers.${key}.routes.${i}` }))),
  ];
  for (const { r, where } of all) {
    const batched = isBatchedFormat(r.format);
    if (batched && r.transport !== 'folder' && !r.administration) {
      errors.push(
        new ConfigError(`an accounting route over ${r.transport} names its administration and its target (administration: <name>, target: <target>)`, {
          file,
          path: where,
        }),
      );
      continue;
    }
    // an accounting route's target, beside its administration, is where its batch file goes
    if (r.transport === 'sftp' || (r.transport === 'folder' && !batched) || (batched && r.administration && r.target)) {
      if (!r.target) errors.push(new ConfigError(`a ${r.transport} route needs a target (a name under targets: in gateway.yaml)`, { file, path: where }));
      else if (!targets[r.target]) {
        errors.push(
          new ConfigError(`target '${r.target}' is not under targets: in gateway.yaml${didYouMean(r.target, Object.keys(targets))}`, {
            file,
            path: `${where}.target`,
          }),
        );
      }
    }
  }
}

/** Where the configuration lives; both default to the folders shipped with the gateway. */
export interface ConfigLocation {
  configDir: string;
  mappingsDir: string;
}

function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

/** Gives YAML numbers that are really identifiers (KvK 12345678) back their text form. */
function normaliseIdentifiers(sellers: SellersConfig, customers: CustomersConfig): void {
  const fix = (id: unknown): string => String(id);
  for (const party of [...Object.values(sellers.sellers), ...Object.values(customers.customers ?? {}).map((c) => c.party)]) {
    if (party.legalId) party.legalId.id = fix(party.legalId.id);
    if (party.endpoint) party.endpoint.id = fix(party.endpoint.id);
    for (const ident of party.identifiers ?? []) ident.id = fix(ident.id);
  }
}

/** Loads and checks every YAML file, collecting all errors before failing (so one run shows them all). */
export function loadConfig(location: ConfigLocation): GatewayConfig {
  const errors: ConfigError[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ConfigErrors) errors.push(...err.errors);
      else if (err instanceof ConfigError) errors.push(err);
      else throw err;
      return undefined;
    }
  };
  const sellersFile = join(location.configDir, 'sellers.yaml');
  const customersFile = join(location.configDir, 'customers.yaml');
  const sellers = attempt(() => loadYaml<SellersConfig>(sellersFile, 'sellers', display(sellersFile)).value);
  const customers = existsSync(customersFile) ? attempt(() => loadYaml<CustomersConfig>(customersFile, 'customers', display(customersFile)).value) : {};
  const mappings: CompiledMapping[] = [];
  if (!existsSync(location.mappingsDir)) {
    errors.push(new ConfigError('the mappings folder does not exist', { file: display(location.mappingsDir) }));
  } else {
    for (const name of readdirSync(location.mappingsDir)
      .filter((n) => /\.ya?ml$/.test(n))
      .sort()) {
      const file = join(location.mappingsDir, name);
      const mapping = attempt(() => loadMapping(file, display(file)));
      if (mapping) mappings.push(mapping);
    }
  }
  const gatewayFile = join(location.configDir, 'gateway.yaml');
  const gateway = existsSync(gatewayFile) ? attempt(() => loadYaml<GatewayFileConfig>(gatewayFile, 'gateway', display(gatewayFile)).value) : {};
  const service = gateway
    ? attempt(() => {
        try {
          return serviceSettings(gateway, dirname(location.configDir), location.configDir);
        } catch (err) {
          throw new ConfigError((err as Error).message, { file: display(gatewayFile) });
        }
      })
    : undefined;
  if (customers && service) checkRouteTargets(customers, service.targets, display(customersFile), errors);
  const accountingFile = join(location.configDir, 'accounting.yaml');
  const accounting = existsSync(accountingFile)
    ? attempt(
        () => loadYaml<{ administrations: Record<string, AdministrationConfig> }>(accountingFile, 'accounting', display(accountingFile)).value.administrations,
      )
    : {};
  if (customers && accounting) checkAdministrations(customers, accounting, display(customersFile), errors);
  if (errors.length) throw new ConfigErrors(errors);
  normaliseIdentifiers(sellers!, customers!);
  return { ...location, sellers: sellers!, customers: customers!, mappings, service: service!, accounting: accounting ?? {} };
}

/** The Peppol lookup settings from gateway.yaml's `peppol:` with defaults; PEM files relative to config/. */
export function peppolSettings(p: NonNullable<GatewayFileConfig['peppol']>, configDir: string): PeppolSettings {
  const files = (v: string | string[] | undefined): string[] => [v ?? []].flat().map((f) => resolve(configDir, f));
  return {
    sml: p.sml ?? 'production',
    ...(p.dns ? { dns: p.dns } : {}),
    smpTrust: files(p.smpTrust),
    smpTlsCa: files(p.smpTlsCa),
    cacheTtlMs: durationMs(p.cacheTtl, 3_600_000),
    timeoutMs: durationMs(p.timeout, 10_000),
    followUpEveryMs: durationMs(p.followUpEvery, 300_000),
  };
}

/** The console's settings from gateway.yaml's `console:` with defaults; paths relative to config/. */
export function consoleSettings(
  c: NonNullable<GatewayFileConfig['console']>,
  configDir: string,
  env: GatewayEnvironment = processEnvironment(),
): ConsoleSettings {
  const inConfig = (p: string): string => (isAbsolute(p) ? p : resolve(configDir, p));
  return {
    host: c.host ?? '127.0.0.1',
    port: env.consolePort || c.port || 8477,
    usersFile: inConfig(c.users ?? 'console-users.yaml'),
    ...(c.tls ? { tls: { cert: inConfig(c.tls.cert), key: inConfig(c.tls.key) } } : {}),
    trustProxy: c.trustProxy ?? false,
    sessionIdleMs: durationMs(c.sessionIdle, 8 * 3600_000),
    downloadRole: c.downloads ?? 'operator',
  };
}
