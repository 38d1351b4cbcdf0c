// Priority tiers (Midjourney's fast and relax): who goes first, and how the GPU is shared inside a tier.
//
// BullMQ serves its wait list first (priority 0, FIFO), then its prioritized set by priority (lower first, FIFO
// among equals). cogcast uses that order as it is:
// - priority tier: the front of the wait list (BullMQ `lifo`), ahead of everyone;
// - normal tier, a user's first job: the wait list, first come first served;
// - normal tier, a user's n-th job while the others wait (n >= 2): priority n-1, so everyone's second job runs
//   before anyone's third (fair share: one user's five jobs alternate with another's instead of holding the GPU);
// - relax (the user's daily GPU allowance is spent): the RELAX_BASE band, behind every normal job, same fairness.
export type Tier = 'priority' | 'normal' | 'relax';
export const TIERS: readonly Tier[] = ['priority', 'normal', 'relax'];

/** Relax jobs' priorities start here; normal jobs' fair-share priorities stay below it. */
export const RELAX_BASE = 1_000_000;
// BullMQ's PRIORITY_LIMIT is 2^21: the fair-share step is capped so a band never reaches the next one.
const FAIR_SHARE_STEPS = RELAX_BASE - 1;

export interface Placement {
  tier: Tier;
  /** BullMQ job options: priority 0 = the wait list; lifo puts it at the front. */
  priority: number;
  lifo: boolean;
}

/**
 * Where a new job of a user goes: `isPriority` from the platform and PRIORITY_IDS, `usedSeconds` of
 * `allowanceSeconds` spent today (0 allowance: no relax), `pendingAhead` the user's jobs already waiting or running.
 */
export function placeJob(isPriority: boolean, usedSeconds: number, allowanceSeconds: number, pendingAhead: number): Placement {
  if (isPriority) return { tier: 'priority', priority: 0, lifo: true };
  const share = Math.min(Math.max(0, pendingAhead), FAIR_SHARE_STEPS);
  if (allowanceSeconds > 0 && usedSeconds >= allowanceSeconds) return { tier: 'relax', priority: RELAX_BASE + share, lifo: false };
  return { tier: 'normal', priority: share, lifo: false };
}

/** The tier a waiting job is in, from the priority BullMQ holds (lifo jobs are counted with the wait list). */
export function tierOfPriority(priority: number): Exclude<Tier, 'priority'> {
  return priority >= RELAX_BASE ? 'relax' : 'normal';
}
