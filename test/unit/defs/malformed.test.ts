import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  formatIssue,
  loadCatalog,
  runDefsValidate,
  validateDefinitionsDir,
  type DefinitionIssue,
} from '../../../src/features/defs/index.js';

/** A small valid definition; each case below breaks one thing in it. */
const BASE = `name: demo
label: Demo
runAs: { user: demo }
versions:
  - version: 1.0.0
    packages:
      - { arch: x86_64, file: demo-1.0.0-x86_64.tar.gz }
roles:
  - name: server
    kind: master
    cardinality: 3+
    ports:
      - { name: client, port: 7000, parameter: port }
    start:
      run: "{{ paths.install }}/bin/demo --port {{ instance.ports.client }}"
      timeout: 30
    stop:
      run: "kill $(cat {{ paths.run }}/demo.pid)"
    healthChecks:
      - { type: tcp, port: client }
configFiles:
  - { path: demo.conf, format: template, template: demo.conf.njk }
parameters:
  - { name: port, type: int, default: 7000, min: 1024, max: 65535 }
  - { name: level, type: string, default: info, enum: [debug, info] }
rolling:
  batchSize: 1
`;
const TEMPLATE = `# demo
port={{ instance.ports.client }}
level={{ params.level }}
{% for h in cluster.roles.server.hosts %}peer.{{ h.id }}={{ h.address }}
{% endfor %}
`;

interface Case {
  name: string;
  edit?: (yaml: string) => string;
  template?: string;
  /** The one issue expected: file suffix, path, part of the message, line when known. */
  expect: { file: string; path: string; message: RegExp; line?: number };
}

const replace = (from: string, to: string) => (s: string) => {
  assert.ok(s.includes(from), `base contains ${from}`);
  return s.replace(from, to);
};

