/**
 * What every dashboard view is: something that draws a snapshot into the part of index.html it owns.
 *
 * Runtime: browser. Views keep no copy of the host's state beyond what they need to draw (the counts chart keeps
 * its own history, since the host sends only the current counters).
 */
import type { DashboardSnapshot } from '../../shared/ui-api';

export interface View {
  render(snapshot: DashboardSnapshot, nowMs: number): void;
}
