import type { MappingFileSchema } from '../config/schema-types.js';

/** A mapping file (mappings/<source>.yaml): how one source's files become canonical invoices (its schema's shape, generated). */
export type MappingDefinition = MappingFileSchema.MappingFile;

/** One transform step in a value's `transform:` list. */
export type TransformSpec = MappingFileSchema.Transform;

/** Where a canonical field gets its value (exactly one of column, path, const, template, expr). */
export type ValueSpec = MappingFileSchema.Value;

/** A document-level charge or allowance (shipping costs, order discount) taken from the record. */
export type DocumentAllowanceChargeSpec = MappingFileSchema.DocumentAllowanceCharge;

/**
 * The invoice: and line: sections walked as a tree of canonical field names whose leaves are value
 * specs (the schema names every field; the compiler visits them without knowing which).
 */
export interface FieldTree {
  [field: string]: ValueSpec | FieldTree | DocumentAllowanceChargeSpec[] | string | undefined;
}
