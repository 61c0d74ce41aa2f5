/** The shapes of the API answers the CLI reads (the API's own schemas are in /api/openapi.json). */
export interface Holding {
  host: string;
  role: string;
  phase: string;
  step: string;
  reason: string;
}

export interface Step {
  host: string;
  role: string;
  phase: string;
  step: string;
  status: string;
  attempt: number;
  exitCode: number | null;
  durationMs: number | null;
  stdoutTail: string | null;
  stderrTail: string | null;
  message: string | null;
}

export interface Operation {
  id: string;
  type: string;
  status: string;
  cluster: string | null;
  service: string | null;
  workflowId: string;
  temporalUiUrl: string;
  requestedBy: string;
  createdAt: string;
  finishedAt: string | null;
  result: unknown;
  error: { code: string; message: string } | null;
  phase: string | null;
  holding: Holding[] | null;
  canRollback: boolean;
  percent?: number | null;
  steps?: Step[];
}
