/**
 * Safe extraction of package tarballs. The whole archive is inspected first and refused if any
 * entry has an absolute path, a `..` step, a link pointing outside the target, or is a device
 * or FIFO; it is then extracted into a staging directory, links are checked again on disk,
 * and the result is renamed into place, so the target is either complete or absent.
 */
import { lstat, readlink, realpath, rename, rm, mkdir, readdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, relative, sep } from 'node:path';
import * as tar from 'tar';
import { SophonError, type FieldError } from '../../platform/errors.js';

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

function escapes(p: string): boolean {
  return p === '..' || p.startsWith('../');
}

/** Problems of one archive entry, judged from its header alone. */
function entryProblem(path: string, type: string, linkpath: string | undefined): string | null {
  if (!ALLOWED_TYPES.has(type)) return `is a ${type} entry; only files, directories and links are allowed`;
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'has an absolute path';
  if (path.split('/').includes('..')) return "has a '..' step in its path";
  if (type === 'SymbolicLink' || type === 'Link') {
    const target = linkpath ?? '';
    if (target.startsWith('/')) return `links to the absolute path ${target}`;
    // Symlinks resolve from their own directory; hard links from the archive root.
    const from = type === 'SymbolicLink' ? posix.dirname(path) : '.';
    if (escapes(posix.normalize(posix.join(from, target)))) return `links to ${target}, outside the target directory`;
  }
  return null;
}

export async function listUnsafeEntries(archive: string): Promise<FieldError[]> {
  const problems: FieldError[] = [];
  await tar.t({
    file: archive,
    onReadEntry: (entry) => {
      const problem = entryProblem(entry.path, entry.type, entry.linkpath);
      if (problem) problems.push({ path: entry.path, message: problem });
    },
  });
  return problems;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    yield full;
    if (e.isDirectory()) yield* walk(full);
  }
}

/** Symlinks on disk must resolve inside `root` (catches chains of links that each look harmless). */
async function linksEscaping(root: string): Promise<FieldError[]> {
  const problems: FieldError[] = [];
  const realRoot = await realpath(root);
  for await (const p of walk(root)) {
    if (!(await lstat(p)).isSymbolicLink()) continue;
    const target = await readlink(p);
    let resolved: string;
    try {
      resolved = await realpath(p);
    } catch {
      // A dangling link: judge where it would point from its resolved directory.
      resolved = join(await realpath(dirname(p)), target);
    }
    const rel = relative(realRoot, resolved);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      problems.push({ path: relative(root, p), message: `links to ${target}, outside the target directory` });
    }
  }
  return problems;
}

function unsafe(archive: string, problems: FieldError[]): SophonError {
  const list = problems
    .slice(0, 5)
    .map((p) => `${p.path} ${p.message}`)
    .join('; ');
  return new SophonError(
    'ARCHIVE_UNSAFE',
    `Refusing to extract ${archive}: ${list}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}. The package is damaged or malicious; rebuild it from a trusted source`,
    problems,
  );
}

/** Extracts `archive` to `target` (which must not exist yet, or is replaced). */
export async function extractTarball(archive: string, target: string): Promise<void> {
  const problems = await listUnsafeEntries(archive);
  if (problems.length > 0) throw unsafe(archive, problems);

  const staging = `${target}.extract-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    await tar.x({
      file: archive,
      cwd: staging,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      // A second guard: anything that slipped past the inspection is not written.
      filter: (path, entry) => 'type' in entry && entryProblem(path, entry.type, entry.linkpath) === null,
    });
    const escaping = await linksEscaping(staging);
    if (escaping.length > 0) throw unsafe(archive, escaping);
    await rm(target, { recursive: true, force: true });
    await mkdir(dirname(target), { recursive: true });
    await rename(staging, target);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
