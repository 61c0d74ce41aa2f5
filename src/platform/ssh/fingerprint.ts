import { createHash } from 'node:crypto';

/**
 * OpenSSH SHA256 fingerprint (`SHA256:` + unpadded base64 of the key blob's sha256), the
 * same text `ssh-keygen -lf` prints, so operators can compare it with what they see on
 * the host. Accepts the raw key blob or a public key line (`ssh-ed25519 AAAA... comment`).
 */
export function fingerprint(key: Buffer | string): string {
  const blob = typeof key === 'string' ? publicKeyBlob(key) : key;
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function publicKeyBlob(line: string): Buffer {
  const [type = '', base64 = ''] = line.trim().split(/\s+/);
  const blob = Buffer.from(base64, 'base64');
  // The blob starts with its own key type as a length-prefixed string.
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (length !== type.length || blob.subarray(4, 4 + length).toString('latin1') !== type) {
    throw new TypeError('not an OpenSSH public key line (expected "<type> <base64> [comment]")');
  }
  return blob;
}
