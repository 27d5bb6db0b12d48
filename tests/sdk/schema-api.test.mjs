// The schema API where parse-server has specific answers: default values, purge, drop messages, CLP updates,
// listings after deletes, and a field re-created with another type after a drop.
import { describe, test } from 'node:test';
import { assert, initParse, uniqueClass, rejectsWithCode, rest } from './helpers.mjs';

const Parse = initParse();
const OPEN = { '*': true };
const OPEN_CLP = { find: OPEN, count: OPEN, get: OPEN, create: OPEN, update: OPEN, delete: OPEN, addField: OPEN };

describe('schema API, as parse-server answers it', () => {
  test('a default value of the wrong type is refused (111), as is a required Relation', async () => {
    const cls = uniqueClass('Dv');
    const err = await rejectsWithCode(new Parse.Schema(cls).addString('s', { defaultValue: 3 }).save(),
      Parse.Error.INCORRECT_TYPE);
    assert.equal(err.message, `schema mismatch for ${cls}.s default value; expected String but got Number`);
    const relation = await rest('POST', `schemas/${cls}`, {
      master: true, body: { fields: { r: { type: 'Relation', targetClass: '_User', required: true } } },
    });
    assert.equal(relation.status, 400);
    assert.deepEqual(relation.body, { code: 111, error: "The 'required' option is not applicable for Relation<_User>" });
    await new Parse.Schema(cls).addDate('d', { defaultValue: new Date('2024-01-02T03:04:05Z') })
      .addNumber('n', { required: true, defaultValue: 0 }).setCLP(OPEN_CLP).save();
    const obj = await new Parse.Object(cls).save();
    assert.equal(obj.get('n'), 0);
    assert.equal((await new Parse.Query(cls).get(obj.id)).get('d').toISOString(), '2024-01-02T03:04:05.000Z');
  });

  test('purging a class that does not exist succeeds, as in parse-server', async () => {
    await new Parse.Schema(uniqueClass('Never')).purge();
  });

  test('dropping a non-empty class says how many objects it holds', async () => {
    const cls = uniqueClass('Full');
    await new Parse.Schema(cls).addString('a').setCLP(OPEN_CLP).save();
    await new Parse.Object(cls, { a: 'x' }).save();
    await new Parse.Object(cls, { a: 'y' }).save();
    const err = await rejectsWithCode(new Parse.Schema(cls).delete(), Parse.Error.INVALID_SCHEMA_OPERATION);
    assert.equal(err.message, `Class ${cls} is not empty, contains 2 objects, cannot drop schema.`);
  });

  test('updating the CLP replaces it; Schema.all() no longer lists a deleted class', async () => {
    const cls = uniqueClass('Clp');
    await new Parse.Schema(cls).addString('a').setCLP(OPEN_CLP).save();
    const next = { ...OPEN_CLP, create: { 'role:Admins': true }, delete: {}, protectedFields: { '*': ['a'] } };
    const res = await new Parse.Schema(cls).setCLP(next).update();
    assert.deepEqual(res.classLevelPermissions.create, { 'role:Admins': true });
    assert.deepEqual(res.classLevelPermissions.delete, {});
    assert.deepEqual(res.classLevelPermissions.protectedFields, { '*': ['a'] });
    assert.deepEqual((await new Parse.Schema(cls).get()).classLevelPermissions, res.classLevelPermissions);
    await new Parse.Schema(cls).delete();
    assert.ok(!(await Parse.Schema.all()).some((s) => s.className === cls));
  });

  test('a class dropped and recreated with another field type takes inserts at once', async () => {
    const cls = uniqueClass('Again');
    await new Parse.Schema(cls).addBoolean('flag').setCLP(OPEN_CLP).save();
    for (let i = 0; i < 5; i++) await new Parse.Object(cls, { flag: true }).save();
    await new Parse.Schema(cls).purge();
    await new Parse.Schema(cls).delete();
    await new Parse.Schema(cls).addNumber('flag').setCLP(OPEN_CLP).save();
    for (let i = 0; i < 5; i++) await new Parse.Object(cls, { flag: 1.5 }).save();
    await new Parse.Schema(cls).deleteField('flag').update();
    await new Parse.Schema(cls).addString('flag').update();
    for (let i = 0; i < 5; i++) await new Parse.Object(cls, { flag: 'text' }).save();
    const query = new Parse.Query(cls).withCount().limit(2).skip(1);
    const { count, results } = await query.find();
    assert.equal(count, 10);  // the five Number rows stay, without the dropped field
    assert.equal(results.length, 2);
    assert.equal(await new Parse.Query(cls).equalTo('flag', 'text').count(), 5);
  });
});
