/**
 * The output formats a route can ask for, each described once: the config schema, the type of a
 * route's format, the batched formats, the console and the API are built from this list. A new
 * format is one entry here plus its renderer.
 */
export interface OutputFormatDescriptor {
  readonly name: string;
  /** how the console names it */
  readonly label: string;
  /** the file name's extension of one rendered document (a batch file's, for a batched format) */
  readonly extension: string;
  readonly mediaType: string;
  /** many invoices in one import file per administration and window (the accounting packages) */
  readonly batched: boolean;
}

export const OUTPUT_FORMATS = [
  { name: 'pdf', label: 'PDF', extension: 'pdf', mediaType: 'application/pdf', batched: false },
  { name: 'ubl', label: 'UBL (Peppol BIS 3, NLCIUS, EN 16931)', extension: 'xml', mediaType: 'application/xml', batched: false },
  { name: 'cii', label: 'UN/CEFACT CII (EN 16931)', extension: 'xml', mediaType: 'application/xml', batched: false },
  {
    name: 'xrechnung-ubl',
    label: 'XRechnung 3.0 in UBL (German public sector; Leitweg-ID as buyer reference)',
    extension: 'xml',
    mediaType: 'application/xml',
    batched: false,
  },
  { name: 'xrechnung-cii', label: 'XRechnung 3.0 in UN/CEFACT CII', extension: 'xml', mediaType: 'application/xml', batched: false },
  { name: 'factur-x', label: 'Factur-X / ZUGFeRD (PDF/A-3 with the CII inside, EN 16931)', extension: 'pdf', mediaType: 'application/pdf', batched: false },
  { name: 'exact-online', label: 'Exact Online import (XML)', extension: 'xml', mediaType: 'application/xml', batched: true },
  { name: 'exact-globe', label: 'Exact Globe import (XML)', extension: 'xml', mediaType: 'application/xml', batched: true },
  { name: 'accountview', label: 'AccountView import (CSV)', extension: 'csv', mediaType: 'text/csv', batched: true },
  { name: 'json', label: 'JSON (the canonical invoice)', extension: 'json', mediaType: 'application/json', batched: false },
] as const satisfies readonly OutputFormatDescriptor[];

/** Output formats a route can ask for. */
export type FormatName = (typeof OUTPUT_FORMATS)[number]['name'];

/** The formats that are batched into accounting import files. */
export const BATCHED_FORMATS = OUTPUT_FORMATS.filter((f) => f.batched).map((f) => f.name) as readonly BatchedFormat[];

/** A batched (accounting) format name. */
export type BatchedFormat = Extract<(typeof OUTPUT_FORMATS)[number], { batched: true }>['name'];

/** A format's name, extension and media type, for the renderer that implements it. */
export function describedAs(name: FormatName): { name: FormatName; extension: string; mediaType: string } {
  const { extension, mediaType } = OUTPUT_FORMATS.find((f) => f.name === name)!;
  return { name, extension, mediaType };
}

/** The descriptor of a format by name, or undefined for a name no route may use. */
export function outputFormat(name: string): OutputFormatDescriptor | undefined {
  return OUTPUT_FORMATS.find((f) => f.name === name);
}
