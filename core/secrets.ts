import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError } from './errors.ts';

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/**
 * Encrypts `plaintext` with AES-256-GCM under `key` (32 bytes, `Config.secretsKey`) and a fresh
 * random 12-byte IV. The result is `v1:<iv b64>:<tag b64>:<ciphertext b64>`, safe to store in a
 * text column; encrypting the same value twice gives different blobs.
 */
export function encryptSecret(key: Buffer, plaintext: string): string {
  assertKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv.toString('base64'), tag.toString('base64'), ciphertext.toString('base64')].join(':');
}

/**
 * Decrypts a blob made by `encryptSecret`. A malformed, tampered or foreign blob (most often:
 * SECRETS_KEY changed since the secret was stored) throws ConfigError `secret_undecryptable`;
 * the message never contains the blob or the key.
 */
export function decryptSecret(key: Buffer, blob: string): string {
  assertKey(key);
  const parts = blob.split(':');
  const [version, ivB64, tagB64, dataB64] = parts;
  if (
    parts.length !== 4 ||
    version !== VERSION ||
    ivB64 === undefined ||
    tagB64 === undefined ||
    dataB64 === undefined
  ) {
    throw undecryptable('it is not in the expected format (v1:iv:tag:ciphertext)');
  }
  const iv = Buffer.from(ivB64, 'base64');
  const tag = Buffer.from(tagB64, 'base64');
  const data = Buffer.from(dataB64, 'base64');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw undecryptable('it is not in the expected format (v1:iv:tag:ciphertext)');
  }
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw undecryptable('the SECRETS_KEY probably changed since it was stored, or the stored value was altered', cause);
  }
}

function assertKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) {
    throw new ConfigError(
      'config_invalid',
      `The secrets key must be ${KEY_BYTES} bytes (SECRETS_KEY as base64 or 64 hex characters).`,
    );
  }
}

function undecryptable(reason: string, cause?: unknown): ConfigError {
  return new ConfigError(
    'secret_undecryptable',
    `A stored secret could not be decrypted: ${reason}. Restore the previous SECRETS_KEY, or set the secret again ` +
      '(for a tenant AI key: renderbot admin tenant ai …).',
    cause === undefined ? undefined : { cause },
  );
}
