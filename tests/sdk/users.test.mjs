// Users and sessions through the SDK: signUp, logIn, become, current, logOut,
// invalid session tokens (209), and what users may see of each other.
import { describe, test, before, beforeEach } from 'node:test';
import { assert, initParse, uniqueUsername, rejectsWithCode, rand, rest, createUserRest, uniqueClass } from './helpers.mjs';

const Parse = initParse();

function newUser(extra = {}) {
  const username = uniqueUsername('usr');
  const password = `pw-${rand(10)}`;
  const user = new Parse.User();
  user.set('username', username);
  user.set('password', password);
  user.set('email', `${username}@example.com`);
  for (const [k, v] of Object.entries(extra)) user.set(k, v);
  return { user, username, password };
}

/** Drop the current user from the SDK's local storage; the session stays valid. */
async function forgetCurrentUserLocally() {
  await Parse.CoreManager.getUserController().removeUserFromDisk();
}

before(async () => {
  // Declare the custom _User field used below with the master key, so the
  // tests also pass on servers whose _User class-level permissions forbid
  // clients to add fields (parse-server does that for _User as soon as it
  // runs with schema definitions, as parsecrm's CRM schema may).
  try {
    await new Parse.Schema('_User').addString('nickname').update();
  } catch (e) {
    if (e.code !== Parse.Error.INVALID_SCHEMA_OPERATION) throw e; // 255: already there
  }
});

beforeEach(async () => {
  // Forget any current user locally without touching the server.
  if (Parse.User.current()) await Parse.User.logOut().catch(() => {});
});

describe('signUp', () => {
  test('creates the user, returns a revocable session token and makes it current', async () => {
    const { user, username } = newUser({ nickname: 'Nick' });
    assert.equal(Parse.User.current(), null);
    await user.signUp();
    assert.match(user.id, /^[A-Za-z0-9]{10}$/);
    assert.match(user.getSessionToken(), /^r:/);
    assert.equal(user.existed(), false);
    assert.equal(user.get('username'), username);
    assert.equal(user.get('password'), undefined, 'the password is not kept on the object');
    assert.equal(user.isCurrent(), true);
    assert.equal(user.authenticated(), true);
    const current = Parse.User.current();
    assert.equal(current.id, user.id);
    assert.equal(current.getSessionToken(), user.getSessionToken());
  });

  test('the stored user has no password or hash and keeps custom fields', async () => {
    const { user } = newUser({ nickname: 'Hidden' });
    await user.signUp();
    const me = await new Parse.Query(Parse.User).get(user.id); // as the current user
    assert.equal(me.get('nickname'), 'Hidden');
    assert.equal(me.get('password'), undefined);
    assert.equal(me.get('_hashed_password'), undefined);
    assert.equal(me.get('email'), user.get('email'));
    const master = await new Parse.Query(Parse.User).get(user.id, { useMasterKey: true });
    assert.equal(master.get('password'), undefined);
    assert.equal(master.get('_hashed_password'), undefined);
  });

  test('Parse.User.signUp static form', async () => {
    const username = uniqueUsername('static');
    const user = await Parse.User.signUp(username, 'secret-pw', { email: `${username}@example.com` });
    assert.equal(user.get('username'), username);
    assert.match(user.getSessionToken(), /^r:/);
    assert.equal(Parse.User.current().id, user.id);
  });

  test('a taken username fails with 202, also in another letter case', async () => {
    const { user, username } = newUser();
    await user.signUp();
    await Parse.User.logOut();
    const again = new Parse.User({ username, password: 'whatever-pw', email: `other_${rand(6)}@example.com` });
    await rejectsWithCode(again.signUp(), Parse.Error.USERNAME_TAKEN);
    const upper = new Parse.User({
      username: username.toUpperCase(),
      password: 'whatever-pw',
      email: `other_${rand(6)}@example.com`,
    });
    await rejectsWithCode(upper.signUp(), Parse.Error.USERNAME_TAKEN);
  });

  test('a taken email fails with 203', async () => {
    const { user } = newUser();
    await user.signUp();
    await Parse.User.logOut();
    const again = new Parse.User({ username: uniqueUsername('dupmail'), password: 'pw-dup', email: user.get('email') });
    await rejectsWithCode(again.signUp(), Parse.Error.EMAIL_TAKEN);
  });

  test('an invalid email fails with 125', async () => {
    const bad = new Parse.User({ username: uniqueUsername('badmail'), password: 'pw-bad', email: 'not-an-email' });
    await rejectsWithCode(bad.signUp(), Parse.Error.INVALID_EMAIL_ADDRESS);
    assert.equal(bad.id, undefined);
  });
});

