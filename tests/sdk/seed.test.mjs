// The product seed's Vue/Pinia snippets (Step 3–5), run as a freshly signed-up
// user. The function bodies are copied verbatim from the seed document; only
// the TypeScript annotations (`: string`, `?: number`) are removed so that the
// file runs as plain JavaScript, and Parse.initialize/serverURL come from the
// environment (helpers.mjs) instead of import.meta.env.
//
// The CRM classes (Company, Contact, Deal, Activity) require an authenticated
// user for every operation on parsecrm, and Deal has a beforeSave rule: title
// required, stage in lead|qualified|proposal|negotiation|won|lost. Those
// CRM-specific assertions are skipped with PEER=1 (stock parse-server has no
// such schema and creates the classes on the fly).
//
// The snippets query without a limit (so at most 100 rows), so this file
// expects a fresh database, or at least fewer than ~90 Contacts and
// qualified Deals created before it.
import { describe, test, before } from 'node:test';
import { assert, initParse, PEER, rand, rejectsWithCode, uniqueUsername } from './helpers.mjs';

const Parse = initParse();

// ---- verbatim from the seed (Step 3: Query contacts and deals) ----
// In component or store
async function getDeals(stage = 'qualified') {
  const query = new Parse.Query('Deal');
  query.equalTo('stage', stage);
  query.ascending('expectedCloseDate');
  return await query.find();
}

async function getContacts() {
  const query = new Parse.Query('Contact');
  return await query.find();
}

// ---- verbatim from the seed (Step 4: Create a contact or deal) ----
async function createDeal(title, stage = 'lead', amount) {
  const Deal = Parse.Object.extend('Deal');
  const deal = new Deal();
  deal.set('title', title);
  deal.set('stage', stage);
  if (amount != null) deal.set('amount', amount);
  await deal.save();
  return deal;
}

async function createContact(name, email, phone) {
  const Contact = Parse.Object.extend('Contact');
  const contact = new Contact();
  contact.set('name', name);
  if (email) contact.set('email', email);
  if (phone) contact.set('phone', phone);
  await contact.save();
  return contact;
}

// ---- verbatim from the seed (Step 5: Update deal stage and activities) ----
async function updateDealStage(objectId, stage) {
  const query = new Parse.Query('Deal');
  const deal = await query.get(objectId);
  deal.set('stage', stage);
  await deal.save();
}

async function deleteDeal(objectId) {
  const query = new Parse.Query('Deal');
  const deal = await query.get(objectId);
  await deal.destroy();
}
// ---- end of seed code ----

const crmOnly = { skip: PEER && 'parsecrm CRM schema only (PEER=1)' };
const tag = rand(8); // makes this run's titles unique
let user;

async function signUpCrmUser() {
  const username = uniqueUsername('crm');
  const u = new Parse.User();
  u.set('username', username);
  u.set('password', `pw-${rand(10)}`);
  u.set('email', `${username}@example.com`);
  await u.signUp();
  return u;
}

/** Run `fn` with no current user, then restore the current user. */
async function anonymously(fn) {
  const token = Parse.User.current().getSessionToken();
  await Parse.CoreManager.getUserController().removeUserFromDisk();
  try {
    return await fn();
  } finally {
    await Parse.User.become(token);
  }
}

