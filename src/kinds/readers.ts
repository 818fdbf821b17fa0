/**
 * The file formats a mapping can read, each described once: the mapping schema and the console are
 * built from this list. A new reader is one entry here plus its module under readers/.
 */
export interface ReaderDescriptor {
  readonly name: string;
  readonly label: string;
  /** read whole as one document (not as records a mapping walks) */
  readonly wholeDocument: boolean;
}

export const READERS = [
  { name: 'csv', label: 'CSV (delimited text)', wholeDocument: false },
  { name: 'xml', label: 'XML', wholeDocument: false },
  { name: 'json', label: 'JSON', wholeDocument: false },
  { name: 'fixed-width', label: 'fixed-width text', wholeDocument: false },
  { name: 'ubl', label: 'e-invoice: UBL, UN/CEFACT CII, or a Factur-X / ZUGFeRD PDF', wholeDocument: true },
] as const satisfies readonly ReaderDescriptor[];

/** A reader's name, as in a mapping's `reader.format`. */
export type ReaderName = (typeof READERS)[number]['name'];
