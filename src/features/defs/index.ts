export * from './schema.js';
export * from './loader.js';
export * from './catalog.js';
export * from './templates.js';
export * from './placement.js';
export * from './params.js';
export { runDefsValidate } from './cli.js';
