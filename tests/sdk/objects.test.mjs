// Objects through the SDK: create/read/update/delete, 201 vs 200, every
// storable type, field operations and relations.
import { describe, test, before } from 'node:test';
import {
  assert,
  initParse,
  uniqueClass,
  rejectsWithCode,
  createUserRest,
  rand,
  pointer,
} from './helpers.mjs';

const Parse = initParse();

describe('object CRUD', () => {
  const cls = uniqueClass('Obj');

  test('save of a new object gets an id, dates and existed() === false (201)', async () => {
    const obj = new Parse.Object(cls);
    assert.equal(obj.existed(), false);
    assert.equal(obj.id, undefined);
    obj.set('title', 'first');
    const returned = await obj.save();
    assert.equal(returned, obj);
    assert.match(obj.id, /^[A-Za-z0-9]{10}$/);
    assert.ok(obj.createdAt instanceof Date);
    assert.ok(obj.updatedAt instanceof Date);
    assert.equal(obj.updatedAt.getTime(), obj.createdAt.getTime());
    assert.ok(Math.abs(Date.now() - obj.createdAt.getTime()) < 5 * 60 * 1000, 'createdAt near now');
    assert.equal(obj.existed(), false, 'a create answers 201, so existed() is false');
    assert.equal(obj.dirty(), false);
  });

  test('update of an existing object answers 200 (existed() === true) and bumps updatedAt', async () => {
    const obj = await new Parse.Object(cls).save({ title: 'before' });
    const created = obj.createdAt.getTime();
    await new Promise((r) => setTimeout(r, 15));
    obj.set('title', 'after');
    await obj.save();
    assert.equal(obj.existed(), true, 'an update answers 200, so existed() is true');
    assert.equal(obj.createdAt.getTime(), created);
    assert.ok(obj.updatedAt.getTime() > created, 'updatedAt moves forward');
    const fresh = await new Parse.Query(cls).get(obj.id);
    assert.equal(fresh.get('title'), 'after');
    assert.equal(fresh.updatedAt.getTime(), obj.updatedAt.getTime());
    assert.equal(fresh.existed(), true);
  });

  test('fetch() reloads server state into a pointer', async () => {
    const obj = await new Parse.Object(cls).save({ title: 'fetch-me', n: 7 });
    const ptr = pointer(cls, obj.id);
    assert.equal(ptr.get('title'), undefined);
    assert.equal(ptr.isDataAvailable(), false);
    await ptr.fetch();
    assert.equal(ptr.isDataAvailable(), true);
    assert.equal(ptr.get('title'), 'fetch-me');
    assert.equal(ptr.get('n'), 7);
    assert.equal(ptr.createdAt.getTime(), obj.createdAt.getTime());
  });

  test('destroy() removes the object: get and fetch then fail with 101', async () => {
    const obj = await new Parse.Object(cls).save({ title: 'doomed' });
    const id = obj.id;
    await obj.destroy();
    await rejectsWithCode(new Parse.Query(cls).get(id), Parse.Error.OBJECT_NOT_FOUND);
    await rejectsWithCode(pointer(cls, id).fetch(), Parse.Error.OBJECT_NOT_FOUND);
    // destroying it again is also "not found"
    await rejectsWithCode(pointer(cls, id).destroy(), Parse.Error.OBJECT_NOT_FOUND);
  });

  test('updating a deleted object fails with 101', async () => {
    const obj = await new Parse.Object(cls).save({ title: 'gone' });
    await pointer(cls, obj.id).destroy();
    obj.set('title', 'zombie');
    await rejectsWithCode(obj.save(), Parse.Error.OBJECT_NOT_FOUND);
  });

});

