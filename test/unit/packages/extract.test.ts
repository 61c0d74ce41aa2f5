import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractTarball, listUnsafeEntries } from '../../../src/features/packages/index.js';
import { tarball, type RawEntry } from './tarball.js';

async function scratch(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sophon-extract-'));
}

async function archive(dir: string, entries: RawEntry[]): Promise<string> {
  const file = join(dir, 'pkg.tar.gz');
  await writeFile(file, tarball(entries));
  return file;
}

const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

void test('a well-formed package extracts with its files, directories and inner links', async () => {
  const dir = await scratch();
  try {
    const file = await archive(dir, [
      { path: 'bin/', type: 'dir' },
      { path: 'bin/tool', body: '#!/bin/sh\necho hi\n' },
      { path: 'lib/', type: 'dir' },
      { path: 'lib/libx.so.1', body: 'ELF' },
      { path: 'lib/libx.so', type: 'symlink', linkpath: 'libx.so.1' },
      { path: 'bin/tool-again', type: 'hardlink', linkpath: 'bin/tool' },
      { path: 'share/doc/link-up', type: 'symlink', linkpath: '../../bin/tool' },
    ]);
    const target = join(dir, 'out', '1.0.0');
    await extractTarball(file, target);
    assert.equal(await readFile(join(target, 'bin/tool'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(await readlink(join(target, 'lib/libx.so')), 'libx.so.1');
    assert.equal(await readFile(join(target, 'bin/tool-again'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(await readFile(join(target, 'share/doc/link-up'), 'utf8'), '#!/bin/sh\necho hi\n');
    // Extracting again replaces the directory whole.
    await writeFile(join(target, 'stray'), 'x');
    await extractTarball(file, target);
    assert.equal(await exists(join(target, 'stray')), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const unsafe: Array<{ name: string; entries: RawEntry[]; message: RegExp }> = [
  { name: 'absolute path', entries: [{ path: '/tmp/sophon-pwned', body: 'x' }], message: /\/tmp\/sophon-pwned has an absolute path/ },
  { name: "'..' in a path", entries: [{ path: 'bin/../../escape', body: 'x' }], message: /bin\/\.\.\/\.\.\/escape has a '\.\.' step/ },
  { name: 'leading ..', entries: [{ path: '../escape', body: 'x' }], message: /has a '\.\.' step/ },
  {
    name: 'symlink to an absolute path',
    entries: [{ path: 'etc', type: 'symlink', linkpath: '/etc' }],
    message: /etc links to the absolute path \/etc/,
  },
  {
    name: 'symlink climbing out',
    entries: [{ path: 'a/b', type: 'symlink', linkpath: '../../outside' }],
    message: /a\/b links to \.\.\/\.\.\/outside, outside the target directory/,
  },
  {
    name: 'symlink then a file written through it',
    entries: [
      { path: 'up', type: 'symlink', linkpath: '..' },
      { path: 'up/escape', body: 'x' },
    ],
    message: /up links to \.\., outside/,
  },
  {
    name: 'hard link out of the tree',
    entries: [{ path: 'pw', type: 'hardlink', linkpath: '../../etc/passwd' }],
    message: /pw links to \.\.\/\.\.\/etc\/passwd/,
  },
  {
    name: 'hard link to an absolute path',
    entries: [{ path: 'pw', type: 'hardlink', linkpath: '/etc/passwd' }],
    message: /links to the absolute path/,
  },
  { name: 'device node', entries: [{ path: 'dev/null', type: 'chardev' }], message: /dev\/null is a CharacterDevice entry/ },
  { name: 'fifo', entries: [{ path: 'pipe', type: 'fifo' }], message: /pipe is a FIFO entry/ },
];

for (const c of unsafe) {
  void test(`refuses a tarball with ${c.name}, leaving nothing behind`, async () => {
    const dir = await scratch();
    try {
      const file = await archive(dir, [{ path: 'ok.txt', body: 'fine' }, ...c.entries]);
      const target = join(dir, 'root', 'pkg');
      await mkdir(join(dir, 'root'));
      await assert.rejects(extractTarball(file, target), (err: { code: string; message: string; errors: unknown[] }) => {
        assert.equal(err.code, 'ARCHIVE_UNSAFE');
        assert.match(err.message, c.message);
        assert.match(err.message, /rebuild it from a trusted source/);
        return true;
      });
      assert.equal(await exists(target), false);
      assert.equal(await exists(join(dir, 'root', 'escape')), false);
      assert.equal(await exists(join(dir, 'escape')), false);
      assert.equal((await stat(join(dir, 'root'))).isDirectory(), true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

void test('the second guard: a chain of links is caught after extraction, in staging', async () => {
  const dir = await scratch();
  try {
    // Each link stays inside when read alone (deep/../here/.. is '.'); on disk, here/.. is above the root.
    const entries: RawEntry[] = [
      { path: 'here', type: 'symlink', linkpath: '.' },
      { path: 'deep/', type: 'dir' },
      { path: 'deep/x', type: 'symlink', linkpath: '../here/..' },
    ];
    assert.deepEqual(await listUnsafeEntries(await archive(dir, entries)), []);
    const target = join(dir, 'pkg');
    await assert.rejects(extractTarball(await archive(dir, entries), target), (err: { code: string; message: string }) => {
      assert.equal(err.code, 'ARCHIVE_UNSAFE');
      assert.match(err.message, /deep\/x links to \.\.\/here\/\.\., outside the target directory/);
      return true;
    });
    assert.equal(await exists(target), false);
    assert.equal(await exists(`${target}.extract-${process.pid}`), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
