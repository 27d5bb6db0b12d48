import { describe, expect, it } from 'vitest';
import { initialHeaders, sessionToken } from './session';

const config = { appId: 'crm', javascriptKey: null, endpoint: '/graphql' };
const storage = (items: Record<string, string>) => ({ getItem: (key: string) => items[key] ?? null });

describe('the GraphQL playground headers', () => {
  it('carry the app session kept by the Parse SDK', () => {
    const kept = storage({ 'Parse/crm/currentUser': JSON.stringify({ objectId: 'u1', sessionToken: 'r:abc' }) });
    expect(JSON.parse(initialHeaders(config, kept))).toEqual({
      'X-Parse-Application-Id': 'crm',
      'X-Parse-Session-Token': 'r:abc',
    });
  });

  it('are anonymous without a session, for another app id, or when the stored user is unreadable', () => {
    expect(JSON.parse(initialHeaders(config, storage({})))).toEqual({ 'X-Parse-Application-Id': 'crm' });
    expect(sessionToken('crm', storage({ 'Parse/other/currentUser': '{"sessionToken":"r:x"}' }))).toBeNull();
    expect(sessionToken('crm', storage({ 'Parse/crm/currentUser': '{not json' }))).toBeNull();
    expect(sessionToken('crm', undefined)).toBeNull();
  });

  it('send the JavaScript key when the server has one', () => {
    const headers = JSON.parse(initialHeaders({ ...config, javascriptKey: 'js-key' }, storage({})));
    expect(headers['X-Parse-Javascript-Key']).toBe('js-key');
  });
});