describe('field types round-trip', () => {
  const cls = uniqueClass('Types');
  const targetCls = uniqueClass('Target');
  let target;
  let saved;
  const when = new Date('2025-01-02T03:04:05.678Z');
  const nested = {
    s: 'x',
    n: 1.5,
    b: false,
    nil: null,
    list: [1, 'two', { three: 3 }],
    deep: { deeper: { deepest: 'ü✓' } },
  };

  before(async () => {
    target = await new Parse.Object(targetCls).save({ name: 'the target' });
    const obj = new Parse.Object(cls);
    obj.set('str', 'héllo "world" \n ✓');
    obj.set('emptyStr', '');
    obj.set('int', 42);
    obj.set('neg', -17);
    obj.set('float', 3.25);
    obj.set('big', 2 ** 40);
    obj.set('zero', 0);
    obj.set('yes', true);
    obj.set('no', false);
    obj.set('when', when);
    obj.set('obj', nested);
    obj.set('arr', [1, 'a', true, null, { k: 'v' }, [2, 3]]);
    obj.set('emptyArr', []);
    obj.set('dates', [when]);
    obj.set('ptr', target);
    obj.set('ptrs', [target]);
    obj.relation('rel').add(target);
    saved = await obj.save();
  });

  async function reload() {
    return new Parse.Query(cls).get(saved.id);
  }

  test('String', async () => {
    const o = await reload();
    assert.equal(o.get('str'), 'héllo "world" \n ✓');
    assert.equal(o.get('emptyStr'), '');
  });

  test('Number (integers, negatives, floats, 2^40, zero)', async () => {
    const o = await reload();
    assert.equal(o.get('int'), 42);
    assert.equal(o.get('neg'), -17);
    assert.equal(o.get('float'), 3.25);
    assert.equal(o.get('big'), 2 ** 40);
    assert.equal(o.get('zero'), 0);
  });

  test('Boolean (true and false)', async () => {
    const o = await reload();
    assert.equal(o.get('yes'), true);
    assert.equal(o.get('no'), false);
  });

  test('Date keeps millisecond precision', async () => {
    const o = await reload();
    assert.ok(o.get('when') instanceof Date);
    assert.equal(o.get('when').toISOString(), '2025-01-02T03:04:05.678Z');
  });

  test('Object (nested, with null and unicode)', async () => {
    const o = await reload();
    assert.deepEqual(o.get('obj'), nested);
  });

  test('Array (mixed values, nested arrays, Dates and Pointers inside)', async () => {
    const o = await reload();
    assert.deepEqual(o.get('arr'), [1, 'a', true, null, { k: 'v' }, [2, 3]]);
    assert.deepEqual(o.get('emptyArr'), []);
    const dates = o.get('dates');
    assert.ok(dates[0] instanceof Date);
    assert.equal(dates[0].toISOString(), when.toISOString());
    const ptrs = o.get('ptrs');
    assert.equal(ptrs.length, 1);
    assert.ok(ptrs[0] instanceof Parse.Object);
    assert.equal(ptrs[0].className, targetCls);
    assert.equal(ptrs[0].id, target.id);
  });

  test('Pointer comes back as an unfetched object of the target class', async () => {
    const o = await reload();
    const p = o.get('ptr');
    assert.ok(p instanceof Parse.Object);
    assert.equal(p.className, targetCls);
    assert.equal(p.id, target.id);
    assert.equal(p.get('name'), undefined, 'not included, so no data');
    await p.fetch();
    assert.equal(p.get('name'), 'the target');
  });

  test('Relation field is a Parse.Relation whose query finds the related object', async () => {
    const o = await reload();
    const rel = o.relation('rel');
    assert.ok(rel instanceof Parse.Relation);
    assert.equal(rel.targetClassName, targetCls);
    const found = await rel.query().find();
    assert.deepEqual(found.map((x) => x.id), [target.id]);
    assert.equal(found[0].get('name'), 'the target');
  });

  test('fetched objects carry className, id, createdAt and updatedAt', async () => {
    const o = await reload();
    assert.equal(o.className, cls);
    assert.equal(o.id, saved.id);
    assert.equal(o.createdAt.getTime(), saved.createdAt.getTime());
    assert.equal(o.updatedAt.getTime(), saved.updatedAt.getTime());
  });

  test('setting a field to null stores null; unset removes it', async () => {
    const o = await reload();
    o.set('str', null);
    o.unset('int');
    await o.save();
    const again = await reload();
    // parse-server on Postgres omits null columns; on Mongo it returns null.
    assert.equal(again.get('str') ?? null, null);
    assert.equal(again.has('int'), false);
    assert.equal(again.get('int'), undefined);
    assert.equal(again.get('neg'), -17, 'other fields untouched');
  });
});

