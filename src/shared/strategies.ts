/**
 * The four client strategies the harness compares (DESIGN.md §5). `explicit-lease` is the default; `legacy` and
 * `explicit-naive` exist to show what goes wrong.
 *
 * Runtime: common (the engine runs them, the dashboard and the CLI name them).
 */
export const STRATEGIES = ['legacy', 'explicit-naive', 'explicit-cas', 'explicit-lease'] as const;
export type Strategy = (typeof STRATEGIES)[number];
export const DEFAULT_STRATEGY: Strategy = 'explicit-lease';

export function isStrategy(value: string): value is Strategy {
  return (STRATEGIES as readonly string[]).includes(value);
}
