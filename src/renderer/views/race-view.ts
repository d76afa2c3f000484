/**
 * The race harness panel: start a run with a seed, follow its progress, read the four strategies side by side.
 *
 * Runtime: browser. A loss or duplicate under a strategy that must be safe is marked as a failure; under
 * `legacy` and `explicit-naive` it is the expected demonstration, marked as such. Beside the delivery counts, each
 * row shows what they cost the user: notifications and timeline messages that could not be decrypted, and what
 * the device's Olm state cost (Olm messages never decrypted, redeliveries that failed again, wedged sessions, one-time
 * keys uploaded twice or lost; the breakdown in the cell's title).
 */
import type { RaceRow, UiClient } from '../../shared/ui-api';
import { byTestId, el, setText } from '../dom';
import type { View } from './view';

export function createRaceView(root: ParentNode, client: UiClient): View {
  const seed = byTestId<HTMLInputElement>(root, 'input-race-seed');
  const button = byTestId<HTMLButtonElement>(root, 'btn-race');
  const status = byTestId(root, 'race-status');
  const rows = byTestId(root, 'race-rows');
  let drawnRows = '';
  byTestId<HTMLFormElement>(root, 'form-race').addEventListener('submit', (event) => {
    event.preventDefault();
    button.disabled = true;
    void client.call('race:start', { seed: seed.valueAsNumber }).then((result) => {
      if (!result.ok) {
        button.disabled = false;
        setText(status, `race not started: ${result.error.message}`);
      }
    });
  });
  return {
    render(snapshot) {
      const race = snapshot.race;
      if (race === null) return;
      button.disabled = race.running;
      status.dataset.state = race.running ? 'running' : race.error ? 'error' : 'done';
      setText(status, race.running ? `seed ${race.seed}: ${race.progress ?? ''}` : race.error ? `seed ${race.seed} failed: ${race.error}` : `seed ${race.seed} done · reproduce: ${race.reproduce ?? ''}`);
      const key = JSON.stringify(race.rows);
      if (key === drawnRows) return;
      drawnRows = key;
      rows.replaceChildren(...race.rows.map(raceRow));
    },
  };
}

function raceRow(row: RaceRow): HTMLTableRowElement {
  // legacy and explicit-naive are not judged (their `ok` is always true): they are the demonstration.
  const verdict = !row.mustBeSafe ? 'expected' : row.ok ? 'ok' : 'bad';
  const harm = row.olmHarm;
  const olmHarm = harm.failed + harm.undecryptableRedeliveries + harm.wedgedSessions + harm.oneTimeKeysUploadedTwice + harm.oneTimeKeysLost;
  const olmTitle =
    `${row.olmDecrypted} decrypted; never decrypted ${harm.failed}, redeliveries undecryptable ${harm.undecryptableRedeliveries}, ` +
    `wedged sessions ${harm.wedgedSessions}, one-time keys uploaded twice ${harm.oneTimeKeysUploadedTwice}, lost ${harm.oneTimeKeysLost}`;
  const cell = (value: number | string | null, bad = false): HTMLTableCellElement =>
    el('td', { className: bad ? 'num bad' : 'num', text: value === null ? '—' : String(value) });
  const data = {
    strategy: row.strategy,
    verdict,
    lost: row.lost,
    duplicated: row.duplicated,
    notificationsUnableToDecrypt: row.notificationsUnableToDecrypt,
    timelineUnableToDecrypt: row.timelineUnableToDecrypt,
    olmHarm,
  };
  return el('tr', { testId: 'race-row', data }, [
    el('td', { text: row.strategy, title: verdict === 'expected' ? 'expected to lose: this strategy shows the bug' : verdict }),
    cell(row.sent),
    cell(row.delivered),
    cell(row.lost, row.lost > 0),
    cell(row.duplicated, row.duplicated > 0),
    cell(row.reordered, row.reordered > 0),
    cell(row.notificationsUnableToDecrypt, row.notificationsUnableToDecrypt > 0),
    cell(row.timelineUnableToDecrypt, row.timelineUnableToDecrypt > 0),
    el('td', { className: olmHarm > 0 ? 'num bad' : 'num', text: String(olmHarm), title: olmTitle }),
    cell(row.kills),
    cell(row.wastedRequests),
    cell(row.latencyP50Ms === null ? null : `${row.latencyP50Ms} ms`),
    cell(row.latencyP99Ms === null ? null : `${row.latencyP99Ms} ms`),
  ]);
}
