/**
 * The thin wrapper over `age-encryption` (typage): standard age v1 files, nothing hand-rolled. The one
 * piece written here is the scrypt recipient/identity pair, through age's custom Recipient/Identity
 * interfaces, so that the passphrase's scrypt runs in Node's native thread pool (`crypto.scrypt`)
 * instead of blocking the event loop as the library's pure-JS scrypt would. It follows the age spec's
 * scrypt stanza exactly and is checked against the C2SP CCTV vectors and the reference `age` tool.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCallback } from 'node:crypto';
import { Decrypter, Encrypter, Stanza, armor, generateX25519Identity, identityToRecipient, type Identity, type Recipient } from 'age-encryption';

import { DEFAULT_WORK_FACTOR, MAX_WORK_FACTOR } from './work-factor.js';

export { DEFAULT_WORK_FACTOR, MAX_WORK_FACTOR };

const SCRYPT_LABEL = 'age-encryption.org/v1/scrypt';
const ZERO_NONCE = new Uint8Array(12);

/** Memory scrypt needs at work factor `logN` (r = 8): 128 · r · N bytes. */
export function scryptMemoryBytes(logN: number): number {
  return 128 * 8 * 2 ** logN;
}

function deriveKey(passphrase: string, salt: Uint8Array, logN: number): Promise<Buffer> {
  const labelAndSalt = Buffer.concat([Buffer.from(SCRYPT_LABEL), salt]);
  return new Promise((resolve, reject) =>
    scryptCallback(passphrase, labelAndSalt, 32, { N: 2 ** logN, r: 8, p: 1, maxmem: scryptMemoryBytes(logN) * 2 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** age's unpadded standard base64, strict: a non-canonical encoding is rejected. */
function decodeBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64').replace(/=+$/, '') === text ? new Uint8Array(bytes) : undefined;
}

function seal(key: Uint8Array, fileKey: Uint8Array): Uint8Array {
  const cipher = createCipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: 16 });
  return Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Uint8Array, body: Uint8Array): Uint8Array | null {
  const decipher = createDecipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: 16 });
  decipher.setAuthTag(body.subarray(16));
  try {
    return Buffer.concat([decipher.update(body.subarray(0, 16)), decipher.final()]);
  } catch {
    return null;
  }
}

export class NativeScryptRecipient implements Recipient {
  constructor(
    private readonly passphrase: string,
    private readonly logN: number = DEFAULT_WORK_FACTOR,
  ) {}

  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
    const salt = randomBytes(16);
    const key = await deriveKey(this.passphrase, salt, this.logN);
    const saltText = salt.toString('base64').replace(/=+$/, '');
    return [new Stanza(['scrypt', saltText, String(this.logN)], seal(key, fileKey))];
  }
}

export class NativeScryptIdentity implements Identity {
  constructor(
    private readonly passphrase: string,
    private readonly maxLogN: number = MAX_WORK_FACTOR,
  ) {}

  async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
    for (const stanza of stanzas) {
      if (stanza.args[0] !== 'scrypt') continue;
      // The spec: a scrypt stanza must be the only one, so a passphrase file cannot be re-targeted.
      if (stanzas.length !== 1) throw new Error('scrypt stanza is not the only one in the header');
      const { salt, logN } = parseScryptArgs(stanza.args);
      if (logN > this.maxLogN) throw new Error(`scrypt work factor ${logN} is above the limit of ${this.maxLogN}`);
      if (stanza.body.length !== 32) throw new Error('invalid scrypt stanza body');
      const fileKey = open(await deriveKey(this.passphrase, salt, logN), stanza.body);
      if (fileKey !== null) return fileKey;
    }
    return null;
  }
}

function parseScryptArgs(args: readonly string[]): { salt: Uint8Array; logN: number } {
  const [, saltText, logNText] = args;
  if (args.length !== 3 || saltText === undefined || logNText === undefined) throw new Error('invalid scrypt stanza');
  if (!/^[1-9][0-9]*$/.test(logNText)) throw new Error('invalid scrypt work factor');
  const salt = decodeBase64(saltText);
  if (salt === undefined || salt.length !== 16) throw new Error('invalid scrypt salt');
  return { salt, logN: Number(logNText) };
}

/** An age file to an X25519 recipient (`age1...`). */
export async function encryptTo(recipient: string, plaintext: Uint8Array | string): Promise<Uint8Array> {
  const encrypter = new Encrypter();
  encrypter.addRecipient(recipient);
  return encrypter.encrypt(plaintext);
}

/** Decrypts an age file (binary or armored) with identities and/or passphrases. Throws on any failure. */
export async function decryptWith(file: Uint8Array, keys: { identities?: readonly (string | Identity)[]; passphrases?: readonly string[] }): Promise<Uint8Array> {
  const decrypter = new Decrypter();
  for (const identity of keys.identities ?? []) decrypter.addIdentity(identity);
  for (const passphrase of keys.passphrases ?? []) decrypter.addIdentity(new NativeScryptIdentity(passphrase));
  return decrypter.decrypt(isArmored(file) ? armor.decode(new TextDecoder().decode(file)) : file);
}

/**
 * Decrypts many files with one X25519 identity. The identity is parsed, and its public key derived
 * (a scalar multiplication), once rather than for every file: about a third of each key's cost.
 */
export function identityDecrypter(identity: string): (file: Uint8Array) => Promise<Uint8Array> {
  const decrypter = new Decrypter();
  decrypter.addIdentity(identity);
  return (file) => decrypter.decrypt(isArmored(file) ? armor.decode(new TextDecoder().decode(file)) : file);
}

/** An age file protected by a passphrase (the scrypt recipient). */
export async function encryptWithPassphrase(plaintext: Uint8Array | string, passphrase: string, logN = DEFAULT_WORK_FACTOR): Promise<Uint8Array> {
  const encrypter = new Encrypter();
  encrypter.addRecipient(new NativeScryptRecipient(passphrase, logN));
  return encrypter.encrypt(plaintext);
}

export async function newIdentity(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

function isArmored(file: Uint8Array): boolean {
  return new TextDecoder().decode(file.subarray(0, 128)).trimStart().startsWith('-----BEGIN AGE ENCRYPTED FILE-----');
}

/** The recipient (`age1...`) an identity decrypts for; throws on a malformed identity. */
export function identityToRecipientOf(identity: string): Promise<string> {
  return identityToRecipient(identity);
}

const NO_MATCH = "no identity matched any of the file's recipients";

/**
 * True when decryption failed only because the passphrase did not open the scrypt stanza; any
 * other failure (a header that does not parse, a bad MAC, a broken payload) is damage.
 */
export function isPassphraseMismatch(error: unknown): boolean {
  return error instanceof Error && error.message === NO_MATCH;
}