describe('seed snippets as a signed-up user', () => {
  before(async () => {
    user = await signUpCrmUser();
    assert.equal(Parse.User.current().id, user.id);
  });

  test('createDeal saves a deal with the default stage "lead"', async () => {
    const deal = await createDeal(`Default stage ${tag}`);
    assert.ok(deal instanceof Parse.Object);
    assert.equal(deal.className, 'Deal');
    assert.match(deal.id, /^[A-Za-z0-9]{10}$/);
    assert.equal(deal.existed(), false);
    assert.equal(deal.get('stage'), 'lead');
    assert.equal(deal.get('amount'), undefined);
    const fresh = await new Parse.Query('Deal').get(deal.id);
    assert.equal(fresh.get('title'), `Default stage ${tag}`);
    assert.equal(fresh.get('stage'), 'lead');
  });

  test('createDeal with a stage and an amount', async () => {
    const deal = await createDeal(`Big one ${tag}`, 'proposal', 125000.5);
    const fresh = await new Parse.Query('Deal').get(deal.id);
    assert.equal(fresh.get('stage'), 'proposal');
    assert.equal(fresh.get('amount'), 125000.5);
    assert.ok(fresh.createdAt instanceof Date);
  });

  test('createContact saves a contact and getContacts returns it', async () => {
    const email = `contact_${tag.toLowerCase()}@example.com`;
    const contact = await createContact(`Ada ${tag}`, email, '+1 555 0100');
    assert.match(contact.id, /^[A-Za-z0-9]{10}$/);
    const plain = await createContact(`Bob ${tag}`);
    const contacts = await getContacts();
    assert.ok(contacts.every((c) => c.className === 'Contact'));
    const mine = contacts.find((c) => c.id === contact.id);
    assert.ok(mine, 'the new contact is listed');
    assert.equal(mine.get('name'), `Ada ${tag}`);
    assert.equal(mine.get('email'), email);
    assert.equal(mine.get('phone'), '+1 555 0100');
    const other = contacts.find((c) => c.id === plain.id);
    assert.ok(other);
    assert.equal(other.has('email'), false);
    assert.equal(other.has('phone'), false);
  });

  test('getDeals(stage) returns only that stage, ordered by expectedCloseDate', async () => {
    // Early dates sort these deals ahead of other qualified deals (the query
    // keeps the default limit of 100).
    const dates = ['1971-03-01', '1971-01-15', '1971-02-10'];
    const made = [];
    for (const [i, d] of dates.entries()) {
      const deal = await createDeal(`Qualified ${i} ${tag}`, 'qualified', 1000 * (i + 1));
      deal.set('expectedCloseDate', new Date(`${d}T00:00:00.000Z`));
      await deal.save();
      made.push(deal);
    }
    const other = await createDeal(`Negotiating ${tag}`, 'negotiation');
    other.set('expectedCloseDate', new Date('1971-01-01T00:00:00.000Z'));
    await other.save();

    const deals = await getDeals('qualified');
    assert.ok(deals.every((d) => d.get('stage') === 'qualified'), 'only qualified deals');
    assert.ok(!deals.some((d) => d.id === other.id));
    const mine = deals.filter((d) => made.some((m) => m.id === d.id));
    assert.equal(mine.length, 3, 'all three new qualified deals are listed');
    assert.deepEqual(
      mine.map((d) => d.get('expectedCloseDate').toISOString().slice(0, 10)),
      [...dates].sort(),
    );
    // everything that has a date is in ascending date order
    const dated = deals.filter((d) => d.get('expectedCloseDate')).map((d) => d.get('expectedCloseDate').getTime());
    assert.deepEqual(dated, [...dated].sort((a, b) => a - b));

    const negotiating = await getDeals('negotiation');
    assert.ok(negotiating.some((d) => d.id === other.id));
    assert.ok(negotiating.every((d) => d.get('stage') === 'negotiation'));
  });

  test('getDeals() defaults to stage "qualified"', async () => {
    const deal = await createDeal(`Default filter ${tag}`, 'qualified');
    deal.set('expectedCloseDate', new Date('1970-06-01T00:00:00.000Z'));
    await deal.save();
    const deals = await getDeals();
    assert.ok(deals.some((d) => d.id === deal.id));
    assert.ok(deals.every((d) => d.get('stage') === 'qualified'));
    const explicit = await getDeals('qualified');
    assert.deepEqual(deals.map((d) => d.id).sort(), explicit.map((d) => d.id).sort());
  });

  test('updateDealStage changes the stage as seen by a fresh query', async () => {
    const deal = await createDeal(`Moving ${tag}`, 'lead', 10);
    const result = await updateDealStage(deal.id, 'won');
    assert.equal(result, undefined);
    const fresh = await new Parse.Query('Deal').get(deal.id);
    assert.equal(fresh.get('stage'), 'won');
    assert.equal(fresh.get('amount'), 10, 'other fields untouched');
    assert.ok(fresh.updatedAt.getTime() >= fresh.createdAt.getTime());
    const won = await getDeals('won');
    assert.ok(won.some((d) => d.id === deal.id));
    const leads = await getDeals('lead');
    assert.ok(!leads.some((d) => d.id === deal.id));
  });

  test('deleteDeal removes the deal: get() then fails with 101', async () => {
    const deal = await createDeal(`Doomed ${tag}`, 'lost');
    await deleteDeal(deal.id);
    await rejectsWithCode(new Parse.Query('Deal').get(deal.id), Parse.Error.OBJECT_NOT_FOUND);
    await rejectsWithCode(deleteDeal(deal.id), Parse.Error.OBJECT_NOT_FOUND);
    await rejectsWithCode(updateDealStage(deal.id, 'won'), Parse.Error.OBJECT_NOT_FOUND);
  });

  test('every stage of the pipeline is accepted', async () => {
    for (const stage of ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost']) {
      const deal = await createDeal(`Stage ${stage} ${tag}`, stage);
      assert.equal((await new Parse.Query('Deal').get(deal.id)).get('stage'), stage);
    }
  });
});

