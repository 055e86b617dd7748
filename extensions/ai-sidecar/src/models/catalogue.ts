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
