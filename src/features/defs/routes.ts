/** HTTP routes of the service-definition catalog (see src/platform/http/registry.ts): each a read of the catalog, so no service of their own. */
import { z } from 'zod';
import { publicDefinition, type Catalog } from './index.js';
import { route } from '../../platform/http/registry.js';

export const ServiceSummary = z.object({
  name: z.string(),
  label: z.string(),
  description: z.string(),
  versions: z.array(z.string()),
  defaultVersion: z.string(),
  dependencies: z.array(z.string()),
  roles: z.array(z.object({ name: z.string(), kind: z.string(), cardinality: z.string() })),
});

// The full definition follows the service-definition format (docs); only its frame is pinned here.
const ServiceDefinition = z.looseObject({
  name: z.string(),
  versions: z.array(z.looseObject({ version: z.string() })),
  roles: z.array(z.looseObject({ name: z.string() })),
});

export function serviceDefRoutes(catalog: Catalog) {
  return [
    route({
      method: 'get',
      path: '/api/v1/service-defs',
      summary: 'List the service definitions of the catalog',
      status: 200,
      response: z.object({ serviceDefs: z.array(ServiceSummary) }),
      handler: () => ({ serviceDefs: catalog.list() }),
    }),
    route({
      method: 'get',
      path: '/api/v1/service-defs/:name',
      summary: 'Show one service definition',
      status: 200,
      response: ServiceDefinition,
      handler: ({ params }) => publicDefinition(catalog.get(params.name!)),
    }),
  ];
}
