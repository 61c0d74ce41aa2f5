/**
 * Where this process spends its CPU while some work runs: V8's sampling profiler through the
 * inspector, summed by function (self time) and printed as a table of the top entries.
 */
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { printTable } from './table.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export async function withCpuProfile<T>(title: string, work: () => Promise<T>, top = 20): Promise<T> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  let result: T;
  try {
    result = await work();
  } finally {
    const { profile } = (await session.post('Profiler.stop')) as {
      profile: { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[] };
    };
    session.disconnect();
    const hits = new Map<string, number>();
    for (const node of profile.nodes) {
      const { functionName, url, lineNumber } = node.callFrame;
      const where = url ? `${path.relative(process.cwd(), url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
      const key = `${functionName || '(anonymous)'} ${where}`.trim();
      hits.set(key, (hits.get(key) ?? 0) + (node.hitCount ?? 0));
    }
    // Idle samples are time the process waited; the percentages are of the time it worked.
    hits.delete('(idle)');
    const total = [...hits.values()].reduce((a, b) => a + b, 0);
    const rows = [...hits.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, n]) => [key.length > 110 ? `…${key.slice(-109)}` : key, ((100 * n) / total).toFixed(1)]);
    printTable(
      `${title}: self time by function, ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s profiled`,
      ['function', '% of busy samples'],
      rows,
    );
  }
  return result;
}
