import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { validateXML, type XMLFileInfo } from 'xmllint-wasm';
import { artefact, noBindingFinding, rulesetForDocument, stylesheetsFor } from './artefacts.js';
import { documentHeader, syntaxOfRoot } from './header.js';
import { sefPath } from './manifest.js';
import {
  CII_XSD,
  CREDIT_NOTE_XSD,
  INVOICE_XSD,
  ruleIdOf,
  shortLocation,
  type Finding,
  type ProfileName,
  type ValidateOptions,
  type ValidationEngine,
} from './engine.js';

interface SaxonJsApi {
  transform(options: Record<string, unknown>, mode: 'sync'): { principalResult: unknown };
  XPath: { evaluate(expr: string, context: unknown, options: Record<string, unknown>): unknown };
}
interface SvrlNode {
  getAttribute(name: string): string | null;
  textContent: string;
}

const require = createRequire(import.meta.url);

/**
 * The pure-Node engine for machines without Java: SaxonJS on the compiled .sef.json stylesheets
 * (loaded once) and libxml2 (xmllint-wasm) for the XSD. 20-35 times slower than Saxon-HE on Java,
 * and SaxonJS 2.7 gets big-integer `mod` wrong (the German IBAN checks DE-R-019/020 warn wrongly).
 */
export class SaxonJsEngine implements ValidationEngine {
  readonly name = 'saxon-js';
  private readonly saxon = require('saxon-js') as SaxonJsApi;
  private readonly sefs = new Map<string, unknown>();
  private schemaFiles?: XMLFileInfo[];

  private sef(path: string): unknown {
    let sef = this.sefs.get(path);
    if (!sef) {
      sef = JSON.parse(readFileSync(artefact(sefPath(path)), 'utf-8'));
      this.sefs.set(path, sef);
    }
    return sef;
  }

  /** The UBL schema files, preloaded once into the WASM file system under their relative names. */
  private schemas(): XMLFileInfo[] {
    if (!this.schemaFiles) {
      const common = artefact('ubl-2.1/xsdrt/common');
      this.schemaFiles = readdirSync(common)
        .filter((n) => n.endsWith('.xsd'))
        .map((n) => ({ fileName: `common/${n}`, contents: readFileSync(join(common, n), 'utf-8') }));
    }
    return this.schemaFiles;
  }

  /** The XSD check of a document against a main schema: UBL's beside its common/ folder, CII's beside the files it includes. */
  private schemaRequest(text: string, schema: string): Parameters<typeof validateXML>[0] {
    const main = { fileName: basename(schema), contents: readFileSync(artefact(schema), 'utf-8') };
    if (schema === CII_XSD) {
      const folder = dirname(artefact(schema));
      const preload = readdirSync(folder)
        .filter((n) => n.endsWith('.xsd') && n !== main.fileName)
        .map((n) => ({ fileName: n, contents: readFileSync(join(folder, n), 'utf-8') }));
      return { xml: [{ fileName: 'document.xml', contents: text }], schema: [main], preload };
    }
    return { xml: [{ fileName: 'document.xml', contents: text }], schema: [{ ...main, fileName: `maindoc/${main.fileName}` }], preload: this.schemas() };
  }

  async validate(xml: string | Buffer, profile: ProfileName, options: ValidateOptions = {}): Promise<Finding[]> {
    const text = Buffer.isBuffer(xml) ? xml.toString('utf-8') : xml;
    const ruleset = rulesetForDocument(text, profile, options);
    const rootName = documentHeader(text).root;
    const syntax = syntaxOfRoot(rootName) ?? 'ubl';
    const stylesheets = stylesheetsFor(ruleset, syntax);
    if (!stylesheets) return [noBindingFinding(profile, ruleset, syntax)];
    const xsd = options.rulesOnly
      ? { valid: true, errors: [] }
      : await validateXML(this.schemaRequest(text, syntax === 'cii' ? CII_XSD : rootName === 'CreditNote' ? CREDIT_NOTE_XSD : INVOICE_XSD));
    if (!xsd.valid) {
      return xsd.errors.map((e) => ({
        rule: 'XSD',
        severity: 'fatal' as const,
        message: e.message,
        location: e.loc ? `line ${e.loc.lineNumber}` : undefined,
        source: 'xsd' as const,
      }));
    }
    const findings: Finding[] = [];
    for (const sheet of stylesheets) {
      try {
        const svrl = this.saxon.transform({ stylesheetInternal: this.sef(sheet), sourceText: text, destination: 'document' }, 'sync').principalResult;
        const nodes = this.saxon.XPath.evaluate('//(svrl:failed-assert|svrl:successful-report)', svrl, {
          namespaceContext: { svrl: 'http://purl.oclc.org/dsdl/svrl' },
          resultForm: 'array',
        }) as SvrlNode[];
        for (const n of nodes) {
          const flag = n.getAttribute('flag');
          const message = n.textContent.trim().replace(/\s+/g, ' ');
          findings.push({
            rule: ruleIdOf(n.getAttribute('id') ?? '', message),
            severity: flag === 'warning' || flag === 'information' ? 'warning' : 'fatal',
            message,
            location: shortLocation(n.getAttribute('location') ?? undefined),
            source: 'schematron',
          });
        }
      } catch (err) {
        findings.push({
          rule: 'ENGINE',
          severity: 'fatal',
          message: `the rules could not be evaluated on this document: ${(err as Error).message}`,
          source: 'engine',
        });
      }
    }
    return findings;
  }

  async close(): Promise<void> {}
}
