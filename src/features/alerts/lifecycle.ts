/**
 * The life of one alert (rule × target) from one evaluation to the next (pure):
 *
 *   (none) ──condition true──▶ pending ──true for `for`──▶ firing ──ack──▶ acknowledged
 *             pending ──false──▶ resolved (it never notified anyone)
 *   firing | acknowledged ──false on `resolveAfter` evaluations in a row──▶ resolved
 *
 * The flap guard is the count of consecutive false evaluations: one good scrape does not
 * resolve a firing alert, and a true one in between starts the count again. Muting
 * (silences, maintenance) never changes the state, only whether anyone is told.
 */

export type OpenState = 'pending' | 'firing' | 'acknowledged';
export type AlertState = OpenState | 'resolved';

export interface OpenAlert {
  state: OpenState;
  startsAt: Date;
  /** Consecutive evaluations that found the condition false. */
  clearEvaluations: number;
  silenced: boolean;
}

export interface Observation {
  /** Whether the rule's condition holds for the target now. */
  active: boolean;
  now: Date;
  forSeconds: number;
  resolveAfter: number;
  muted: boolean;
}

export interface Transition {
  from: AlertState | null;
  to: AlertState;
  note?: string;
}

export interface Step {
  /** The alert after this evaluation; undefined when there is none (nothing open, nothing to open). */
  next?: { state: AlertState; clearEvaluations: number; silenced: boolean; startsAt: Date; firedNow: boolean };
  transitions: Transition[];
  /**
   * Make sure the escalation chain runs: the alert fires unmuted. Asked at every evaluation, not
   * only when it starts firing, so a start lost to a crash is made up by the next poll; starting
   * a chain that runs or has ended is a no-op.
   */
  escalate: boolean;
  /** Send the resolved notice: it resolved after having fired. */
  notifyResolved: boolean;
}

const muteNote = (muted: boolean) => (muted ? 'muted (silence or maintenance)' : 'no longer muted');

export function step(alert: OpenAlert | undefined, o: Observation): Step {
  if (!alert) {
    if (!o.active) return { transitions: [], escalate: false, notifyResolved: false };
    const fires = o.forSeconds === 0;
    const transitions: Transition[] = [{ from: null, to: 'pending' }];
    if (fires) transitions.push({ from: 'pending', to: 'firing' });
    return {
      next: { state: fires ? 'firing' : 'pending', clearEvaluations: 0, silenced: o.muted, startsAt: o.now, firedNow: fires },
      transitions,
      escalate: fires && !o.muted,
      notifyResolved: false,
    };
  }

  const transitions: Transition[] = [];
  if (alert.silenced !== o.muted) transitions.push({ from: alert.state, to: alert.state, note: muteNote(o.muted) });
  const base = { startsAt: alert.startsAt, silenced: o.muted };

  if (alert.state === 'pending') {
    if (!o.active) {
      transitions.push({ from: 'pending', to: 'resolved', note: 'condition no longer true before it fired' });
      return {
        next: { ...base, state: 'resolved', clearEvaluations: 0, firedNow: false },
        transitions,
        escalate: false,
        notifyResolved: false,
      };
    }
    const fires = o.now.getTime() - alert.startsAt.getTime() >= o.forSeconds * 1000;
    if (fires) transitions.push({ from: 'pending', to: 'firing' });
    return {
      next: { ...base, state: fires ? 'firing' : 'pending', clearEvaluations: 0, firedNow: fires },
      transitions,
      escalate: fires && !o.muted,
      notifyResolved: false,
    };
  }

  if (o.active) {
    const paging = alert.state === 'firing' && !o.muted;
    return {
      next: { ...base, state: alert.state, clearEvaluations: 0, firedNow: false },
      transitions,
      escalate: paging,
      notifyResolved: false,
    };
  }
  const clear = alert.clearEvaluations + 1;
  if (clear < o.resolveAfter) {
    return {
      next: { ...base, state: alert.state, clearEvaluations: clear, firedNow: false },
      transitions,
      escalate: false,
      notifyResolved: false,
    };
  }
  transitions.push({ from: alert.state, to: 'resolved', note: `condition false on ${clear} evaluation(s) in a row` });
  return {
    next: { ...base, state: 'resolved', clearEvaluations: clear, firedNow: false },
    transitions,
    escalate: false,
    notifyResolved: true,
  };
}
