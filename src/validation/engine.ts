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
export type ProfileName = 'en16931' | 'peppol' | 'nlcius';

/** The result for one document. */
export interface ValidationReport {
  profile: ProfileName;
  engine: string;
  artefacts: string;
  valid: boolean;
  findings: Finding[];
}

/** A validator: validate(document, profile) → findings. Never throws for a bad document. */
export interface ValidationEngine {
  readonly name: string;
  /** `rulesOnly` skips the XSD (for the official unit tests, which are schema-less fragments) */
  validate(xml: string | Buffer, profile: ProfileName, options?: { rulesOnly?: boolean }): Promise<Finding[]>;
  close(): Promise<void>;
}

/** The stylesheets of each profile, relative to the installed standards folder. */
export const PROFILE_STYLESHEETS: Record<ProfileName, string[]> = {
  en16931: ['en16931/ubl/xslt/EN16931-UBL-validation.xslt'],
  peppol: ['en16931/ubl/xslt/EN16931-UBL-validation.xslt', 'peppol-bis-3/release-2026.5/xslt/PEPPOL-EN16931-UBL.xslt'],
  nlcius: ['nlcius/xsl/si-ubl-2.0.xsl'],
};

/** The artefact versions a profile checks against, for reports. */
export const PROFILE_ARTEFACTS: Record<ProfileName, string> = {
  en16931: 'UBL 2.1 XSD; CEN EN 16931 validation-1.3.16',
  peppol: 'UBL 2.1 XSD; CEN EN 16931 validation-1.3.16; Peppol BIS Billing 3.0.21 (May 2026)',
  nlcius: 'UBL 2.1 XSD; NLCIUS SI-UBL 2.0.3.12 (with CEN 1.3.15 rules)',
};

export const INVOICE_XSD = 'ubl-2.1/xsdrt/maindoc/UBL-Invoice-2.1.xsd';
export const CREDIT_NOTE_XSD = 'ubl-2.1/xsdrt/maindoc/UBL-CreditNote-2.1.xsd';

/** The profile a document declares in its CustomizationID (NLCIUS, Peppol, else plain EN 16931). */
export function profileOf(xml: string): ProfileName {
  const id = /<(?:\w+:)?CustomizationID[^>]*>([^<]*)</.exec(xml.slice(0, 5000))?.[1] ?? '';
  if (id.includes('nlcius')) return 'nlcius';
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
