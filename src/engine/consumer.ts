/**
 * The consumer side as processes use it: `consume` from the store, wired to the kill point and to the
 * strategy's visibility rule.
 *
 * Runtime: node. The handler runs inside the transaction that advances the cursor (see src/store/consume.ts);
 * the `consumer-after-effect-before-cursor` kill point fires between the two, where a crash must roll the
 * effect back. Under the `legacy` strategy a process only handles the rows it fetched itself, which is how real
 * legacy clients behaved: the notification process kept what it synced, and the main app never saw it (F1).
 */
import type { Clock } from '../shared/clock';
import { consume, type ConsumeHandler, type ConsumeSummary } from '../store/consume';
import type { ClientStore } from '../store/open-store';
import type { RowLimit } from '../store/retention-policy';
import type { Strategy } from './engine-types';
import { noKillPoints, type KillPoints } from './kill-points';

export interface ConsumeInboxInput {
  store: ClientStore;
  /** The cursor's name, usually the process name (`main`, `notifier`). */
  consumer: string;
  handler: ConsumeHandler;
  strategy: Strategy;
  /** This process's name; under `legacy` only rows it fetched are handled. */
  processName: string;
  killPoints?: KillPoints;
  maxRows?: number;
  /** Most rows per transaction (see `ConsumeOptions.chunkRows`). */
  chunkRows?: number;
  clock?: Clock;
  /** The consumer needs recent rows only (the notifier): see `ConsumeOptions.window`. */
  window?: RowLimit;
}

export function consumeInbox(input: ConsumeInboxInput): ConsumeSummary {
  const killPoints = input.killPoints ?? noKillPoints;
  return consume(input.store, input.consumer, input.handler, {
    ...(input.maxRows === undefined ? {} : { maxRows: input.maxRows }),
    ...(input.chunkRows === undefined ? {} : { chunkRows: input.chunkRows }),
    ...(input.clock === undefined ? {} : { clock: input.clock }),
    ...(input.window === undefined ? {} : { window: input.window }),
    ...(input.strategy === 'legacy' ? { fetchedBy: input.processName } : {}),
    afterEffect: () => killPoints.hit('consumer-after-effect-before-cursor'),
  });
}
