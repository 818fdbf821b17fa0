import { configuredRoutes } from '../routing/route.js';
import pg from 'pg';
import { accessSync, constants, existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import Handlebars from 'handlebars';
import { processEnvironment, type GatewayEnvironment } from '../environment.js';
import { ConfigError, GatewayError } from '../errors.js';
import { prepareFile } from '../service/prepare.js';
import type { GatewayConfig } from './load.js';
import { didYouMean } from './suggest.js';
import { loadYaml } from './yaml-file.js';
import { postgresPlace, type PostgresPlace } from '../ledger/postgres-url.js';
import type { MailTemplatesFileSchema } from './schema-types.js';

/** What the run-time check found: errors stop the service from starting, warnings are shown. */
export interface RuntimeCheck {
  errors: ConfigError[];
  warnings: string[];
}

const SECRET = /\$\{([A-Z0-9_]+)\}/g;

/** Every string in a target's settings with its key path, for the secret and file checks. */
function* strings(value: unknown, path: string): Generator<[string, string]> {
  if (typeof value === 'string') yield [path, value];
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) yield* strings(v, `${path}.${k}`);
}

/**
 * The checks the YAML schemas cannot make, run by `check-config` and at every start: secrets the
 * environment must hold, key files that must be readable, mail templates that must exist and
 * compile, the mail server target, and every mapping expression evaluated once on the mapping's
 * sample file (`sample:`), time-limited.
 */
