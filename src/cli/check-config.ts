import { ConfigErrors } from '../config/yaml-file.js';
import { configLocation, type CommonOptions } from './options.js';
import { loadConfig } from '../config/load.js';
import { checkRuntime } from '../config/check-runtime.js';
import { GraphMailTransport } from '../transports/graph.js';
import { SmtpTransport } from '../transports/smtp.js';
import { MailTemplates } from '../mail/compose.js';
import type { GatewayConfig } from '../config/load.js';

/**
 * With --online: signs in to each mail target as the gateway would (a token from Entra ID for Graph
 * and XOAUTH2, the SMTP login) and opens the Graph mailbox's folders, so a missing permission or a
 * mailbox outside the app's access policy shows before the first invoice.
 */
async function reachMail(config: GatewayConfig): Promise<string[]> {
  const problems: string[] = [];
  const templates = new MailTemplates(config.configDir);
  for (const [name, target] of Object.entries(config.service.targets)) {
    if (target.kind !== 'graph' && target.kind !== 'smtp') continue;
    let transport: GraphMailTransport | SmtpTransport | undefined;
    try {
      transport = target.kind === 'graph' ? new GraphMailTransport(name, target, templates) : new SmtpTransport(name, target, templates);
      const problem = await transport.check();
      if (problem) problems.push(`targets.${name}: ${problem}`);
      else
        process.stdout.write(
          `targets.${name}: ${target.kind === 'graph' ? `signed in, mailbox ${target.mailbox} can be used` : 'the mail server accepts the login'}\n`,
        );
    } catch (err) {
      problems.push(`targets.${name}: ${(err as Error).message}`);
    } finally {
      await transport?.close();
    }
  }
  return problems;
}

/** `invoice-gateway check-config`: checks every YAML file under config/ and mappings/, reporting file:line:column. */
export async function checkConfigCommand(opts: CommonOptions & { online?: boolean }): Promise<number> {
  const location = configLocation(opts);
  try {
    const config = loadConfig(location);
    const runtime = await checkRuntime(config, { samples: true, reach: true });
    for (const w of runtime.warnings) process.stderr.write(`warning: ${w}\n`);
    if (runtime.errors.length) throw new ConfigErrors(runtime.errors);
    if (opts.online) {
      const problems = await reachMail(config);
      if (problems.length) {
        process.stderr.write(`the mail targets cannot be used now:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
        return 1;
      }
    }
    const customers = Object.keys(config.customers.customers ?? {}).length;
    process.stdout.write(
      `configuration is valid: ${Object.keys(config.sellers.sellers).length} seller(s), ${customers} customer(s), ` +
        `${config.mappings.length} mapping(s): ${config.mappings.map((m) => m.name).join(', ')}\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ConfigErrors) {
      process.stderr.write(`configuration has ${err.errors.length} problem(s):\n${err.errors.map((e) => `  ${e.describe()}`).join('\n')}\n`);
      return 1;
    }
    throw err;
  }
}
