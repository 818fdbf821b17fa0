/**
 * The formats that are batched: many invoices in one import file per administration and window
 * (the accounting packages). The one list every part of the gateway asks.
 */
export const BATCHED_FORMATS = ['exact-online', 'exact-globe', 'accountview'] as const;

/** A batched (accounting) format name. */
export type BatchedFormat = (typeof BATCHED_FORMATS)[number];

/** Whether a route's format is batched into accounting import files. */
export function isBatchedFormat(format: string): format is BatchedFormat {
  return (BATCHED_FORMATS as readonly string[]).includes(format);
}
