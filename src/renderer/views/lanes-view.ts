/**
 * One lane per process: every incarnation of the main sync process and every notifier run, each with its PID,
 * lifetime on a shared time axis, what it did (requests, commits, stale and fenced commits) and how it is now:
 * running, suspended (SIGSTOP: alive but doing nothing, which is not "running" and must not look fine), or how
 * it ended.
 *
 * Runtime: browser. Lanes are drawn newest first (main incarnations above notifier runs) and bounded (all main
 * incarnations up to a cap, the newest notifier runs), because a long session starts hundreds of notifiers and
 * the point is the recent story. All lanes share one grid (each lane is a subgrid row), so their columns line up
 * and a long state or lifetime widens its column instead of spilling out of the panel.
 */
import type { ProcessLane } from '../../shared/ui-api';
import { byTestId, el } from '../dom';
import { formatDurationCompactMs } from '../format';
import type { View } from './view';

const mainLanesShown = 4;
const notifierLanesShown = 8;
/** The time axis covers at least this much, so a fresh start does not stretch one second across the panel. */
const axisMinimumMs = 20_000;
const ticksPerLane = 40;

export function createLanesView(root: ParentNode): View {
  const container = byTestId(root, 'lanes');
  return {
    render(snapshot, nowMs) {
      const newestFirst = [...snapshot.lanes].sort((a, b) => b.startedAtMs - a.startedAtMs);
      const mains = newestFirst.filter((lane) => lane.kind === 'main').slice(0, mainLanesShown);
      const notifiers = newestFirst.filter((lane) => lane.kind === 'notifier');
      const shown = [...mains, ...notifiers.slice(0, notifierLanesShown)];
      const axisStartMs = Math.min(nowMs - axisMinimumMs, ...shown.map((lane) => lane.startedAtMs));
      const rows = shown.map((lane) => laneRow(lane, axisStartMs, nowMs));
      const hidden = notifiers.length - Math.min(notifiers.length, notifierLanesShown);
      if (hidden > 0) rows.push(el('div', { className: 'lanes-more', text: `+ ${hidden} older notifier runs` }));
      if (rows.length === 0) rows.push(el('div', { className: 'empty', text: 'no process has started yet' }));
      container.replaceChildren(...rows);
    },
  };
}

function laneRow(lane: ProcessLane, axisStartMs: number, nowMs: number): HTMLElement {
  const state = laneState(lane);
  const lifetimeMs = (lane.endedAtMs ?? nowMs) - lane.startedAtMs;
  return el(
    'div',
    {
      className: `lane lane-${lane.kind}`,
      testId: `lane-${lane.kind}`,
      title: lane.name,
      data: { pid: lane.pid, state, name: lane.name, signal: lane.signal ?? '', requests: lane.requests, commits: lane.commits },
    },
    [
      el('span', { className: 'lane-kind', text: lane.kind }),
      el('span', { className: 'lane-pid', testId: 'lane-pid', text: `pid ${lane.pid}` }),
      timeline(lane, axisStartMs, nowMs),
      el('span', { className: 'lane-life', testId: 'lane-life', text: formatDurationCompactMs(lifetimeMs), title: `lived ${Math.round(lifetimeMs / 1000)} s` }),
      stats(lane),
      el('span', { className: `lane-state state-${state}`, testId: 'lane-state', text: laneStateText(lane) }),
    ],
  );
}

export type LaneState = 'running' | 'suspended' | 'killed' | 'exited' | 'failed';

export function laneState(lane: ProcessLane): LaneState {
  if (lane.endedAtMs === null) return lane.suspended ? 'suspended' : 'running';
  if (lane.signal !== null) return 'killed';
  return lane.exitCode === 0 ? 'exited' : 'failed';
}

/** The lane's state in words: `running`, `suspended (SIGSTOP)`, `killed (SIGKILL)`, `exit 0`. */
export function laneStateText(lane: ProcessLane): string {
  const state = laneState(lane);
  if (state === 'running') return 'running';
  if (state === 'suspended') return 'suspended (SIGSTOP)';
  if (state === 'killed') return `killed (${lane.signal})`;
  return `exit ${lane.exitCode ?? '?'}`;
}

function stats(lane: ProcessLane): HTMLElement {
  const stat = (label: string, value: number, alarm: boolean): HTMLElement =>
    el('span', { className: alarm && value > 0 ? 'stat alarm' : 'stat', title: label }, [
      el('b', { text: String(value) }),
      ` ${label}`,
    ]);
  return el('span', { className: 'lane-stats' }, [
    stat('req', lane.requests, false),
    stat('commit', lane.commits, false),
    stat('stale', lane.staleCommits, true),
    stat('fenced', lane.fencedCommits, true),
  ]);
}

/** The lane's lifetime as a bar on the shared axis, with a tick per recent event coloured by its kind. */
function timeline(lane: ProcessLane, axisStartMs: number, nowMs: number): HTMLElement {
  const spanMs = Math.max(1, nowMs - axisStartMs);
  const at = (timeMs: number): number => Math.max(0, Math.min(100, ((timeMs - axisStartMs) / spanMs) * 100));
  const bar = el('div', { className: 'lane-bar' });
  const left = at(lane.startedAtMs);
  bar.style.left = `${left}%`;
  bar.style.width = `${Math.max(0.4, at(lane.endedAtMs ?? nowMs) - left)}%`;
  if (lane.suspended) bar.classList.add('lane-bar-suspended');
  const ticks = lane.events.slice(0, ticksPerLane).map((event) => {
    const tick = el('div', { className: `lane-tick tick-${tickKind(event.kind)}`, title: `${event.kind}: ${event.detail}` });
    tick.style.left = `${at(event.atMs)}%`;
    return tick;
  });
  return el('div', { className: 'lane-track' }, [bar, ...ticks]);
}

function tickKind(kind: string): 'bad' | 'warn' | 'good' | 'plain' {
  if (/kill|fenced|fail|lost/i.test(kind)) return 'bad';
  if (/stale|retry|drop|busy|reset/i.test(kind)) return 'warn';
  if (/commit/i.test(kind)) return 'good';
  return 'plain';
}
