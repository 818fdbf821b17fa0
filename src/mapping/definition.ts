import type { ReaderOptions } from '../readers/index.js';
import type { NumberFormat } from './parse-number.js';

/** One transform step in a value's `transform:` list. */
export type TransformSpec =
  | 'trim'
  | 'upper'
  | 'lower'
  | 'digits'
  | 'strip-leading-zeros'
  | 'collapse-spaces'
  | 'negate'
  | { replace: [string, string] }
  | { prefix: string }
  | { suffix: string }
  | { lookup: string }
  | { number: NumberFormat }
  | { date: string }
  | { default: unknown }
  | { divide: string | number }
  | { multiply: string | number }
  | { pad: { length: number; with?: string } };

/** Where a canonical field gets its value (exactly one of column, path, const, template, expr). */
export interface ValueSpec {
  column?: string | number;
  path?: string;
  const?: unknown;
  template?: string;
  expr?: string;
  transform?: TransformSpec[];
  number?: NumberFormat;
  date?: string;
  lookup?: string;
  default?: unknown;
  required?: boolean;
}

/** A tree of canonical field names whose leaves are value specs. */
export interface FieldTree {
  [field: string]: ValueSpec | FieldTree | DocumentAllowanceChargeSpec[] | string | undefined;
}

/** A document-level charge or allowance (shipping costs, order discount) taken from the record. */
export interface DocumentAllowanceChargeSpec {
  amount: ValueSpec;
  vatCategory?: ValueSpec;
  vatRate?: ValueSpec;
  reason?: ValueSpec;
  reasonCode?: ValueSpec;
  when?: string;
}

/** A mapping file (mappings/<source>.yaml): how one source's files become canonical invoices. */
export interface MappingDefinition {
  source: string;
  description?: string;
  match: { folder?: string; files?: string[] };
  reader: ReaderOptions;
  defaults?: {
    numberFormat?: NumberFormat;
    dateFormat?: string;
    currency?: string;
    unitCode?: string;
    typeCode?: string;
    vatCategory?: string;
    seller?: string;
    kind?: 'invoice' | 'quote';
  };
  numbering?: { keepSourceNumber?: boolean; series?: string };
  send?: import('../config/types.js').SendRule;
  /** a sample file of this source (relative to mappings/): check-config maps it, every expression evaluated once */
  sample?: string;
  /** skip (default): an invoice whose business key was issued before is not issued again */
  onIssuedBefore?: 'skip' | 'issue-again';
  group?: { by?: string | string[]; lines?: string; headerType?: string; lineType?: string };
  lookups?: Record<string, Record<string, string | number | boolean>>;
  invoice: FieldTree;
  line: FieldTree & { skipWhen?: string };
}
