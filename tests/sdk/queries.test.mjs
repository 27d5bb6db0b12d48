// Queries through the SDK. Every constraint is checked against the same
// predicate evaluated in JavaScript over the fixture rows, so the expected
// answer is never hard-coded.
import { describe, test, before } from 'node:test';
import { assert, initParse, uniqueClass, rejectsWithCode, PEER, isSorted } from './helpers.mjs';

const Parse = initParse();

const ITEM = uniqueClass('Item');
const OWNER = uniqueClass('Owner');
const GRAND = uniqueClass('Grand');
const CAT = uniqueClass('Cat');

const day = (s) => new Date(`${s}T12:00:00.000Z`);

// owner: key into OWNERS. opt is sometimes absent.
const ROWS = [
  { name: 'alpha', n: 1, cat: 'a', tags: ['red', 'green'], flag: true, when: day('2024-01-01'), owner: 'acme', opt: 'x', body: 'the quick brown fox' },
  { name: 'beta', n: 2, cat: 'a', tags: ['red'], flag: false, when: day('2024-02-01'), owner: 'globex', body: 'a lazy dog sleeps' },
  { name: 'gamma', n: 3, cat: 'b', tags: ['green', 'blue'], flag: true, when: day('2024-03-01'), owner: 'acme', opt: 'y', body: 'quick quick quick' },
  { name: 'delta', n: 4, cat: 'b', tags: [], flag: false, when: day('2024-04-01'), owner: 'initech', body: 'nothing to see here' },
  { name: 'epsilon', n: 5, cat: 'c', tags: ['blue'], flag: true, when: day('2024-05-01'), owner: 'globex', opt: 'x', body: 'slow green turtle' },
  { name: 'a.b*c', n: 6, cat: 'c', tags: ['red', 'green', 'blue'], flag: false, when: day('2024-06-01'), owner: 'initech', body: 'dots and stars' },
  { name: 'axbxc', n: 7, cat: 'a', tags: ['green'], flag: true, when: day('2024-07-01'), owner: 'acme', body: 'plain letters' },
  { name: 'Alpha Centauri', n: 8, cat: 'b', tags: ['red', 'blue'], flag: false, when: day('2024-08-01'), owner: 'globex', opt: 'z', body: 'a star system' },
  { name: 'zeta^$', n: 9, cat: 'c', tags: ['red', 'red'], flag: true, when: day('2024-09-01'), owner: 'initech', body: 'regex (chars) here' },
  { name: 'omega', n: 10, cat: 'a', tags: ['blue', 'green'], flag: false, when: day('2024-10-01'), owner: 'acme', opt: 'x', body: 'the end' },
];

const OWNERS = {
  acme: { name: 'acme', size: 10, grand: 'one' },
  globex: { name: 'globex', size: 20, grand: 'two' },
  initech: { name: 'initech', size: 30 },
};

const CATS = [
  { label: 'a', active: true },
  { label: 'c', active: true },
  { label: 'b', active: false },
];

// Objects by name, filled in before().
const items = {};
const owners = {};
const grands = {};

before(async () => {
  grands.one = new Parse.Object(GRAND, { title: 'grand one' });
  grands.two = new Parse.Object(GRAND, { title: 'grand two' });
  await Parse.Object.saveAll(Object.values(grands));
  for (const [key, o] of Object.entries(OWNERS)) {
    const obj = new Parse.Object(OWNER, { name: o.name, size: o.size });
    if (o.grand) obj.set('parent', grands[o.grand]);
    owners[key] = obj;
  }
  await Parse.Object.saveAll(Object.values(owners));
  const objs = ROWS.map((r) => {
    const o = new Parse.Object(ITEM);
    for (const [k, v] of Object.entries(r)) {
      o.set(k, k === 'owner' ? owners[v] : v);
    }
    items[r.name] = o;
    return o;
  });
  await Parse.Object.saveAll(objs);
  await Parse.Object.saveAll(CATS.map((c) => new Parse.Object(CAT, c)));
  // acme's favourites: a relation on the owner class pointing at items
  owners.acme.relation('favs').add([items.alpha, items.gamma, items['a.b*c']]);
  await owners.acme.save();
});

