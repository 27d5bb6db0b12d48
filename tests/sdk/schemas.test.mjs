// Parse.Schema (always sent with the master key by the SDK).
import { describe, test } from 'node:test';
import { assert, initParse, uniqueClass, rejectsWithCode, rest, createUserRest } from './helpers.mjs';

const Parse = initParse();

const OPEN_CLP = {
  find: { '*': true },
  count: { '*': true },
  get: { '*': true },
  create: { '*': true },
  update: { '*': true },
  delete: { '*': true },
  addField: { '*': true },
  protectedFields: { '*': [] },
};

describe('Parse.Schema', () => {
  const cls = uniqueClass('Sch');

  test('save() creates a class with typed fields and an index', async () => {
    const schema = new Parse.Schema(cls);
    schema
      .addString('name', { required: true })
      .addNumber('score', { defaultValue: 7 })
      .addBoolean('active')
      .addDate('when')
      .addArray('tags')
      .addObject('meta')
      .addPointer('owner', '_User')
      .addRelation('fans', '_User')
      .addIndex('score_idx_' + cls.toLowerCase(), { score: 1 })
      .setCLP(OPEN_CLP);
    const res = await schema.save();
    assert.equal(res.className, cls);
    const f = res.fields;
    assert.deepEqual(f.objectId, { type: 'String' });
    assert.deepEqual(f.createdAt, { type: 'Date' });
    assert.deepEqual(f.updatedAt, { type: 'Date' });
    assert.deepEqual(f.ACL, { type: 'ACL' });
    assert.deepEqual(f.name, { type: 'String', required: true });
    assert.deepEqual(f.score, { type: 'Number', defaultValue: 7 });
    assert.deepEqual(f.active, { type: 'Boolean' });
    assert.deepEqual(f.when, { type: 'Date' });
    assert.deepEqual(f.tags, { type: 'Array' });
    assert.deepEqual(f.meta, { type: 'Object' });
    assert.deepEqual(f.owner, { type: 'Pointer', targetClass: '_User' });
    assert.deepEqual(f.fans, { type: 'Relation', targetClass: '_User' });
    assert.deepEqual(res.indexes['score_idx_' + cls.toLowerCase()], { score: 1 });
    assert.deepEqual(res.classLevelPermissions.find, { '*': true });
  });

  test('get() returns the stored schema', async () => {
    const res = await new Parse.Schema(cls).get();
    assert.equal(res.className, cls);
    assert.equal(res.fields.score.type, 'Number');
    assert.equal(res.fields.owner.targetClass, '_User');
    assert.ok(res.indexes['score_idx_' + cls.toLowerCase()]);
  });

  test('Parse.Schema.all() lists the class', async () => {
    const all = await Parse.Schema.all();
    const mine = all.find((s) => s.className === cls);
    assert.ok(mine, 'class listed');
    assert.equal(mine.fields.name.type, 'String');
    assert.ok(all.some((s) => s.className === '_User'), '_User is listed');
  });

  test('addField + addIndex + update() add to an existing class', async () => {
    const schema = new Parse.Schema(cls);
    schema.addField('extra', 'Boolean');
    schema.addField('nick', 'String', { defaultValue: 'anon' });
    schema.addIndex('extra_idx_' + cls.toLowerCase(), { extra: 1 });
    const res = await schema.update();
    assert.deepEqual(res.fields.extra, { type: 'Boolean' });
    assert.deepEqual(res.fields.nick, { type: 'String', defaultValue: 'anon' });
    assert.deepEqual(res.indexes['extra_idx_' + cls.toLowerCase()], { extra: 1 });
    const again = await new Parse.Schema(cls).get();
    assert.ok(again.fields.extra);
    assert.ok(again.indexes['extra_idx_' + cls.toLowerCase()]);
  });

  test('deleteField + deleteIndex + update() remove them', async () => {
    const schema = new Parse.Schema(cls);
    schema.deleteField('active');
    schema.deleteIndex('extra_idx_' + cls.toLowerCase());
    const res = await schema.update();
    assert.equal(res.fields.active, undefined);
    assert.equal(res.indexes?.['extra_idx_' + cls.toLowerCase()], undefined);
  });

  test('required fields are enforced and defaults are filled in on create', async () => {
    await rejectsWithCode(new Parse.Object(cls, { score: 1 }).save(), Parse.Error.VALIDATION_ERROR);
    const obj = await new Parse.Object(cls, { name: 'has name' }).save();
    assert.equal(obj.get('score'), 7, 'the default is echoed in the save response');
    assert.equal(obj.get('nick'), 'anon');
    const fresh = await new Parse.Query(cls).get(obj.id);
    assert.equal(fresh.get('score'), 7);
    assert.equal(fresh.get('nick'), 'anon');
    // unsetting a required field fails
    fresh.unset('name');
    await rejectsWithCode(fresh.save(), Parse.Error.VALIDATION_ERROR);
  });

  test('fields declared in the schema are type-checked', async () => {
    await rejectsWithCode(new Parse.Object(cls, { name: 'x', when: 5 }).save(), Parse.Error.INCORRECT_TYPE);
    const wrongPtr = await new Parse.Object(uniqueClass('NotUser'), { a: 1 }).save();
    await rejectsWithCode(new Parse.Object(cls, { name: 'x', owner: wrongPtr }).save(), Parse.Error.INCORRECT_TYPE);
  });

  test('changing the type of an existing field fails with 255', async () => {
    const schema = new Parse.Schema(cls);
    schema.addNumber('name');
    await rejectsWithCode(schema.update(), Parse.Error.INVALID_SCHEMA_OPERATION);
  });

  test('saving a class that exists fails with 103', async () => {
    await rejectsWithCode(new Parse.Schema(cls).addString('x').save(), Parse.Error.INVALID_CLASS_NAME);
  });

  test('get() of a class that does not exist fails with 103', async () => {
    await rejectsWithCode(new Parse.Schema(uniqueClass('Missing')).get(), Parse.Error.INVALID_CLASS_NAME);
  });

  test('delete() of a non-empty class fails with 255; purge() then delete() works', async () => {
    const tmp = uniqueClass('Tmp');
    await new Parse.Schema(tmp).addString('a').setCLP(OPEN_CLP).save();
    await new Parse.Object(tmp, { a: 'x' }).save();
    await rejectsWithCode(new Parse.Schema(tmp).delete(), Parse.Error.INVALID_SCHEMA_OPERATION);
    await new Parse.Schema(tmp).purge();
    assert.equal(await new Parse.Query(tmp).count(), 0);
    await new Parse.Schema(tmp).delete();
    await rejectsWithCode(new Parse.Schema(tmp).get(), Parse.Error.INVALID_CLASS_NAME);
  });

  test('class-level permissions set through the schema are enforced', async () => {
    const locked = uniqueClass('Locked');
    await new Parse.Schema(locked)
      .addString('a')
      .setCLP({ ...OPEN_CLP, create: {}, update: {}, delete: {}, addField: {} })
      .save();
    await rejectsWithCode(new Parse.Object(locked, { a: 'x' }).save(), Parse.Error.OPERATION_FORBIDDEN);
    const obj = await new Parse.Object(locked, { a: 'x' }).save(null, { useMasterKey: true });
    const seen = await new Parse.Query(locked).get(obj.id);
    assert.equal(seen.get('a'), 'x');
    seen.set('a', 'y');
    await rejectsWithCode(seen.save(), Parse.Error.OPERATION_FORBIDDEN);
    await rejectsWithCode(seen.destroy(), Parse.Error.OPERATION_FORBIDDEN);
    const s = await new Parse.Schema(locked).get();
    assert.deepEqual(s.classLevelPermissions.create, {});
  });

  test('requiresAuthentication CLP: anonymous callers get 101, signed-in users pass', async () => {
    const cls2 = uniqueClass('AuthOnly');
    const auth = { requiresAuthentication: true };
    await new Parse.Schema(cls2)
      .addString('a')
      .setCLP({ find: auth, count: auth, get: auth, create: auth, update: auth, delete: auth, addField: auth })
      .save();
    await rejectsWithCode(new Parse.Query(cls2).find(), Parse.Error.OBJECT_NOT_FOUND);
    await rejectsWithCode(new Parse.Query(cls2).count(), Parse.Error.OBJECT_NOT_FOUND);
    await rejectsWithCode(new Parse.Object(cls2, { a: 'x' }).save(), Parse.Error.OBJECT_NOT_FOUND);
    const user = await createUserRest('clp');
    const opts = { sessionToken: user.sessionToken };
    const obj = await new Parse.Object(cls2, { a: 'x' }).save(null, opts);
    await rejectsWithCode(new Parse.Query(cls2).get(obj.id), Parse.Error.OBJECT_NOT_FOUND);
    await rejectsWithCode(obj.destroy(), Parse.Error.OBJECT_NOT_FOUND);
    const found = await new Parse.Query(cls2).find(opts);
    assert.deepEqual(found.map((o) => o.id), [obj.id]);
    obj.set('a', 'y');
    await obj.save(null, opts);
    await obj.destroy(opts);
    assert.equal(await new Parse.Query(cls2).count(opts), 0);
  });

  test('REST: schemas need the master key (403) and reject unknown types (111)', async () => {
    const denied = await rest('GET', `schemas/${cls}`);
    assert.equal(denied.status, 403);
    const bad = await rest('POST', `schemas/${uniqueClass('BadType')}`, {
      master: true,
      body: { fields: { f: { type: 'Foo' } } },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 111);
  });
});
