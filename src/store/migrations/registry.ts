/**
 * The ordered list of schema migrations. `PRAGMA user_version` holds the number of the last one applied.
 *
 * Runtime: node. Append new migrations at the end with the next number; never edit one that has shipped, since
 * databases in the field already ran it.
 */
import { migration0001 } from './0001-initial';
import { migration0002 } from './0002-handled';
import { migration0003 } from './0003-encryption';
import { migration0004 } from './0004-olm';
import { migration0005 } from './0005-retention';
import { migration0006 } from './0006-withheld';
import { migration0007 } from './0007-olm-hash-runs';
import { migration0008 } from './0008-handled-stored-at';

export interface Migration {
  /** Equals its position in `MIGRATIONS` plus one; `user_version` after it ran. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [migration0001, migration0002, migration0003, migration0004, migration0005, migration0006, migration0007, migration0008];

/** The schema version this code writes; a database with a higher `user_version` is refused. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;