const q = () => new Parse.Query(ITEM);
const sortedNames = (list) => list.map((o) => o.get('name')).sort();

/** Run `query` and compare with the rows selected by `pred`. */
async function expectRows(query, pred, { allowEmpty = false } = {}) {
  const expected = ROWS.filter(pred).map((r) => r.name).sort();
  if (!allowEmpty) assert.ok(expected.length > 0, 'fixture must select at least one row');
  assert.ok(expected.length < ROWS.length, 'fixture must exclude at least one row');
  const got = await query.find();
  assert.deepEqual(sortedNames(got), expected);
  return got;
}

describe('comparison operators', () => {
  test('equalTo (String, Number, Boolean, Date)', async () => {
    await expectRows(q().equalTo('cat', 'b'), (r) => r.cat === 'b');
    await expectRows(q().equalTo('n', 4), (r) => r.n === 4);
    await expectRows(q().equalTo('flag', false), (r) => r.flag === false);
    await expectRows(q().equalTo('when', day('2024-03-01')), (r) => r.when.getTime() === day('2024-03-01').getTime());
  });

  test('equalTo objectId and containedIn objectId', async () => {
    await expectRows(q().equalTo('objectId', items.beta.id), (r) => r.name === 'beta');
    await expectRows(
      q().containedIn('objectId', [items.beta.id, items.omega.id]),
      (r) => ['beta', 'omega'].includes(r.name),
    );
  });

  test('notEqualTo', async () => {
    await expectRows(q().notEqualTo('cat', 'a'), (r) => r.cat !== 'a');
    await expectRows(q().notEqualTo('flag', true), (r) => r.flag !== true);
  });

  test('lessThan / lessThanOrEqualTo / greaterThan / greaterThanOrEqualTo on numbers', async () => {
    await expectRows(q().lessThan('n', 4), (r) => r.n < 4);
    await expectRows(q().lessThanOrEqualTo('n', 4), (r) => r.n <= 4);
    await expectRows(q().greaterThan('n', 7), (r) => r.n > 7);
    await expectRows(q().greaterThanOrEqualTo('n', 7), (r) => r.n >= 7);
    await expectRows(q().greaterThan('n', 2).lessThan('n', 6), (r) => r.n > 2 && r.n < 6);
  });

  test('range operators on Dates', async () => {
    const cut = day('2024-05-01');
    await expectRows(q().lessThan('when', cut), (r) => r.when < cut);
    await expectRows(q().greaterThanOrEqualTo('when', cut), (r) => r.when >= cut);
  });

  test('range operators on Strings compare lexically', async () => {
    await expectRows(q().greaterThan('cat', 'a'), (r) => r.cat > 'a');
    await expectRows(q().lessThanOrEqualTo('cat', 'b'), (r) => r.cat <= 'b');
  });

  test('containedIn / notContainedIn on scalars', async () => {
    await expectRows(q().containedIn('cat', ['a', 'c']), (r) => ['a', 'c'].includes(r.cat));
    await expectRows(q().notContainedIn('cat', ['a', 'c']), (r) => !['a', 'c'].includes(r.cat));
    await expectRows(q().containedIn('n', [1, 5, 99]), (r) => [1, 5, 99].includes(r.n));
  });

  test('exists / doesNotExist', async () => {
    await expectRows(q().exists('opt'), (r) => r.opt !== undefined);
    await expectRows(q().doesNotExist('opt'), (r) => r.opt === undefined);
  });

  test('several constraints are ANDed', async () => {
    await expectRows(
      q().equalTo('cat', 'a').greaterThan('n', 1).exists('opt'),
      (r) => r.cat === 'a' && r.n > 1 && r.opt !== undefined,
    );
  });

  test('no match gives an empty list', async () => {
    const res = await q().equalTo('cat', 'nope').find();
    assert.deepEqual(res, []);
  });
});