const cases: Case[] = [
  {
    name: 'YAML syntax error',
    edit: replace('  - name: server\n', '  - name: server\n   kind: [\n'),
    expect: { file: 'demo/service.yaml', path: '', message: /YAML syntax/, line: 10 },
  },
  {
    name: 'missing required field',
    edit: replace('label: Demo\n', ''),
    expect: { file: 'demo/service.yaml', path: 'label', message: /expected string.*\(missing\)/, line: 1 },
  },
  {
    name: 'bad cardinality',
    edit: replace('cardinality: 3+', 'cardinality: two'),
    expect: { file: 'demo/service.yaml', path: 'roles.0.cardinality', message: /expected a cardinality.*'odd'.*\(got "two"\)/, line: 11 },
  },
  {
    name: 'membership rule misspelt',
    edit: replace('    cardinality: 3+\n', '    cardinality: 3+\n    membership: { peers: true, qorum: true }\n'),
    expect: { file: 'demo/service.yaml', path: 'roles.0.membership', message: /qorum/, line: 12 },
  },
  {
    name: 'unknown role kind',
    edit: replace('kind: master', 'kind: boss'),
    expect: { file: 'demo/service.yaml', path: 'roles.0.kind', message: /"master"\|"worker"\|"client".*\(got "boss"\)/, line: 10 },
  },
  {
    name: 'default alert rule whose expression does not parse',
    edit: (y) =>
      `${y}alerts:\n  - { name: DemoDown, expr: 'up{service="demo"', op: '<', threshold: 1, severity: critical, summary: Down }\n`,
    expect: { file: 'demo/service.yaml', path: 'alerts.0.expr', message: /alert expression.*column 18: expected ',' or '}'/ },
  },
  {
    name: 'misspelt field',
    edit: replace('    healthChecks:', '    helthChecks:'),
    expect: { file: 'demo/service.yaml', path: 'roles.0', message: /Unrecognized key.*helthChecks/, line: 9 },
  },
  {
    name: 'port out of range',
    edit: replace('port: 7000, parameter', 'port: 70000, parameter'),
    expect: { file: 'demo/service.yaml', path: 'roles.0.ports.0.port', message: /<=65535/, line: 13 },
  },
  {
    name: 'health check on an undeclared port',
    edit: replace('{ type: tcp, port: client }', '{ type: tcp, port: admin }'),
    expect: {
      file: 'demo/service.yaml',
      path: 'roles.0.healthChecks.0.port',
      message: /port 'admin' is not declared by role 'server'; its ports are 'client'/,
      line: 20,
    },
  },
  {
    name: 'template reads an undefined parameter',
    template: TEMPLATE.replace('params.level', 'params.loglevel'),
    expect: { file: 'demo/templates/demo.conf.njk', path: '', message: /parameter 'loglevel' is not defined/, line: 3 },
  },
  {
    name: 'command reads an unknown variable',
    edit: replace('{{ paths.install }}/bin/demo', '{{ install_dir }}/bin/demo'),
    expect: {
      file: 'demo/service.yaml',
      path: 'roles.0.start.run',
      message: /unknown variable 'install_dir'; templates see service, cluster/,
      line: 15,
    },
  },
  {
    name: 'template syntax error',
    template: 'port={{ instance.ports.client }}\n{% for h in cluster.roles.server.hosts %}\n',
    expect: { file: 'demo/templates/demo.conf.njk', path: '', message: /template syntax/ },
  },
  {
    name: 'config file names a missing template',
    edit: replace('template: demo.conf.njk', 'template: demo.cfg.njk'),
    expect: {
      file: 'demo/service.yaml',
      path: 'configFiles.0.template',
      message: /templates\/demo.cfg.njk does not exist; the templates are 'demo.conf.njk'/,
      line: 22,
    },
  },
  {
    name: 'rolling order names an unknown role',
    edit: replace('  batchSize: 1\n', '  batchSize: 1\n  roleOrder: [worker]\n'),
    expect: {
      file: 'demo/service.yaml',
      path: 'rolling.roleOrder.0',
      message: /role 'worker' is not defined; the roles are 'server'/,
      line: 28,
    },
  },
  {
    name: 'dependency on a service that is not defined',
    edit: replace('roles:\n', 'dependencies: [zookeeper]\nroles:\n'),
    expect: { file: 'demo/service.yaml', path: 'dependencies.0', message: /service 'zookeeper' is not defined/, line: 8 },
  },
  {
    name: 'name differs from its folder',
    edit: replace('name: demo\n', 'name: demo-two\n'),
    expect: { file: 'demo/service.yaml', path: 'name', message: /expected 'demo', the name of the folder/, line: 1 },
  },
  {
    name: 'parameter default out of range',
    edit: replace('default: 7000, min: 1024', 'default: 80, min: 1024'),
    expect: { file: 'demo/service.yaml', path: 'parameters.0.default', message: /at least 1024 \(got 80\)/, line: 24 },
  },
  {
    name: 'default outside its enum',
    edit: replace('default: info, enum', 'default: trace, enum'),
    expect: { file: 'demo/service.yaml', path: 'parameters.1.default', message: /one of "debug", "info" \(got "trace"\)/, line: 25 },
  },
  {
    name: 'sumsTo on a parameter that is not a string',
    edit: replace('min: 1024, max: 65535 }', 'min: 1024, max: 65535, sumsTo: 100 }'),
    expect: { file: 'demo/service.yaml', path: 'parameters.0.sumsTo', message: /sumsTo applies to string parameters, not int/, line: 24 },
  },
  {
    name: 'default whose shares do not sum to sumsTo',
    edit: replace('default: info, enum: [debug, info] }', "default: 'a:50,b:40', sumsTo: 100 }"),
    expect: {
      file: 'demo/service.yaml',
      path: 'parameters.1.default',
      message: /numbers in 'level' to sum to 100 \(they sum to 90\)/,
      line: 25,
    },
  },
  {
    name: 'decommission on the leader without a leader check',
    edit: (y) => `${y}decommission:\n  - { name: leave, role: server, where: leader, on: server, run: 'true' }\n`,
    expect: {
      file: 'demo/service.yaml',
      path: 'decommission.0.where',
      message: /where: leader needs rolling.leader to tell the leader of 'server'/,
    },
  },
  {
    name: 'malformed sha256',
    edit: replace('file: demo-1.0.0-x86_64.tar.gz }', 'file: demo-1.0.0-x86_64.tar.gz, sha256: abc }'),
    expect: { file: 'demo/service.yaml', path: 'versions.0.packages.0.sha256', message: /64 lower-case hex digits/, line: 7 },
  },
  {
    name: 'package file with a directory',
    edit: replace('file: demo-1.0.0-x86_64.tar.gz', 'file: ../demo.tar.gz'),
    expect: { file: 'demo/service.yaml', path: 'versions.0.packages.0.file', message: /plain tarball file name/, line: 7 },
  },
  {
    name: 'followers-first without a leader command',
    edit: replace('  batchSize: 1\n', '  batchSize: 1\n  order: followers-first\n'),
    expect: { file: 'demo/service.yaml', path: 'rolling.leader', message: /needs 'leader'/ },
  },
  {
    name: 'port set by a parameter of the wrong type',
    edit: replace('{ name: port, type: int, default: 7000, min: 1024, max: 65535 }', "{ name: port, type: string, default: '7000' }"),
    expect: { file: 'demo/service.yaml', path: 'roles.0.ports.0.parameter', message: /must be of type int/, line: 13 },
  },
  {
    name: 'decommission step on an unknown role',
    edit: (s) => `${s}decommission:\n  - { name: drain, role: worker, run: 'true' }\n`,
    expect: { file: 'demo/service.yaml', path: 'decommission.0.role', message: /role 'worker' is not defined/, line: 29 },
  },
  {
    name: 'task on an unknown role',
    edit: (s) => `${s}tasks:\n  - { name: purge, label: Purge, role: worker, run: 'true' }\n`,
    expect: { file: 'demo/service.yaml', path: 'tasks.0.role', message: /role 'worker' is not defined/, line: 29 },
  },
  {
    name: 'task command reading a parameter the task does not define',
    edit: (s) => `${s}tasks:\n  - { name: purge, label: Purge, role: server, run: 'purge {{ task.keep }}' }\n`,
    expect: { file: 'demo/service.yaml', path: 'tasks.0.run', message: /task parameter 'keep' is not defined/, line: 29 },
  },
  {
    name: 'task on the leader of a definition that cannot tell it',
    edit: (s) => `${s}tasks:\n  - { name: elect, label: Elect, role: server, where: leader, run: 'true' }\n`,
    expect: { file: 'demo/service.yaml', path: 'tasks.0.where', message: /needs rolling.leader/, line: 29 },
  },
  {
    name: 'task parameter default outside its bounds',
    edit: (s) =>
      `${s}tasks:\n  - name: purge\n    label: Purge\n    role: server\n    run: 'purge {{ task.keep }}'\n    parameters: [{ name: keep, type: int, default: 1, min: 3 }]\n`,
    expect: { file: 'demo/service.yaml', path: 'tasks.0.parameters.0.default', message: /at least 3/, line: 33 },
  },
  {
    name: 'start command without a stop command',
    edit: replace('    stop:\n      run: "kill $(cat {{ paths.run }}/demo.pid)"\n', ''),
    expect: { file: 'demo/service.yaml', path: 'roles.0', message: /has a start command but no stop command/, line: 9 },
  },
];

