// Users without a password through the SDK (issue 15): Parse.AnonymousUtils, logInWith / linkWith /
// _unlinkFrom with a provider, upgrading an anonymous user, loginAs. The `acme` provider is Cloud Code
// (tests/fixtures/auth_hooks.py, loaded by the server the suite runs against): a token is valid when it is
// "good-" + the id. Against a stock parse-server (PEER=1) only the anonymous tests apply.
import { describe, test, beforeEach } from 'node:test';
import { assert, initParse, uniqueUsername, rejectsWithCode, rand, rest, createUserRest, PEER } from './helpers.mjs';

const Parse = initParse();
const acme = (id, token = `good-${id}`) => ({ authData: { id, token } });

beforeEach(async () => {
  if (Parse.User.current()) await Parse.User.logOut().catch(() => {});
});

describe('anonymous users', () => {
  test('AnonymousUtils.logIn makes a signed-in user without a password', async () => {
    const user = await Parse.AnonymousUtils.logIn();
    assert.match(user.id, /^[A-Za-z0-9]{10}$/);
    assert.match(user.getSessionToken(), /^r:/);
    assert.equal(Parse.AnonymousUtils.isLinked(user), true);
    assert.equal(Parse.User.current().id, user.id);
    const me = await Parse.User.me(user.getSessionToken());
    assert.equal(me.id, user.id);
    assert.equal(typeof me.get('authData').anonymous.id, 'string');
  });

  test('the same anonymous id logs the same user in again', async () => {
    const id = `anon-${rand(12)}`;
    const first = await Parse.User.logInWith('anonymous', { authData: { id } });
    await Parse.User.logOut();
    const again = await Parse.User.logInWith('anonymous', { authData: { id } });
    assert.equal(again.id, first.id);
    assert.notEqual(again.getSessionToken(), first.getSessionToken());
  });

  test('an anonymous user who signs up keeps the account and loses the anonymous link', async () => {
    const anon = await Parse.AnonymousUtils.logIn();
    const username = uniqueUsername('upg');
    anon.setUsername(username); // strips anonymity: authData.anonymous is sent as null
    anon.setPassword('pw-upgrade-1');
    await anon.save();
    assert.equal(Parse.AnonymousUtils.isLinked(anon), false);
    await Parse.User.logOut();
    const back = await Parse.User.logIn(username, 'pw-upgrade-1');
    assert.equal(back.id, anon.id);
    assert.equal(back.get('authData')?.anonymous, undefined);
  });
});

describe('providers', { skip: PEER }, () => {
  test('logInWith a Cloud Code provider signs up, then logs in', async () => {
    const id = `acme-${rand(10)}`;
    const user = await Parse.User.logInWith('acme', acme(id));
    assert.equal(user.existed(), false);
    assert.equal(user._isLinked('acme'), true);
    await Parse.User.logOut();
    const again = await Parse.User.logInWith('acme', acme(id));
    assert.equal(again.id, user.id);
    const stored = await new Parse.Query(Parse.User).get(user.id, { useMasterKey: true });
    assert.deepEqual(stored.get('authData'), { acme: { id } }, 'the provider chose to store the id only');
  });

  test('the provider refuses bad credentials; an unknown provider is unsupported', async () => {
    await rejectsWithCode(Parse.User.logInWith('acme', acme(`acme-${rand(8)}`, 'forged')), Parse.Error.OBJECT_NOT_FOUND);
    await rejectsWithCode(Parse.User.logInWith('nosuch', { authData: { id: 'x' } }), Parse.Error.UNSUPPORTED_SERVICE);
    assert.equal(Parse.User.current(), null);
  });

  test('linkWith, _unlinkFrom, and credentials another user owns', async () => {
    const id = `acme-${rand(10)}`;
    const bob = await createUserRest('bob');
    const username = uniqueUsername('lnk');
    const alice = await Parse.User.signUp(username, 'pw-alice-1');
    await alice.linkWith('acme', acme(id));
    assert.equal(alice._isLinked('acme'), true);
    const bobUser = await Parse.User.become(bob.sessionToken);
    const err = await rejectsWithCode(bobUser.linkWith('acme', acme(id)), Parse.Error.ACCOUNT_ALREADY_LINKED);
    assert.equal(err.message, 'this auth is already used');
    const aliceAgain = await Parse.User.logIn(username, 'pw-alice-1');
    await aliceAgain._unlinkFrom('acme');
    assert.equal(aliceAgain._isLinked('acme'), false);
    const fetched = await new Parse.Query(Parse.User).get(alice.id, { useMasterKey: true });
    assert.equal(fetched.get('authData'), undefined);
  });

  test('authData is private to its user', async () => {
    const owner = await Parse.AnonymousUtils.logIn();
    owner.setACL(new Parse.ACL({ '*': { read: true }, [owner.id]: { read: true, write: true } }));
    await owner.save();
    const other = await createUserRest('peek');
    const seen = await rest('GET', `users/${owner.id}`, { session: other.sessionToken });
    assert.equal(seen.status, 200);
    assert.equal(seen.body.authData, undefined);
    const mine = await rest('GET', `users/${owner.id}`, { session: owner.getSessionToken() });
    assert.ok(mine.body.authData.anonymous.id);
  });

  test('loginAs (master key) gives a session as the user', async () => {
    const target = await createUserRest('las');
    const res = await rest('POST', 'loginAs', { master: true, body: { userId: target.id } });
    assert.equal(res.status, 200);
    const user = await Parse.User.become(res.body.sessionToken);
    assert.equal(user.id, target.id);
    const refused = await rest('POST', 'loginAs', { session: target.sessionToken, body: { userId: target.id } });
    assert.equal(refused.body.code, Parse.Error.OPERATION_FORBIDDEN);
  });
});