describe('array operators', () => {
  test('containsAll', async () => {
    await expectRows(q().containsAll('tags', ['green', 'blue']), (r) => ['green', 'blue'].every((t) => r.tags.includes(t)));
    await expectRows(q().containsAll('tags', ['blue']), (r) => r.tags.includes('blue'));
  });

  test(
    'containsAll is not fooled by repeated elements in the stored array',
    { skip: PEER && 'parse-server 9.10 on Postgres counts duplicates: ["red","red"] matches $all ["red","green"]' },
    async () => {
      await expectRows(q().containsAll('tags', ['red', 'green']), (r) => ['red', 'green'].every((t) => r.tags.includes(t)));
    },
  );

  test('containedBy (including the empty array)', async () => {
    await expectRows(q().containedBy('tags', ['red', 'green']), (r) => r.tags.every((t) => ['red', 'green'].includes(t)));
  });

  test('containedIn against an array field matches any element', async () => {
    await expectRows(q().containedIn('tags', ['blue']), (r) => r.tags.includes('blue'));
  });

  test('equalTo a scalar on an array field means "contains"', { skip: PEER && 'parse-server 9.10 on Postgres answers 500' }, async () => {
    await expectRows(q().equalTo('tags', 'green'), (r) => r.tags.includes('green'));
  });
});

describe('string operators (\\Q…\\E quoted regexes)', () => {
  test('startsWith quotes regex metacharacters', async () => {
    await expectRows(q().startsWith('name', 'a.b'), (r) => r.name.startsWith('a.b'));
    await expectRows(q().startsWith('name', 'al'), (r) => r.name.startsWith('al'));
  });

  test('endsWith quotes regex metacharacters', async () => {
    await expectRows(q().endsWith('name', '^$'), (r) => r.name.endsWith('^$'));
    await expectRows(q().endsWith('name', 'a'), (r) => r.name.endsWith('a'));
  });

  test('contains quotes regex metacharacters', async () => {
    await expectRows(q().contains('name', 'b*c'), (r) => r.name.includes('b*c'));
    await expectRows(q().contains('name', 'ph'), (r) => r.name.includes('ph'));
  });

  test('startsWith / contains are case-sensitive by default', async () => {
    await expectRows(q().startsWith('name', 'Al'), (r) => r.name.startsWith('Al'));
  });

  test('matches with a RegExp and with a string plus modifiers', async () => {
    await expectRows(q().matches('name', /^al/i), (r) => /^al/i.test(r.name));
    await expectRows(q().matches('name', '^al', 'i'), (r) => /^al/i.test(r.name));
    await expectRows(q().matches('name', 'ta$'), (r) => /ta$/.test(r.name));
    await expectRows(q().matches('name', '^[a-d]x?[a-z]+$'), (r) => /^[a-d]x?[a-z]+$/.test(r.name));
  });

  test('fullText finds documents containing the term', async () => {
    await expectRows(q().fullText('body', 'quick'), (r) => r.body.split(/\W+/).includes('quick'));
    await expectRows(q().fullText('body', 'lazy'), (r) => r.body.split(/\W+/).includes('lazy'));
  });

  test('fullText with sortByTextScore puts the best match first', async () => {
    const res = await q().fullText('body', 'quick').sortByTextScore().find();
    assert.equal(res.length, 2);
    assert.equal(res[0].id, items.gamma.id, 'the row saying "quick" three times ranks first');
    assert.equal(res[1].id, items.alpha.id);
    // keys=$score makes parse-server return the rank as a field named "score"
    assert.equal(typeof res[0].get('score'), 'number');
    assert.ok(res[0].get('score') > res[1].get('score'));
  });

  test('fullText options: language and diacriticSensitive honoured; caseSensitive and accent folding refused (107)', async () => {
    const cls = uniqueClass('Txt');
    await Parse.Object.saveAll(
      ['Café de Flore', 'cafe racer', 'Quick café'].map((body) => new Parse.Object(cls, { body })),
    );
    const bodies = async (query) => (await query.find()).map((o) => o.get('body')).sort();
    const t = () => new Parse.Query(cls);
    // PostgreSQL's text search folds case and keeps accents
    assert.deepEqual(await bodies(t().fullText('body', 'CAFÉ')), ['Café de Flore', 'Quick café']);
    assert.deepEqual(await bodies(t().fullText('body', 'cafe', { diacriticSensitive: true })), ['cafe racer']);
    assert.deepEqual(await bodies(t().fullText('body', 'racer', { language: 'simple' })), ['cafe racer']);
    assert.deepEqual(await bodies(t().fullText('body', 'QUICK', { caseSensitive: false })), ['Quick café']);
    await rejectsWithCode(t().fullText('body', 'cafe', { caseSensitive: true }).find(), 107);
    await rejectsWithCode(t().fullText('body', 'cafe', { diacriticSensitive: false }).find(), 107);
  });
});