describe('ACL', () => {
  const cls = uniqueClass('Acl');
  let alice;
  let bob;

  before(async () => {
    alice = await createUserRest('alice');
    bob = await createUserRest('bob');
  });

  test('ACL round-trips and an owner-only object is invisible to others', async () => {
    const acl = new Parse.ACL();
    acl.setReadAccess(alice.id, true);
    acl.setWriteAccess(alice.id, true);
    acl.setRoleReadAccess('Managers', true);
    const obj = new Parse.Object(cls);
    obj.set('secret', 'only alice');
    obj.setACL(acl);
    await obj.save(null, { sessionToken: alice.sessionToken });

    const mine = await new Parse.Query(cls).get(obj.id, { sessionToken: alice.sessionToken });
    assert.equal(mine.get('secret'), 'only alice');
    const gotAcl = mine.getACL();
    assert.ok(gotAcl instanceof Parse.ACL);
    assert.equal(gotAcl.getReadAccess(alice.id), true);
    assert.equal(gotAcl.getWriteAccess(alice.id), true);
    assert.equal(gotAcl.getRoleReadAccess('Managers'), true);
    assert.equal(gotAcl.getRoleWriteAccess('Managers'), false);
    assert.equal(gotAcl.getPublicReadAccess(), false);
    assert.equal(gotAcl.getReadAccess(bob.id), false);

    // Bob: get is "not found", find filters it out.
    await rejectsWithCode(
      new Parse.Query(cls).get(obj.id, { sessionToken: bob.sessionToken }),
      Parse.Error.OBJECT_NOT_FOUND,
    );
    const bobFinds = await new Parse.Query(cls).find({ sessionToken: bob.sessionToken });
    assert.equal(bobFinds.length, 0);
    // Anonymous: same.
    assert.equal((await new Parse.Query(cls).find()).length, 0);
    await rejectsWithCode(new Parse.Query(cls).get(obj.id), Parse.Error.OBJECT_NOT_FOUND);
    // Master key sees everything.
    const master = await new Parse.Query(cls).get(obj.id, { useMasterKey: true });
    assert.equal(master.get('secret'), 'only alice');
  });

  test('public-read object is readable but not writable by others', async () => {
    const acl = new Parse.ACL();
    acl.setPublicReadAccess(true);
    acl.setWriteAccess(alice.id, true);
    const obj = await new Parse.Object(cls, { label: 'shared' }).save({ ACL: acl }, { sessionToken: alice.sessionToken });

    const asBob = await new Parse.Query(cls).get(obj.id, { sessionToken: bob.sessionToken });
    assert.equal(asBob.get('label'), 'shared');
    asBob.set('label', 'hacked');
    await rejectsWithCode(asBob.save(null, { sessionToken: bob.sessionToken }), Parse.Error.OBJECT_NOT_FOUND);
    await rejectsWithCode(asBob.destroy({ sessionToken: bob.sessionToken }), Parse.Error.OBJECT_NOT_FOUND);
    const check = await new Parse.Query(cls).get(obj.id, { useMasterKey: true });
    assert.equal(check.get('label'), 'shared');

    // Alice can write.
    const asAlice = await new Parse.Query(cls).get(obj.id, { sessionToken: alice.sessionToken });
    asAlice.set('label', 'edited');
    await asAlice.save(null, { sessionToken: alice.sessionToken });
    assert.equal((await new Parse.Query(cls).get(obj.id)).get('label'), 'edited');
  });

  test('an object saved without an ACL is publicly readable and writable', async () => {
    const obj = await new Parse.Object(cls).save({ label: 'open' }, { sessionToken: alice.sessionToken });
    const asBob = await new Parse.Query(cls).get(obj.id, { sessionToken: bob.sessionToken });
    assert.equal(asBob.getACL(), null);
    asBob.set('label', 'bob was here');
    await asBob.save(null, { sessionToken: bob.sessionToken });
    assert.equal((await new Parse.Query(cls).get(obj.id)).get('label'), 'bob was here');
    await asBob.destroy();
    await rejectsWithCode(new Parse.Query(cls).get(obj.id, { useMasterKey: true }), Parse.Error.OBJECT_NOT_FOUND);
  });
});

