/** Schedule specs: checked with cron-parser and the platform's time zones, turned into Temporal's form. */
import { CronExpressionParser } from 'cron-parser';
import type { ScheduleSpec as TemporalScheduleSpec } from '@temporalio/client';
import { SophonError, type FieldError } from '../../platform/errors.js';
import type { ScheduleSpec } from './schemas.js';

export const scheduleInvalid = (errors: FieldError[]) =>
  new SophonError('SCHEDULE_INVALID', `Invalid schedule: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors);

function zoneExists(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Refuses (422, at `spec.cron` / `spec.timezone`) a cron Temporal could not run or a time zone that does not exist. */
export function checkSpec(spec: ScheduleSpec): void {
  if (!('cron' in spec)) return;
  const errors: FieldError[] = [];
  if (spec.timezone !== undefined && !zoneExists(spec.timezone)) {
    errors.push({
      path: 'spec.timezone',
      message: `'${spec.timezone}' is not a time zone; use an IANA name such as 'Europe/Paris' or 'UTC'`,
    });
  }
  const fields = spec.cron.trim().split(/\s+/);
  if (fields.length !== 5) {
    errors.push({ path: 'spec.cron', message: `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}` });
  } else {
    try {
      CronExpressionParser.parse(spec.cron, { strict: false });
    } catch (err) {
      errors.push({ path: 'spec.cron', message: `not a cron expression: ${(err as Error).message}` });
    }
  }
  if (errors.length) throw scheduleInvalid(errors);
}

export function temporalSpec(spec: ScheduleSpec): TemporalScheduleSpec {
  if ('everySeconds' in spec) return { intervals: [{ every: `${spec.everySeconds}s` }] };
  return { cronExpressions: [spec.cron.trim()], ...(spec.timezone ? { timezone: spec.timezone } : {}) };
}