describe('pointers, subqueries and relations', () => {
  test('equalTo / notEqualTo / containedIn with a pointer', async () => {
    await expectRows(q().equalTo('owner', owners.acme), (r) => r.owner === 'acme');
    await expectRows(q().notEqualTo('owner', owners.acme), (r) => r.owner !== 'acme');
    await expectRows(
      q().containedIn('owner', [owners.acme, owners.initech]),
      (r) => ['acme', 'initech'].includes(r.owner),
    );
    // an unfetched pointer compares the same as the saved object
    const ptr = Parse.Object.extend(OWNER).createWithoutData(owners.globex.id);
    await expectRows(q().equalTo('owner', ptr), (r) => r.owner === 'globex');
  });

  test('matchesQuery', async () => {
    const big = new Parse.Query(OWNER).greaterThanOrEqualTo('size', 20);
    await expectRows(q().matchesQuery('owner', big), (r) => OWNERS[r.owner].size >= 20);
  });

  test('doesNotMatchQuery', async () => {
    const big = new Parse.Query(OWNER).greaterThanOrEqualTo('size', 20);
    await expectRows(q().doesNotMatchQuery('owner', big), (r) => !(OWNERS[r.owner].size >= 20));
  });

  test('matchesKeyInQuery', async () => {
    const active = new Parse.Query(CAT).equalTo('active', true);
    const activeLabels = CATS.filter((c) => c.active).map((c) => c.label);
    await expectRows(q().matchesKeyInQuery('cat', 'label', active), (r) => activeLabels.includes(r.cat));
  });

  test('doesNotMatchKeyInQuery', async () => {
    const active = new Parse.Query(CAT).equalTo('active', true);
    const activeLabels = CATS.filter((c) => c.active).map((c) => c.label);
    await expectRows(q().doesNotMatchKeyInQuery('cat', 'label', active), (r) => !activeLabels.includes(r.cat));
  });

  test('relatedTo (relation.query() sends $relatedTo)', async () => {
    const favs = ['alpha', 'gamma', 'a.b*c'];
    await expectRows(owners.acme.relation('favs').query(), (r) => favs.includes(r.name));
    await expectRows(
      owners.acme.relation('favs').query().greaterThan('n', 1),
      (r) => favs.includes(r.name) && r.n > 1,
    );
    // an owner that was loaded without the relation's target class known
    const fresh = Parse.Object.extend(OWNER).createWithoutData(owners.acme.id);
    await expectRows(fresh.relation('favs').query(), (r) => favs.includes(r.name));
  });

  test('$relatedTo written by hand, combined with other constraints', async () => {
    const favs = ['alpha', 'gamma', 'a.b*c'];
    const where = {
      $relatedTo: { object: { __type: 'Pointer', className: OWNER, objectId: owners.acme.id }, key: 'favs' },
      cat: { $in: ['a', 'c'] },
    };
    await expectRows(Parse.Query.fromJSON(ITEM, { where }), (r) => favs.includes(r.name) && ['a', 'c'].includes(r.cat));
    const none = await Parse.Query.fromJSON(ITEM, {
      where: { $relatedTo: { object: { __type: 'Pointer', className: OWNER, objectId: owners.globex.id }, key: 'favs' } },
    }).find();
    assert.deepEqual(none, []);
  });
});