describe('field operations', () => {
  const cls = uniqueClass('Ops');

  test('increment and decrement (including on create and by fractions)', async () => {
    const obj = new Parse.Object(cls);
    obj.increment('count'); // on a new object: starts from 0
    await obj.save();
    assert.equal(obj.get('count'), 1);
    obj.increment('count', 10);
    await obj.save();
    assert.equal(obj.get('count'), 11);
    obj.decrement('count', 3);
    await obj.save();
    assert.equal(obj.get('count'), 8);
    obj.increment('count', 0.5);
    await obj.save();
    assert.equal(obj.get('count'), 8.5);
    const fresh = await new Parse.Query(cls).get(obj.id);
    assert.equal(fresh.get('count'), 8.5);
  });

  test('increments from two stale copies are atomic on the server', async () => {
    const obj = await new Parse.Object(cls).save({ hits: 0 });
    const a = pointer(cls, obj.id);
    const b = pointer(cls, obj.id);
    a.increment('hits', 2);
    b.increment('hits', 5);
    await Promise.all([a.save(), b.save()]);
    const fresh = await new Parse.Query(cls).get(obj.id);
    assert.equal(fresh.get('hits'), 7);
    // each save response echoes the value the server computed
    const echoed = [a.get('hits'), b.get('hits')].sort((x, y) => x - y);
    assert.equal(echoed[1], 7, 'the later save sees both increments');
    assert.ok(echoed[0] === 2 || echoed[0] === 5, `the earlier save sees only its own: ${echoed}`);
  });

  test('increment on a field that was never set starts from zero', async () => {
    const obj = await new Parse.Object(cls).save({ other: 1 });
    obj.increment('fresh', 4);
    await obj.save();
    assert.equal((await new Parse.Query(cls).get(obj.id)).get('fresh'), 4);
  });

  test('increment on dotted keys inside an Object field (four levels, missing sub-keys created)', async () => {
    const obj = await new Parse.Object(cls).save({ stats: { views: 1, label: 'k', a: { b: { x: 2 } } } });
    obj.increment('stats.views');
    obj.increment('stats.a.b.c', 3); // c does not exist yet
    obj.decrement('stats.a.b.x');
    await obj.save();
    const want = { views: 2, label: 'k', a: { b: { x: 1, c: 3 } } };
    assert.deepEqual(obj.get('stats'), want);
    assert.deepEqual((await new Parse.Query(cls).get(obj.id)).get('stats'), want);
    obj.increment('stats.a.b.y.z', 0.5);
    obj.unset('stats.label');
    await obj.save();
    const fresh = await new Parse.Query(cls).get(obj.id);
    assert.deepEqual(fresh.get('stats'), { views: 2, a: { b: { x: 1, c: 3, y: { z: 0.5 } } } });
  });

  test('dotted increments from two stale copies are atomic on the server', async () => {
    const obj = await new Parse.Object(cls).save({ stats: { hits: 0, other: 'kept' } });
    const a = pointer(cls, obj.id);
    const b = pointer(cls, obj.id);
    a.increment('stats.hits', 2);
    b.increment('stats.hits', 5);
    b.increment('stats.deep.n', 1);
    await Promise.all([a.save(), b.save()]);
    const fresh = await new Parse.Query(cls).get(obj.id);
    assert.deepEqual(fresh.get('stats'), { hits: 7, other: 'kept', deep: { n: 1 } });
  });

  test('add / addAll append to an array (duplicates kept)', async () => {
    const obj = await new Parse.Object(cls).save({ tags: ['a'] });
    obj.add('tags', 'b');
    await obj.save();
    obj.addAll('tags', ['a', 'c']);
    await obj.save();
    const fresh = await new Parse.Query(cls).get(obj.id);
    assert.deepEqual(fresh.get('tags'), ['a', 'b', 'a', 'c']);
  });

  test('add on a field that was never set creates the array', async () => {
    const obj = await new Parse.Object(cls).save({ other: 1 });
    obj.add('list', 1);
    await obj.save();
    assert.deepEqual((await new Parse.Query(cls).get(obj.id)).get('list'), [1]);
  });

  test('addUnique / addAllUnique skip values already present', async () => {
    const obj = await new Parse.Object(cls).save({ uniq: ['x', 'y'] });
    const stale = pointer(cls, obj.id);
    stale.addUnique('uniq', 'x');
    await stale.save();
    stale.addAllUnique('uniq', ['y', 'z', 'z']);
    await stale.save();
    const fresh = await new Parse.Query(cls).get(obj.id);
    assert.deepEqual(fresh.get('uniq'), ['x', 'y', 'z']);
  });

  test('addUnique compares objects by value (pointers by id)', async () => {
    const other = await new Parse.Object(cls).save({ other: 2 });
    const obj = await new Parse.Object(cls).save({ refs: [other] });
    const stale = pointer(cls, obj.id);
    stale.addUnique('refs', pointer(cls, other.id));
    await stale.save();
    const fresh = await new Parse.Query(cls).get(obj.id);
    assert.deepEqual(fresh.get('refs').map((p) => p.id), [other.id]);
  });

  test('remove / removeAll delete every occurrence of the values', async () => {
    const obj = await new Parse.Object(cls).save({ items: ['a', 'b', 'a', 'c', 1, 2] });
    const stale = pointer(cls, obj.id);
    stale.remove('items', 'a');
    await stale.save();
    stale.removeAll('items', ['c', 2, 'not-there']);
    await stale.save();
    const fresh = await new Parse.Query(cls).get(obj.id);
    assert.deepEqual(fresh.get('items'), ['b', 1]);
  });

  test('unset deletes a field on the server', async () => {
    const obj = await new Parse.Object(cls).save({ gone: 'soon', kept: 'yes' });
    const stale = pointer(cls, obj.id);
    stale.unset('gone');
    await stale.save();
    const fresh = await new Parse.Query(cls).get(obj.id);
    assert.equal(fresh.has('gone'), false);
    assert.equal(fresh.get('kept'), 'yes');
    const withField = await new Parse.Query(cls).equalTo('objectId', obj.id).exists('gone').find();
    assert.equal(withField.length, 0);
  });

  test('dotted keys set one sub-key of an Object field', async () => {
    const obj = await new Parse.Object(cls).save({ meta: { a: 1, b: { c: 2 } } });
    const stale = pointer(cls, obj.id);
    stale.set('meta.b', { c: 3 });
    await stale.save();
    const fresh = await new Parse.Query(cls).get(obj.id);
    assert.deepEqual(fresh.get('meta'), { a: 1, b: { c: 3 } });
  });
});

