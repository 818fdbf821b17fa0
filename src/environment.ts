import { join } from 'node:path';
import { PROJECT_ROOT } from './paths.js';

/**
 * Every environment variable the gateway reads, read in this one module: the rest of the code gets
 * them as values (through the loaded configuration, or from the command that starts it), so a test
 * or a second gateway in one process can set them without touching process.env.
 */
export interface GatewayEnvironment {
  /** IGW_NODE_ID: this node's name in a shared ledger (beats ledger.nodeId in gateway.yaml) */
  nodeId?: string;
  /** IGW_CONSOLE_PORT: each node of a shared configuration on one machine needs a port of its own */
  consolePort?: number;
  /** VALIDATION_ENGINE: jvm, saxon-js, or auto (Saxon-HE on Java where present) */
  validationEngine: 'auto' | 'jvm' | 'saxon-js';
  /** SAXON_JAR: Saxon-HE's jar (Debian's libsaxonhe-java by default) */
  saxonJar: string;
  /** STANDARDS_HOME: where the official validation artefacts are installed */
  standardsHome: string;
  /** STANDARDS_MIRROR: where install-standards takes them from instead of their official addresses */
  standardsMirror?: string;
  /** IGW_CACHE_DIR: compiled stylesheets, kept across installs */
  sefCacheDir: string;
  /** IGW_DOWNLOAD_ATTEMPTS / IGW_DOWNLOAD_PAUSE_MS: how patiently a download is tried */
  download: { attempts: number; pauseMs: number };
  /** LOG_FORMAT (json / text), else JSON under systemd (which sets INVOCATION_ID) */
  logFormat: 'json' | 'text';
  /** LOG_CONSOLE=all: the readable console shows the lines about single invoices too */
  logEveryItem: boolean;
  /** who runs a command from the shell, for the ledger's record of a manual action */
  shellUser?: string;
  /** a `${NAME}` in the YAML: secrets live in the environment, never in the configuration */
  variable(name: string): string | undefined;
}

/** Debian's libsaxonhe-java. */
export const DEFAULT_SAXON_JAR = '/usr/share/java/Saxon-HE.jar';

function nonNegative(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** Reads the gateway's environment variables (process.env unless given). */
export function readEnvironment(env: NodeJS.ProcessEnv = process.env): GatewayEnvironment {
  const engine = env['VALIDATION_ENGINE'];
  const format = env['LOG_FORMAT']?.toLowerCase();
  const consolePort = env['IGW_CONSOLE_PORT'] ? Number(env['IGW_CONSOLE_PORT']) : undefined;
  return {
    ...(env['IGW_NODE_ID'] ? { nodeId: env['IGW_NODE_ID'] } : {}),
    ...(consolePort ? { consolePort } : {}),
    validationEngine: engine === 'jvm' || engine === 'saxon-js' ? engine : 'auto',
    saxonJar: env['SAXON_JAR'] || DEFAULT_SAXON_JAR,
    standardsHome: env['STANDARDS_HOME'] || join(PROJECT_ROOT, 'standards'),
    ...(env['STANDARDS_MIRROR'] ? { standardsMirror: env['STANDARDS_MIRROR'] } : {}),
    sefCacheDir: env['IGW_CACHE_DIR'] || join(PROJECT_ROOT, 'node_modules', '.cache', 'invoice-gateway', 'sef'),
    download: { attempts: nonNegative(env['IGW_DOWNLOAD_ATTEMPTS'], 4), pauseMs: nonNegative(env['IGW_DOWNLOAD_PAUSE_MS'], 2000) },
    logFormat: format === 'json' || format === 'text' ? format : env['INVOCATION_ID'] ? 'json' : 'text',
    logEveryItem: env['LOG_CONSOLE'] === 'all',
    ...((env['SUDO_USER'] ?? env['USER']) ? { shellUser: env['SUDO_USER'] ?? env['USER'] } : {}),
    variable: (name) => env[name],
  };
}

/**
 * File moves, fsyncs and reads of many small files run on libuv's pool; its default of 4 threads is
 * the bottleneck of a burst of drops. Called before the first file-system call.
 */
export function widenThreadPool(threads = 16): void {
  process.env['UV_THREADPOOL_SIZE'] ??= String(threads);
}

let current: GatewayEnvironment | undefined;

/**
 * The environment this process started with, read on first use. Modules that are used both by the
 * service and by one-off commands (the artefact store, the installer) take their defaults from here.
 */
export function processEnvironment(): GatewayEnvironment {
  current ??= readEnvironment();
  return current;
}
