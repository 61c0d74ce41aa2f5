/** Thrown through a workflow when the operator chose `rollback`; runOperation then undoes the work. */
export class RollbackRequested extends Error {
  constructor(readonly reason: string) {
    super(`rollback requested by the operator after: ${reason}`);
    this.name = 'RollbackRequested';
  }
}
