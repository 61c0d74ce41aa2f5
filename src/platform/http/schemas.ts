import { z } from 'zod';

/** Fields shared by several routes' schemas (see registry.ts). */

/** A point in time as JSON carries it (Dates serialize to ISO 8601). */
export const Timestamp = z.iso.datetime({ offset: true });

/** A page of a growing list: the cursor of the next page, null on the last. */
export const NextCursor = z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page');

/** A maintenance window's end, as PATCHes of hosts and services take it. */
export const MaintenanceUntil = z.strictObject({ until: Timestamp.describe('ISO 8601 time the maintenance ends') });
