import { parse } from 'pg-connection-string';
import { ConfigError } from '../errors.js';

/** Where a PostgreSQL ledger is, as node-postgres reads its URL. */
export interface PostgresPlace {
  /** a host name, or the folder of a Unix socket (`?host=/var/run/postgresql`) */
  host: string;
  port: number;
  database: string;
  /** whether the URL carries a password (it belongs in PGPASSWORD) */
  hasPassword: boolean;
  /** host:port/database, for logs and status */
  description: string;
}

/** Reads a ledger URL the way the database driver will; a URL it cannot read is a configuration error. */
export function postgresPlace(url: string): PostgresPlace {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(url);
  } catch (err) {
    throw new ConfigError(`ledger.url is not a PostgreSQL URL the driver can read (${(err as Error).message})`, { field: 'ledger.url' });
  }
  const host = parsed.host || 'localhost';
  const port = Number(parsed.port || 5432);
  const database = parsed.database || '';
  return { host, port, database, hasPassword: Boolean(parsed.password), description: `${host}:${port}/${database}` };
}
