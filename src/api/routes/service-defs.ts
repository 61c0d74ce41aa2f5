import { Router } from 'express';
import { publicDefinition } from '../../defs/index.js';
import type { ApiDeps } from '../deps.js';

export function serviceDefRoutes({ catalog }: ApiDeps): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    res.json({ serviceDefs: catalog.list() });
  });
  router.get('/:name', (req, res) => {
    res.json(publicDefinition(catalog.get(req.params.name)));
  });
  return router;
}
