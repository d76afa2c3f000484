/**
 * The controls: send N to-device messages, send an encrypted room message (the homeserver pushes it and a
 * notifier starts), optionally with its room key withheld to show what a lost key costs, kill the notifier
 * mid-sync, kill and restart the main sync process, suspend and resume it (SIGSTOP, like a phone app in the
 * background), drop the next sync response, join a room (accept an invite), choose the strategy, and reset the
 * data directory. The reset deletes every figure, so it asks first, inline: the first press only opens the
 * question, which names the directory.
 *
 * Runtime: browser. Each control calls one channel of the UI API and shows its `UiResult` in the status line
 * (`data-state` ok/error, `data-result` the raw value as JSON, for tests); a control is disabled while its call
 * is in flight so a double click does not send twice.
 */
import { STRATEGIES, type Strategy, type UiChannel, type UiChannels, type UiClient } from '../../shared/ui-api';
import { byTestId, el, setText } from '../dom';
import type { View } from './view';

export function createControlsView(root: ParentNode, client: UiClient): View {
  const status = byTestId<HTMLOutputElement>(root, 'action-status');
  const run = async <C extends UiChannel>(
    control: HTMLButtonElement | HTMLSelectElement,
    channel: C,
    args: UiChannels[C]['args'],
    describe: (value: UiChannels[C]['result']) => string,
  ): Promise<void> => {
    control.disabled = true;
    status.dataset.state = 'busy';
    status.dataset.channel = channel;
    setText(status, `${channel} …`);
    const result = await client.call(channel, args);
    control.disabled = false;
    status.dataset.state = result.ok ? 'ok' : 'error';
    status.dataset.result = JSON.stringify(result.ok ? result.value : result.error);
    setText(status, result.ok ? describe(result.value) : `${channel} failed (${result.error.kind}): ${result.error.message}`);
  };

  const count = byTestId<HTMLInputElement>(root, 'input-count');
  const sendButton = byTestId<HTMLButtonElement>(root, 'btn-send-to-device');
  byTestId<HTMLFormElement>(root, 'form-send-to-device').addEventListener('submit', (event) => {
    event.preventDefault();
    void run(sendButton, 'traffic:send-to-device', { count: count.valueAsNumber }, (v) => `sent ${v.sent} to-device messages`);
  });

  const text = byTestId<HTMLInputElement>(root, 'input-room-text');
  const withholdKey = byTestId<HTMLInputElement>(root, 'input-withhold-key');
  const pushButton = byTestId<HTMLButtonElement>(root, 'btn-send-room-message');
  byTestId<HTMLFormElement>(root, 'form-send-room-message').addEventListener('submit', (event) => {
    event.preventDefault();
    void run(pushButton, 'traffic:send-room-message', { text: text.value, withholdKey: withholdKey.checked }, (v) =>
      v.keyTag === null
        ? `encrypted message ${v.eventId} sent, its key withheld; push on its way`
        : `encrypted message ${v.eventId} sent after its key; push on its way`,
    );
  });

  const button = (testId: string): HTMLButtonElement => byTestId<HTMLButtonElement>(root, testId);
  const kill = button('btn-kill-notifier');
  kill.addEventListener('click', () =>
    void run(kill, 'process:kill-notifier', {}, (v) => (v.killedPid === null ? 'no notifier was running' : `killed notifier pid ${v.killedPid}`)),
  );
  const restart = button('btn-restart-main');
  restart.addEventListener('click', () =>
    void run(restart, 'process:restart-main', {}, (v) => `killed main pid ${v.oldPid}; restarted as pid ${v.newPid}`),
  );
  const suspend = button('btn-suspend-main');
  suspend.addEventListener('click', () => {
    const suspended = suspend.getAttribute('aria-pressed') !== 'true';
    void run(suspend, 'process:suspend-main', { suspended }, (v) => `main pid ${v.pid} ${v.suspended ? 'suspended (SIGSTOP)' : 'resumed (SIGCONT)'}`);
  });
  const drop = button('btn-drop-response');
  drop.addEventListener('click', () =>
    void run(drop, 'fault:drop-next-response', {}, () => 'the next sync response will be dropped'),
  );

  const joinRoom = byTestId<HTMLInputElement>(root, 'input-join-room');
  const joinButton = byTestId<HTMLButtonElement>(root, 'btn-join-room');
  byTestId<HTMLFormElement>(root, 'form-join-room').addEventListener('submit', (event) => {
    event.preventDefault();
    void run(joinButton, 'room:join', { room: joinRoom.value.trim() }, (v) => `joined ${v.roomId}; the timeline follows it from the next pass`);
  });

  const strategy = byTestId<HTMLSelectElement>(root, 'select-strategy');
  strategy.replaceChildren(...STRATEGIES.map((name) => el('option', { text: name }, [])));
  for (const option of strategy.options) option.value = option.text;
  strategy.addEventListener('change', () => {
    const chosen = strategy.value as Strategy;
    void run(strategy, 'strategy:set', { strategy: chosen }, (v) => `strategy is now ${v.strategy} (main restarted)`);
  });

  const reset = button('btn-reset');
  const confirmBox = byTestId(root, 'reset-confirm');
  const confirmYes = button('btn-reset-confirm');
  const resetDir = byTestId(root, 'reset-data-dir');
  const closeConfirm = (): void => {
    confirmBox.hidden = true;
    reset.setAttribute('aria-expanded', 'false');
  };
  reset.setAttribute('aria-expanded', 'false');
  reset.addEventListener('click', () => {
    confirmBox.hidden = false;
    reset.setAttribute('aria-expanded', 'true');
    confirmYes.focus();
  });
  button('btn-reset-cancel').addEventListener('click', () => {
    closeConfirm();
    reset.focus();
  });
  confirmYes.addEventListener('click', () => {
    closeConfirm();
    void run(reset, 'data:reset', { confirm: true }, (v) => `reset ${v.dataDir}: deleted ${v.removed.join(', ') || 'nothing'}; started again, empty`);
  });

  return {
    render(snapshot) {
      setText(resetDir, snapshot.dataDir);
      suspend.setAttribute('aria-pressed', String(snapshot.mainSuspended));
      setText(suspend, snapshot.mainSuspended ? 'Resume main' : 'Suspend main');
      // Follow the host's strategy, except while the user is choosing one.
      if (document.activeElement !== strategy && !strategy.disabled) strategy.value = snapshot.strategy;
    },
  };
}
