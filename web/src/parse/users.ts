import { Parse, call } from './client';
import { toUser, type UserSummary } from './models';

export interface SessionUser extends UserSummary {
  email: string;
  /** In the role Managers (directly, or through Admins): sees and reassigns every rep's deals. */
  isManager: boolean;
}

const MANAGER_ROLES = ['Managers', 'Admins'];

async function describe(user: Parse.User, roleQuery?: Promise<Parse.Role[]>): Promise<SessionUser> {
  const roles = await (roleQuery ?? rolesOf(user));
  const email = user.get('email');
  return {
    id: user.id as string,
    username: user.getUsername() ?? '',
    email: typeof email === 'string' ? email : '',
    isManager: roles.some((r) => MANAGER_ROLES.includes(r.getName() ?? '')),
  };
}

function rolesOf(user: Parse.User, sessionToken?: string): Promise<Parse.Role[]> {
  return new Parse.Query(Parse.Role).equalTo('users', user as never).find(sessionToken ? { sessionToken } : {});
}

export function logIn(username: string, password: string): Promise<SessionUser> {
  return call(async () => remember(await describe(await Parse.User.logIn(username.trim(), password))) as SessionUser);
}

export function signUp(username: string, email: string, password: string): Promise<SessionUser> {
  return call(async () => {
    const user = new Parse.User();
    user.setUsername(username.trim());
    user.setEmail(email.trim());
    user.setPassword(password);
    return remember(await describe(await user.signUp())) as SessionUser;
  });
}

const REMEMBERED = 'crm.sessionUser';

/** What the app remembers of the signed-in user between visits (never a secret: the SDK keeps the token). */
export function remembered(): SessionUser | null {
  const current = Parse.User.current();
  const raw = globalThis.localStorage?.getItem(REMEMBERED);
  if (!current || !raw) return null;
  const user = JSON.parse(raw) as SessionUser;
  return user.id === current.id ? user : null;
}

function remember(user: SessionUser | null): SessionUser | null {
  if (user) globalThis.localStorage?.setItem(REMEMBERED, JSON.stringify(user));
  else globalThis.localStorage?.removeItem(REMEMBERED);
  return user;
}

/** The user remembered by the SDK (localStorage), checked against the server: null if the session is gone. */
export async function restore(): Promise<SessionUser | null> {
  const current = await Parse.User.currentAsync();
  if (!current) return null;
  try {
    // one round trip: check the session and read the roles at the same time
    const token = current.getSessionToken() ?? '';
    const roles = rolesOf(current, token);
    roles.catch(() => undefined); // if the session is gone, `me` says so below
    const fresh = await Parse.User.me(token);
    return remember(await describe(fresh as Parse.User, roles));
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 209 || code === 206 || code === 101) {
      await forgetSession();
      return null;
    }
    throw err;
  }
}

/** Clears the SDK's remembered user without asking the server (whose session is already gone). */
export async function forgetSession(): Promise<void> {
  remember(null);
  try {
    await Parse.User.logOut();
  } catch {
    // the session was already invalid on the server: the SDK has cleared it locally all the same
  }
}

export async function logOut(): Promise<void> {
  await forgetSession();
}

export function requestPasswordReset(email: string): Promise<void> {
  return call(async () => {
    await Parse.User.requestPasswordReset(email.trim());
  });
}

/** Who a manager can filter by and assign to: every user they can read (a rep reads only themselves). */
export function listUsers(): Promise<UserSummary[]> {
  return call(async () => {
    const users = await new Parse.Query(Parse.User).ascending('username').limit(1000).find();
    return users.map((u) => toUser(u)).filter((u): u is UserSummary => u !== null);
  });
}
