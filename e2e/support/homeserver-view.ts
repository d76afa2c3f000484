/**
 * What the homeserver holds, read the way any client of the app's device would: plain HTTP on the client-server
 * API with the device's own access token (from the app's store). For the facts the dashboard does not show and
 * must not be trusted to show, such as what a room event looks like on the wire.
 *
 * Runtime: Playwright (node). It uses `fetch`, not the project's MatrixClient, so a check made here does not
 * depend on the client code under test; only the account row is read from the store.
 */
import path from 'node:path';
import { CLIENT_DB_FILE } from '../../src/shared/data-layout';
import { readAccount } from '../../src/store/account';
import { openStore } from '../../src/store/open-store';

/** A room event exactly as the homeserver serves it. */
export interface WireEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  content: Record<string, unknown>;
}

/** Fetches `eventId` from whichever joined room of the app's device holds it. */
export async function fetchEventAsDevice(dataDir: string, eventId: string): Promise<WireEvent> {
  const { homeserverUrl, accessToken } = deviceCredentials(dataDir);
  const get = async (urlPath: string): Promise<{ status: number; body: unknown }> => {
    const response = await fetch(`${homeserverUrl}/_matrix/client/v3${urlPath}`, { headers: { authorization: `Bearer ${accessToken}` } });
    return { status: response.status, body: await response.json() };
  };
  const rooms = await get('/joined_rooms');
  const roomIds = (rooms.body as { joined_rooms?: string[] }).joined_rooms ?? [];
  for (const roomId of roomIds) {
    const event = await get(`/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`);
    if (event.status === 200) return event.body as WireEvent;
  }
  throw new Error(`event ${eventId} is in none of the device's rooms (${roomIds.join(', ') || 'none joined'})`);
}

function deviceCredentials(dataDir: string): { homeserverUrl: string; accessToken: string } {
  const store = openStore(path.join(dataDir, CLIENT_DB_FILE));
  try {
    const account = readAccount(store);
    if (account === undefined) throw new Error(`no account in ${dataDir}`);
    return { homeserverUrl: account.homeserverUrl, accessToken: account.accessToken };
  } finally {
    store.close();
  }
}
