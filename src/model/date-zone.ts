/**
 * A UBL date (xs:date) may carry a time zone ("2016-04-04+01:00"); EN 16931 allows it, Peppol does
 * not. The model keeps every date as a plain calendar date, which is what the gateway computes
 * with (due dates, series, periods, accounting dates), and the zones apart in the invoice's meta,
 * so a UBL passed through writes each date as it came and the profile's own rules judge it.
 */

const ZONED_DATE = /^(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})$/;

/** Time zones of dates, by the field they belong to ("issueDate", "period.start", "lines[2].period.end"). */
export type DateZones = Record<string, string>;

/** The calendar date of `value`; its time zone, if any, is noted under `field`. */
export function calendarDate(value: string | undefined, field: string, zones: DateZones): string | undefined {
  const zoned = value === undefined ? null : ZONED_DATE.exec(value);
  if (!zoned) return value;
  zones[field] = zoned[2]!;
  return zoned[1];
}

/** The date as it came: the calendar date with the zone noted for `field`. */
export function zonedDate(value: string | undefined, field: string, zones: DateZones | undefined): string | undefined {
  return value === undefined ? undefined : `${value}${zones?.[field] ?? ''}`;
}
