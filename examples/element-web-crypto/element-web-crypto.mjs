// Element Web's crypto stack (matrix-js-sdk with initRustCrypto) sends encrypted room messages to a todevice
// device: see the README section "Element Web's crypto stack sends to todevice" for the three shells to run.
// Node 20; outside this repository: npm install matrix-js-sdk@37.5.0.
import { createClient, MemoryStore } from 'matrix-js-sdk';

const baseUrl = 'http://127.0.0.1:8008';
const phone = '@phone:localhost'; // the account of `todevice headless --data ./phone`
const until = (check) => new Promise((resolve) => {
  const poll = async () => ((await check()) ? resolve() : setTimeout(poll, 100));
  void poll();
});

const registered = await createClient({ baseUrl }).registerRequest({
  username: 'alice', password: 'correct horse', auth: { type: 'm.login.dummy' },
});
const client = createClient({
  baseUrl,
  accessToken: registered.access_token,
  userId: registered.user_id,
  deviceId: registered.device_id,
  useAuthorizationHeader: true,
  store: new MemoryStore(),
});
await client.initRustCrypto({ useIndexedDB: false }); // Element Web's crypto; its store in memory
await client.startClient();
await until(() => client.isInitialSyncComplete());

const { room_id: roomId } = await client.createRoom({
  name: 'from Element Web',
  invite: [phone],
  initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
});
console.log(`in another shell: npx todevice join --data ./phone '${roomId}'`);
await until(() => client.getRoom(roomId)?.getMember(phone)?.membership === 'join');
for (const body of ['hello todevice', 'this one is encrypted too']) await client.sendTextMessage(roomId, body);
console.log('sent; now: npx todevice timeline --data ./phone');
client.stopClient();
process.exit(0); // the SDK leaves timers running after stopClient()
