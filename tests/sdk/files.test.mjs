// Parse.File through the official SDK: save (the SDK's base64 envelope), read back, File fields, delete.
import { describe, test } from 'node:test';
import { assert, initParse, uniqueClass, rejectsWithCode, rest, signUpFresh, APP_ID, SERVER_URL } from './helpers.mjs';

const Parse = initParse();

describe('Parse.File', () => {
  const cls = uniqueClass('Att');

  test('save() stores the bytes under a random-prefixed name; getData() returns them', async () => {
    await signUpFresh('files');
    const file = new Parse.File('hello world.txt', { base64: Buffer.from('hello files').toString('base64') },
      'text/plain');
    await file.save();
    assert.match(file.name(), /^[0-9a-f]{32}_hello world\.txt$/);
    assert.equal(file.url(), `${SERVER_URL}/files/${APP_ID}/${encodeURIComponent(file.name())}`);
    const again = new Parse.File(file.name());
    again._url = file.url();
    assert.equal(Buffer.from(await again.getData(), 'base64').toString(), 'hello files');
    const res = await fetch(file.url());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  test('a byte array saves too, and a File field round-trips through an object', async () => {
    await signUpFresh('files');
    const file = new Parse.File('data.bin', [0, 1, 2, 254, 255]);
    await file.save();
    const obj = new Parse.Object(cls);
    obj.set('doc', file);
    obj.set('title', 'with attachment');
    await obj.save(null, { useMasterKey: true });
    const got = await new Parse.Query(cls).get(obj.id, { useMasterKey: true });
    const doc = got.get('doc');
    assert.ok(doc instanceof Parse.File);
    assert.equal(doc.name(), file.name());
    assert.equal(doc.url(), file.url());
    assert.deepEqual([...Buffer.from(await doc.getData(), 'base64')], [0, 1, 2, 254, 255]);
    const schema = await new Parse.Schema(cls).get();
    assert.deepEqual(schema.fields.doc, { type: 'File' });
    const found = await new Parse.Query(cls).equalTo('doc', file).find({ useMasterKey: true });
    assert.deepEqual(found.map((o) => o.id), [obj.id]);
  });

  test('metadata given at upload is kept and served', async () => {
    await signUpFresh('files');
    const file = new Parse.File('meta.txt', { base64: Buffer.from('m').toString('base64') }, 'text/plain',
      { owner: 'crm', pages: 3 });
    await file.save();
    const res = await fetch(`${SERVER_URL}/files/${APP_ID}/metadata/${encodeURIComponent(file.name())}`);
    assert.deepEqual(await res.json(), { metadata: { owner: 'crm', pages: 3 } });
    const none = await fetch(`${SERVER_URL}/files/${APP_ID}/metadata/${'0'.repeat(32)}_none.txt`);
    assert.deepEqual(await none.json(), {});
  });

  test('destroy() needs the master key', async () => {
    await signUpFresh('files');
    const file = new Parse.File('gone.txt', { base64: Buffer.from('bye').toString('base64') });
    await file.save();
    const saved = new Parse.File(file.name());
    saved._url = file.url();
    // a signed-in user (with the client key, if the server has one) is refused
    const session = Parse.User.current().getSessionToken();
    const denied = await rest('DELETE', `files/${file.name()}`, { session });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.code, 119);
    assert.equal((await fetch(file.url())).status, 200);
    await saved.destroy({ useMasterKey: true });
    assert.equal((await fetch(file.url())).status, 404);
  });

  test('uploads by the public are refused (fileUpload.enableForPublic is off)', async () => {
    await Parse.User.logOut();
    const file = new Parse.File('anon.txt', { base64: Buffer.from('x').toString('base64') });
    const err = await rejectsWithCode(file.save(), 130);
    assert.equal(err.message, 'File upload by public is disabled.');
  });

  test('a File field with a default value fills objects saved without it', async () => {
    await signUpFresh('files');
    const logo = new Parse.File('logo.png', [137, 80, 78, 71]);
    await logo.save();
    const name = uniqueClass('Dflt');
    const schema = new Parse.Schema(name);
    schema.addFile('logo', { required: true, defaultValue: logo }).addString('title');
    const res = await schema.save();
    assert.deepEqual(res.fields.logo, {
      type: 'File', required: true, defaultValue: { __type: 'File', name: logo.name(), url: logo.url() },
    });
    const obj = await new Parse.Object(name).save({ title: 'x' }, { useMasterKey: true });
    const got = await new Parse.Query(name).get(obj.id, { useMasterKey: true });
    assert.equal(got.get('logo').name(), logo.name());
    assert.equal(got.get('logo').url(), logo.url());
  });
});
