// subscribe.mjs: one real websocket client, driven by e2e_test.go.
// usage: node subscribe.mjs <ws-url> <token> <modern|legacy>
// Prints "ready" once subscribed, then one JSON line per taskUpdated event; exits on
// stdin end or after 60 s.
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import pkg from 'subscriptions-transport-ws';
const { SubscriptionClient } = pkg;

const [url, token, protocol] = process.argv.slice(2);
const query = 'subscription { taskUpdated { kind task { id name state } } }';
const print = (v) => process.stdout.write(JSON.stringify(v) + '\n');
const fail = (e) => { print({ error: String(e && e.message ? e.message : JSON.stringify(e)) }); process.exit(1); };

if (protocol === 'modern') {
  const client = createClient({
    url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
    on: { connected: () => print('ready'), closed: (e) => print({ closed: e.code }) },
  });
  client.subscribe({ query }, { next: (v) => print(v.data), error: fail, complete: () => {} });
} else {
  const client = new SubscriptionClient(url, {
    reconnect: false,
    connectionParams: { authorization: `Bearer ${token}` },
    connectionCallback: (err) => (err ? fail(err) : print('ready')),
  }, WebSocket);
  client.request({ query }).subscribe({ next: (v) => print(v.data), error: fail });
  client.onDisconnected(() => print({ closed: 'disconnected' }));
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), 60000);
