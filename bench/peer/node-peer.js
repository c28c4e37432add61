// node-peer.js - a Node.js 20 peer of the b2c-authy contract, for the side-by-side
// benchmark: POST /api/identity/register and /api/identity/waitforauthyapproval
// over plain HTTP behind the same nginx, Authy calls with https.request over a
// bounded keep-alive agent, status polls every POLL_MS, a wait budget, client
// abort, and re-attach of a retry to its pending approval. No npm packages.
// It sends the responder's form bodies and headers (with its default settings),
// the request id from nginx's X-Request-Id among the hidden details.
// Environment: PORT, AUTHY_API_URL, AUTHY_API_KEY, AUTHY_CA_FILE, POLL_MS,
// WAIT_BUDGET_MS, MAX_SOCKETS. Listen backlog 8192, as the responder's in the benchmark.
'use strict';
const http = require('http'), https = require('https'), fs = require('fs');
const env = process.env, base = new URL(env.AUTHY_API_URL);
const agent = new https.Agent({ keepAlive: true, maxSockets: +(env.MAX_SOCKETS || 64),
  ca: env.AUTHY_CA_FILE ? fs.readFileSync(env.AUTHY_CA_FILE) : undefined });
const POLL_MS = +(env.POLL_MS || 1000), BUDGET_MS = +(env.WAIT_BUDGET_MS || 25000);
// E.164 country calling codes of one and two digits; every other code has three.
const CC = new Set(['1', '7', '20', '27', '30', '31', '32', '33', '34', '36', '39', '40', '41',
  '43', '44', '45', '46', '47', '48', '49', '51', '52', '53', '54', '55', '56', '57', '58', '60',
  '61', '62', '63', '64', '65', '66', '81', '82', '84', '86', '90', '91', '92', '93', '94', '95',
  '98']);
const pending = new Map(); // approval key -> {uuid promise, waiters}

function authy(method, path, form) {
  const body = form ? new URLSearchParams(form).toString() : '';
  // As the responder's calls: a type and length only on a POST.
  const headers = { 'User-Agent': 'node-peer/0.1.0', Accept: 'application/json',
    'X-Authy-API-Key': env.AUTHY_API_KEY };
  if (form) Object.assign(headers, { 'Content-Type': 'application/x-www-form-urlencoded',
    'Content-Length': body.length });
  return new Promise((resolve, reject) => {
    const req = https.request({ agent, method, host: base.hostname, port: base.port, path,
      timeout: 10000, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8').on('data', (c) => { data += c; });
      res.on('end', () => {
        try { resolve({ status: res.statusCode, json: JSON.parse(data) }); }
        catch (e) { reject(e); }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout'))).on('error', reject);
    req.end(body);
  });
}

function reply(res, status, obj) {
  if (res.writableEnded || res.destroyed) return;
  const body = JSON.stringify(status === 200 ? obj
    : { version: '1.0.0', status: 409, userMessage: obj });
  res.writeHead(status === 200 ? 200 : 409, { 'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body) }).end(body);
}

async function register(c, res) {
  const digits = String(c.phoneNumber || '').replace(/[\s().-]/g, '');
  const email = c.email || c.signInName;
  if (!email || !/^\+[1-9][0-9]{6,14}$/.test(digits)) return reply(res, 409, 'Invalid input.');
  const n = digits.slice(1), cc = [1, 2, 3].map((l) => n.slice(0, l)).find((p) => CC.has(p))
    || n.slice(0, 3);
  const r = await authy('POST', '/protected/json/users/new', { 'user[email]': email,
    'user[cellphone]': n.slice(cc.length), 'user[country_code]': cc,
    send_install_link_via_sms: 'false' });
  if (r.status !== 200 || !r.json.user) return reply(res, 409, 'Registration failed.');
  reply(res, 200, { authyId: String(r.json.user.id) });
}

function startApproval(key, c, rid) {
  const p = { waiters: new Set(), outcome: null };
  pending.set(key, p);
  const form = { message: 'Sign-in request' };
  if (c.signInName || c.email) form['details[Sign-in name]'] = c.signInName || c.email;
  form['hidden_details[request_id]'] = rid;
  if (c.correlationId) form['hidden_details[correlation_id]'] = c.correlationId;
  form.seconds_to_expire = 120;
  authy('POST', `/onetouch/json/users/${c.authyId}/approval_requests`, form)
    .then((r) => {
      if (r.status !== 200) throw new Error('create');
      poll(key, p, r.json.approval_request.uuid);
    })
    .catch(() => finish(key, p, 'error'));
  return p;
}

function poll(key, p, uuid) {
  if (p.waiters.size === 0) return pending.delete(key);
  p.timer = setTimeout(() => authy('GET', `/onetouch/json/approval_requests/${uuid}`)
    .then((r) => { const s = r.json.approval_request.status;
      if (s === 'pending') poll(key, p, uuid); else finish(key, p, s); })
    .catch(() => poll(key, p, uuid)), POLL_MS);
}

function finish(key, p, outcome) {
  pending.delete(key);
  for (const w of p.waiters) w(outcome);
}

function wait(c, req, res) {
  if (!/^[0-9]{1,20}$/.test(c.authyId || '')) return reply(res, 409, 'Invalid input.');
  const key = [c.authyId, c.correlationId, c.signInName, c.email].join('\x1f');
  const p = pending.get(key) || startApproval(key, c, String(req.headers['x-request-id'] || ''));
  const done = (outcome) => {
    clearTimeout(timer);
    p.waiters.delete(done);
    if (outcome === 'approved') reply(res, 200, { authyApproved: true });
    else if (outcome !== 'gone') reply(res, 409, `The sign-in was not approved (${outcome}).`);
  };
  const timer = setTimeout(() => done('timeout'), BUDGET_MS);
  p.waiters.add(done);
  res.on('close', () => { if (!res.writableEnded) done('gone'); });
}

http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8').on('data', (c) => { body += c; if (body.length > 16384) req.destroy(); });
  req.on('end', () => {
    let c;
    try { c = JSON.parse(body); } catch (e) { return reply(res, 409, 'Invalid request.'); }
    const path = req.url.toLowerCase();
    if (req.method === 'POST' && path === '/api/identity/register') {
      register(c, res).catch(() => reply(res, 409, 'Registration failed.'));
    } else if (req.method === 'POST' && path === '/api/identity/waitforauthyapproval') {
      wait(c, req, res);
    } else reply(res, 409, 'Not found.');
  });
}).listen({ port: +env.PORT, host: '127.0.0.1', backlog: 8192 },
  () => console.log(`node-peer listening on ${env.PORT}`));
