import { ConfigErrors } from '../config/yaml-file.js';
import { configLocation, type CommonOptions } from './options.js';
import { loadConfig } from '../config/load.js';
import { checkRuntime } from '../config/check-runtime.js';

/** `invoice-gateway check-config`: checks every YAML file under config/ and mappings/, reporting file:line:column. */
export async function checkConfigCommand(opts: CommonOptions): Promise<number> {
  const location = configLocation(opts);
  try {
    const config = loadConfig(location);
    const runtime = await checkRuntime(config, { samples: true, reach: true });
    for (const w of runtime.warnings) process.stderr.write(`warning: ${w}\n`);
    if (runtime.errors.length) throw new ConfigErrors(runtime.errors);
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