describe('logIn / become / current / logOut', () => {
  test('logIn returns the user with a new session token', async () => {
    const { user, username, password } = newUser();
    await user.signUp();
    const signupToken = user.getSessionToken();
    await Parse.User.logOut();
    assert.equal(Parse.User.current(), null);

    const loggedIn = await Parse.User.logIn(username, password);
    assert.equal(loggedIn.id, user.id);
    assert.equal(loggedIn.get('username'), username);
    assert.match(loggedIn.getSessionToken(), /^r:/);
    assert.notEqual(loggedIn.getSessionToken(), signupToken, 'each login opens a new session');
    assert.equal(loggedIn.get('password'), undefined);
    assert.equal(Parse.User.current().id, user.id);
  });

  test('logIn with a wrong password or unknown user fails with 101', async () => {
    const { user, username } = newUser();
    await user.signUp();
    await Parse.User.logOut();
    await rejectsWithCode(Parse.User.logIn(username, 'wrong-password'), Parse.Error.OBJECT_NOT_FOUND);
    await rejectsWithCode(Parse.User.logIn(uniqueUsername('nobody'), 'pw'), Parse.Error.OBJECT_NOT_FOUND);
    assert.equal(Parse.User.current(), null);
  });

  test('logIn accepts the email address in place of the username', async () => {
    const { user, password } = newUser();
    await user.signUp();
    await Parse.User.logOut();
    const u = await Parse.User.logIn(user.get('email'), password);
    assert.equal(u.id, user.id);
  });

  test('logIn with usePost:false (GET /login) works too', async () => {
    const { user, username, password } = newUser();
    await user.signUp();
    await Parse.User.logOut();
    const u = await Parse.User.logIn(username, password, { usePost: false });
    assert.equal(u.id, user.id);
    assert.match(u.getSessionToken(), /^r:/);
  });

  test('become(token) restores the user; me(token) reads it without switching', async () => {
    const { user } = newUser({ nickname: 'becomer' });
    await user.signUp();
    const token = user.getSessionToken();
    await forgetCurrentUserLocally();
    assert.equal(Parse.User.current(), null);

    const became = await Parse.User.become(token);
    assert.equal(became.id, user.id);
    assert.equal(became.get('nickname'), 'becomer');
    assert.equal(became.getSessionToken(), token);
    assert.equal(Parse.User.current().id, user.id);

    await forgetCurrentUserLocally();
    const me = await Parse.User.me(token);
    assert.equal(me.id, user.id);
    assert.equal(me.getSessionToken(), token);
    assert.equal(Parse.User.current(), null, 'me() does not switch the current user');
  });

  test('logOut clears current() and revokes the session token (209 afterwards)', async () => {
    const { user } = newUser();
    await user.signUp();
    const token = user.getSessionToken();
    await Parse.User.logOut();
    assert.equal(Parse.User.current(), null);
    await rejectsWithCode(Parse.User.become(token), Parse.Error.INVALID_SESSION_TOKEN);
    const cls = uniqueClass('AfterLogout');
    await rejectsWithCode(new Parse.Query(cls).find({ sessionToken: token }), Parse.Error.INVALID_SESSION_TOKEN);
  });

  test('a made-up session token fails with 209 on any request', async () => {
    const bogus = `r:${rand(32).toLowerCase()}`;
    await rejectsWithCode(Parse.User.become(bogus), Parse.Error.INVALID_SESSION_TOKEN);
    const cls = uniqueClass('Bogus');
    await rejectsWithCode(new Parse.Query(cls).find({ sessionToken: bogus }), Parse.Error.INVALID_SESSION_TOKEN);
    await rejectsWithCode(
      new Parse.Object(cls, { a: 1 }).save(null, { sessionToken: bogus }),
      Parse.Error.INVALID_SESSION_TOKEN,
    );
  });

  test('Parse.Session.current() describes the current session', async () => {
    const { user } = newUser();
    await user.signUp();
    const session = await Parse.Session.current();
    assert.equal(session.getSessionToken(), user.getSessionToken());
    assert.equal(session.get('user').id, user.id);
    assert.ok(session.get('expiresAt') instanceof Date);
    assert.ok(session.get('expiresAt').getTime() > Date.now());
    assert.equal(session.get('createdWith').action, 'signup');
  });

  test('verifyPassword', async () => {
    const { user, username, password } = newUser();
    await user.signUp();
    const checked = await Parse.User.verifyPassword(username, password); // raw user JSON
    assert.equal(checked.objectId, user.id);
    assert.equal(checked.username, username);
    assert.equal(checked.password, undefined);
    await rejectsWithCode(Parse.User.verifyPassword(username, 'nope-nope'), Parse.Error.OBJECT_NOT_FOUND);
  });
});