describe('relations', () => {
  const ownerCls = uniqueClass('Team');
  const memberCls = uniqueClass('Member');
  let members;

  before(async () => {
    members = await Parse.Object.saveAll(
      ['ann', 'ben', 'cid', 'dee'].map((name) => new Parse.Object(memberCls, { name })),
    );
  });

  const names = (list) => list.map((o) => o.get('name')).sort();

  test('relation.add then relation.query() finds the members', async () => {
    const team = new Parse.Object(ownerCls, { name: `team-${rand(4)}` });
    team.relation('members').add([members[0], members[1]]);
    await team.save();
    const found = await team.relation('members').query().find();
    assert.deepEqual(names(found), ['ann', 'ben']);
    // a freshly loaded owner works the same way
    const fresh = await new Parse.Query(ownerCls).get(team.id);
    const again = await fresh.relation('members').query().find();
    assert.deepEqual(names(again), ['ann', 'ben']);
  });

  test('relation.remove drops a member; adding twice keeps one link', async () => {
    const team = new Parse.Object(ownerCls, { name: 'removal' });
    team.relation('members').add([members[0], members[1], members[2]]);
    await team.save();
    team.relation('members').add(members[0]);
    await team.save();
    team.relation('members').remove(members[1]);
    await team.save();
    const found = await team.relation('members').query().find();
    assert.deepEqual(names(found), ['ann', 'cid']);
  });

  test('add and remove in one save (Batch op)', async () => {
    const team = new Parse.Object(ownerCls, { name: 'batch-op' });
    team.relation('members').add([members[0], members[1]]);
    await team.save();
    const rel = team.relation('members');
    rel.add(members[3]);
    rel.remove(members[0]);
    await team.save();
    const found = await team.relation('members').query().find();
    assert.deepEqual(names(found), ['ben', 'dee']);
  });

  test('relation.query() can be constrained and counted', async () => {
    const team = new Parse.Object(ownerCls, { name: 'constrained' });
    team.relation('members').add(members);
    await team.save();
    const q = team.relation('members').query();
    q.startsWith('name', 'c');
    const found = await q.find();
    assert.deepEqual(names(found), ['cid']);
    assert.equal(await team.relation('members').query().count(), 4);
  });

  test('relations are per owner', async () => {
    const t1 = new Parse.Object(ownerCls, { name: 't1' });
    const t2 = new Parse.Object(ownerCls, { name: 't2' });
    t1.relation('members').add(members[0]);
    t2.relation('members').add(members[3]);
    await Parse.Object.saveAll([t1, t2]);
    assert.deepEqual(names(await t1.relation('members').query().find()), ['ann']);
    assert.deepEqual(names(await t2.relation('members').query().find()), ['dee']);
  });
});
