import { basename, dirname, resolve } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { mappingMatches, selectMapping } from '../mapping/select.js';
import { buildNode } from '../app.js';
import type { GatewayService } from '../service/gateway.js';
import { createLogger, printable } from '../observability/log.js';
import { loadCommandConfig, type CommonOptions } from './options.js';

/** `invoice-gateway run-once <file>`: one file in the foreground, with a progress bar, for "press a button" users. */
export async function runOnceCommand(file: string, opts: CommonOptions & { folder?: string }): Promise<number> {
  const config = loadCommandConfig(opts);
  const path = resolve(file);
  // A file handed over by hand may live anywhere: its name picks the mapping, and so the source.
  const folder =
    opts.folder ??
    (() => {
      const byName = config.mappings.filter((m) => mappingMatches(m, path, m.definition.match.folder));
      if (byName.length !== 1) return selectMapping(config.mappings, path).definition.match.folder ?? basename(dirname(path));
      return byName[0]!.definition.match.folder ?? byName[0]!.name;
    })();
  const s = config.service;
  const tty = process.stderr.isTTY;
  const log = createLogger({ level: s.logging.level, file: s.logging.file, console: false });
  const service = await buildNode(config, log);
  const bar = tty ? new SingleBar({ format: ' {bar} {value}/{total} deliveries | ETA {eta_formatted}', hideCursor: true }, Presets.shades_classic) : undefined;
  let started = false;
  let lastPrinted = -1;
  let result: Awaited<ReturnType<GatewayService['runOnce']>>;
  try {
    result = await service.runOnce(path, folder, (done, total) => {
      if (!total) return;
      if (bar) {
        if (!started) bar.start(total, done);
        started = true;
        bar.setTotal(total);
        bar.update(done);
      } else if (done !== lastPrinted && (done === total || done - lastPrinted >= Math.max(1, Math.floor(total / 10)))) {
        process.stderr.write(`${done}/${total} deliveries\n`);
        lastPrinted = done;
      }
    });
  } catch (err) {
    bar?.stop();
    await service.stop().catch(() => undefined);
    throw err;
  }
  bar?.stop();
  await service.stop();
  const f = result.file;
  const out = [`${printable(basename(path))}: ${f?.state ?? 'not processed'}; ${f?.invoicesFound ?? 0} invoice(s) found, ${f?.invoicesRejected ?? 0} rejected`];
  out.push(
    `deliveries: ${result.sent} sent, ${result.dead} failed for good${result.waiting ? `, ${result.waiting} waiting for a retry (the service sends them, or run-once again later)` : ''}`,
  );
  if (f?.finalPath) out.push(`file archived as ${f.finalPath}`);
  const report = typeof result.outcome === 'object' ? result.outcome.reportPath : undefined;
  if (report) out.push(`error report: ${report}`);
  if (result.outcome === 'duplicate') out.push('the same content was processed before: nothing was issued again (see the duplicates folder)');
  process.stdout.write(`${out.join('\n')}\n`);
  return f && (f.state === 'done' || f.state === 'duplicate') && result.dead === 0 ? 0 : 1;
}
