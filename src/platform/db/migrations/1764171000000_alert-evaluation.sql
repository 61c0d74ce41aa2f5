-- Up Migration

-- The flap guard: evaluations in a row that found a firing alert's condition false.
ALTER TABLE alerts ADD COLUMN clear_evaluations integer NOT NULL DEFAULT 0;

-- Sophon's own rules, for every cluster. `up` is the poll's synthetic series (1 when an
-- instance's status check passes); `sophon_recovery_budget_spent` is written beside it for an
-- instance whose restart budget is spent.
INSERT INTO alert_rules (id, name, expr, op, threshold, for_seconds, severity, summary, source) VALUES
  ('00000000-0000-4000-8000-00000000a001', 'InstanceDown', 'up', '==', 0, 60, 'critical',
   'A role instance is down: its status check fails', 'builtin'),
  ('00000000-0000-4000-8000-00000000a002', 'AutoRecoveryBudgetSpent', 'sophon_recovery_budget_spent', '>', 0, 0, 'critical',
   'Auto-recovery gave up on an instance: its restart budget is spent', 'builtin')
ON CONFLICT DO NOTHING;

-- Down Migration

DELETE FROM alert_rules WHERE source = 'builtin';
ALTER TABLE alerts DROP COLUMN clear_evaluations;
