/**
 * Notification bodies, one format per channel type (pure functions, unit-tested):
 * - webhook: Sophon's own JSON (docs/notifications.md)
 * - Slack incoming webhook: `{text, blocks}`
 * - DingTalk robot: `{msgtype: "markdown", markdown: {title, text}}`
 * - WeCom (企业微信) robot: `{msgtype: "markdown", markdown: {content}}`
 * - email: subject and plain text
 */
export type NoticeKind = 'firing' | 'resolved' | 'test';

export interface AlertSummary {
  id: string;
  name: string;
  state: string;
  severity: string;
  cluster: string | null;
  host: string | null;
  service: string | null;
  value: number | null;
  summary: string;
  /** `<SOPHON public URL>/api/v1/alerts/<id>` */
  link: string;
}

export interface Notice {
  kind: NoticeKind;
  /** Absent for a channel test. */
  alert?: AlertSummary;
  /** Position in the escalation chain (firing notices). */
  round?: number;
  step?: number;
  channel: string;
  at: string;
}

export function title(n: Notice): string {
  if (!n.alert) return `[TEST] Sophon notification channel '${n.channel}'`;
  const where = [n.alert.cluster, n.alert.host, n.alert.service].filter(Boolean).join(' / ');
  return `[${n.kind.toUpperCase()}] ${n.alert.name} (${n.alert.severity})${where ? ` on ${where}` : ''}`;
}

/** The facts of a notice as label/value lines. */
function facts(n: Notice): Array<[string, string]> {
  if (!n.alert)
    return [
      ['Channel', n.channel],
      ['Sent at', n.at],
      ['Note', 'A test message sent from Sophon; no alert is firing.'],
    ];
  const a = n.alert;
  const lines: Array<[string, string]> = [
    ['Alert', a.name],
    ['State', a.state],
    ['Severity', a.severity],
  ];
  if (a.cluster) lines.push(['Cluster', a.cluster]);
  if (a.host) lines.push(['Host', a.host]);
  if (a.service) lines.push(['Service', a.service]);
  if (a.value !== null) lines.push(['Value', String(a.value)]);
  if (a.summary) lines.push(['Summary', a.summary]);
  if (n.round !== undefined && n.step !== undefined) lines.push(['Escalation', `round ${n.round}, step ${n.step}`]);
  lines.push(['Link', a.link]);
  return lines;
}

export function webhookBody(n: Notice) {
  return {
    version: 1,
    kind: n.kind,
    channel: n.channel,
    at: n.at,
    title: title(n),
    alert: n.alert ?? null,
    round: n.round ?? null,
    step: n.step ?? null,
  };
}

const markdownLines = (n: Notice, bold: (s: string) => string) => facts(n).map(([k, v]) => `${bold(k)}: ${v}`);

export function slackBody(n: Notice) {
  const text = [title(n), ...markdownLines(n, (s) => `*${s}*`)].join('\n');
  return {
    text,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title(n).slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: markdownLines(n, (s) => `*${s}*`).join('\n') } },
    ],
  };
}

export function dingtalkBody(n: Notice) {
  // DingTalk markdown needs blank lines (or two trailing spaces) between lines.
  return {
    msgtype: 'markdown',
    markdown: { title: title(n), text: [`### ${title(n)}`, ...markdownLines(n, (s) => `**${s}**`)].join('\n\n') },
  };
}

export function wecomBody(n: Notice) {
  return { msgtype: 'markdown', markdown: { content: [`**${title(n)}**`, ...markdownLines(n, (s) => `> ${s}`)].join('\n') } };
}

export function emailMessage(n: Notice): { subject: string; text: string } {
  return {
    subject: title(n),
    text:
      facts(n)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n') + '\n',
  };
}