describe('CRM rules (parsecrm only)', () => {
  before(async () => {
    if (!Parse.User.current()) user = await signUpCrmUser();
  });

  // parse-server answers 101 "Permission denied" when a requiresAuthentication
  // CLP meets an anonymous caller (see schemas.test.mjs, which checks that
  // against parse-server); parsecrm must do the same.
  test('anonymous callers cannot read or create CRM objects', crmOnly, async () => {
    await anonymously(async () => {
      await rejectsWithCode(getDeals('qualified'), Parse.Error.OBJECT_NOT_FOUND);
      await rejectsWithCode(getContacts(), Parse.Error.OBJECT_NOT_FOUND);
      await rejectsWithCode(createDeal(`Anonymous ${tag}`), Parse.Error.OBJECT_NOT_FOUND);
      await rejectsWithCode(createContact(`Anonymous ${tag}`), Parse.Error.OBJECT_NOT_FOUND);
      await rejectsWithCode(new Parse.Query('Company').find(), Parse.Error.OBJECT_NOT_FOUND);
      await rejectsWithCode(new Parse.Query('Activity').find(), Parse.Error.OBJECT_NOT_FOUND);
    });
  });

  // A beforeSave rejection is VALIDATION_ERROR (142) when the hook throws a
  // Parse.Error with that code, SCRIPT_FAILED (141) when it throws anything else.
  const REJECTED = [Parse.Error.VALIDATION_ERROR, Parse.Error.SCRIPT_FAILED];

  test('a deal with an unknown stage is refused and not stored', crmOnly, async () => {
    const title = `Bad stage ${tag}`;
    await rejectsWithCode(createDeal(title, 'bogus'), REJECTED);
    const stored = await new Parse.Query('Deal').equalTo('title', title).find();
    assert.deepEqual(stored, []);
  });

  test('a deal without a title is refused', crmOnly, async () => {
    const deal = new Parse.Object('Deal');
    deal.set('stage', 'lead');
    await rejectsWithCode(deal.save(), REJECTED);
    assert.equal(deal.id, undefined);
  });

  test('updateDealStage to an unknown stage is refused and the stage is kept', crmOnly, async () => {
    const deal = await createDeal(`Keep stage ${tag}`, 'proposal');
    await rejectsWithCode(updateDealStage(deal.id, 'teleported'), REJECTED);
    assert.equal((await new Parse.Query('Deal').get(deal.id)).get('stage'), 'proposal');
  });
});
