import { unzipSync } from 'fflate';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackHarness, TEAM, type SlackHarness } from './fakes/slack-harness.ts';
import { buttonClick, mentionEvent, type Who } from './fakes/slack-request.ts';
import { finishedLocalOrder } from './support/exports.ts';
import { type TenantFixture } from './support/fixtures.ts';
import { proposeKugellagerOrder, shown, toolResult } from './support/slack-flows.ts';

/*
 * Results out on Slack (issue 18 items 3 and 4): an export is uploaded into the thread the
 * files.uploadV2 way, and the completion notice shows thumbnails served as signed WebP.
 */

const alice: Who = { teamId: TEAM.teamId, userId: 'U0ALICE001', channel: 'C0RENDERS1' };

describe('results out on Slack', () => {
  let h: SlackHarness;
  let acme: TenantFixture;
  beforeAll(async () => {
    h = await startSlackHarness({ publicUrl: true });
    acme = await h.acmeWithAlice(alice.userId);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('export_results as ZIP: reserved with getUploadURLExternal, bytes POSTed without the token, shared into the thread with completeUploadExternal', async () => {
    const o = await finishedLocalOrder(
      h.em(),
      h.config.dataDir,
      acme.tenant.id,
      acme.outputTypeIds['WebP 1024x1024']!,
      'ACME-KL',
      (pim) => Buffer.from(`webp of ${pim}`),
      { 'ACME-KL-6206': 'mesh missing' },
    );
    h.llm.enqueue(
      { toolCalls: [{ name: 'export_results', arguments: { order_id: o.orderNumber, format: 'zip' } }] },
      { content: 'Here are the images.' },
    );
    const env = mentionEvent(alice, `send me the images of ${o.orderNumber} as a zip`, TEAM);
    expect((await h.send.event(env)).status).toBe(200);
    const threadTs = env.event.ts as string;
    const complete = await h.slack.waitFor('files.completeUploadExternal');
    expect(complete.token).toBe(TEAM.token);
    expect(complete.body).toMatchObject({ channel_id: alice.channel, thread_ts: threadTs });

    const reserve = h.slack.callsOf('files.getUploadURLExternal');
    expect(reserve).toHaveLength(1);
    expect(reserve[0]!.body).toMatchObject({ filename: `${o.orderNumber}-results.zip` });
    const upload = h.slack.callsOf('upload');
    expect(upload).toHaveLength(1);
    expect(upload[0]!.token).toBeUndefined(); // the upload URL is pre-authorised: the bot token never goes there
    const [file] = h.slack.files();
    expect(file).toMatchObject({
      filename: `${o.orderNumber}-results.zip`,
      completed: true,
      channel: alice.channel,
      threadTs,
      title: `${o.orderNumber}-results.zip`,
    });
    expect(Number(reserve[0]!.body.length)).toBe(file!.bytes!.length);
    const entries = unzipSync(new Uint8Array(file!.bytes!));
    expect(Object.keys(entries).sort()).toEqual(['ACME-KL-6204.webp', 'ACME-KL-6205.webp', 'results.csv']);
    expect(Buffer.from(entries['ACME-KL-6205.webp']!).toString()).toBe('webp of ACME-KL-6205');

    // The answer (replacing the placeholder) says the file is attached; no download link is repeated.
    const { update } = await h.answer((c) => c.body.thread_ts === threadTs);
    const all = shown(update);
    expect(all).toContain('Here are the images');
    expect(all).toContain(`${o.orderNumber}-results.zip`);
    expect(all).toContain('is attached to this conversation');
    expect(all).not.toMatch(/export\.zip\?exp=/);
    // The model saw what the file holds, not its bytes or its link.
    const toolMessage = toolResult(h.llm.requests.at(-1)!, 'export_results');
    expect(toolMessage).toMatchObject({
      order_number: o.orderNumber,
      format: 'zip',
      items: 3,
      completed: 2,
      failed: 1,
    });
    expect(JSON.stringify(toolMessage)).not.toContain('exp=');
    expect(h.slack.failures).toEqual([]);
  });

  it('the completion notice of a locally rendered order shows thumbnails: image blocks with signed WebP thumbnail URLs', async () => {
    const { actionId, card, threadTs } = await proposeKugellagerOrder(h, alice, TEAM);
    h.llm.enqueue({ content: 'Rendering.' });
    await h.send.action(
      buttonClick(alice, {
        actionId: 'renderbot.confirm',
        value: actionId,
        messageTs: String(card.response!.ts),
        threadTs,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    const notice = await h.slack.waitFor(
      'chat.postMessage',
      (c) => c.body.thread_ts === threadTs && String(c.body.text).includes('is done'),
      { timeoutMs: 60_000 },
    );
    const images = (notice.body.blocks as { type: string; image_url?: string }[])
      .filter((b) => b.type === 'image')
      .map((b) => b.image_url!);
    expect(images).toHaveLength(3);
    for (const url of images)
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/renders\/[0-9a-f-]{36}\/thumb\?exp=\d+&sig=[0-9a-f]{64}$/);
    const res = await fetch(images[0]!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect(await sharp(Buffer.from(await res.arrayBuffer())).metadata()).toMatchObject({
      format: 'webp',
      width: 256,
      height: 256,
    });
  }, 90_000);
});
