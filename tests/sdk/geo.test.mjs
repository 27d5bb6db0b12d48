// GeoPoint and Bytes fields and the geo queries through the official SDK: near, withinKilometers/Miles/Radians
// (sorted: $nearSphere; unsorted: $geoWithin $centerSphere), withinGeoBox ($within $box), withinPolygon.
import { describe, test, before } from 'node:test';
import { assert, initParse, uniqueClass, rejectsWithCode } from './helpers.mjs';

const Parse = initParse();

const CITIES = {
  paris: [48.8566, 2.3522],
  london: [51.5074, -0.1278],
  berlin: [52.52, 13.405],
  madrid: [40.4168, -3.7038],
  nyc: [40.7128, -74.006],
};
const at = (name) => new Parse.GeoPoint(...CITIES[name]);

describe('GeoPoint and Bytes', () => {
  const cls = uniqueClass('Place');
  const names = (rows) => rows.map((r) => r.get('name'));

  before(async () => {
    const rows = Object.keys(CITIES).map((name) => {
      const o = new Parse.Object(cls);
      o.set({ name, location: at(name) });
      return o;
    });
    await Parse.Object.saveAll(rows, { useMasterKey: true });
  });

  test('a GeoPoint and a Bytes value round-trip; the schema has their types', async () => {
    const c = uniqueClass('Geo');
    const o = new Parse.Object(c);
    o.set('location', new Parse.GeoPoint(-33.8688, 151.2093));
    o.set('blob', { __type: 'Bytes', base64: 'aGVsbG8=' });
    await o.save(null, { useMasterKey: true });
    const got = await new Parse.Query(c).get(o.id, { useMasterKey: true });
    assert.ok(got.get('location') instanceof Parse.GeoPoint);
    assert.equal(got.get('location').latitude, -33.8688);
    assert.equal(got.get('location').longitude, 151.2093);
    assert.deepEqual(got.get('blob'), { __type: 'Bytes', base64: 'aGVsbG8=' });
    const schema = await new Parse.Schema(c).get();
    assert.deepEqual(schema.fields.location, { type: 'GeoPoint' });
    assert.deepEqual(schema.fields.blob, { type: 'Bytes' });
    const second = new Parse.Object(c);
    second.set('other', new Parse.GeoPoint(1, 2));
    const err = await rejectsWithCode(second.save(null, { useMasterKey: true }), Parse.Error.INCORRECT_TYPE);
    assert.match(err.message, /only one GeoPoint field may exist/);
  });

  test('near sorts nearest first; withinKilometers/Miles/Radians bound it', async () => {
    const near = await new Parse.Query(cls).near('location', at('paris')).find();
    assert.deepEqual(names(near), ['paris', 'london', 'berlin', 'madrid', 'nyc']);
    const km = await new Parse.Query(cls).withinKilometers('location', at('paris'), 1000).find();
    assert.deepEqual(names(km), ['paris', 'london', 'berlin']);
    const miles = await new Parse.Query(cls).withinMiles('location', at('paris'), 400).find();
    assert.deepEqual(names(miles), ['paris', 'london']);
    const radians = await new Parse.Query(cls).withinRadians('location', at('london'), 0.01).find();
    assert.deepEqual(names(radians), ['london']);
    const unsorted = await new Parse.Query(cls).withinKilometers('location', at('paris'), 1000, false).find();
    assert.deepEqual(names(unsorted).sort(), ['berlin', 'london', 'paris']);
    const ordered = await new Parse.Query(cls).near('location', at('paris')).descending('name').limit(2).find();
    assert.deepEqual(names(ordered), ['paris', 'nyc']);
    assert.equal(await new Parse.Query(cls).withinKilometers('location', at('paris'), 1000).count(), 3);
  });

  test('withinGeoBox and withinPolygon', async () => {
    const box = await new Parse.Query(cls)
      .withinGeoBox('location', new Parse.GeoPoint(45, -5), new Parse.GeoPoint(53, 5))
      .find();
    assert.deepEqual(names(box).sort(), ['london', 'paris']);
    const europe = [new Parse.GeoPoint(36, -10), new Parse.GeoPoint(60, -10), new Parse.GeoPoint(60, 20),
      new Parse.GeoPoint(36, 20)];
    const inside = await new Parse.Query(cls).withinPolygon('location', europe).find();
    assert.deepEqual(names(inside).sort(), ['berlin', 'london', 'madrid', 'paris']);
    const triangle = [[-10, 36], [20, 36], [-10, 60]];
    const tri = await new Parse.Query(cls).withinPolygon('location', triangle).find();
    assert.deepEqual(names(tri).sort(), ['london', 'madrid', 'paris']);
  });

  test('bad geo input gets parse-server codes', async () => {
    const o = new Parse.Object(uniqueClass('Geo'));
    o.set('location', { __type: 'GeoPoint', latitude: 91, longitude: 0 });
    const err = await rejectsWithCode(o.save(null, { useMasterKey: true }), Parse.Error.INCORRECT_TYPE);
    assert.equal(err.message, 'GeoPoint latitude out of bounds: 91 > 90.0.');
    const q = new Parse.Query(cls);
    q._addCondition('location', '$geoWithin', { $polygon: [new Parse.GeoPoint(1, 1)] });
    const bad = await rejectsWithCode(q.find(), Parse.Error.INVALID_JSON);
    assert.equal(bad.message, 'bad $geoWithin value; $polygon should contain at least 3 GeoPoints');
  });
});

describe('Polygon', () => {
  test('a Parse.Polygon round-trips; polygonContains finds the areas holding a point', async () => {
    const cls = uniqueClass('Area');
    const france = new Parse.Polygon([[51, -5], [51, 8], [42, 8], [42, -5]]);
    const spain = new Parse.Polygon([[43.5, -9.5], [43.5, 3.3], [36, 3.3], [36, -9.5]]);
    const rows = [['france', france], ['spain', spain]].map(([name, area]) => {
      const o = new Parse.Object(cls);
      o.set({ name, area });
      return o;
    });
    await Parse.Object.saveAll(rows, { useMasterKey: true });
    const got = await new Parse.Query(cls).equalTo('name', 'france').first();
    assert.ok(got.get('area') instanceof Parse.Polygon);
    assert.deepEqual(got.get('area').coordinates, [[51, -5], [51, 8], [42, 8], [42, -5], [51, -5]]);
    const schema = await new Parse.Schema(cls).get();
    assert.deepEqual(schema.fields.area, { type: 'Polygon' });
    const holding = async (lat, lng) =>
      (await new Parse.Query(cls).polygonContains('area', new Parse.GeoPoint(lat, lng)).find())
        .map((r) => r.get('name')).sort();
    assert.deepEqual(await holding(48.8566, 2.3522), ['france']);
    assert.deepEqual(await holding(42.5, 1.5), ['france', 'spain']);
    assert.deepEqual(await holding(52.52, 13.405), []);
  });
});
