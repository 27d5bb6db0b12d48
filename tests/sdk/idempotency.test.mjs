// Idempotency (X-Parse-Request-Id). With Parse.idempotency = true the SDK
// gives every request a UUID and re-sends the same id when it retries after a
// 5xx. parsecrm stores the first response and REPLAYS it for a repeated id, so
// a retried create returns the same objectId. parse-server instead answers
// 400 {"code":159,"error":"Duplicate request"} (the write still happened
// once). With PEER=1 the tests assert parse-server's answer; without it,
// parsecrm's replay. Both must write only once.
//
// parse-server needs idempotencyOptions: { paths: ['.*'] } for this.
import { describe, test, before, after } from 'node:test';
import { randomUUID } from 'node:crypto';
import { assert, initParse, uniqueClass, rest, PEER, SERVER_URL, APP_ID, JS_KEY } from './helpers.mjs';

const Parse = initParse();

const countIn = async (cls, build = (q) => q) => build(new Parse.Query(cls)).count();

describe('SDK retry after a lost response', () => {
  const realFetch = globalThis.fetch;
  before(() => {
    Parse.idempotency = true;
  });
  after(() => {
    Parse.idempotency = false;
    globalThis.fetch = realFetch;
  });

  test('a save whose first response is lost is retried with the same request id', async () => {
    const cls = uniqueClass('Idem');
    await new Parse.Object(cls, { label: 'warm-up' }).save(); // class exists before the test
    const calls = [];
    let firstBody;
    globalThis.fetch = async (url, init) => {
      const isCreate = String(url).endsWith(`/classes/${cls}`) && !String(init.body).includes('"_method"');
      if (!isCreate) return realFetch(url, init);
      calls.push({ requestId: init.headers['X-Parse-Request-Id'], body: init.body });
      const res = await realFetch(url, init);
      if (calls.length === 1) {
        // The server did the work; pretend the answer never arrived.
        firstBody = await res.json();
        return new Response(JSON.stringify({ code: 1, message: 'Internal server error.' }), {
          status: 503,
          headers: { 'Content-Type': 'application/json' },
        });
      }
      return res;
    };
    const obj = new Parse.Object(cls, { label: 'retried' });
    let error;
    try {
      await obj.save();
    } catch (e) {
      error = e;
    } finally {
      globalThis.fetch = realFetch;
    }
    assert.equal(calls.length, 2, 'the SDK retried once');
    assert.match(calls[0].requestId, /^[0-9a-f-]{36}$/);
    assert.equal(calls[1].requestId, calls[0].requestId, 'the retry carries the same X-Parse-Request-Id');
    assert.equal(calls[1].body, calls[0].body);
    assert.ok(firstBody.objectId, 'the first attempt created the object');
    assert.equal(await countIn(cls, (q) => q.equalTo('label', 'retried')), 1, 'written exactly once');
    if (PEER) {
      assert.equal(error?.code, Parse.Error.DUPLICATE_REQUEST, 'parse-server: 159 Duplicate request');
    } else {
      assert.equal(error, undefined, `the retry must succeed, got ${error?.code} ${error?.message}`);
      assert.equal(obj.id, firstBody.objectId, 'the replayed response carries the first objectId');
      assert.equal(obj.createdAt.toISOString(), firstBody.createdAt);
      assert.equal(obj.existed(), false, 'the replay is the original 201');
    }
  });

  test('distinct saves get distinct request ids and distinct objects', async () => {
    const cls = uniqueClass('IdemDistinct');
    const ids = [];
    globalThis.fetch = async (url, init) => {
      if (String(url).endsWith(`/classes/${cls}`)) ids.push(init.headers['X-Parse-Request-Id']);
      return realFetch(url, init);
    };
    try {
      const a = await new Parse.Object(cls, { v: 1 }).save();
      const b = await new Parse.Object(cls, { v: 1 }).save();
      assert.notEqual(a.id, b.id);
    } finally {
      globalThis.fetch = realFetch;
    }
    assert.equal(ids.length, 2);
    assert.notEqual(ids[0], ids[1]);
    assert.equal(await countIn(cls), 2);
  });
});

