/** HTTP routes of services: parse, then delegate to the services service. */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { parseInput } from '../validation.js';
import { SERVICE_ACTIONS } from '../../workflows/shared.js';
import { actorOf } from '../api/auth.js';
import { idempotencyOf } from '../api/idempotency.js';
import type { ServicesService } from './service.js';

const NAME_LIST = z.array(z.string().min(1).max(253)).max(1000);

export const DeployServiceBody = z.strictObject({
  service: z.string().min(1, 'expected a service definition name'),
  version: z.string().min(1).optional(),
  placement: z.record(z.string(), z.array(z.string().min(1).max(253)).max(1000)),
  config: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

export const ServiceActionBody = z.strictObject({
  action: z.enum(SERVICE_ACTIONS, { error: `expected one of ${SERVICE_ACTIONS.join(', ')}` }),
  roles: NAME_LIST.optional(),
  hosts: NAME_LIST.optional(),
  rolling: z
    .strictObject({
      batchSize: z.number().int().min(1).max(1000).optional(),
      maxFailures: z.number().int().min(0).max(1000).optional(),
      pauseSeconds: z.number().int().min(0).max(3600).optional(),
    })
    .optional(),
});

const who = (req: Request) => ({ actor: actorOf(req), requestId: String(req.id), idempotency: idempotencyOf(req) });
const params = (req: { params: object }) => req.params as Record<string, string>;

export function serviceRoutes(services: ServicesService): Router {
  const router = Router({ mergeParams: true });

  router.get('/', async (req, res) => {
    res.json({ services: await services.list(params(req).cluster!) });
  });

  router.post('/', async (req, res) => {
    const body = parseInput(DeployServiceBody, req.body, 'request body');
    res.status(202).json(await services.deploy(params(req).cluster!, body, who(req)));
  });

  router.get('/:service', async (req, res) => {
    res.json({ service: await services.get(params(req).cluster!, req.params.service!) });
  });

  router.post('/:service/actions', async (req, res) => {
    const body = parseInput(ServiceActionBody, req.body, 'request body');
    res.status(202).json(await services.action(params(req).cluster!, req.params.service!, body, who(req)));
  });

  router.delete('/:service', async (req, res) => {
    res.status(202).json(await services.remove(params(req).cluster!, req.params.service!, who(req)));
  });
  return router;
}

export function discoveryRoutes(services: ServicesService): Router {
  const router = Router({ mergeParams: true });
  router.get('/:service', async (req, res) => {
    res.json(await services.discovery(params(req).cluster!, req.params.service!));
  });
  return router;
}
