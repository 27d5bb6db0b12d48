// Raw REST with real verbs and X-Parse-* headers (what curl, mobile SDKs and
// the REST docs use), plus the JS envelope sent by hand and CORS.
import { describe, test } from 'node:test';
import { randomUUID } from 'node:crypto';
import {
  assert,
  rest,
  uniqueClass,
  uniqueUsername,
  SERVER_URL,
  APP_ID,
  JS_KEY,
  MASTER_KEY,
  MOUNT_PATH,
} from './helpers.mjs';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('objects over REST', () => {
  const cls = uniqueClass('Rest');
  let id;
  let createdAt;

  test('POST /classes/C → 201, Location, {objectId, createdAt}', async () => {
    const res = await rest('POST', `classes/${cls}`, {
      body: {
        name: 'widget',
        n: 3,
        when: { __type: 'Date', iso: '2025-01-02T03:04:05.000Z' },
        tags: ['a', 'b'],
      },
    });
    assert.equal(res.status, 201);
    assert.match(res.body.objectId, /^[A-Za-z0-9]{10}$/);
    assert.match(res.body.createdAt, ISO);
    assert.equal(res.body.name, undefined, 'fields are not echoed');
    assert.equal(res.headers.get('location'), `${SERVER_URL}/classes/${cls}/${res.body.objectId}`);
    assert.match(res.headers.get('content-type'), /application\/json/);
    id = res.body.objectId;
    createdAt = res.body.createdAt;
  });

  test('GET /classes/C/id → the object with plain ISO createdAt/updatedAt', async () => {
    const res = await rest('GET', `classes/${cls}/${id}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.objectId, id);
    assert.equal(res.body.createdAt, createdAt);
    assert.equal(res.body.updatedAt, createdAt);
    assert.equal(res.body.name, 'widget');
    assert.equal(res.body.n, 3);
    assert.deepEqual(res.body.when, { __type: 'Date', iso: '2025-01-02T03:04:05.000Z' });
    assert.deepEqual(res.body.tags, ['a', 'b']);
  });

  test('GET /classes/C/id with keys', async () => {
    const res = await rest('GET', `classes/${cls}/${id}`, { query: { keys: 'name' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.name, 'widget');
    assert.equal(res.body.n, undefined);
    assert.equal(res.body.objectId, id);
  });

  test('PUT /classes/C/id → 200 {updatedAt} plus the results of operations', async () => {
    const res = await rest('PUT', `classes/${cls}/${id}`, {
      body: { name: 'gadget', n: { __op: 'Increment', amount: 2 }, tags: { __op: 'Add', objects: ['c'] } },
    });
    assert.equal(res.status, 200);
    assert.match(res.body.updatedAt, ISO);
    assert.equal(res.body.objectId, undefined);
    assert.equal(res.body.n, 5);
    assert.deepEqual(res.body.tags, ['a', 'b', 'c']);
    const got = await rest('GET', `classes/${cls}/${id}`);
    assert.equal(got.body.name, 'gadget');
    assert.equal(got.body.updatedAt, res.body.updatedAt);
    const unset = await rest('PUT', `classes/${cls}/${id}`, { body: { tags: { __op: 'Delete' } } });
    assert.equal(unset.status, 200);
    assert.equal((await rest('GET', `classes/${cls}/${id}`)).body.tags, undefined);
  });

  test('client-sent createdAt/updatedAt (as Dates) are ignored; as plain strings → 111', async () => {
    const old = { __type: 'Date', iso: '2000-01-01T00:00:00.000Z' };
    const res = await rest('POST', `classes/${cls}`, { body: { name: 'timeless', createdAt: old, updatedAt: old } });
    assert.equal(res.status, 201);
    assert.notEqual(res.body.createdAt, '2000-01-01T00:00:00.000Z');
    const got = await rest('GET', `classes/${cls}/${res.body.objectId}`);
    assert.ok(Date.parse(got.body.createdAt) > Date.parse('2020-01-01T00:00:00.000Z'));
    assert.ok(Date.parse(got.body.updatedAt) > Date.parse('2020-01-01T00:00:00.000Z'));
    const plain = await rest('POST', `classes/${cls}`, { body: { createdAt: '2000-01-01T00:00:00.000Z' } });
    assert.equal(plain.status, 400);
    assert.equal(plain.body.code, 111);
  });

  test('DELETE /classes/C/id → 200 {}; then GET → 404 code 101', async () => {
    const made = await rest('POST', `classes/${cls}`, { body: { name: 'temp' } });
    const del = await rest('DELETE', `classes/${cls}/${made.body.objectId}`);
    assert.equal(del.status, 200);
    assert.deepEqual(del.body, {});
    const got = await rest('GET', `classes/${cls}/${made.body.objectId}`);
    assert.equal(got.status, 404);
    assert.equal(got.body.code, 101);
    assert.equal(typeof got.body.error, 'string');
  });
});

describe('queries over REST', () => {
  const cls = uniqueClass('RestQ');
  const rows = [
    { name: 'a', n: 1, when: '2024-01-01T00:00:00.000Z' },
    { name: 'b', n: 2, when: '2024-02-01T00:00:00.000Z' },
    { name: 'c', n: 3, when: '2024-03-01T00:00:00.000Z' },
    { name: 'd', n: 4, when: '2024-04-01T00:00:00.000Z' },
    { name: 'E.x', n: 5, when: '2024-05-01T00:00:00.000Z' },
  ];

  test('set-up', async () => {
    for (const r of rows) {
      const res = await rest('POST', `classes/${cls}`, { body: { ...r, when: { __type: 'Date', iso: r.when } } });
      assert.equal(res.status, 201);
    }
  });

  test('GET /classes/C with where (URL-encoded JSON), order, limit, skip, keys', async () => {
    const res = await rest('GET', `classes/${cls}`, {
      query: { where: { n: { $gte: 2 } }, order: '-n', limit: 2, skip: 1, keys: 'name' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.results.map((r) => r.name), ['d', 'c']);
    assert.equal(res.body.results[0].n, undefined);
    assert.ok(res.body.results[0].objectId);
    assert.equal(res.body.count, undefined);
  });

  test('where with Date values, $in, $exists and $or', async () => {
    const dateRes = await rest('GET', `classes/${cls}`, {
      query: { where: { when: { $lt: { __type: 'Date', iso: '2024-03-01T00:00:00.000Z' } } }, order: 'n' },
    });
    assert.deepEqual(dateRes.body.results.map((r) => r.name), ['a', 'b']);
    const inRes = await rest('GET', `classes/${cls}`, { query: { where: { name: { $in: ['a', 'd', 'zz'] } }, order: 'n' } });
    assert.deepEqual(inRes.body.results.map((r) => r.name), ['a', 'd']);
    const orRes = await rest('GET', `classes/${cls}`, {
      query: { where: { $or: [{ n: 1 }, { n: { $gt: 4 } }] }, order: 'n' },
    });
    assert.deepEqual(orRes.body.results.map((r) => r.name), ['a', 'E.x']);
    const none = await rest('GET', `classes/${cls}`, { query: { where: { missing: { $exists: true } } } });
    assert.deepEqual(none.body.results, []);
  });

  test('$regex with \\Q…\\E quoting and with options', async () => {
    const quoted = await rest('GET', `classes/${cls}`, { query: { where: { name: { $regex: '^\\QE.\\E' } } } });
    assert.deepEqual(quoted.body.results.map((r) => r.name), ['E.x']);
    const dotIsLiteral = await rest('GET', `classes/${cls}`, { query: { where: { name: { $regex: '\\Q.\\E' } } } });
    assert.deepEqual(dotIsLiteral.body.results.map((r) => r.name), ['E.x']);
    const ci = await rest('GET', `classes/${cls}`, {
      query: { where: { name: { $regex: '^e', $options: 'i' } } },
    });
    assert.deepEqual(ci.body.results.map((r) => r.name), ['E.x']);
  });

  test('count=1&limit=0 → {"results":[],"count":N}', async () => {
    const res = await rest('GET', `classes/${cls}`, { query: { where: { n: { $gt: 1 } }, count: 1, limit: 0 } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { results: [], count: 4 });
    const withRows = await rest('GET', `classes/${cls}`, { query: { count: 1, limit: 2 } });
    assert.equal(withRows.body.count, 5);
    assert.equal(withRows.body.results.length, 2);
  });

  test('where as a raw JSON string in the query string', async () => {
    const url = `${SERVER_URL}/classes/${cls}?where=${encodeURIComponent('{"name":"c"}')}`;
    const res = await fetch(url, { headers: { 'X-Parse-Application-Id': APP_ID, ...(JS_KEY ? { 'X-Parse-Javascript-Key': JS_KEY } : {}) } });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(body.results.map((r) => r.name), ['c']);
  });
});

describe('batch over REST', () => {
  test('POST /batch with POST, PUT, DELETE and an error, aligned results', async () => {
    const cls = uniqueClass('RestBatch');
    const seed = await rest('POST', `classes/${cls}`, { body: { v: 0 } });
    const res = await rest('POST', 'batch', {
      body: {
        requests: [
          { method: 'POST', path: `${MOUNT_PATH}/classes/${cls}`, body: { v: 1 } },
          { method: 'POST', path: `${MOUNT_PATH}/classes/${cls}`, body: { v: 2 } },
          { method: 'PUT', path: `${MOUNT_PATH}/classes/${cls}/${seed.body.objectId}`, body: { v: 10 } },
          { method: 'DELETE', path: `${MOUNT_PATH}/classes/${cls}/nothere123` },
        ],
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 4);
    assert.match(res.body[0].success.objectId, /^[A-Za-z0-9]{10}$/);
    assert.match(res.body[1].success.createdAt, ISO);
    assert.match(res.body[2].success.updatedAt, ISO);
    assert.equal(res.body[3].error.code, 101);
    const all = await rest('GET', `classes/${cls}`, { query: { order: 'v' } });
    assert.deepEqual(all.body.results.map((r) => r.v), [1, 2, 10]);
    const del = await rest('POST', 'batch', {
      body: { requests: all.body.results.map((r) => ({ method: 'DELETE', path: `${MOUNT_PATH}/classes/${cls}/${r.objectId}` })) },
    });
    assert.deepEqual(del.body, [{ success: {} }, { success: {} }, { success: {} }]);
    const count = await rest('GET', `classes/${cls}`, { query: { count: 1, limit: 0 } });
    assert.equal(count.body.count, 0);
  });
});

describe('users over REST', () => {
  test('signup, GET /login, POST /login, /users/me, /logout', async () => {
    const username = uniqueUsername('rest');
    const password = 'rest-pw-1';
    const signup = await rest('POST', 'users', { body: { username, password } });
    assert.equal(signup.status, 201);
    assert.match(signup.body.sessionToken, /^r:/);
    assert.equal(signup.headers.get('location'), `${SERVER_URL}/users/${signup.body.objectId}`);

    const getLogin = await rest('GET', 'login', { query: { username, password } });
    assert.equal(getLogin.status, 200);
    assert.equal(getLogin.body.objectId, signup.body.objectId);
    assert.match(getLogin.body.sessionToken, /^r:/);
    assert.equal(getLogin.body.password, undefined);

    const postLogin = await rest('POST', 'login', { body: { username, password } });
    assert.equal(postLogin.status, 200);
    const token = postLogin.body.sessionToken;
    assert.notEqual(token, getLogin.body.sessionToken);

    const me = await rest('GET', 'users/me', { session: token });
    assert.equal(me.status, 200);
    assert.equal(me.body.username, username);

    const out = await rest('POST', 'logout', { session: token });
    assert.equal(out.status, 200);
    assert.deepEqual(out.body, {});
    const after = await rest('GET', 'users/me', { session: token });
    assert.equal(after.status, 400);
    assert.equal(after.body.code, 209);
  });

  test('missing username / password: 200 and 201 codes', async () => {
    const noPass = await rest('POST', 'users', { body: { username: uniqueUsername('np') } });
    assert.equal(noPass.status, 400);
    assert.equal(noPass.body.code, 201);
    const noUser = await rest('POST', 'users', { body: { password: 'x-pw' } });
    assert.equal(noUser.status, 400);
    assert.equal(noUser.body.code, 200);
    const loginNoPass = await rest('POST', 'login', { body: { username: 'someone' } });
    assert.equal(loginNoPass.body.code, 201);
    const loginNoUser = await rest('POST', 'login', { body: { password: 'x' } });
    assert.equal(loginNoUser.body.code, 200);
    const wrong = await rest('POST', 'login', { body: { username: uniqueUsername('ghost'), password: 'x' } });
    assert.equal(wrong.status, 404);
    assert.equal(wrong.body.code, 101);
  });

  test('an invalid session token header → 400 code 209 on any route', async () => {
    const res = await rest('GET', `classes/${uniqueClass('Tok')}`, { session: 'r:not-a-real-token' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 209);
  });
});

describe('keys and auth', () => {
  test('an unknown application id → 403 {"error":"unauthorized"}', async () => {
    const res = await rest('GET', `classes/${uniqueClass('Auth')}`, { headers: { 'X-Parse-Application-Id': `wrong-${APP_ID}` } });
    assert.equal(res.status, 403);
    assert.deepEqual(res.body, { error: 'unauthorized' });
  });

  test('no application id at all → 403', async () => {
    const res = await fetch(`${SERVER_URL}/classes/${uniqueClass('Auth')}`);
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), { error: 'unauthorized' });
  });

  test('a wrong JavaScript key → 403 (only when the server has one)', { skip: !JS_KEY && 'PARSE_JS_KEY is empty' }, async () => {
    const res = await rest('GET', `classes/${uniqueClass('Auth')}`, { headers: { 'X-Parse-Javascript-Key': `wrong-${JS_KEY}` } });
    assert.equal(res.status, 403);
  });

  test('master-only routes: 403 without the master key, 200 with it', async () => {
    const denied = await rest('GET', 'schemas');
    assert.equal(denied.status, 403);
    const ok = await rest('GET', 'schemas', { master: true });
    assert.equal(ok.status, 200);
    assert.ok(Array.isArray(ok.body.results));
    assert.ok(ok.body.results.some((s) => s.className === '_User'));
  });

  test('the master key in the header bypasses ACLs', async () => {
    const cls = uniqueClass('Secret');
    const made = await rest('POST', `classes/${cls}`, { body: { s: 1, ACL: {} } });
    assert.equal(made.status, 201);
    const anon = await rest('GET', `classes/${cls}/${made.body.objectId}`);
    assert.equal(anon.status, 404);
    const master = await rest('GET', `classes/${cls}/${made.body.objectId}`, { master: true });
    assert.equal(master.status, 200);
    assert.equal(master.body.s, 1);
    assert.deepEqual(master.body.ACL, {});
  });

  test('GET /health needs no keys', async () => {
    const res = await fetch(`${SERVER_URL}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });
});

describe('the JS envelope by hand (POST, text/plain, _method)', () => {
  const envelope = (extra) =>
    JSON.stringify({
      ...extra,
      _ApplicationId: APP_ID,
      ...(JS_KEY ? { _JavaScriptKey: JS_KEY } : {}),
      _ClientVersion: 'js8.6.2',
      _InstallationId: randomUUID(),
    });
  const send = async (path, extra) => {
    const res = await fetch(`${SERVER_URL}/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: envelope(extra),
    });
    return { status: res.status, body: await res.json(), headers: res.headers };
  };

  test('create, find, update, delete', async () => {
    const cls = uniqueClass('Env');
    const created = await send(`classes/${cls}`, { v: 1 });
    assert.equal(created.status, 201);
    const id = created.body.objectId;
    const found = await send(`classes/${cls}`, { _method: 'GET', where: { v: 1 }, limit: 10 });
    assert.equal(found.status, 200);
    assert.deepEqual(found.body.results.map((r) => r.objectId), [id]);
    const whereString = await send(`classes/${cls}`, { _method: 'GET', where: JSON.stringify({ v: 1 }) });
    assert.deepEqual(whereString.body.results.map((r) => r.objectId), [id]);
    const updated = await send(`classes/${cls}/${id}`, { _method: 'PUT', v: 2 });
    assert.equal(updated.status, 200);
    assert.ok(updated.body.updatedAt);
    const got = await send(`classes/${cls}/${id}`, { _method: 'GET' });
    assert.equal(got.body.v, 2);
    const deleted = await send(`classes/${cls}/${id}`, { _method: 'DELETE' });
    assert.equal(deleted.status, 200);
    const gone = await send(`classes/${cls}/${id}`, { _method: 'GET' });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 101);
  });

  test('_MasterKey in the body acts as the master key', async () => {
    const res = await send('schemas', { _method: 'GET', _MasterKey: MASTER_KEY });
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.body.results));
  });

  test('a wrong _ApplicationId → 403', async () => {
    const res = await fetch(`${SERVER_URL}/classes/${uniqueClass('Env')}`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify({ _method: 'GET', _ApplicationId: `wrong-${APP_ID}` }),
    });
    assert.equal(res.status, 403);
  });
});

describe('CORS', () => {
  test('preflight OPTIONS → 200/204 with Access-Control-Allow-* headers', async () => {
    const res = await fetch(`${SERVER_URL}/classes/${uniqueClass('Cors')}`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://localhost:5173',
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'x-parse-application-id, x-parse-session-token, content-type',
      },
    });
    assert.ok([200, 204].includes(res.status), `status ${res.status}`);
    const origin = res.headers.get('access-control-allow-origin');
    assert.ok(origin === '*' || origin === 'http://localhost:5173', `allow-origin ${origin}`);
    const methods = (res.headers.get('access-control-allow-methods') || '').toUpperCase();
    for (const m of ['GET', 'POST', 'PUT', 'DELETE']) assert.ok(methods.includes(m), `allow-methods has ${m}: ${methods}`);
    const allowed = (res.headers.get('access-control-allow-headers') || '').toLowerCase();
    for (const h of ['x-parse-application-id', 'x-parse-session-token', 'content-type']) {
      assert.ok(allowed.includes(h), `allow-headers has ${h}: ${allowed}`);
    }
  });

  test('ordinary responses carry Access-Control-Allow-Origin', async () => {
    const res = await rest('GET', `classes/${uniqueClass('Cors')}`, { headers: { Origin: 'http://localhost:5173' } });
    assert.equal(res.status, 200);
    const origin = res.headers.get('access-control-allow-origin');
    assert.ok(origin === '*' || origin === 'http://localhost:5173');
    // errors too
    const err = await rest('GET', `classes/${uniqueClass('Cors')}/nothere123`, { headers: { Origin: 'http://localhost:5173' } });
    assert.equal(err.status, 404);
    assert.ok(err.headers.get('access-control-allow-origin'));
  });
});