describe('user records', () => {
  test('a user can update their own fields while logged in', async () => {
    const { user } = newUser();
    await user.signUp();
    user.set('nickname', 'updated');
    await user.save();
    const fresh = await new Parse.Query(Parse.User).get(user.id);
    assert.equal(fresh.get('nickname'), 'updated');
  });

  test('fetch() of the current user keeps the session token', async () => {
    const { user } = newUser({ nickname: 'fetcher' });
    await user.signUp();
    const token = user.getSessionToken();
    await user.fetch();
    assert.equal(user.get('nickname'), 'fetcher');
    assert.equal(user.getSessionToken(), token);
  });

  test('another user cannot read, modify or delete a user (private users)', async () => {
    const victim = await createUserRest('victim');
    const { user: attacker } = newUser();
    await attacker.signUp();
    // reading: users are private by default
    await rejectsWithCode(new Parse.Query(Parse.User).get(victim.id), Parse.Error.OBJECT_NOT_FOUND);
    const found = await new Parse.Query(Parse.User).equalTo('username', victim.username).find();
    assert.deepEqual(found, []);
    // writing through the SDK
    const target = Parse.User.createWithoutData(victim.id);
    target.set('nickname', 'pwned');
    await rejectsWithCode(target.save(), [Parse.Error.OBJECT_NOT_FOUND, Parse.Error.SESSION_MISSING]);
    await rejectsWithCode(
      Parse.User.createWithoutData(victim.id).destroy(),
      [Parse.Error.OBJECT_NOT_FOUND, Parse.Error.SESSION_MISSING],
    );
    const check = await new Parse.Query(Parse.User).get(victim.id, { useMasterKey: true });
    assert.equal(check.get('nickname'), undefined);
  });

  test('an anonymous find on _User sees nobody', async () => {
    const u = await createUserRest('hidden');
    // parse-server: [] (users are private). A server whose _User class-level
    // permissions require authentication answers 101 instead; both hide the user.
    let res = [];
    try {
      res = await new Parse.Query(Parse.User).equalTo('objectId', u.id).find();
    } catch (e) {
      assert.equal(e.code, Parse.Error.OBJECT_NOT_FOUND, String(e));
    }
    assert.deepEqual(res, []);
    const master = await new Parse.Query(Parse.User).equalTo('objectId', u.id).find({ useMasterKey: true });
    assert.equal(master.length, 1);
  });

  test('changing the password returns a new session; the old password stops working', async () => {
    const { user, username, password } = newUser();
    await user.signUp();
    const oldToken = user.getSessionToken();
    user.setPassword('brand-new-pw');
    await user.save();
    const newToken = user.getSessionToken();
    assert.match(newToken, /^r:/);
    assert.notEqual(newToken, oldToken, 'a password change issues a new session token');
    await rejectsWithCode(Parse.User.become(oldToken), Parse.Error.INVALID_SESSION_TOKEN);
    await rejectsWithCode(Parse.User.logIn(username, password), Parse.Error.OBJECT_NOT_FOUND);
    const again = await Parse.User.logIn(username, 'brand-new-pw');
    assert.equal(again.id, user.id);
  });

  test('logIn matches the username exactly (case-sensitive)', async () => {
    const { user, username, password } = newUser();
    await user.signUp();
    await Parse.User.logOut();
    // parse-server matches usernames exactly at login
    await rejectsWithCode(Parse.User.logIn(username.toUpperCase(), password), Parse.Error.OBJECT_NOT_FOUND);
    const ok = await Parse.User.logIn(username, password);
    assert.equal(ok.id, user.id);
  });

  test('REST: GET /users/me with the session header', async () => {
    const u = await createUserRest('meuser');
    const res = await rest('GET', 'users/me', { session: u.sessionToken });
    assert.equal(res.status, 200);
    assert.equal(res.body.objectId, u.id);
    assert.equal(res.body.username, u.username);
    assert.equal(res.body.sessionToken, u.sessionToken);
    const none = await rest('GET', 'users/me', { session: 'r:0000' });
    assert.equal(none.status, 400);
    assert.equal(none.body.code, Parse.Error.INVALID_SESSION_TOKEN);
  });
});
