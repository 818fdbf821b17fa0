/** Where something went wrong: the file, and as much of the place inside it as is known. */
export interface ErrorLocation {
  file?: string;
  line?: number;
  /** a column name, number or character range */
  column?: string | number;
  /** a path inside a structured document or YAML file */
  path?: string;
  /** the canonical field the value was meant for */
  field?: string;
  /** attachment name inside an e-mail */
  attachment?: string;
}

/** Formats a location as "file:line, column 'x', path a/b, field y" for people. */
export function formatLocation(loc: ErrorLocation): string {
  const parts: string[] = [];
  let head = loc.file ?? '';
  if (loc.attachment) head += `${head ? ' ' : ''}[attachment ${loc.attachment}]`;
  if (loc.line !== undefined) head += `${head ? ':' : 'line '}${loc.line}`;
  const numericColumn = typeof loc.column === 'number' && loc.line !== undefined;
  if (numericColumn) head += `:${loc.column}`;
  if (head) parts.push(head);
  if (loc.column !== undefined && !numericColumn) parts.push(`column '${loc.column}'`);
  if (loc.path) parts.push(`at ${loc.path}`);
  if (loc.field) parts.push(`field ${loc.field}`);
  return parts.join(', ');
}

/** A value quoted in a report or a log line, cut short when long: a 10 MB bad price must not make a 10 MB report. */
export function quoteValue(value: unknown, max = 80): string {
  const text = String(value);
  return text.length <= max ? `"${text}"` : `"${text.slice(0, max)}…" (${text.length.toLocaleString('en')} characters)`;
}

/** Base of every error the gateway reports about its input or configuration. */
export class GatewayError extends Error {
  /** a short code for tools: the stage and, for rules, the rule id */
  readonly code: string;
  constructor(
    message: string,
    readonly location: ErrorLocation = {},
    code?: string,
  ) {
    super(message);
    this.name = new.target.name;
    this.code = code ?? new.target.name.replace(/Error$/, '').toUpperCase();
  }
  /** "file:line, column 'x': message" */
  describe(): string {
    const where = formatLocation(this.location);
    return where ? `${where}: ${this.message}` : this.message;
  }
  toJSON(): Record<string, unknown> {
    return { error: this.name, code: this.code, message: this.message, ...this.location };
  }
}

/** The bytes of a file could not be turned into records (encoding, syntax, DOCTYPE, empty). */
export class ReaderError extends GatewayError {}
/** A record could not be mapped into the canonical model (missing column, bad number or date). */
export class MappingError extends GatewayError {}
/** An invoice breaks an EN 16931 or gateway business rule. */
export class RuleError extends GatewayError {}
/** A YAML configuration or mapping file is invalid. */
export class ConfigError extends GatewayError {}
/** No route could be found for an invoice. */
export class RoutingError extends GatewayError {}

/** Message of anything thrown, for logs. */
export function errorMessage(err: unknown): string {
  if (err instanceof GatewayError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Which kind of failure: the sender must fix it, the environment must heal (wait, never blame), or it is a bug. */
export type FailureKind = 'input' | 'environment' | 'bug';

/** The machine, not the input: a full or read-only disk, a missing artefact, a server out of reach. Waits and retries. */
export class EnvironmentError extends GatewayError {}

/**
 * Another node took over a file this node was working on (its lease expired while this node was
 * cut off from the ledger): this node stops working on it; nothing is wrong with the file.
 */
export class LeaseLostError extends EnvironmentError {}

/**
 * Another process started under this node's id while this one was silent (frozen, cut off): it now
 * owns the id and the id's work, so this process must stop at once without touching either.
 */
export class NodeReplacedError extends LeaseLostError {}

/** A fault of the gateway itself; the report keeps the stack so it can be fixed. */
export class InternalError extends GatewayError {
  constructor(
    message: string,
    location: ErrorLocation,
    readonly causeStack?: string,
  ) {
    super(message, location);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), stack: this.causeStack };
  }
}

/** Error codes of the operating system and SQLite that say the environment failed, not the input. */
const ENVIRONMENT_CODES = new Set([
  'ENOSPC',
  'EROFS',
  'EACCES',
  'EPERM',
  'EIO',
  'EMFILE',
  'ENFILE',
  'EBUSY',
  'EDQUOT',
  'ENOMEM',
  'EAGAIN',
  'ESTALE',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'SQLITE_FULL',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_READONLY',
  'SQLITE_CANTOPEN',
  'SQLITE_NOMEM',
  'SQLITE_PROTOCOL',
]);

/** Whether an error code (errno or SQLite) names a broken environment. */
export function isEnvironmentCode(code: unknown): boolean {
  return typeof code === 'string' && (ENVIRONMENT_CODES.has(code) || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_BUSY'));
}

/** Classifies anything thrown. */
export function failureKind(err: unknown): FailureKind {
  if (err instanceof EnvironmentError) return 'environment';
  if (err instanceof InternalError) return 'bug';
  if (err instanceof GatewayError) return 'input';
  if (isEnvironmentCode((err as { code?: unknown } | null)?.code)) return 'environment';
  return 'bug';
}

/** Whether a failure says the disk is full (errno, SQLite, or either in the text of a wrapped error). */
export function isOutOfSpace(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return true;
  return /ENOSPC|EDQUOT|SQLITE_FULL|no space left|disk is full/i.test(errorMessage(err));
}
