/**
 * The package repository: a directory or an http(s) URL holding tarballs and an index.json
 * that records the sha256 of every file. Definitions name packages by file; the index is the
 * authority on their sums, and a sum given in a definition must agree with it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { SophonError } from '../../platform/errors.js';
import { fieldErrors } from '../../platform/validation.js';
import type { ServiceDefinition } from '../defs/schema.js';

export const packageIndexSchema = z.object({
  packages: z.array(
    z.object({
      service: z.string(),
      version: z.string(),
      arch: z.string(),
      file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'expected a plain file name'),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      size: z.number().int().min(0).optional(),
    }),
  ),
});
export type PackageIndex = z.infer<typeof packageIndexSchema>;
export type PackageEntry = PackageIndex['packages'][number];

export interface PackageRepository {
  readonly location: string;
  index(): Promise<PackageIndex>;
  /** The package of `service` at `version` for a host of `arch` (falls back to noarch). */
  resolve(def: ServiceDefinition, version: string, arch: string): Promise<PackageEntry>;
  /** Copies or downloads a package to `dest`, verifying its sha256 before it appears there. */
  fetch(entry: PackageEntry, dest: string): Promise<void>;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/** The package a host of `arch` installs: its own build, else the version's noarch one. */
export function packageFor<P extends { arch: string }>(packages: readonly P[], arch: string): P | undefined {
  return packages.find((p) => p.arch === arch) ?? packages.find((p) => p.arch === 'noarch');
}

export function createPackageRepository(location: string): PackageRepository {
  const remote = isUrl(location);
  const base = remote ? location.replace(/\/+$/, '') : location;
  let cached: Promise<PackageIndex> | undefined;

  const open = async (file: string): Promise<Readable> => {
    if (!remote) return createReadStream(join(base, file));
    const res = await fetch(`${base}/${encodeURIComponent(file)}`);
    if (!res.ok || !res.body) {
      throw new SophonError(
        'PACKAGE_INVALID',
        `Package repository ${base} answered ${res.status} for ${file}; check SOPHON_PACKAGE_REPO and that the file was published`,
      );
    }
    return Readable.fromWeb(res.body as WebReadableStream);
  };

  const loadIndex = async (): Promise<PackageIndex> => {
    let text: string;
    try {
      if (!remote) text = await readFile(join(base, 'index.json'), 'utf8');
      else {
        const chunks: Buffer[] = [];
        for await (const chunk of await open('index.json')) chunks.push(chunk as Buffer);
        text = Buffer.concat(chunks).toString('utf8');
      }
    } catch (err) {
      if (err instanceof SophonError) throw err;
      throw new SophonError(
        'PACKAGE_INVALID',
        `Cannot read index.json of the package repository ${base}; build it with \`npm run packages\` or check SOPHON_PACKAGE_REPO`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new SophonError('PACKAGE_INVALID', `index.json of the package repository ${base} is not valid JSON; rebuild it`);
    }
    const parsed = packageIndexSchema.safeParse(json);
    if (!parsed.success) {
      throw new SophonError(
        'PACKAGE_INVALID',
        `index.json of the package repository ${base} is malformed; rebuild it`,
        fieldErrors(parsed.error, 'index'),
      );
    }
    return parsed.data;
  };

  const repo: PackageRepository = {
    location: base,
    index() {
      cached ??= loadIndex().catch((err: unknown) => {
        cached = undefined;
        throw err;
      });
      return cached;
    },

    async resolve(def, version, arch) {
      const v = def.versions.find((x) => x.version === version);
      if (!v) {
        throw new SophonError(
          'PACKAGE_INVALID',
          `${def.name} has no version '${version}'; available: ${def.versions.map((x) => x.version).join(', ')}`,
        );
      }
      const pkg = packageFor(v.packages, arch);
      if (!pkg) {
        throw new SophonError(
          'PACKAGE_INVALID',
          `${def.name} ${version} has no package for ${arch} hosts; it has ${v.packages.map((p) => p.arch).join(', ')}`,
        );
      }
      const entry = (await repo.index()).packages.find((e) => e.file === pkg.file);
      if (!entry) {
        throw new SophonError(
          'PACKAGE_INVALID',
          `${pkg.file} (${def.name} ${version}) is not in the package repository ${base}; build or publish it first`,
        );
      }
      if (pkg.sha256 !== undefined && pkg.sha256 !== entry.sha256) {
        throw new SophonError(
          'PACKAGE_INVALID',
          `${pkg.file}: the definition expects sha256 ${pkg.sha256} but the repository lists ${entry.sha256}; the repository holds a different build`,
        );
      }
      return entry;
    },

    async fetch(entry, dest) {
      await mkdir(dirname(dest), { recursive: true });
      const tmp = `${dest}.part-${process.pid}`;
      const hash = createHash('sha256');
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      try {
        await pipeline(await open(entry.file), tap, createWriteStream(tmp));
      } catch (err) {
        await rm(tmp, { force: true });
        if (err instanceof SophonError) throw err;
        throw new SophonError(
          'PACKAGE_INVALID',
          `Cannot read ${entry.file} from the package repository ${base}: ${(err as Error).message}`,
        );
      }
      const actual = hash.digest('hex');
      if (actual !== entry.sha256) {
        await rm(tmp, { force: true });
        throw new SophonError(
          'PACKAGE_INVALID',
          `${entry.file} is corrupt: sha256 ${actual}, expected ${entry.sha256}; rebuild or re-publish the package`,
        );
      }
      await rename(tmp, dest);
    },
  };
  return repo;
}

/** The sha256 of a file on disk, to check an already fetched package before reusing it. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}