describe('raw requests repeated with the same X-Parse-Request-Id', () => {
  test('POST /classes twice (REST headers): one object, same objectId', async () => {
    const cls = uniqueClass('IdemRest');
    const requestId = randomUUID();
    const headers = { 'X-Parse-Request-Id': requestId };
    const first = await rest('POST', `classes/${cls}`, { body: { v: 1 }, headers });
    assert.equal(first.status, 201);
    const second = await rest('POST', `classes/${cls}`, { body: { v: 1 }, headers });
    assert.equal(await countIn(cls), 1, 'written exactly once');
    if (PEER) {
      assert.equal(second.status, 400);
      assert.deepEqual(second.body, { code: 159, error: 'Duplicate request' });
    } else {
      assert.equal(second.status, first.status);
      assert.equal(second.body.objectId, first.body.objectId);
      assert.equal(second.body.createdAt, first.body.createdAt);
    }
  });

  test('POST twice in the JS-SDK envelope (text/plain): one object, same objectId', async () => {
    const cls = uniqueClass('IdemEnv');
    const requestId = randomUUID();
    const envelope = JSON.stringify({
      v: 2,
      _ApplicationId: APP_ID,
      ...(JS_KEY ? { _JavaScriptKey: JS_KEY } : {}),
      _ClientVersion: 'js8.6.2',
      _InstallationId: randomUUID(),
    });
    const send = async () => {
      const res = await fetch(`${SERVER_URL}/classes/${cls}`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain', 'X-Parse-Request-Id': requestId },
        body: envelope,
      });
      return { status: res.status, body: await res.json() };
    };
    const first = await send();
    assert.equal(first.status, 201);
    const second = await send();
    assert.equal(await countIn(cls), 1);
    if (PEER) {
      assert.equal(second.body.code, 159);
    } else {
      assert.equal(second.status, 201);
      assert.equal(second.body.objectId, first.body.objectId);
    }
  });

  test('PUT with an Increment twice: applied once', async () => {
    const cls = uniqueClass('IdemPut');
    const created = await rest('POST', `classes/${cls}`, { body: { n: 0 } });
    const headers = { 'X-Parse-Request-Id': randomUUID() };
    const body = { n: { __op: 'Increment', amount: 5 } };
    const first = await rest('PUT', `classes/${cls}/${created.body.objectId}`, { body, headers });
    assert.equal(first.status, 200);
    assert.equal(first.body.n, 5);
    const second = await rest('PUT', `classes/${cls}/${created.body.objectId}`, { body, headers });
    const now = await rest('GET', `classes/${cls}/${created.body.objectId}`);
    assert.equal(now.body.n, 5, 'the increment ran once');
    if (PEER) assert.equal(second.body.code, 159);
    else assert.deepEqual(second.body, first.body);
  });

  test('a new request id is a new request', async () => {
    const cls = uniqueClass('IdemNew');
    const a = await rest('POST', `classes/${cls}`, { body: { v: 1 }, headers: { 'X-Parse-Request-Id': randomUUID() } });
    const b = await rest('POST', `classes/${cls}`, { body: { v: 1 }, headers: { 'X-Parse-Request-Id': randomUUID() } });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.notEqual(a.body.objectId, b.body.objectId);
    assert.equal(await countIn(cls), 2);
  });

  test('reads are not deduplicated: a repeated GET sees new data', async () => {
    const cls = uniqueClass('IdemRead');
    await rest('POST', `classes/${cls}`, { body: { v: 1 } });
    const headers = { 'X-Parse-Request-Id': randomUUID() };
    const first = await rest('GET', `classes/${cls}`, { headers });
    assert.equal(first.status, 200);
    assert.equal(first.body.results.length, 1);
    await rest('POST', `classes/${cls}`, { body: { v: 2 } });
    const second = await rest('GET', `classes/${cls}`, { headers });
    assert.equal(second.status, 200);
    assert.equal(second.body.results.length, 2);
    // same for a find sent as POST + _method:GET in the SDK envelope
    const envelope = JSON.stringify({
      _method: 'GET',
      where: {},
      _ApplicationId: APP_ID,
      ...(JS_KEY ? { _JavaScriptKey: JS_KEY } : {}),
    });
    const find = async () => {
      const res = await fetch(`${SERVER_URL}/classes/${cls}`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain', 'X-Parse-Request-Id': headers['X-Parse-Request-Id'] },
        body: envelope,
      });
      return { status: res.status, body: await res.json() };
    };
    const third = await find();
    assert.equal(third.status, 200);
    assert.equal(third.body.results.length, 2);
    await rest('POST', `classes/${cls}`, { body: { v: 3 } });
    const fourth = await find();
    assert.equal(fourth.status, 200);
    assert.equal(fourth.body.results.length, 3);
  });
});
