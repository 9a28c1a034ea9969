import { Busboy, type BusboyInstance } from '@fastify/busboy';
import type { TokenIdentity } from '../../core/conversations/intake.ts';
import { MAX_FILE_BYTES, maxFileWords } from '../../core/files/limits.ts';
import { HttpError, sendJson, type HttpRequest } from '../http.ts';
import type { AuthedHandler, WebRouteDeps, WebRoute } from './route-deps.ts';

/** The uploaded file of a multipart body: its name and bytes. */
type Part = { name: string; bytes: Buffer };

/**
 * Reads the one file part (`file`) of a multipart/form-data body, counting bytes while they
 * stream: past MAX_FILE_BYTES reading stops being kept and the answer is 413.
 */
function readFilePart(req: HttpRequest): Promise<Part> {
  const type = req.headers['content-type'];
  if (!type || !type.toLowerCase().startsWith('multipart/form-data')) {
    return Promise.reject(
      new HttpError(415, 'unsupported_media_type', 'Send the file as multipart/form-data with a part named "file".'),
    );
  }
  return new Promise((resolve, reject) => {
    let part: Part | undefined;
    let tooLarge = false;
    let failed = false;
    const fail = (err: HttpError) => {
      if (!failed) {
        failed = true;
        reject(err);
      }
    };
    let bb: BusboyInstance;
    try {
      bb = new Busboy({
        headers: { ...req.headers, 'content-type': type },
        limits: { files: 1, fileSize: MAX_FILE_BYTES, fields: 0, parts: 2 },
      });
    } catch {
      fail(new HttpError(400, 'invalid_body', 'The multipart body has no boundary.'));
      return;
    }
    bb.on('file', (field, stream, filename) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        if (!tooLarge) chunks.push(c);
      });
      stream.on('limit', () => {
        tooLarge = true;
        chunks.length = 0;
      });
      stream.on('end', () => {
        if (field === 'file' && !tooLarge) part = { name: filename || 'upload', bytes: Buffer.concat(chunks) };
      });
    });
    bb.on('error', () => fail(new HttpError(400, 'invalid_body', 'The multipart body could not be read.')));
    bb.on('finish', () => {
      if (tooLarge)
        fail(
          new HttpError(
            413,
            'file_too_large',
            `The file is larger than ${maxFileWords}; split it or leave out columns other than the ids.`,
          ),
        );
      else if (!part) fail(new HttpError(400, 'invalid_body', 'The body has no file part named "file".'));
      else if (!failed) resolve(part);
    });
    req.pipe(bb);
  });
}

/**
 * `POST /api/chat/files`: one CSV or XLSX (multipart part `file`, at most MAX_FILE_BYTES) is
 * parsed and stored for the caller's tenant; the answer is its id (for `files` of the next
 * message) and its summary. A bad file is a 400 with one sentence.
 */
export function uploadRoute(ctx: WebRouteDeps, authed: (h: AuthedHandler) => WebRoute['handle']): WebRoute {
  return {
    method: 'POST',
    path: '/api/chat/files',
    handle: authed(async (req, res, who: TokenIdentity) => {
      const part = await readFilePart(req);
      const stored = await ctx.files.upload(
        { tenantId: who.tenantId, platform: 'web', userId: who.userId },
        part.name,
        part.bytes,
      );
      sendJson(res, 201, { file_id: stored.fileId, name: stored.summary.name, summary: stored.text });
    }),
  };
}
