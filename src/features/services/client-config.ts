/**
 * Client configuration for an edge node: the files a definition renders for its client role
 * (core-site.xml, hdfs-site.xml...), with the service's current placement, dependencies and
 * config version, packed as a gzipped tarball.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import * as tar from 'tar';
import type { Pool } from '../../platform/db/pool.js';
import { SophonError } from '../../platform/errors.js';
import { buildContext, renderConfigFiles, type Catalog } from '../defs/index.js';
import { placementOf, sceneOf } from './render.js';
import { servicesRepo } from './repo.js';
import { effectiveValues } from '../config/groups.js';
import { findService } from './service.js';

/** Where the paths inside client files point (an edge node's install root). */
const EDGE_ROOT = '/opt/sophon';

export interface ClientFile {
  /** Relative to the archive's root, e.g. `hdfs/core-site.xml`. */
  path: string;
  mode: string;
  content: string;
}

export async function clientConfigFiles(pool: Pool, catalog: Catalog, clusterRef: string, serviceRef: string): Promise<ClientFile[]> {
  const { svc } = await findService(pool, clusterRef, serviceRef);
  const def = catalog.get(svc.name);
  const role = def.roles.find((r) => r.kind === 'client');
  if (!role) {
    throw new SophonError('NOT_FOUND', `${def.name} has no client role, so it has no client configuration`);
  }
  const scene = await sceneOf(pool, svc, def);
  const placement = placementOf(scene.instances);
  // An edge node that is not placed still gets the view a client on a new host would get.
  const edge = placement[role.name]?.[0] ?? { hostname: 'edge', address: '127.0.0.1', labels: {}, index: 0 };
  placement[role.name] ??= [edge];
  // The edge node's values: those of the placed client's group, if it has one.
  const placed = scene.instances.find((i) => i.role === role.name && i.hostname === edge.hostname && !i.leaving);
  const config = await servicesRepo(pool).configSet(svc.id, svc.configVersion);
  const ctx = buildContext({
    definition: def,
    serviceId: svc.id,
    version: svc.version ?? svc.targetVersion,
    clusterName: svc.clusterName,
    placement,
    role: role.name,
    hostname: edge.hostname,
    params: placed ? effectiveValues(config, placed) : config.values,
    installRoot: EDGE_ROOT,
    deps: scene.deps,
  });
  return renderConfigFiles(def, ctx)
    .filter((f) => f.path.startsWith(`${ctx.paths.conf}/`))
    .map((f) => ({ path: join(def.name, relative(ctx.paths.conf, f.path)), mode: f.mode, content: f.content }));
}

/** The files as a gzipped tarball; the temporary directory goes once the stream ends. */
export async function clientConfigArchive(files: ClientFile[]): Promise<Readable> {
  const dir = await mkdtemp(join(tmpdir(), 'sophon-client-config-'));
  try {
    for (const f of files) {
      await mkdir(join(dir, dirname(f.path)), { recursive: true });
      await writeFile(join(dir, f.path), f.content, { mode: parseInt(f.mode, 8) });
    }
    const stream = tar.create(
      { gzip: true, cwd: dir, portable: true },
      files.map((f) => f.path),
    ) as unknown as Readable;
    const cleanup = () => void rm(dir, { recursive: true, force: true });
    stream.once('end', cleanup);
    stream.once('error', cleanup);
    return stream;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
