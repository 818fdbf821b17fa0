import { ConfigError } from '../errors.js';
import { consoleSettings } from '../config/load.js';
import { randomPassword, ROLES, UserStore, type Role } from '../web/users.js';
import { loadCommandConfig, type CommonOptions } from './options.js';
import { demoConfig } from './run.js';

/** The users file of the configured console (or its default place when `console:` is not set yet); --demo: the running demo's. */
function storeOf(opts: CommonOptions & { demo?: boolean }): UserStore {
  const loaded = loadCommandConfig(opts);
  const config = opts.demo ? demoConfig(loaded) : loaded;
  return new UserStore((config.service.console ?? consoleSettings({}, config.configDir)).usersFile);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/**
 * `invoice-gateway console-user add|set|remove|list`: the console's users. A password is read from
 * standard input with --password-stdin, or made up and printed once; only its hash is stored.
 */
export async function consoleUserCommand(
  action: string,
  name: string | undefined,
  opts: CommonOptions & { role?: string; passwordStdin?: boolean; language?: string; demo?: boolean },
): Promise<number> {
  const store = storeOf(opts);
  if (action === 'list') {
    for (const u of store.list()) process.stdout.write(`${u.name}\t${u.role}\t${u.language}\n`);
    if (!store.list().length) process.stderr.write(`no console users in ${store.file}\n`);
    return 0;
  }
  if (!name) throw new ConfigError(`console-user ${action} needs a user name`, { field: 'name' });
  if (action === 'remove') {
    if (!store.remove(name)) {
      process.stderr.write(`no console user "${name}" in ${store.file}\n`);
      return 1;
    }
    process.stdout.write(`removed console user ${name}\n`);
    return 0;
  }
  if (action !== 'add' && action !== 'set') throw new ConfigError(`unknown action "${action}": add, set, remove or list`, { field: 'action' });
  if (opts.role && !ROLES.includes(opts.role as Role)) throw new ConfigError(`--role must be one of ${ROLES.join(', ')}`, { field: 'role' });
  if (action === 'add' && store.get(name)) throw new ConfigError(`console user "${name}" exists; change it with \`console-user set\``, { field: 'name' });
  const made = opts.passwordStdin ? undefined : action === 'add' ? randomPassword() : undefined;
  const password = opts.passwordStdin ? await readStdin() : made;
  const user = await store.set(name, {
    ...(opts.role ? { role: opts.role as Role } : action === 'add' ? { role: 'viewer' as Role } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(opts.language === 'en' || opts.language === 'nl' ? { language: opts.language } : {}),
  });
  process.stdout.write(`console user ${user.name} (${user.role}) saved in ${store.file}\n`);
  if (made) process.stdout.write(`password: ${made}\n(shown once; only its hash is stored)\n`);
  return 0;
}
