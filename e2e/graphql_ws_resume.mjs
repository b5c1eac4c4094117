// Drives Vigil's alertEvents subscription with the real graphql-ws client:
// subscribe, receive alerts, drop the connection, let alerts happen while
// disconnected, reconnect with the last cursor, and report what arrived.
// Usage: node graphql_ws_resume.mjs BASE_URL PARTNER_KEY SHIPPER_KEY OWNER_TOKEN
// Prints one JSON line: {"first": [...], "resumed": [...], "lastCursor": "..."}.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [, , base, partnerKey, shipperKey, ownerToken] = process.argv;
const wsURL = base.replace(/^http/, 'ws') + '/graphql';
const query = `subscription($after: String) {
  alertEvents(after: $after) { cursor kind alert { id count entities } }
}`;

function fail(msg) {
  console.error(msg);
  process.exit(1);
}

const deadline = (ms, what) =>
  new Promise((_, reject) => setTimeout(() => reject(new Error('timed out: ' + what)), ms));

function sshd(ip, n) {
  const now = Date.now() - 60_000;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  let out = '';
  for (let i = 0; i < n; i++) {
    const d = new Date(now + i * 1000);
    const pad = (x) => String(x).padStart(2, '0');
    const ts = `${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    out += JSON.stringify({ message: `<38>${ts} web-1 sshd[${900 + i}]: Failed password for root from ${ip} port ${40000 + i} ssh2` }) + '\n';
  }
  return out;
}

async function ingest(ip, n) {
  const res = await fetch(base + '/v1/events', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-ndjson', Authorization: 'Bearer ' + shipperKey },
    body: sshd(ip, n),
  });
  if (res.status !== 200) fail(`ingest ${ip}: ${res.status} ${await res.text()}`);
}

async function alerts() {
  const res = await fetch(base + '/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + ownerToken },
    body: JSON.stringify({ query: '{ alerts(first: 100) { edges { node { count entities } } } }' }),
  });
  const body = await res.json();
  if (body.errors) fail('alerts: ' + JSON.stringify(body.errors));
  return body.data.alerts.edges.map((e) => e.node);
}

async function until(what, cond) {
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail('timed out waiting for ' + what);
}

const ip = (ev) => ev.alert.entities && ev.alert.entities['source.ip'];

// subscribe collects events until done(events) says so; then it drops the
// socket abruptly (no close handshake), like a network failure.
function subscribe(after, done) {
  let socket;
  const events = [];
  const client = createClient({
    url: wsURL,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: 'Bearer ' + partnerKey },
    retryAttempts: 0,
    on: { connected: (s) => (socket = s) },
  });
  const finished = new Promise((resolve, reject) => {
    client.subscribe(
      { query, variables: after ? { after } : {} },
      {
        next: (r) => {
          if (r.errors) return reject(new Error(JSON.stringify(r.errors)));
          events.push(r.data.alertEvents);
          if (done(events)) {
            socket.terminate();
            resolve(events);
          }
        },
        error: (e) => (events.length && done(events) ? resolve(events) : reject(e instanceof Error ? e : new Error(JSON.stringify(e)))),
        complete: () => resolve(events),
      },
    );
  });
  return Promise.race([finished, deadline(30_000, 'subscription events')]).finally(() => client.dispose());
}

try {
  // First connection, from the start of the stream.
  await ingest('192.0.2.10', 10);
  const first = await subscribe('as1:0', (evs) => evs.some((e) => ip(e) === '192.0.2.10'));
  const lastCursor = first[first.length - 1].cursor;

  // Disconnected: three new brute-force sources and more of the first one.
  for (const a of ['192.0.2.11', '192.0.2.12', '192.0.2.13']) await ingest(a, 10);
  await ingest('192.0.2.10', 5);
  await until('the alerts of the missed events', async () => {
    const all = await alerts();
    const byIP = Object.fromEntries(all.map((a) => [a.entities && a.entities['source.ip'], a.count]));
    return ['192.0.2.11', '192.0.2.12', '192.0.2.13'].every((a) => byIP[a] >= 10) && byIP['192.0.2.10'] >= 15;
  });

  // Reconnect with the last cursor: exactly the missed events come, then a
  // quiet second shows nothing else arrives.
  let quietTimer;
  const resumed = await new Promise((resolve, reject) => {
    let evs = [];
    subscribe(lastCursor, (got) => {
      evs = got;
      clearTimeout(quietTimer);
      quietTimer = setTimeout(() => resolve(evs), 1000);
      return false;
    }).catch((e) => (evs.length ? resolve(evs) : reject(e)));
    quietTimer = setTimeout(() => resolve(evs), 5000);
  });
  clearTimeout(quietTimer);
  console.log(JSON.stringify({
    first: first.map((e) => ({ cursor: e.cursor, kind: e.kind, ip: ip(e) })),
    resumed: resumed.map((e) => ({ cursor: e.cursor, kind: e.kind, ip: ip(e) })),
    lastCursor,
  }));
  process.exit(0);
} catch (e) {
  fail(String(e && e.stack ? e.stack : e));
}
