/** The roles an API token can have, weakest first. No imports, so the CLI can read them without loading the database driver. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
