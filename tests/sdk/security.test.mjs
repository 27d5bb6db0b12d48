// The CRM's permission matrix through the official SDK: anonymous, rep A, rep B, a manager and the master key,
// for every CRM class, over find / get / count / include / create / update / delete / saveAll / destroyAll.
// Each call passes an explicit sessionToken (or useMasterKey), as a multi-user server-side client would.
// parsecrm only (PEER=1 skips it: a stock parse-server has no such policy).
import { describe, test, before } from 'node:test';
import { assert, createUserRest, initParse, PEER, rejectsWithCode, rest } from './helpers.mjs';

const Parse = initParse();
const skip = PEER ? { skip: 'the CRM policy is parsecrm’s' } : {};
const CLASSES = ['Company', 'Contact', 'Deal', 'Activity'];
const NOT_FOUND = Parse.Error.OBJECT_NOT_FOUND;

function fields(cls, tag, own) {
  if (cls === 'Company') return { name: `${tag} Co` };
  if (cls === 'Contact') return { name: `${tag} Person`, company: own.Company };
  if (cls === 'Deal') return { title: `${tag} Deal`, amount: 5, company: own.Company, contact: own.Contact };
  return { type: 'note', subject: `${tag} note`, relatedTo: own.Deal };
}

describe('CRM permission matrix through the SDK', skip, () => {
  const who = {};
  const objs = { a: {}, b: {} };
  const as = (name) => (name === 'master' ? { useMasterKey: true } : name === 'anon' ? {} : { sessionToken: who[name].sessionToken });

  before(async () => {
    for (const name of ['a', 'b', 'manager']) who[name] = await createUserRest(`sec_${name}`);
    const role = await new Parse.Query(Parse.Role).equalTo('name', 'Managers').first({ useMasterKey: true });
    role.getUsers().add(who.manager.pointer());
    await role.save(null, { useMasterKey: true });
    for (const owner of ['a', 'b']) {
      for (const cls of CLASSES) {
        const obj = new Parse.Object(cls, fields(cls, owner, objs[owner]));
        objs[owner][cls] = await obj.save(null, as(owner));
      }
    }
  });

  for (const cls of CLASSES) {
    test(`${cls}: anonymous callers get 101 on every operation`, async () => {
      await rejectsWithCode(new Parse.Query(cls).find(), NOT_FOUND);
      await rejectsWithCode(new Parse.Query(cls).count(), NOT_FOUND);
      await rejectsWithCode(new Parse.Query(cls).get(objs.a[cls].id), NOT_FOUND);
      await rejectsWithCode(new Parse.Object(cls, fields(cls, 'anon', objs.a)).save(), NOT_FOUND);
    });

    test(`${cls}: a rep finds, counts and gets only their own`, async () => {
      for (const [me, other] of [['a', 'b'], ['b', 'a']]) {
        const ids = (await new Parse.Query(cls).limit(1000).find(as(me))).map((o) => o.id);
        assert.ok(ids.includes(objs[me][cls].id));
        assert.ok(!ids.includes(objs[other][cls].id));
        await rejectsWithCode(new Parse.Query(cls).get(objs[other][cls].id, as(me)), NOT_FOUND);
        const n = await new Parse.Query(cls).equalTo('objectId', objs[other][cls].id).count(as(me));
        assert.equal(n, 0);
      }
    });

    test(`${cls}: a rep cannot change or delete another's object, alone or in a batch`, async () => {
      const theirs = Parse.Object.extend(cls).createWithoutData(objs.b[cls].id);
      theirs.set(cls === 'Activity' ? 'description' : 'notes', 'hijack');
      await rejectsWithCode(theirs.save(null, as('a')), NOT_FOUND);
      await rejectsWithCode(theirs.destroy(as('a')), NOT_FOUND);
      let failed;
      try {
        await Parse.Object.destroyAll([Parse.Object.extend(cls).createWithoutData(objs.b[cls].id)], as('a'));
      } catch (e) {
        failed = e;
      }
      assert.ok(failed, 'destroyAll of another rep’s object must fail');
      const still = await new Parse.Query(cls).get(objs.b[cls].id, { useMasterKey: true });
      assert.equal(still.get(cls === 'Activity' ? 'description' : 'notes'), undefined);
    });

    test(`${cls}: the manager and the master key see and change both reps' objects`, async () => {
      for (const caller of ['manager', 'master']) {
        const ids = (await new Parse.Query(cls).limit(1000).find(as(caller))).map((o) => o.id);
        assert.ok(ids.includes(objs.a[cls].id) && ids.includes(objs.b[cls].id), caller);
      }
      const obj = await new Parse.Query(cls).get(objs.a[cls].id, as('manager'));
      obj.set(cls === 'Activity' ? 'description' : 'notes', 'reviewed');
      await obj.save(null, as('manager'));
    });
  }

  test('include never reveals an unreadable object', async () => {
    const deal = await new Parse.Query('Deal').get(objs.a.Deal.id, as('a'));
    deal.set('company', Parse.Object.extend('Company').createWithoutData(objs.b.Company.id));
    await deal.save(null, as('a'));
    const seen = await new Parse.Query('Deal').include('company').get(objs.a.Deal.id, as('a'));
    assert.equal(seen.get('company').get('name'), undefined);
    const byManager = await new Parse.Query('Deal').include('company').get(objs.a.Deal.id, as('manager'));
    assert.equal(byManager.get('company').get('name'), 'b Co');
  });

  test('matchesQuery does not leak through a sub-query', async () => {
    const inner = new Parse.Query('Company').equalTo('name', 'b Co');
    const found = await new Parse.Query('Contact').matchesQuery('company', inner).find(as('a'));
    assert.deepEqual(found, []);
  });

  test('saveAll of new objects works for a rep and stamps them as theirs', async () => {
    const made = await Parse.Object.saveAll(
      [1, 2, 3].map((i) => new Parse.Object('Company', { name: `bulk ${i}` })),
      as('a'),
    );
    for (const c of made) {
      const again = await new Parse.Query('Company').get(c.id, as('a'));
      assert.equal(again.get('createdBy').id, who.a.id);
      await rejectsWithCode(new Parse.Query('Company').get(c.id, as('b')), NOT_FOUND);
    }
  });

  test('a logged-out token is refused everywhere with 209', async () => {
    const u = await createUserRest('sec_out');
    const out = await rest('POST', 'logout', { session: u.sessionToken });
    assert.equal(out.status, 200);
    await rejectsWithCode(new Parse.Query('Deal').find({ sessionToken: u.sessionToken }), Parse.Error.INVALID_SESSION_TOKEN);
  });
});
