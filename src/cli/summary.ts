import { usesUblValidation } from '../config/load.js';
import { configuredRoutes, routeLabel } from '../routing/route.js';
import { isAbsolute, relative, resolve } from 'node:path';
import type { GatewayService } from '../service/gateway.js';
import { standardsInstalled } from '../validation/artefacts.js';
import { releaseLines } from '../validation/releases.js';

/** A path as short as it can be said: relative to the current folder when inside it. */
function short(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * What a person starting the gateway by hand wants to know before the per-file lines begin: what
 * it watches, where invoices go, whether UBL can be validated, where the console and the full log are.
 */
export function startupSummary(service: GatewayService): string {
  const { config } = service;
  const s = config.service;
  const routes = new Map<string, number>();
  for (const label of configuredRoutes(config.customers).map(routeLabel)) routes.set(label, (routes.get(label) ?? 0) + 1);
  const outputs = Object.entries(s.targets).map(([name, t]) => `${name} (${t.kind}${'path' in t ? ` ${short(t.path)}` : 'host' in t ? ` ${t.host}` : ''})`);
  const accounting = Object.entries(config.accounting).map(
    ([name, a]) => `${name} (${short(isAbsolute(a.pickupFolder) ? a.pickupFolder : resolve(config.configDir, '..', a.pickupFolder))})`,
  );
  const web = service.webServer?.app.server.address();
  const lines = [
    `watching:   ${short(s.inbox)}/{${service
      .sourceFolders()
      .map((f) => f.folder)
      .join(', ')}} with ${config.mappings.length} mappings`,
    `routes:     ${[...routes].map(([k, n]) => `${k}${n > 1 ? ` ×${n}` : ''}`).join('; ') || 'none'}`,
    `outputs:    ${outputs.join(', ') || 'none'}${accounting.length ? `; accounting ${accounting.join(', ')}` : ''}`,
    `validation: ${standardsInstalled() ? `official artefacts installed (in force today: ${inForceToday()})${usesUblValidation(config) ? '; the engine is running' : ''}` : 'artefacts NOT installed: files with a UBL route wait in the inbox'}`,
    `ledger:     ${service.ledger.description}`,
    ...(web && typeof web === 'object' ? [`console:    http://${web.address}:${web.port}/`] : []),
    `log file:   ${s.logging.file ? short(s.logging.file) : 'none'} (every invoice and delivery; below, one line per file)`,
  ];
  return `${lines.join('\n')}\n`;
}

/** "en16931 1.3.16, peppol 3.0.21, nlcius 2.0.3.12": the rule releases an invoice issued today is checked with. */
function inForceToday(): string {
  return releaseLines()
    .filter((r) => r.inForce)
    .map((r) => `${r.profile} ${r.release}`)
    .join(', ');
}