export async function checkRuntime(
  config: GatewayConfig,
  options: { samples?: boolean; reach?: boolean; env?: GatewayEnvironment } = {},
): Promise<RuntimeCheck> {
  const env = options.env ?? processEnvironment();
  const errors: ConfigError[] = [];
  const warnings: string[] = [];
  const gatewayFile = join(config.configDir, 'gateway.yaml');
  const targets = config.service.targets;

  for (const [name, target] of Object.entries(targets)) {
    for (const [path, text] of strings(target, `targets.${name}`)) {
      for (const [, variable] of text.matchAll(SECRET)) {
        if (env.variable(variable!) === undefined)
          errors.push(new ConfigError(`${path} refers to environment variable ${variable}, which is not set`, { file: gatewayFile, path }));
      }
    }
    if ('password' in target && target.password && !SECRET.test(target.password)) {
      warnings.push(
        `${gatewayFile}: targets.${name}.password is written in the YAML; put it in the environment instead (password: \${${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSWORD})`,
      );
    }
    SECRET.lastIndex = 0;
    const files: [string, string | undefined][] =
      target.kind === 'sftp'
        ? [['privateKeyFile', target.privateKeyFile]]
        : target.kind === 'smtp'
          ? [
              ['caFile', target.caFile],
              ['dkim.privateKeyFile', target.dkim?.privateKeyFile],
              ['oauth2.caFile', target.oauth2?.caFile],
              ['imap.caFile', target.imap?.caFile],
              ['oauth2.certificate.certificateFile', target.oauth2?.certificate?.certificateFile],
              ['oauth2.certificate.privateKeyFile', target.oauth2?.certificate?.privateKeyFile],
              ['googleServiceAccount.keyFile', target.googleServiceAccount?.keyFile],
              ['googleServiceAccount.caFile', target.googleServiceAccount?.caFile],
            ]
          : target.kind === 'graph'
            ? [
                ['caFile', target.caFile],
                ['certificate.certificateFile', target.certificate?.certificateFile],
                ['certificate.privateKeyFile', target.certificate?.privateKeyFile],
              ]
            : [];
    const signIn =
      target.kind === 'graph'
        ? { at: `targets.${name}`, s: target }
        : target.kind === 'smtp' && target.oauth2
          ? { at: `targets.${name}.oauth2`, s: target.oauth2 }
          : undefined;
    if (signIn && !signIn.s.clientSecret && !signIn.s.certificate)
      errors.push(
        new ConfigError(`${signIn.at}: the app cannot sign in: set clientSecret (as \${ENVIRONMENT_VARIABLE}) or, better, certificate`, {
          file: gatewayFile,
          path: signIn.at,
        }),
      );
    if (target.kind === 'smtp' && target.mode === 'draft' && !target.imap)
      errors.push(
        new ConfigError(`targets.${name}.mode: draft needs imap: the mailbox whose Drafts folder gets the mails`, {
          file: gatewayFile,
          path: `targets.${name}.mode`,
        }),
      );
    if (target.kind === 'smtp' && (target.oauth2 || target.googleServiceAccount) && !target.user)
      errors.push(
        new ConfigError(`targets.${name}.user: OAuth 2.0 sign-in needs user, the mailbox that sends`, { file: gatewayFile, path: `targets.${name}.user` }),
      );
    if (target.kind === 'smtp' && target.oauth2 && target.googleServiceAccount)
      errors.push(
        new ConfigError(`targets.${name}: oauth2 (Microsoft 365) and googleServiceAccount (Google Workspace) both set; a mailbox signs in one way`, {
          file: gatewayFile,
          path: `targets.${name}`,
        }),
      );
    for (const [key, raw] of files) {
      if (!raw) continue;
      const file = raw.replace(SECRET, (_m, v: string) => env.variable(v) ?? '');
      if (!file) continue;
      const path = isAbsolute(file) ? file : resolve(config.configDir, '..', file);
      try {
        accessSync(path, constants.R_OK);
      } catch {
        errors.push(new ConfigError(`targets.${name}.${key}: ${path} does not exist or cannot be read`, { file: gatewayFile, path: `targets.${name}.${key}` }));
      }
    }
  }

  const server = config.service.email.server;
  const usesMail = configuredRoutes(config.customers).filter((r) => r.transport === 'email');
  if (usesMail.length && server !== undefined) {
    const target = targets[server];
    if (!target)
      errors.push(
        new ConfigError(`email.server names target '${server}', which is not under targets:${didYouMean(server, Object.keys(targets))}`, {
          file: gatewayFile,
          path: 'email.server',
        }),
      );
    else if (target.kind !== 'smtp' && target.kind !== 'pickup' && target.kind !== 'graph') {
      errors.push(
        new ConfigError(`email.server names target '${server}' of kind ${target.kind}; it must be of kind smtp, graph or pickup`, {
          file: gatewayFile,
          path: 'email.server',
        }),
      );
    }
  }

  const templatesFile = join(config.configDir, 'mail-templates.yaml');
  const templates = existsSync(templatesFile)
    ? (loadYaml<MailTemplatesFileSchema.MailTemplatesFile>(templatesFile, 'mail-templates').value.templates ?? {})
    : {};
  for (const [name, languages] of Object.entries(templates)) {
    for (const [language, parts] of Object.entries(languages ?? {})) {
      for (const [part, text] of Object.entries(parts ?? {})) {
        try {
          Handlebars.precompile(text);
        } catch (err) {
          const path = `templates.${name}.${language}.${part}`;
          errors.push(new ConfigError(`${path} is not a valid Handlebars template: ${(err as Error).message.split('\n')[0]}`, { file: templatesFile, path }));
        }
      }
    }
  }
  const customersFile = join(config.configDir, 'customers.yaml');
  const routes = [
    ...(config.customers.defaults?.routes ?? []).map((r, i) => ({ r, where: `defaults.routes.${i}` })),
    ...Object.entries(config.customers.customers ?? {}).flatMap(([key, c]) => (c.routes ?? []).map((r, i) => ({ r, where: `customers.${key}.routes.${i}` }))),
  ];
  const peppolRoutes = routes.filter(({ r }) => r.transport === 'peppol');
  // a customer's own Peppol route with nowhere to send to: only a file that carries the buyer's endpoint can use it
  for (const [key, c] of Object.entries(config.customers.customers ?? {}))
    for (const [i, r] of (c.routes ?? []).entries())
      if (r.transport === 'peppol' && !r.participant && !(c.party.endpoint?.id && c.party.endpoint.scheme))
        warnings.push(
          `${customersFile}: customers.${key}.routes.${i}: a Peppol route without the buyer's Peppol id; put it under customers.${key}.party.endpoint (e.g. { id: "12345678", scheme: "0106" } for a KvK number) or as participant: on the route, unless every file of this customer carries it (buyer.endpointId)`,
        );
  for (const { r, where } of peppolRoutes) {
    const target = r.target ? targets[r.target] : undefined;
    if (!target || target.kind !== 'peppol')
      errors.push(
        new ConfigError(
          `a Peppol route needs target: the name of a target of kind peppol (an access point) in gateway.yaml${r.target ? `; '${r.target}' is ${target ? `of kind ${target.kind}` : 'not under targets:'}` : ''}`,
          {
            file: customersFile,
            path: `${where}.target`,
          },
        ),
      );
  }
  if (peppolRoutes.length) {
    const trust = config.service.peppol.smpTrust;
    if (!trust.length)
      errors.push(
        new ConfigError(
          'Peppol routes need peppol.smpTrust: the PEM file of the CA that issues SMP certificates (OpenPeppol publishes it); without it no SMP answer can be trusted',
          {
            file: gatewayFile,
            path: 'peppol.smpTrust',
          },
        ),
      );
    for (const file of [...trust, ...(config.service.peppol.smpTlsCa ?? [])]) {
      try {
        accessSync(file, constants.R_OK);
      } catch {
        errors.push(new ConfigError(`peppol: ${file} does not exist or cannot be read`, { file: gatewayFile, path: 'peppol' }));
      }
    }
  }
  for (const { r, where } of routes) {
    if (r.template && !Object.hasOwn(templates, r.template)) {
      errors.push(
        new ConfigError(`template '${r.template}' is not in mail-templates.yaml${didYouMean(r.template, Object.keys(templates))}`, {
          file: customersFile,
          path: `${where}.template`,
        }),
      );
    }
  }

  for (const mapping of options.samples ? config.mappings : []) {
    const sample = mapping.definition.sample;
    if (!sample) continue;
    const path = isAbsolute(sample) ? sample : resolve(config.mappingsDir, sample);
    if (!existsSync(path)) {
      warnings.push(`${mapping.file}: sample ${sample} was not found; the expressions of mapping ${mapping.name} were not tried`);
      continue;
    }
    try {
      for await (const item of prepareFile(path, config, { mapping: mapping.name, folder: mapping.definition.match.folder ?? mapping.name })) {
        if (!item.ok) for (const e of item.errors) errors.push(new ConfigError(`on its sample: ${e.describe()}`, { file: mapping.file, path: 'sample' }));
      }
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      errors.push(new ConfigError(`on its sample: ${err.describe()}`, { file: mapping.file, path: 'sample' }));
    }
  }
  const ledger = config.service.ledger;
  if (ledger.kind === 'postgres' && ledger.url) {
    const place = placeOf(ledger.url, errors);
    if (place?.hasPassword) warnings.push(`${gatewayFile}: ledger.url holds the database password; give it in the environment as PGPASSWORD instead`);
    if (place && options.reach) {
      // check-config only: the service opens the ledger itself (and waits for it while it is down)
      const reachable = await reachPostgres(ledger.url);
      if (reachable)
        warnings.push(`${gatewayFile}: the PostgreSQL ledger at ${place.description} cannot be reached now (${reachable}); the gateway waits for it`);
    }
  }
  return { errors, warnings };
}

/** Connects once to a PostgreSQL ledger; the reason it failed, or undefined when it answers. */
async function reachPostgres(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Where the ledger URL points, or undefined with the reason added to `errors`. */
function placeOf(url: string, errors: ConfigError[]): PostgresPlace | undefined {
  try {
    return postgresPlace(url);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    errors.push(err);
    return undefined;
  }
}
