/**
 * A few small instruction models that run on an 8 GB laptop, so a new user gets a capable model in
 * one click. No checksum here was verified on this machine (it cannot reach the hub), so none is
 * claimed: each entry says so, and the sha256 computed after download is shown and kept instead.
 */
export interface CatalogueEntry {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly sizeBytes: number;
  /** Memory to run it at a 4k context, roughly. */
  readonly ramBytes: number;
  /** A sha256 we verified ourselves; null when unverified (verify after download, trust on first use). */
  readonly sha256: string | null;
  readonly checksumVerified: boolean;
  readonly licence: string;
}

import { readFileSync } from 'node:fs';
import * as z from 'zod/mini';
import { describeIssues } from '../protocol/issue-text.js';
import { lazy } from '../protocol/lazy-schema.js';
import { MODEL_MIRROR_ENV } from './download-policy.js';
import { MODEL_FILE_NAME } from './model-store.js';

const GiB = 2 ** 30;

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    id: 'qwen2.5-0.5b-instruct-q4_k_m.gguf',
    name: 'Qwen2.5 0.5B Instruct (Q4_K_M)',
    url: 'https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf',
    sizeBytes: 491_400_032,
    ramBytes: 1 * GiB,
    sha256: null,
    checksumVerified: false,
    licence: 'Apache-2.0',
  },
  {
    id: 'Llama-3.2-1B-Instruct-Q4_K_M.gguf',
    name: 'Llama 3.2 1B Instruct (Q4_K_M)',
    url: 'https://huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/main/Llama-3.2-1B-Instruct-Q4_K_M.gguf',
    sizeBytes: 807_694_464,
    ramBytes: 1.5 * GiB,
    sha256: null,
    checksumVerified: false,
    licence: 'Llama 3.2 Community License',
  },
  {
    id: 'qwen2.5-1.5b-instruct-q4_k_m.gguf',
    name: 'Qwen2.5 1.5B Instruct (Q4_K_M)',
    url: 'https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/main/qwen2.5-1.5b-instruct-q4_k_m.gguf',
    sizeBytes: 1_117_320_736,
    ramBytes: 2 * GiB,
    sha256: null,
    checksumVerified: false,
    licence: 'Apache-2.0',
  },
];

/** A JSON file of entries that replaces the list above (an offline team's own models); set outside the page. */
export const CATALOGUE_FILE_ENV = 'SIM_AI_MODEL_CATALOGUE';

/** Built when a catalogue file is given (most starts have none). */
const entryFile = lazy(() => z.array(
  z.object({
    id: z.string().check(z.regex(MODEL_FILE_NAME)),
    name: z.string().check(z.minLength(1), z.maxLength(200)),
    url: z.url({ protocol: /^https?$/ }),
    sizeBytes: z.number().check(z.int(), z.positive()),
    ramBytes: z.number().check(z.int(), z.positive()),
    sha256: z.nullable(z.string().check(z.regex(/^[a-f0-9]{64}$/i))),
    checksumVerified: z.boolean(),
    licence: z.string().check(z.maxLength(200)),
  }),
));

/**
 * The catalogue as this sidecar offers it. Both inputs come from the environment, never the page:
 * `SIM_AI_MODEL_CATALOGUE` may replace the entries, and with a mirror (`SIM_AI_MODEL_MIRROR`) each
 * entry is fetched from the mirror under its file name, so a mirror of the catalogue works offline.
 * A catalogue file that cannot be read or is not valid is reported and the built-in list kept.
 */
export function catalogueFromEnv(env: NodeJS.ProcessEnv, warn: (message: string) => void): CatalogueEntry[] {
  let entries: readonly CatalogueEntry[] = CATALOGUE;
  const file = env[CATALOGUE_FILE_ENV]?.trim();
  if (file) {
    try {
      const parsed = entryFile().safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (!parsed.success) throw new Error(describeIssues(parsed.error.issues, entryFile()));
      entries = parsed.data;
    } catch (error) {
      warn(`${CATALOGUE_FILE_ENV} (${file}) is not a readable catalogue, so the built-in one is used: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const mirror = mirrorBase(env[MODEL_MIRROR_ENV]);
  return entries.map((entry) => (mirror === undefined ? { ...entry } : { ...entry, url: new URL(encodeURIComponent(entry.id), mirror).href }));
}

/** The mirror's address as a folder (a trailing slash), so `http://nas:8080/models` serves `models/<id>`. */
function mirrorBase(value: string | undefined): URL | undefined {
  if (!value?.trim()) return undefined;
  try {
    const base = new URL(value.trim());
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    return base;
  } catch {
    return undefined;
  }
}
