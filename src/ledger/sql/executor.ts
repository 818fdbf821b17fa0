import type { Dialect } from './dialect.js';

/** A row as the driver returns it: column name to value. */
export type Row = Record<string, unknown>;

/** Runs statements written with `?` placeholders; arrays are array parameters (see Dialect.inArray). */
export interface SqlRunner {
  /** the rows a statement returns (a SELECT, or a change with RETURNING) */
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** how many rows a statement changed */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

/**
 * The tiny executor the ledger runs on: statements, transactions, and the dialect they are written
 * in. A transaction lost to another (deadlock, serialization) is run again by the executor; an
 * unreachable database is an EnvironmentError.
 */
export interface SqlExecutor extends SqlRunner {
  readonly dialect: Dialect;
  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
