/** A number series format such as "{yyyy}-{seq:5}" applied to an issue date. */
export interface SeriesSlot {
  /** the counter this number is taken from: the format with its date parts filled in ("2026-{seq:5}") */
  counter: string;
  /** renders the number for a sequence value */
  render(seq: number): string;
}

const SEQ = /\{seq(?::(\d+))?\}/;

/** Fills the date parts of a series format; the sequence part stays for the counter. */
export function seriesSlot(format: string, issueDate: string): SeriesSlot {
  if (!SEQ.test(format)) throw new Error(`number format "${format}" has no {seq} part`);
  const [yyyy, mm] = issueDate.split('-') as [string, string];
  const dated = format
    .replace(/\{yyyy\}/g, yyyy)
    .replace(/\{yy\}/g, yyyy.slice(2))
    .replace(/\{mm\}/g, mm);
  const width = Number(SEQ.exec(dated)?.[1] ?? 1);
  return {
    counter: dated,
    render: (seq) => dated.replace(SEQ, String(seq).padStart(width, '0')),
  };
}