describe('compound queries', () => {
  test('Parse.Query.or', async () => {
    await expectRows(
      Parse.Query.or(q().equalTo('cat', 'a'), q().greaterThan('n', 8)),
      (r) => r.cat === 'a' || r.n > 8,
    );
  });

  test('Parse.Query.and', async () => {
    await expectRows(
      Parse.Query.and(q().equalTo('cat', 'a'), q().greaterThan('n', 2)),
      (r) => r.cat === 'a' && r.n > 2,
    );
  });

  test('Parse.Query.nor', async () => {
    await expectRows(
      Parse.Query.nor(q().equalTo('cat', 'a'), q().greaterThan('n', 8)),
      (r) => !(r.cat === 'a' || r.n > 8),
    );
  });

  test('or nested inside and, combined with a plain constraint', async () => {
    const inner = Parse.Query.or(q().equalTo('cat', 'b'), q().equalTo('cat', 'c'));
    const query = Parse.Query.and(inner, q().equalTo('flag', true));
    await expectRows(query, (r) => (r.cat === 'b' || r.cat === 'c') && r.flag === true);
  });
});

describe('ordering, paging and projection', () => {
  test('ascending / descending on one key', async () => {
    const asc = await q().ascending('n').find();
    assert.deepEqual(asc.map((o) => o.get('n')), ROWS.map((r) => r.n).sort((a, b) => a - b));
    const desc = await q().descending('when').find();
    assert.deepEqual(
      desc.map((o) => o.get('when').getTime()),
      ROWS.map((r) => r.when.getTime()).sort((a, b) => b - a),
    );
  });

  test('ordering on several keys', async () => {
    const res = await q().ascending('cat').addDescending('n').find();
    const expected = [...ROWS]
      .sort((a, b) => (a.cat < b.cat ? -1 : a.cat > b.cat ? 1 : b.n - a.n))
      .map((r) => r.name);
    assert.deepEqual(res.map((o) => o.get('name')), expected);
    const res2 = await q().descending('flag').addAscending('n').find();
    const expected2 = [...ROWS]
      .sort((a, b) => (a.flag === b.flag ? a.n - b.n : a.flag ? -1 : 1))
      .map((r) => r.name);
    assert.deepEqual(res2.map((o) => o.get('name')), expected2);
  });

  test('limit and skip', async () => {
    const res = await q().ascending('n').skip(3).limit(4).find();
    assert.deepEqual(res.map((o) => o.get('n')), [4, 5, 6, 7]);
    const tail = await q().ascending('n').skip(8).limit(5).find();
    assert.deepEqual(tail.map((o) => o.get('n')), [9, 10]);
    const beyond = await q().skip(ROWS.length).find();
    assert.deepEqual(beyond, []);
    const zero = await q().limit(0).find();
    assert.deepEqual(zero, []);
  });

  test('select returns only the chosen keys (plus objectId and dates)', async () => {
    const res = await q().select('name', 'n').equalTo('name', 'alpha').find();
    assert.equal(res.length, 1);
    const o = res[0];
    assert.equal(o.get('name'), 'alpha');
    assert.equal(o.get('n'), 1);
    assert.equal(o.has('cat'), false);
    assert.equal(o.has('tags'), false);
    assert.equal(o.id, items.alpha.id);
    assert.ok(o.createdAt instanceof Date);
    assert.ok(o.updatedAt instanceof Date);
  });

  test('exclude drops the chosen keys', async () => {
    const res = await q().exclude('body', 'tags').equalTo('name', 'alpha').find();
    const o = res[0];
    assert.equal(o.has('body'), false);
    assert.equal(o.has('tags'), false);
    assert.equal(o.get('cat'), 'a');
    assert.equal(o.get('n'), 1);
  });

  test('count and withCount', async () => {
    assert.equal(await q().count(), ROWS.length);
    assert.equal(await q().equalTo('cat', 'a').count(), ROWS.filter((r) => r.cat === 'a').length);
    assert.equal(await q().equalTo('cat', 'nope').count(), 0);
    const res = await q().equalTo('cat', 'b').limit(1).withCount().find();
    assert.equal(res.count, ROWS.filter((r) => r.cat === 'b').length);
    assert.equal(res.results.length, 1);
  });
});

