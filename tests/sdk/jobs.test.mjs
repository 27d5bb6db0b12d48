// Jobs through the SDK (issue 15): Parse.Cloud.startJob returns the job status id, Parse.Cloud.getJobStatus
// follows _JobStatus from running to succeeded / failed, Parse.Cloud.getJobsData lists the jobs. The jobs are
// Cloud Code in tests/fixtures/auth_hooks.py, loaded by the server the suite runs against.
import { describe, test } from 'node:test';
import { setTimeout as pause } from 'node:timers/promises';
import { assert, initParse, rejectsWithCode, rand, rest, PEER } from './helpers.mjs';

const Parse = initParse();

/** Wait until the job leaves `running` (a state; the bound only ends a broken run). */
async function finished(jobId) {
  for (let i = 0; i < 1200; i++) {
    const status = await Parse.Cloud.getJobStatus(jobId);
    if (status.get('status') !== 'running') return status;
    await pause(50);
  }
  throw new Error(`job ${jobId} never finished`);
}

describe('jobs', { skip: PEER }, () => {
  test('startJob runs a job to success with its params', async () => {
    const jobId = await Parse.Cloud.startJob('countUsers', { prefix: 'sdk' });
    assert.match(jobId, /^[A-Za-z0-9]{10}$/);
    const status = await finished(jobId);
    assert.equal(status.get('status'), 'succeeded');
    assert.equal(status.get('jobName'), 'countUsers');
    assert.match(status.get('message'), /users, prefix sdk$/);
    assert.ok(status.get('finishedAt') instanceof Date);
  });

  test('a job that throws ends as failed with its message', async () => {
    const status = await finished(await Parse.Cloud.startJob('failing', {}));
    assert.equal(status.get('status'), 'failed');
    assert.equal(status.get('message'), 'the job went wrong');
  });

  test('a job reports progress while it runs', async () => {
    const key = rand(12);
    const jobId = await Parse.Cloud.startJob('slow', { key });
    let status;
    for (let i = 0; i < 1200; i++) {
      status = await Parse.Cloud.getJobStatus(jobId);
      if (status.get('message') === 'waiting for the release row') break;
      await pause(50);
    }
    assert.equal(status.get('status'), 'running');
    await new Parse.Object('JobRelease').save({ key });
    const done = await finished(jobId);
    assert.equal(done.get('message'), 'released');
  });

  test('getJobsData lists the jobs; an unknown job is refused', async () => {
    const data = await Parse.Cloud.getJobsData();
    assert.ok(['countUsers', 'failing', 'slow'].every((j) => data.jobs.includes(j)), JSON.stringify(data));
    assert.deepEqual(data.in_use, []);
    await rejectsWithCode(Parse.Cloud.startJob('noSuchJob', {}), Parse.Error.SCRIPT_FAILED);
  });

  test('without the master key there are no jobs', async () => {
    const res = await rest('POST', 'jobs/countUsers', { body: {} });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, Parse.Error.OPERATION_FORBIDDEN);
  });
});
