/**
 * Running totals kept in the store (migration 0004): what retention removed and what the removed rows counted.
 *
 * Runtime: node. `addToCounter` is meant to run inside the transaction that deletes the rows it accounts for, so
 * a total and the rows it replaces change together; a crash keeps both or neither.
 */
import type { ClientStore } from './open-store';

export function addToCounter(store: ClientStore, scope: string, name: string, delta: number): void {
  if (delta === 0) return;
  store
    .statement(
      `INSERT INTO store_counters (scope, name, value) VALUES (?, ?, ?)
       ON CONFLICT (scope, name) DO UPDATE SET value = value + excluded.value`,
    )
    .run(scope, name, delta);
}

export function setCounter(store: ClientStore, scope: string, name: string, value: number): void {
  store
    .statement('INSERT INTO store_counters (scope, name, value) VALUES (?, ?, ?) ON CONFLICT (scope, name) DO UPDATE SET value = excluded.value')
    .run(scope, name, value);
}

/** Every counter of one scope, by name (absent names are 0 to callers). */
export function countersOf(store: ClientStore, scope: string): Map<string, number> {
  const rows = store.statement('SELECT name, value FROM store_counters WHERE scope = ?').all(scope) as Array<{ name: string; value: number }>;
  return new Map(rows.map((row) => [row.name, row.value]));
}

export function counterValue(store: ClientStore, scope: string, name: string): number {
  const row = store.statement('SELECT value FROM store_counters WHERE scope = ? AND name = ?').get(scope, name) as { value: number } | undefined;
  return row?.value ?? 0;
}
