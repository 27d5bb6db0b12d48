// Email verification through the SDK (issue 15). Not picked up by the whole suite (its server does not verify
// emails): tests/test_sdk_auth.py runs it against a server with PARSE_VERIFY_USER_EMAILS=true and reads the
// development outbox (MAIL_DIR) as the user reads their mail.
import { describe, test } from 'node:test';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { assert, initParse, uniqueUsername, rejectsWithCode } from './helpers.mjs';

const Parse = initParse();
const MAIL_DIR = process.env.MAIL_DIR;

/** The verification links mailed to `address`, oldest first (by the files' modification time, as the outbox
 * names files by the second only). */
async function linksTo(address) {
  const files = [];
  for (const name of await readdir(MAIL_DIR).catch(() => [])) {
    const path = join(MAIL_DIR, name);
    files.push({ path, at: (await stat(path, { bigint: true })).mtimeNs });
  }
  files.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const out = [];
  for (const { path } of files) {
    const text = await readFile(path, 'utf8');
    if (!text.startsWith(`To: ${address}\n`)) continue;
    const found = text.match(/http:\/\/\S+\/verify_email\?token=\S+/);
    if (found) out.push(found[0]);
  }
  return out;
}

describe('email verification', () => {
  test('sign-up leaves emailVerified false until the mailed link is opened', async () => {
    assert.ok(MAIL_DIR, 'MAIL_DIR must name the server outbox');
    const username = uniqueUsername('vfy');
    const email = `${username}@example.com`;
    const user = await Parse.User.signUp(username, 'pw-verify-1', { email });
    assert.equal(user.get('emailVerified'), false);
    const [link] = await linksTo(email);
    assert.ok(link, 'a verification mail was sent');
    const page = await fetch(link);
    assert.equal(page.status, 200);
    await user.fetch();
    assert.equal(user.get('emailVerified'), true);
  });

  test('requestEmailVerification mails a new link; a client cannot verify itself', async () => {
    const username = uniqueUsername('vfy');
    const email = `${username}@example.com`;
    const user = await Parse.User.signUp(username, 'pw-verify-2', { email });
    await Parse.User.requestEmailVerification(email);
    const links = await linksTo(email);
    assert.equal(links.length, 2);
    assert.equal((await fetch(links[0])).status, 400, 'the first link was replaced');
    user.set('emailVerified', true);
    await rejectsWithCode(user.save(), Parse.Error.OPERATION_FORBIDDEN);
    await rejectsWithCode(Parse.User.requestEmailVerification(''), Parse.Error.EMAIL_MISSING);
    assert.equal((await fetch(links[1])).status, 200);
  });
});
