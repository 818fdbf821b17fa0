import { documentHeader, type InvoiceSyntax } from './header.js';

/** One result of validation: an XSD error or a fired schematron rule. */
export interface Finding {
  /** the rule id (BR-CO-15, PEPPOL-EN16931-R003, BR-NL-1), "XSD" for schema errors, "ENGINE" when the rules could not run */
  rule: string;
  severity: 'fatal' | 'warning';
  message: string;
  /** XPath of the element (schematron) or line/column (XSD) */
  location?: string;
  source: 'xsd' | 'schematron' | 'engine';
}

/** A validation profile: which official rule sets apply. */
export type ProfileName = 'en16931' | 'peppol' | 'nlcius' | 'xrechnung';

/** Every profile, in the order reports list them. */
export const PROFILE_NAMES: readonly ProfileName[] = ['en16931', 'peppol', 'nlcius', 'xrechnung'];

/** The result for one document. */
export interface ValidationReport {
  profile: ProfileName;
  /** the document's syntax, by its root element */
  syntax: InvoiceSyntax;
  engine: string;
  artefacts: string;
  /** the release of the profile's rules used (by the document's issue date unless one was named) */
  release: string;
  valid: boolean;
  findings: Finding[];
}

/** How a document is validated: schematron only, and which release of the rules (default: the one in force on its issue date). */
export interface ValidateOptions {
  /** skips the XSD (for the official unit tests, which are schema-less fragments) */
  rulesOnly?: boolean;
  /** a release of the profile's rules by name ("3.0.19"), instead of the one in force on the issue date */
  release?: string;
}

/** A validator: validate(document, profile) → findings. Never throws for a bad document. */
export interface ValidationEngine {
  readonly name: string;
  validate(xml: string | Buffer, profile: ProfileName, options?: ValidateOptions): Promise<Finding[]>;
  /** Resolves true once the engine answers (helpers started), false when `timeoutMs` passed first. */
  warmedUp?(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The document's own issue date (the header's cbc:IssueDate, wherever it sits), if it has a valid one. */
export function issueDateOf(xml: string | Buffer): string | undefined {
  const date = documentHeader(xml).issueDate;
  return date && /^\d{4}-\d{2}-\d{2}/.test(date) ? date.slice(0, 10) : undefined;
}

/** How long a validation helper may keep requests waiting without a sign of life (a cold JVM on a busy machine is slow). */
export const DEFAULT_VALIDATION_TIMEOUT_MS = 180_000;

export const INVOICE_XSD = 'ubl-2.1/xsdrt/maindoc/UBL-Invoice-2.1.xsd';
export const CREDIT_NOTE_XSD = 'ubl-2.1/xsdrt/maindoc/UBL-CreditNote-2.1.xsd';
/** the UN/CEFACT D16B schema EN 16931's CII binding uses (installed with the CEN rules) */
export const CII_XSD = 'en16931/cii/schema/D16B SCRDM (Subset)/uncoupled clm/CII/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd';

/** The schema of each root element the gateway validates, by installed path. */
export const SCHEMA_OF_ROOT: Record<string, string> = { Invoice: INVOICE_XSD, CreditNote: CREDIT_NOTE_XSD, CrossIndustryInvoice: CII_XSD };

/** The profile a document declares in its CustomizationID (NLCIUS, Peppol, else plain EN 16931). */
export function profileOf(xml: string | Buffer): ProfileName {
  const id = documentHeader(xml).customizationId ?? '';
  if (id.includes('nlcius')) return 'nlcius';
  if (id.includes('xeinkauf.de:kosit:xrechnung')) return 'xrechnung';
  if (id.includes('peppol.eu:2017:poacc:billing')) return 'peppol';
  return 'en16931';
}

/** NLCIUS ids are not always the rule (BR-NL-32-1 for BR-NL-34): the text's [BR-…] prefix is. */
export function ruleIdOf(id: string, message: string): string {
  const inText = /^\[([A-Z][A-Z0-9-]+)\]/.exec(message)?.[1];
  return inText ?? id;
}

/** "/*:Invoice[namespace-uri()='…'][1]/*:Party[…][1]" → "/Invoice[1]/Party[1]": readable XPath for reports. */
export function shortLocation(location: string | undefined): string | undefined {
  if (!location) return undefined;
  return location
    .replace(/\[namespace-uri\(\)='[^']*'\]/g, '')
    .replace(/\*:/g, '')
    .replace(/Q\{[^}]*\}/g, '');
}
