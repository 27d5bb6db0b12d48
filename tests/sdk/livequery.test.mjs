// Live queries through the official SDK's own LiveQuery client, on the WebSocket it derives from serverURL.
// Every event type, keys/watch, unsubscribe, reconnect, and the permission cases written the way a leak happens.
// The server runs with PARSE_LIVE_QUERY_CLASSES including the Live* classes made here (tests/test_sdk.py).
// parsecrm only (PEER=1 skips it: a stock parse-server needs its own LiveQuery configuration).
import { describe, test, before, after } from 'node:test';
import { APP_ID, JS_KEY, PEER, SERVER_URL, assert, createUserRest, initParse, rand, rest } from './helpers.mjs';

const Parse = initParse();
const skip = PEER ? { skip: 'needs the server configured for live queries' } : {};
const WS_URL = SERVER_URL.replace(/^http/, 'ws'); // exactly what the SDK derives when liveQueryServerURL is unset
const clients = [];

/** A LiveQuery client acting as one user (no master key), as a browser would. */
async function clientFor(sessionToken) {
  const client = new Parse.LiveQueryClient({ applicationId: APP_ID, serverURL: WS_URL, javascriptKey: JS_KEY || undefined, sessionToken });
  clients.push(client);
  client.open();
  return client;
}

/** Subscribe and record every event as {op, object, original}; resolves once the server confirmed. */
async function watch(client, query, sessionToken) {
  const sub = client.subscribe(query, sessionToken);
  const events = [];
  const errors = []; // error events on an open subscription (e.g. its session ended)
  let refused; // the subscribe itself was refused: the ParseError
  for (const op of ['create', 'enter', 'update', 'leave', 'delete']) {
    sub.on(op, (object, second) => {
      const original = second instanceof Parse.Object ? second : undefined;
      events.push({ op, object: object.toJSON(), original: original?.toJSON() });
    });
  }
  const answered = Promise.race([sub.subscribePromise, sleep(5000).then(() => Promise.reject(new Error('no answer')))]);
  try {
    await answered;
  } catch (e) {
    refused = e;
    await sleep(250); // the SDK then emits the error on the subscription as well, 200 ms later
  }
  sub.on('error', (e) => errors.push(e));
  return { sub, events, errors, refused };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wait until `pred()` holds (events arrive asynchronously), at most 5 s. */
async function until(pred, what) {
  for (let i = 0; i < 100; i++) {
    if (pred()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function asMaster(cls, fields, acl) {
  const obj = new Parse.Object(cls, fields);
  if (acl) obj.setACL(acl);
  return obj.save(null, { useMasterKey: true });
}

async function makeClass(className, classLevelPermissions, fields) {
  const res = await rest('POST', `schemas/${className}`, { master: true, body: { className, fields, classLevelPermissions } });
  if (res.status !== 200 && res.body?.code === Parse.Error.INVALID_CLASS_NAME) {
    // a second run against the same server: the class is there, make sure it has these permissions
    const again = await rest('PUT', `schemas/${className}`, { master: true, body: { className, classLevelPermissions } });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    return;
  }
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

describe('live queries through the SDK', skip, () => {
  const who = {};

  before(async () => {
    for (const name of ['a', 'b', 'manager']) who[name] = await createUserRest(`lq_${name}`);
    const role = await new Parse.Query(Parse.Role).equalTo('name', 'Managers').first({ useMasterKey: true });
    role.getUsers().add(who.manager.pointer());
    await role.save(null, { useMasterKey: true });
  });

  after(async () => {
    for (const c of clients) await c.close();
    await Parse.LiveQuery.close(); // the default client of query.subscribe(): open sockets keep node running
  });

  test('query.subscribe() on the default client: create, update, leave, enter, delete with object and original', async () => {
    const title = `lq-${rand(6)}`;
    const query = new Parse.Query('Deal').equalTo('title', title).equalTo('stage', 'negotiation');
    const sub = await query.subscribe(); // the SDK's own client, URL derived from serverURL (master key in Node)
    const events = [];
    for (const op of ['create', 'enter', 'update', 'leave', 'delete']) {
      sub.on(op, (object, second) => events.push({ op, stage: object.get('stage'), amount: object.get('amount'), before: second instanceof Parse.Object ? second.get('stage') : undefined, id: object.id }));
    }
    await sub.subscribePromise;
    const deal = await asMaster('Deal', { title, stage: 'negotiation', amount: 1 });
    await deal.save({ amount: 2 }, { useMasterKey: true });
    await deal.save({ stage: 'won' }, { useMasterKey: true });
    await deal.save({ stage: 'negotiation' }, { useMasterKey: true });
    await deal.destroy({ useMasterKey: true });
    await until(() => events.length >= 5, 'five events');
    await sleep(200);
    assert.deepEqual(
      events.map((e) => [e.op, e.stage, e.before, e.id]),
      [
        ['create', 'negotiation', undefined, deal.id],
        ['update', 'negotiation', 'negotiation', deal.id],
        ['leave', 'won', 'negotiation', deal.id],
        ['enter', 'negotiation', 'won', deal.id],
        ['delete', 'negotiation', undefined, deal.id],
      ],
    );
    assert.equal(events[1].amount, 2);
    sub.unsubscribe();
  });

  test('keys cut object and original; watch suppresses updates of other fields', async () => {
    const title = `lq-${rand(6)}`;
    const client = await clientFor(who.a.sessionToken);
    const cut = await watch(client, new Parse.Query('Deal').equalTo('title', title).select('amount'));
    const watched = await watch(client, new Parse.Query('Deal').equalTo('title', title).watch('stage'));
    const deal = new Parse.Object('Deal', { title, amount: 1 });
    await deal.save(null, { sessionToken: who.a.sessionToken });
    await deal.save({ amount: 2 }, { sessionToken: who.a.sessionToken });
    await deal.save({ stage: 'proposal' }, { sessionToken: who.a.sessionToken });
    await until(() => cut.events.length >= 3 && watched.events.length >= 2, 'events');
    await sleep(200);
    for (const e of cut.events) {
      for (const body of [e.object, e.original].filter(Boolean)) {
        const extra = Object.keys(body).filter((k) => !['className', 'objectId', 'createdAt', 'updatedAt', 'ACL', 'amount', '__type'].includes(k));
        assert.deepEqual(extra, [], `keys must cut ${JSON.stringify(body)}`);
      }
    }
    assert.deepEqual(cut.events.map((e) => e.object.amount), [1, 2, 2]);
    // created with a stage (default lead), then only the stage change counts: the amount change is not watched
    assert.deepEqual(watched.events.map((e) => [e.op, e.object.stage]), [['create', 'lead'], ['update', 'proposal']]);
  });

  test('unsubscribe stops events', async () => {
    const title = `lq-${rand(6)}`;
    const client = await clientFor(who.a.sessionToken);
    const s = await watch(client, new Parse.Query('Deal').equalTo('title', title));
    const deal = new Parse.Object('Deal', { title });
    await deal.save(null, { sessionToken: who.a.sessionToken });
    await until(() => s.events.length === 1, 'create');
    await client.unsubscribe(s.sub); // (the subscription's own unsubscribe() always goes to the default client)
    await deal.save({ amount: 9 }, { sessionToken: who.a.sessionToken });
    await sleep(400);
    assert.equal(s.events.length, 1);
  });

  test('after a dropped connection the SDK reconnects, resubscribes and gets events again', async () => {
    const title = `lq-${rand(6)}`;
    const client = await clientFor(who.a.sessionToken);
    const s = await watch(client, new Parse.Query('Deal').equalTo('title', title));
    let reopened = 0;
    client.on('open', () => reopened++);
    client.socket.close(); // the network drops (not client.close(), which would end the client)
    await until(() => reopened >= 1, 'reconnect');
    await sleep(300); // resubscribe is sent on `connected`
    await new Parse.Object('Deal', { title }).save(null, { sessionToken: who.a.sessionToken });
    await until(() => s.events.length === 1, 'event after reconnect');
    assert.equal(s.events[0].op, 'create');
  });

  test('rep B subscribed to all deals sees nothing of rep A’s', async () => {
    const spyB = await watch(await clientFor(who.b.sessionToken), new Parse.Query('Deal'));
    const ownA = await watch(await clientFor(who.a.sessionToken), new Parse.Query('Deal'));
    const deal = new Parse.Object('Deal', { title: `secret-${rand(6)}`, amount: 1e6 });
    await deal.save(null, { sessionToken: who.a.sessionToken });
    await deal.save({ stage: 'negotiation' }, { sessionToken: who.a.sessionToken });
    await deal.destroy({ sessionToken: who.a.sessionToken, context: { cascade: true } });
    await until(() => ownA.events.filter((e) => e.object.objectId === deal.id).length === 3, 'A’s own events');
    await sleep(300);
    assert.deepEqual(spyB.events.filter((e) => e.object.objectId === deal.id), []);
    assert.deepEqual(spyB.errors, []);
  });

  test('a reassigned deal: leave for the old owner (never the new state), enter for the new one', async () => {
    const title = `lq-${rand(6)}`;
    const q = () => new Parse.Query('Deal').equalTo('title', title);
    const a = await watch(await clientFor(who.a.sessionToken), q());
    const b = await watch(await clientFor(who.b.sessionToken), q());
    const deal = new Parse.Object('Deal', { title, assignedTo: who.a.pointer() });
    await deal.save(null, { sessionToken: who.manager.sessionToken });
    await until(() => a.events.length === 1, 'A sees the create');
    await deal.save({ assignedTo: who.b.pointer(), amount: 42 }, { sessionToken: who.manager.sessionToken });
    await until(() => a.events.length === 2 && b.events.length === 1, 'leave and enter');
    const leave = a.events[1];
    assert.equal(leave.op, 'leave');
    assert.equal(leave.object.assignedTo.objectId, who.a.id, 'the old owner sees the state they could read');
    assert.notEqual(leave.object.amount, 42);
    const enter = b.events[0];
    assert.equal(enter.op, 'enter');
    assert.equal(enter.object.assignedTo.objectId, who.b.id);
    assert.equal(enter.original, undefined, 'the new owner never saw the object before');
    assert.equal(b.events.filter((e) => e.op === 'create').length, 0);
    await deal.save({ amount: 43 }, { sessionToken: who.manager.sessionToken });
    await until(() => b.events.length === 2, 'B’s update');
    await sleep(200);
    assert.equal(a.events.length, 2, 'no event for the old owner after it left');
  });

  test('a protected field never appears in object or original, and cannot be queried or watched', async () => {
    const cls = 'LiveSecret';
    await makeClass(cls, {
      find: { '*': true }, get: { '*': true }, count: { '*': true }, create: { '*': true }, update: { '*': true }, delete: { '*': true },
      addField: {}, protectedFields: { '*': ['secret'], 'userField:owner': [] },
    }, { secret: { type: 'String' }, owner: { type: 'Pointer', targetClass: '_User' }, tag: { type: 'String' } });
    const tag = rand(6);
    const b = await watch(await clientFor(who.b.sessionToken), new Parse.Query(cls).equalTo('tag', tag));
    const owner = await watch(await clientFor(who.a.sessionToken), new Parse.Query(cls).equalTo('tag', tag));
    const obj = new Parse.Object(cls, { tag, secret: 's1', owner: who.a.pointer() });
    await obj.save(null, { sessionToken: who.a.sessionToken });
    await obj.save({ secret: 's2' }, { sessionToken: who.a.sessionToken });
    await obj.save({ tag: 'other' }, { sessionToken: who.a.sessionToken });
    await until(() => b.events.length === 3 && owner.events.length === 3, 'events');
    assert.deepEqual(b.events.map((e) => e.op), ['create', 'update', 'leave']);
    for (const e of b.events) {
      assert.ok(!('secret' in e.object), `object leaks: ${JSON.stringify(e.object)}`);
      if (e.original) assert.ok(!('secret' in e.original), `original leaks: ${JSON.stringify(e.original)}`);
    }
    assert.deepEqual(owner.events.map((e) => e.object.secret), ['s1', 's2', 's2'], 'the owner sees it');
    const byValue = await watch(await clientFor(who.b.sessionToken), new Parse.Query(cls).equalTo('secret', 's2'));
    assert.equal(byValue.refused?.code, Parse.Error.OPERATION_FORBIDDEN, 'querying a protected field is refused');
    const byWatch = await watch(await clientFor(who.b.sessionToken), new Parse.Query(cls).watch('secret'));
    assert.equal(byWatch.refused?.code, Parse.Error.OPERATION_FORBIDDEN, 'watching a protected field is refused');
  });

  test('pointer permissions: only the user the pointer names gets events; moving it is leave/enter', async () => {
    const cls = 'LivePointer';
    await makeClass(cls, {
      find: { pointerFields: ['owner'] }, get: { pointerFields: ['owner'] }, count: {},
      create: { '*': true }, update: { '*': true }, delete: { '*': true }, addField: {},
    }, { owner: { type: 'Pointer', targetClass: '_User' }, tag: { type: 'String' } });
    const tag = rand(6);
    const a = await watch(await clientFor(who.a.sessionToken), new Parse.Query(cls).equalTo('tag', tag));
    const b = await watch(await clientFor(who.b.sessionToken), new Parse.Query(cls).equalTo('tag', tag));
    assert.deepEqual([a.refused, b.refused], [undefined, undefined]);
    const obj = await asMaster(cls, { tag, owner: who.a.pointer() }); // public ACL: only the CLP restricts
    await obj.save({ n: 1 }, { useMasterKey: true });
    await until(() => a.events.length === 2, 'A’s events');
    await sleep(200);
    assert.deepEqual(b.events, [], 'B is not the owner');
    await obj.save({ owner: who.b.pointer() }, { useMasterKey: true });
    await until(() => a.events.length === 3 && b.events.length === 1, 'leave and enter');
    assert.deepEqual([a.events[2].op, b.events[0].op], ['leave', 'enter']);
    assert.equal(a.events[2].object.owner.objectId, who.a.id, 'A never sees the new owner');
  });

  test('a logged-out session gets no further events', async () => {
    const cls = 'LiveOpen';
    const user = await createUserRest('lq_out');
    const tag = rand(6);
    await asMaster(cls, { tag: 'warm-up' });
    const s = await watch(await clientFor(user.sessionToken), new Parse.Query(cls).equalTo('tag', tag));
    await asMaster(cls, { tag });
    await until(() => s.events.length === 1, 'the first event');
    const out = await rest('POST', 'logout', { session: user.sessionToken });
    assert.equal(out.status, 200);
    await sleep(300);
    await asMaster(cls, { tag });
    await sleep(500);
    assert.equal(s.events.length, 1, 'no event after log-out');
    assert.equal(s.errors.length, 1, 'the subscription is told its session is gone');
  });

  test('anonymous subscriptions to an authenticated-only class are refused; sub-queries are refused clearly', async () => {
    const anon = await clientFor(undefined);
    const s = await watch(anon, new Parse.Query('Deal'));
    assert.equal(s.refused?.code, Parse.Error.OBJECT_NOT_FOUND, 'anonymous: refused as REST refuses it');
    await new Parse.Object('Deal', { title: 'x' }).save(null, { sessionToken: who.a.sessionToken });
    await sleep(300);
    assert.deepEqual(s.events, []);
    const inner = new Parse.Query('Company').equalTo('name', 'x');
    const sq = await watch(await clientFor(who.a.sessionToken), new Parse.Query('Deal').matchesQuery('company', inner));
    assert.equal(sq.refused?.code, Parse.Error.INVALID_QUERY);
    assert.match(sq.refused.message, /\$inQuery is not supported in live queries/);
    const notLive = await watch(await clientFor(who.a.sessionToken), new Parse.Query('DealStageChange'));
    assert.match(notLive.refused?.message ?? '', /not a live query class/);
  });

  test('a batch of 50 saves gives 50 create events, in order', async () => {
    const tag = rand(6);
    const s = await watch(await clientFor(who.a.sessionToken), new Parse.Query('LiveOpen').equalTo('tag', tag));
    const objs = Array.from({ length: 50 }, (_, i) => new Parse.Object('LiveOpen', { tag, i }));
    await Parse.Object.saveAll(objs, { useMasterKey: true });
    await until(() => s.events.length === 50, '50 events');
    await sleep(200);
    assert.equal(s.events.length, 50);
    assert.deepEqual(s.events.map((e) => e.object.i), objs.map((_, i) => i));
    assert.deepEqual(s.events.map((e) => e.object.objectId), objs.map((o) => o.id));
  });
});