async function withDefs(files: Record<string, string>, fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'sophon-defs-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const demo = (yaml = BASE, template = TEMPLATE) => ({ 'demo/service.yaml': yaml, 'demo/templates/demo.conf.njk': template });

void test('the base definition used below is valid', async () => {
  await withDefs(demo(), async (dir) => {
    const { issues } = await validateDefinitionsDir(dir);
    assert.deepEqual(issues.map(formatIssue), []);
  });
});

for (const c of cases) {
  void test(`malformed: ${c.name}`, async () => {
    await withDefs(demo(c.edit ? c.edit(BASE) : BASE, c.template ?? TEMPLATE), async (dir) => {
      const { issues } = await validateDefinitionsDir(dir);
      assert.equal(issues.length, 1, `one issue expected, got:\n${issues.map(formatIssue).join('\n')}`);
      const issue = issues[0] as DefinitionIssue;
      assert.ok(issue.file.endsWith(c.expect.file), `${issue.file} is ${c.expect.file}`);
      assert.equal(issue.path, c.expect.path);
      assert.match(issue.message, c.expect.message);
      if (c.expect.line !== undefined) assert.equal(issue.line, c.expect.line, formatIssue(issue));
    });
  });
}

void test('a folder without service.yaml is reported', async () => {
  await withDefs({ ...demo(), 'empty/README': 'nothing' }, async (dir) => {
    const { issues } = await validateDefinitionsDir(dir);
    assert.equal(issues.length, 1);
    assert.match(formatIssue(issues[0]!), /empty\/service.yaml: missing service.yaml/);
  });
});

void test('every problem in every definition is reported in one run, and the catalog refuses to load', async () => {
  const broken = BASE.replace('cardinality: 3+', 'cardinality: two').replace('kind: master', 'kind: boss');
  const other = BASE.replace('name: demo\n', 'name: other\n').replace('{ type: tcp, port: client }', '{ type: tcp, port: admin }');
  await withDefs({ ...demo(broken), 'other/service.yaml': other, 'other/templates/demo.conf.njk': TEMPLATE }, async (dir) => {
    const { issues } = await validateDefinitionsDir(dir);
    assert.deepEqual(issues.map((i) => i.path).sort(), ['roles.0.cardinality', 'roles.0.healthChecks.0.port', 'roles.0.kind']);
    await assert.rejects(loadCatalog(dir), (err: { code: string; errors: unknown[] }) => {
      assert.equal(err.code, 'DEFINITION_INVALID');
      assert.equal(err.errors.length, 3);
      return true;
    });
  });
});

void test('runDefsValidate prints every problem and returns non-zero, or zero when all is well', async () => {
  const capture = () => {
    const chunks: string[] = [];
    const out = new Writable({
      write: (c: Buffer, _e, done) => {
        chunks.push(c.toString());
        done();
      },
    });
    return { out, text: () => chunks.join('') };
  };
  await withDefs(demo(BASE.replace('cardinality: 3+', 'cardinality: two')), async (dir) => {
    const { out, text } = capture();
    assert.equal(await runDefsValidate(dir, out), 1);
    assert.match(text(), /demo\/service.yaml:11:18: roles.0.cardinality: expected a cardinality/);
    assert.match(text(), /1 problem in /);
  });
  await withDefs(demo(), async (dir) => {
    const { out, text } = capture();
    assert.equal(await runDefsValidate(dir, out), 0);
    assert.match(text(), /1 service definitions in .* are valid/);
  });
});
