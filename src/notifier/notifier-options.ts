/**
 * The notifier's command line: `--data DIR --event-id ID --room-id ID [--strategy S] [--lease-wait-ms N]
 * [--pickle-key file|parent]`. `parent`: the desktop app posts the pickle key on the utility process's
 * `parentPort` (src/crypto/pickle-key-handoff.ts); `file` (the default): the `pickle-key` file beside the store.
 *
 * Runtime: node / electron-utility. Both launchers build it with `notifierArgv` (src/main/host), so a change
 * here is a change there. Bad arguments are a programmer error of the launcher: they throw with the reason.
 */
import { STRATEGIES, type Strategy } from '../shared/ui-api';

export interface NotifierOptions {
  dataDir: string;
  eventId: string;
  roomId: string;
  strategy: Strategy;
  /** How long the notifier waits for the lease before giving up; DESIGN.md §4.6 bounds every wait. */
  leaseWaitMs: number;
  /** Where the pickle key comes from. */
  pickleKey: 'file' | 'parent';
}

export const DEFAULT_LEASE_WAIT_MS = 10_000;

export function parseNotifierOptions(argv: readonly string[]): NotifierOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i];
    const value = argv[i + 1];
    if (!name?.startsWith('--') || value === undefined) throw new Error(`notifier: bad arguments: ${argv.join(' ')}`);
    values.set(name.slice(2), value);
  }
  const required = (name: string): string => {
    const value = values.get(name);
    if (!value) throw new Error(`notifier: --${name} is required`);
    return value;
  };
  const strategy = (values.get('strategy') ?? 'explicit-lease') as Strategy;
  if (!STRATEGIES.includes(strategy)) throw new Error(`notifier: unknown strategy "${strategy}"`);
  const leaseWaitMs = Number(values.get('lease-wait-ms') ?? DEFAULT_LEASE_WAIT_MS);
  if (!Number.isInteger(leaseWaitMs) || leaseWaitMs <= 0) throw new Error('notifier: --lease-wait-ms must be a positive integer');
  const pickleKey = values.get('pickle-key') ?? 'file';
  if (pickleKey !== 'file' && pickleKey !== 'parent') throw new Error(`notifier: --pickle-key must be file or parent, got "${pickleKey}"`);
  return { dataDir: required('data'), eventId: required('event-id'), roomId: required('room-id'), strategy, leaseWaitMs, pickleKey };
}