describe('include', () => {
  test('without include a pointer has no data', async () => {
    const o = await q().equalTo('name', 'alpha').first();
    assert.equal(o.get('owner').id, owners.acme.id);
    assert.equal(o.get('owner').get('name'), undefined);
  });

  test('include a pointer', async () => {
    const o = await q().equalTo('name', 'alpha').include('owner').first();
    assert.equal(o.get('owner').get('name'), 'acme');
    assert.equal(o.get('owner').get('size'), 10);
    assert.equal(o.get('owner').get('parent').get('title'), undefined, 'one level only');
  });

  test('include with a dot path fetches both levels', async () => {
    const res = await q().include('owner.parent').ascending('n').find();
    assert.equal(res.length, ROWS.length);
    for (const o of res) {
      const row = ROWS.find((r) => r.name === o.get('name'));
      const owner = o.get('owner');
      assert.equal(owner.get('name'), row.owner);
      const grand = OWNERS[row.owner].grand;
      if (grand) assert.equal(owner.get('parent').get('title'), `grand ${grand}`);
      else assert.equal(owner.get('parent'), undefined);
    }
  });

  test('include on an Array of pointers fetches every element', async () => {
    const holder = uniqueClass('Holder');
    const h = await new Parse.Object(holder, { list: [owners.initech, owners.acme] }).save();
    const got = await new Parse.Query(holder).include('list').get(h.id);
    assert.deepEqual(got.get('list').map((o) => o.get('name')), ['initech', 'acme']);
    const plain = await new Parse.Query(holder).get(h.id);
    assert.deepEqual(plain.get('list').map((o) => o.id), [owners.initech.id, owners.acme.id]);
    assert.equal(plain.get('list')[0].get('name'), undefined);
  });

  test("include('*') fetches every pointer one level deep", async () => {
    const o = await q().equalTo('name', 'beta').include('*').first();
    assert.equal(o.get('owner').get('name'), 'globex');
  });

  test('select with a dotted key implies the include', async () => {
    const o = await q().equalTo('name', 'beta').select('name', 'owner.name').first();
    assert.equal(o.get('name'), 'beta');
    assert.equal(o.has('n'), false);
    assert.equal(o.get('owner').get('name'), 'globex');
  });
});

describe('first / get / each / findAll', () => {
  test('first returns the first row in order, or undefined', async () => {
    const o = await q().descending('n').first();
    assert.equal(o.get('n'), Math.max(...ROWS.map((r) => r.n)));
    const none = await q().equalTo('cat', 'nope').first();
    assert.equal(none, undefined);
  });

  test('get by id, respecting other constraints', async () => {
    const o = await q().get(items.delta.id);
    assert.equal(o.get('name'), 'delta');
    await rejectsWithCode(q().equalTo('cat', 'a').get(items.delta.id), Parse.Error.OBJECT_NOT_FOUND);
  });

  test('each visits every matching row exactly once', async () => {
    const seen = [];
    await q().greaterThan('n', 3).each((o) => seen.push(o.get('name')), { batchSize: 3 });
    assert.deepEqual(seen.sort(), ROWS.filter((r) => r.n > 3).map((r) => r.name).sort());
  });

  test('findAll with a small batch size pages through everything', async () => {
    const all = await q().findAll({ batchSize: 4 });
    assert.deepEqual(sortedNames(all), ROWS.map((r) => r.name).sort());
  });
});

