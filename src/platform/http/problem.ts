import { isGrpcServiceError } from '@temporalio/client';
import type { ErrorRequestHandler, Response } from 'express';
import { isConstraintConflict, isPostgresUnavailable } from '../db/pool.js';
import { SophonError, type FieldError } from '../errors.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function sendProblem(res: Response, status: number, code: string, detail: string, errors: FieldError[] = []) {
  res
    .status(status)
    .type('application/problem+json')
    .json({
      type: `https://sophon.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
      title: TITLES[status] ?? 'Error',
      status,
      code,
      detail,
      ...(errors.length ? { errors } : {}),
      requestId: res.req.id,
    });
}

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
  message: string;
}

/** The single place errors become HTTP answers: always problem+json, never a stack trace. */
export const errorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  if (err instanceof SophonError) {
    sendProblem(res, err.status, err.code, err.message, err.errors);
    return;
  }
  const bodyErr = err as BodyParserError;
  if (bodyErr?.type === 'entity.parse.failed') {
    sendProblem(res, 400, 'MALFORMED_JSON', `The request body is not valid JSON: ${bodyErr.message}`, [
      { path: '(body)', message: bodyErr.message },
    ]);
    return;
  }
  if (bodyErr?.type === 'entity.too.large') {
    sendProblem(res, 413, 'PAYLOAD_TOO_LARGE', `The request body is larger than the limit of 1 MB`, [
      { path: '(body)', message: bodyErr.message },
    ]);
    return;
  }
  // A concurrent request created or removed the same row first (the checks before it passed).
  if (isConstraintConflict(err)) {
    sendProblem(res, 409, 'CONFLICT', 'The request conflicts with a change made at the same time; read the current state and retry');
    return;
  }
  if (isPostgresUnavailable(err) || isGrpcServiceError(err)) {
    const dependency = isGrpcServiceError(err) ? 'Temporal' : 'Postgres';
    req.log.warn({ err }, `${dependency} unavailable`);
    sendProblem(res, 503, 'DEPENDENCY_UNAVAILABLE', `${dependency} is unavailable or did not answer in time; retry later`);
    return;
  }
  if (bodyErr?.expose && typeof bodyErr.status === 'number' && bodyErr.status < 500) {
    sendProblem(res, bodyErr.status, 'BAD_REQUEST', bodyErr.message);
    return;
  }
  req.log.error({ err }, 'unhandled error');
  sendProblem(res, 500, 'INTERNAL', `Internal error; see the server log for request ${String(req.id)}`);
};
