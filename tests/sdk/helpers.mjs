// Shared set-up for the SDK conformance tests. Not a test file itself
// (node --test only picks up *.test.mjs).
//
// Environment:
//   PARSE_SERVER_URL  e.g. http://127.0.0.1:1337/parse   (required)
//   PARSE_APP_ID      application id                      (required)
//   PARSE_MASTER_KEY  master key                          (required)
//   PARSE_JS_KEY      JavaScript key, may be empty        (optional)
//   PEER=1            running against stock parse-server: skip assertions that
//                     depend on the parsecrm CRM schema or on behaviour where
//                     parsecrm deliberately differs from parse-server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Parse from 'parse/node';

function required(name) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`environment variable ${name} must be set (see tests/sdk/README.md)`);
  }
  return value;
}

export const SERVER_URL = required('PARSE_SERVER_URL').replace(/\/+$/, '');
export const APP_ID = required('PARSE_APP_ID');
export const MASTER_KEY = required('PARSE_MASTER_KEY');
export const JS_KEY = process.env.PARSE_JS_KEY || '';
export const PEER = process.env.PEER === '1';
/** Path part of the server URL, e.g. "/parse": batch sub-request paths include it. */
export const MOUNT_PATH = new URL(SERVER_URL).pathname.replace(/\/+$/, '');

let initialised = false;

/** Initialise the SDK once per test process and return it. */
export function initParse() {
  if (!initialised) {
    Parse.initialize(APP_ID, JS_KEY || undefined, MASTER_KEY);
    Parse.serverURL = SERVER_URL;
    // In Node the SDK refuses Parse.User.current() unless this is enabled.
    // Each test file runs in its own process, so the "current user" is
    // private to the file.
    Parse.User.enableUnsafeCurrentUser();
    initialised = true;
  }
  return Parse;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Random [A-Za-z0-9] string, safe inside class names and usernames. */
export function rand(n = 10) {
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}

/** A class name unique to this test run, e.g. "Obj_k3J9aQ0pXz". */
export function uniqueClass(prefix) {
  return `${prefix}_${rand(10)}`;
}

/** A username unique to this test run (lower case: usernames are unique case-insensitively). */
export function uniqueUsername(prefix = 'u') {
  return `${prefix}_${rand(12).toLowerCase()}`;
}

/** Sign up a fresh user and return it. Becomes the SDK's current user. */
export async function signUpFresh(prefix = 'user', extra = {}) {
  const P = initParse();
  const username = uniqueUsername(prefix);
  const user = new P.User();
  user.set('username', username);
  user.set('password', `pw-${rand(8)}`);
  user.set('email', `${username}@example.com`);
  for (const [k, v] of Object.entries(extra)) user.set(k, v);
  await user.signUp();
  return user;
}

/**
 * Await a promise that must reject with a Parse error of the given code
 * (or one of the given codes). Returns the error for further checks.
 */
export async function rejectsWithCode(promise, code, message) {
  const codes = Array.isArray(code) ? code : [code];
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error !== undefined, message || `expected a rejection with code ${codes.join(' or ')}, but it resolved`);
  assert.ok(
    codes.includes(error.code),
    `${message ? message + ': ' : ''}expected code ${codes.join(' or ')}, got ${error?.code} (${error?.message ?? error})`,
  );
  return error;
}

/** Headers a plain REST client sends. */
export function restHeaders({ master = false, session, json = true, extra = {} } = {}) {
  const h = { 'X-Parse-Application-Id': APP_ID };
  if (master) h['X-Parse-Master-Key'] = MASTER_KEY;
  else if (JS_KEY) h['X-Parse-Javascript-Key'] = JS_KEY;
  if (session) h['X-Parse-Session-Token'] = session;
  if (json) h['Content-Type'] = 'application/json';
  return { ...h, ...extra };
}

/**
 * A raw REST call with real verbs and headers.
 * `path` is relative to the mount, e.g. "classes/Foo". `query` values that are
 * not strings are JSON-encoded (as the REST docs do for `where`).
 * Resolves to {status, headers, body} where body is parsed JSON (or null).
 */
export async function rest(method, path, { body, query, master, session, headers, rawBody } = {}) {
  const url = new URL(`${SERVER_URL}/${path.replace(/^\/+/, '')}`);
  for (const [k, v] of Object.entries(query || {})) {
    url.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  const init = {
    method,
    headers: restHeaders({ master, session, json: body !== undefined, extra: headers }),
  };
  if (rawBody !== undefined) init.body = rawBody;
  else if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed = null;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Sort helper: true when `values` is non-decreasing under `cmp`. */
export function isSorted(values, cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0)) {
  for (let i = 1; i < values.length; i++) if (cmp(values[i - 1], values[i]) > 0) return false;
  return true;
}

export { Parse, assert };

/**
 * Create a user through raw REST (POST /users) without touching the SDK's
 * current user. Returns {id, username, password, sessionToken, pointer()}.
 */
export async function createUserRest(prefix = 'ru') {
  const username = uniqueUsername(prefix);
  const password = `pw-${rand(8)}`;
  const res = await rest('POST', 'users', { body: { username, password, email: `${username}@example.com` } });
  assert.equal(res.status, 201, `signup failed: ${JSON.stringify(res.body)}`);
  return {
    id: res.body.objectId,
    username,
    password,
    sessionToken: res.body.sessionToken,
    pointer() {
      return Parse.User.createWithoutData(res.body.objectId);
    },
  };
}

/** An unfetched object (pointer) of class `className` with id `id`. */
export function pointer(className, id) {
  return Parse.Object.extend(className).createWithoutData(id);
}
