export * from './repository.js';
export * from './extract.js';
