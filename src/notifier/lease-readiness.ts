/**
 * When a notifier is ready to take the lease: once the pushed event's fetch has said whether the Olm state must
 * open for it, and an opening that started is done.
 *
 * Runtime: node / electron-utility. Under `explicit-lease` the notifier opens its Olm state only when something
 * needs it (olm-opening.ts), and an encrypted pushed event is what usually does: its Megolm key is unsealed with
 * the pickle key and decrypted by libolm. The fetch of that event runs beside the sync; it is the answer to it
 * that starts the opening. A notifier that took the lease before that answer came found out afterwards that it
 * had to load libolm, and the sync response waited for the opening (nothing that needs decryption commits before
 * the state is open) with the lease held: every other process, the main one included, waited behind a holder
 * that could not commit, for 0.1 s on a quiet machine and for several times that under load. Waiting for the
 * fetch first costs the notifier no time it would not have spent anyway when the event is encrypted (its
 * opening starts at the same moment, and its sync could not commit before the opening is done), and one request
 * round trip when it is not. A fetch that does not answer holds the notifier back for at most its lease wait
 * (`acquireWithin` ends at its deadline), and without the pushed event it would have nothing to show anyway.
 *
 * Guarantees: the returned promise never rejects, and settles only after `pushedEventFetch` settled and then
 * after `whenSettled()` (read after the fetch settled, so it sees an opening the answer started) settled.
 */
export function readyForLease(pushedEventFetch: Promise<unknown>, whenSettled: () => Promise<unknown>): Promise<void> {
  const ignore = (): void => undefined;
  return pushedEventFetch.then(ignore, ignore).then(whenSettled).then(ignore, ignore);
}
