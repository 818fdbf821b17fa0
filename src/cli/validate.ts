import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { GatewayError } from '../errors.js';
import { embeddedInvoice, isPdf } from '../readers/e-invoice.js';
import { rejectDoctype } from '../readers/xml.js';
import { createEngine, profileOf, validateDocument, type ProfileName, type ValidationReport } from '../validation/index.js';

function human(file: string, r: ValidationReport & { embeddedIn?: string }): string {
  const fatal = r.findings.filter((f) => f.severity === 'fatal').length;
  const warnings = r.findings.length - fatal;
  const out = [
    `${basename(file)}: ${r.valid ? 'VALID' : 'INVALID'} (${fatal} fatal, ${warnings} warning${warnings === 1 ? '' : 's'})`,
    `  syntax: ${r.syntax === 'cii' ? 'UN/CEFACT CII (CrossIndustryInvoice)' : 'UBL 2.1'}${r.embeddedIn ? ` (${r.embeddedIn})` : ''}; profile: ${r.profile}; release ${r.release} (${r.artefacts}); engine: ${r.engine}`,
  ];
  for (const f of r.findings) out.push(`  [${f.severity}] ${f.rule.padEnd(22)} ${f.message}${f.location ? `\n      at ${f.location}` : ''}`);
  return out.join('\n');
}

/** `invoice-gateway validate <file.xml>...`: XSD and the official rules; exit 0 valid, 1 invalid, 2 could not validate. */
export async function validateCommand(
  files: string[],
  opts: { profile?: ProfileName; json?: boolean; engine?: 'jvm' | 'saxon-js'; release?: string },
): Promise<number> {
  const { engine } = createEngine(opts.engine ?? 'auto');
  let worst = 0;
  const reports: unknown[] = [];
  try {
    for (const file of files) {
      try {
        // bytes as they are: the validator honours the encoding the XML declaration names
        const bytes = readFileSync(file);
        // a Factur-X / ZUGFeRD (or hybrid) PDF is judged by the invoice inside it
        const embedded = isPdf(bytes) ? await embeddedInvoice(bytes, { file: basename(file) }) : undefined;
        const xml = embedded?.content ?? bytes;
        rejectDoctype(xml.toString('latin1'), { file: basename(file) });
        const report = {
          ...(await validateDocument(engine, xml, opts.profile ?? profileOf(xml), opts.release ? { release: opts.release } : {})),
          ...(embedded ? { embeddedIn: `${embedded.name} in the PDF` } : {}),
        };
        worst = Math.max(worst, report.valid ? 0 : 1);
        if (opts.json) reports.push({ file, ...report });
        else process.stdout.write(`${human(file, report)}\n`);
      } catch (err) {
        worst = 2;
        const message = err instanceof GatewayError ? err.describe() : `${basename(file)}: could not validate: ${(err as Error).message}`;
        if (opts.json) reports.push({ file, error: message });
        else process.stderr.write(`${message}\n`);
      }
    }
  } finally {
    await engine.close();
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2)}\n`);
  return worst;
}
