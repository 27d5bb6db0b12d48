// Parse.Config. The config is global to the app and other test files may run
// at the same time, so every key used here is unique to this run.
import { describe, test } from 'node:test';
import { assert, initParse, rand, rest } from './helpers.mjs';

const Parse = initParse();
const k = (name) => `${name}_${rand(8)}`;

describe('Parse.Config', () => {
  test('save (master key) then get returns the values with their types', async () => {
    const keys = { s: k('s'), n: k('n'), b: k('b'), d: k('d'), o: k('o'), a: k('a') };
    const when = new Date('2024-02-29T10:20:30.400Z');
    await Parse.Config.save({
      [keys.s]: 'hello',
      [keys.n]: 12.5,
      [keys.b]: false,
      [keys.d]: when,
      [keys.o]: { nested: { x: [1, 2] } },
      [keys.a]: ['a', 1, true],
    });
    const config = await Parse.Config.get();
    assert.ok(config instanceof Parse.Config);
    assert.equal(config.get(keys.s), 'hello');
    assert.equal(config.get(keys.n), 12.5);
    assert.equal(config.get(keys.b), false);
    assert.ok(config.get(keys.d) instanceof Date);
    assert.equal(config.get(keys.d).toISOString(), when.toISOString());
    assert.deepEqual(config.get(keys.o), { nested: { x: [1, 2] } });
    assert.deepEqual(config.get(keys.a), ['a', 1, true]);
    assert.equal(config.get(k('missing')), undefined);
    // current() is the last fetched config, without a request
    assert.equal(Parse.Config.current().get(keys.s), 'hello');
  });

  test('save merges with existing parameters and can overwrite one', async () => {
    const a = k('first');
    const b = k('second');
    await Parse.Config.save({ [a]: 1 });
    await Parse.Config.save({ [b]: 2 });
    let config = await Parse.Config.get();
    assert.equal(config.get(a), 1);
    assert.equal(config.get(b), 2);
    await Parse.Config.save({ [a]: 'changed' });
    config = await Parse.Config.get();
    assert.equal(config.get(a), 'changed');
    assert.equal(config.get(b), 2);
  });

  test('master-key-only parameters are hidden from clients', async () => {
    const open = k('open');
    const secret = k('secret');
    await Parse.Config.save({ [open]: 'everyone', [secret]: 'masters only' }, { [secret]: true });
    const asClient = await Parse.Config.get();
    assert.equal(asClient.get(open), 'everyone');
    assert.equal(asClient.get(secret), undefined);
    const asMaster = await Parse.Config.get({ useMasterKey: true });
    assert.equal(asMaster.get(secret), 'masters only');
    assert.equal(asMaster.get(open), 'everyone');
  });

  test('REST: GET /config shape, and PUT /config needs the master key', async () => {
    const key = k('rest');
    await Parse.Config.save({ [key]: 'via sdk' });
    const got = await rest('GET', 'config');
    assert.equal(got.status, 200);
    assert.equal(typeof got.body.params, 'object');
    assert.equal(got.body.params[key], 'via sdk');

    const denied = await rest('PUT', 'config', { body: { params: { [key]: 'hacked' } } });
    assert.equal(denied.status, 403);
    const put = await rest('PUT', 'config', { master: true, body: { params: { [key]: 'via rest' } } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, { result: true });
    assert.equal((await Parse.Config.get()).get(key), 'via rest');
  });
});
