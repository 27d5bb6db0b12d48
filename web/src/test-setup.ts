// vitest: the SDK (Node build) pointed at the real server the pytest fixture started (see tests/test_webapp.py).
import Parse from 'parse';
import { initParse } from './parse/client';

const url = process.env.PARSE_SERVER_URL;
if (url) {
  initParse({ appId: process.env.PARSE_APP_ID ?? 'crm', serverURL: url, stages: ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'] });
  Parse.User.enableUnsafeCurrentUser(); // one test process, one user at a time
}
