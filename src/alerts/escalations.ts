/**
 * What alerting asks of an alert's escalation chain: start it when the alert fires unmuted,
 * tell it about an ack or a resolve after Postgres holds that state. The `notify` room's
 * escalation client (src/notify/escalation-client.ts) provides these calls.
 */
export interface EscalationCalls {
  start(alertId: string): Promise<void>;
  ack(alertId: string, actor: string, note?: string): Promise<void>;
  resolve(alertId: string, actor: string): Promise<void>;
}