describe('aggregate and distinct (master key)', () => {
  test('distinct returns each value once', async () => {
    const values = await q().distinct('cat', { useMasterKey: true });
    assert.deepEqual([...values].sort(), [...new Set(ROWS.map((r) => r.cat))].sort());
  });

  test('distinct honours the query constraints', async () => {
    const values = await q().greaterThan('n', 5).distinct('cat', { useMasterKey: true });
    assert.deepEqual([...values].sort(), [...new Set(ROWS.filter((r) => r.n > 5).map((r) => r.cat))].sort());
  });

  test('aggregate $group with $sum returns objectId = group key', async () => {
    const res = await q().aggregate([{ $group: { _id: '$cat', total: { $sum: '$n' }, rows: { $sum: 1 } } }], {
      useMasterKey: true,
    });
    const got = Object.fromEntries(res.map((r) => [r.objectId, [r.total, r.rows]]));
    const expected = {};
    for (const r of ROWS) {
      expected[r.cat] = expected[r.cat] || [0, 0];
      expected[r.cat][0] += r.n;
      expected[r.cat][1] += 1;
    }
    assert.deepEqual(got, expected);
  });

  const sumsByCat = (rows) => {
    const out = {};
    for (const r of rows) out[r.cat] = (out[r.cat] || 0) + r.n;
    return out;
  };

  test('aggregate $match then $group', async () => {
    const res = await q().aggregate(
      [{ $match: { flag: true } }, { $group: { _id: '$cat', total: { $sum: '$n' } } }],
      { useMasterKey: true },
    );
    const got = Object.fromEntries(res.map((r) => [r.objectId, r.total]));
    assert.deepEqual(got, sumsByCat(ROWS.filter((r) => r.flag)));
  });

  test('aggregate $group with _id null sums everything', async () => {
    const res = await q().aggregate([{ $group: { _id: null, total: { $sum: '$n' } } }], { useMasterKey: true });
    assert.equal(res.length, 1);
    assert.equal(res[0].total, ROWS.reduce((s, r) => s + r.n, 0));
  });

  test(
    'aggregate $match then $group with _id null',
    { skip: PEER && 'parse-server 9.10 on Postgres: 102 column "objectId" must appear in the GROUP BY clause' },
    async () => {
      const res = await q().aggregate(
        [{ $match: { flag: true } }, { $group: { _id: null, total: { $sum: '$n' } } }],
        { useMasterKey: true },
      );
      assert.equal(res.length, 1);
      assert.equal(res[0].total, ROWS.filter((r) => r.flag).reduce((sum, r) => sum + r.n, 0));
    },
  );

  test('aggregate on a constrained query prepends the constraint as $match', async () => {
    const res = await q().greaterThan('n', 4).aggregate({ $group: { _id: '$cat', total: { $sum: '$n' } } }, {
      useMasterKey: true,
    });
    const got = Object.fromEntries(res.map((r) => [r.objectId, r.total]));
    assert.deepEqual(got, sumsByCat(ROWS.filter((r) => r.n > 4)));
  });

  test('aggregate $sort and $limit', async () => {
    const res = await q().aggregate([{ $sort: { n: -1 } }, { $limit: 3 }], { useMasterKey: true });
    assert.deepEqual(res.map((r) => r.name), [...ROWS].sort((a, b) => b.n - a.n).slice(0, 3).map((r) => r.name));
  });
});

describe('limits and paging on a larger class', () => {
  const BIG = uniqueClass('Big');
  const N = 120;

  before(async () => {
    const objs = [];
    for (let i = 0; i < N; i++) objs.push(new Parse.Object(BIG, { i, even: i % 2 === 0 }));
    await Parse.Object.saveAll(objs);
  });

  test('find() without a limit returns 100 rows', async () => {
    const res = await new Parse.Query(BIG).find();
    assert.equal(res.length, 100);
  });

  test('an explicit limit above 100 is honoured', async () => {
    const res = await new Parse.Query(BIG).limit(1000).find();
    assert.equal(res.length, N);
  });

  test('count is not capped by the default limit', async () => {
    assert.equal(await new Parse.Query(BIG).count(), N);
    assert.equal(await new Parse.Query(BIG).equalTo('even', true).count(), N / 2);
  });

  test(
    'count with the master key and no constraints is exact',
    { skip: PEER && 'parse-server on Postgres answers pg_class.reltuples, an estimate (often 0 on a fresh table)' },
    async () => {
      assert.equal(await new Parse.Query(BIG).count({ useMasterKey: true }), N);
    },
  );

  test('findAll and each page past 100 rows', async () => {
    const all = await new Parse.Query(BIG).findAll();
    assert.equal(all.length, N);
    assert.equal(new Set(all.map((o) => o.id)).size, N);
    const seen = new Set();
    await new Parse.Query(BIG).each((o) => {
      seen.add(o.get('i'));
    });
    assert.equal(seen.size, N);
  });

  test('ordered pages with skip do not overlap', async () => {
    const page1 = await new Parse.Query(BIG).ascending('i').limit(50).find();
    const page2 = await new Parse.Query(BIG).ascending('i').skip(50).limit(50).find();
    const page3 = await new Parse.Query(BIG).ascending('i').skip(100).limit(50).find();
    const all = [...page1, ...page2, ...page3].map((o) => o.get('i'));
    assert.deepEqual(all, [...Array(N).keys()]);
    assert.ok(isSorted(all));
  });
});
