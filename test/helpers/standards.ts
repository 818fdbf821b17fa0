import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { processEnvironment } from '../../src/environment.js';
import { join } from 'node:path';
import { standardsHome } from '../../src/validation/artefacts.js';

/** One official unit test: a document fragment and the rules it must (error/warning) or must not (success) fire. */
export interface UnitTest {
  file: string;
  index: number;
  /** `times`: how often the rule must fire, when the test says (number="14") */
  expectations: { expect: 'success' | 'error' | 'warning'; rule: string; times?: number }[];
  xml: string;
}

/** The tests of every testSet file in a folder (EN 16931 and Peppol unit-UBL sets). */
export function unitTests(folder: string): UnitTest[] {
  const dir = join(standardsHome(), folder);
  const out: UnitTest[] = [];
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith('.xml'))
    .sort()) {
    const text = readFileSync(join(dir, name), 'utf-8').replace(/<!--[\s\S]*?-->/g, '');
    const tests = text.split(/<test(?=[\s>])[^>]*>/).slice(1);
    tests.forEach((block, index) => {
      const assert = /<assert>([\s\S]*?)<\/assert>/.exec(block)?.[1] ?? '';
      const expectations = [...assert.matchAll(/<(success|error|warning)(?:\s+number="(\d+)")?[^>]*>\s*([^<\s]+)\s*<\/\1>/g)].map((m) => ({
        expect: m[1] as 'success' | 'error' | 'warning',
        rule: m[3]!,
        ...(m[2] ? { times: Number(m[2]) } : {}),
      }));
      const body = block.slice(block.indexOf('</assert>') + 9, block.lastIndexOf('</test>')).trim();
      if (!expectations.length || !body.startsWith('<')) return;
      out.push({ file: `${folder}/${name}`, index, expectations, xml: `<?xml version="1.0" encoding="UTF-8"?>\n${body}` });
    });
  }
  return out;
}

/** Every official example document: EN 16931 examples and test files, Peppol examples, NLCIUS test documents. */
export function exampleDocuments(options: { nlciusOkOnly?: boolean } = {}): string[] {
  const folders = [
    'en16931/ubl/examples',
    'en16931/test/testfiles',
    'peppol-bis-3/rules/examples',
    'peppol-bis-3/rules/national-examples/GR',
    'peppol-bis-3/rules/national-examples/NO',
    'peppol-bis-3/rules/snippets',
    'nlcius/examples/SI-UBL-2.0',
    'ubl-2.1/xml',
  ];
  const out: string[] = [];
  for (const folder of folders) {
    let names: string[] = [];
    try {
      names = readdirSync(join(standardsHome(), folder));
    } catch {
      continue;
    }
    for (const name of names.filter((n) => /\.xml$/i.test(n)).sort()) {
      if (options.nlciusOkOnly && folder.startsWith('nlcius') && !name.includes('_ok')) continue;
      out.push(join(standardsHome(), folder, name));
    }
  }
  return out;
}

/**
 * The UBL instances shipped with the KoSIT XRechnung rules, without those of the XRechnung extension
 * (sub-invoice lines, prepaid payments: terms beyond EN 16931 that the canonical model does not hold).
 */
export function xrechnungUblInstances(): string[] {
  // not installed with the rules the gateway runs (yet): read from the offline mirror of the official artefacts
  const places = [standardsHome(), ...(processEnvironment().standardsMirror ?? '').split(';').filter((p) => p && !/^https?:/.test(p))];
  const home = places.find((p) => existsSync(join(p, 'xrechnung/test/instances/ubl-inv')));
  if (!home) return [];
  const out: string[] = [];
  for (const folder of ['xrechnung/test/instances/ubl-inv', 'xrechnung/test/instances/ubl-cn']) {
    for (const name of readdirSync(join(home, folder))
      .filter((n) => n.endsWith('.xml'))
      .sort()) {
      const file = join(home, folder, name);
      if (!/CustomizationID>[^<]*#conformant#urn:xeinkauf\.de:kosit:extension/.test(readFileSync(file, 'utf-8').slice(0, 4000))) out.push(file);
    }
  }
  return out;
}
