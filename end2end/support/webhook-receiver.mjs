// A webhook receiver as an app would write one, run as its own process: it verifies every
// delivery with the official `svix` library (`new Webhook(secret).verify(body, headers)`) and
// keeps what it received. The test drives it over HTTP:
//   POST /_control/<name> {secret?, failures?}  the endpoint's secret, and how many deliveries
//                                              to refuse (answering 500) before accepting
//   GET  /_received/<name>                      [{id, type, data, verified, attempt}]
//   POST /hook/<name>                           the webhook endpoint
// It prints `listening on <port>` when ready.
import { createServer } from 'node:http';
import { Webhook } from 'svix';

const endpoints = new Map();
const endpoint = (name) => {
  if (!endpoints.has(name)) endpoints.set(name, { secret: null, failures: 0, received: [], refused: 0 });
  return endpoints.get(name);
};

const read = (req) => new Promise((ok, fail) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
  req.on('error', fail);
});

const server = createServer(async (req, res) => {
  const [, kind, name] = req.url.split('/');
  const body = await read(req);
  const e = endpoint(name);
  const answer = (status, value) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  if (kind === '_control') {
    const c = JSON.parse(body || '{}');
    if (c.secret !== undefined) e.secret = c.secret;
    if (c.failures !== undefined) e.failures = c.failures;
    return answer(200, { ok: true });
  }
  if (kind === '_received') return answer(200, e.received);
  if (kind !== 'hook') return answer(404, { error: 'no such path' });
  if (e.failures > 0) {
    e.failures -= 1;
    e.refused += 1;
    return answer(500, { error: `refused on purpose (${e.refused})` });
  }
  let verified = false;
  try {
    new Webhook(e.secret).verify(body, req.headers);
    verified = true;
  } catch {
    return answer(400, { error: 'the signature did not verify' });
  }
  const payload = JSON.parse(body);
  e.received.push({ id: req.headers['webhook-id'], type: payload.type, data: payload.data, verified, refusedBefore: e.refused });
  return answer(200, { received: true });
});

server.listen(0, '127.0.0.1', () => console.log(`listening on ${server.address().port}`));
