/**
 * The shapes of the API answers the CLI reads, inferred from the API's own schemas. The imports
 * are type-only and erased, so no API module is loaded at run time.
 */
import type { z } from 'zod';
import type { OperationDetail as OperationDetailSchema, OperationView, StepView } from '../features/operations/routes.js';

/** An operation as the API lists or starts it. */
export type Operation = z.infer<typeof OperationView>;
/** An operation with its percent and steps (GET /api/v1/operations/:id). */
export type OperationDetail = z.infer<typeof OperationDetailSchema>;
export type Step = z.infer<typeof StepView>;
