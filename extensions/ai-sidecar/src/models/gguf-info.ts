/**
 * What a user needs to choose a local model, read from the GGUF header with node-llama-cpp (no
 * weights are loaded): architecture, parameter count, quantisation, size, trained context length,
 * and whether it carries a chat template.
 */
import { open, stat } from 'node:fs/promises';
import path from 'node:path';

export interface LocalModelInfo {
  readonly id: string;
  readonly name: string;
  readonly path: string;
  readonly sizeBytes: number;
  readonly architecture: string | null;
  readonly parameters: number | null;
  readonly quantization: string | null;
  readonly contextLength: number | null;
  readonly hasChatTemplate: boolean;
  /** Set when the header could not be read (truncated, not a GGUF file). */
  readonly error?: string;
}

export async function readModelInfo(file: string): Promise<LocalModelInfo> {
  const { sizeBytes, base } = { sizeBytes: (await stat(file)).size, base: path.basename(file) };
  const id = base;
  const name = base.replace(/\.gguf$/i, '');
  try {
    await checkHeader(file);
    const { readGgufFileInfo, GgmlType, GgufFileType } = await import('node-llama-cpp');
    const info = await readGgufFileInfo(file, { readTensorInfo: true });
    const general = info.metadata.general as { architecture?: string; name?: string; file_type?: number };
    const arch = (info.architectureMetadata ?? {}) as { context_length?: number };
    const tensors = info.fullTensorInfo ?? info.tensorInfo ?? [];
    const parameters = tensors.reduce((sum, t) => sum + t.dimensions.reduce((p: number, d) => p * Number(d), 1), 0);
    return {
      id,
      name: general.name && general.name !== general.architecture ? general.name : name,
      path: file,
      sizeBytes,
      architecture: general.architecture ?? null,
      parameters: parameters > 0 ? parameters : null,
      quantization: general.file_type !== undefined ? (GgufFileType[general.file_type] ?? null) : dominantType(tensors.map((t) => GgmlType[t.ggmlType] ?? '?')),
      contextLength: arch.context_length ?? null,
      hasChatTemplate: typeof info.metadata.tokenizer?.chat_template === 'string',
    };
  } catch (error) {
    return { id, name, path: file, sizeBytes, architecture: null, parameters: null, quantization: null, contextLength: null, hasChatTemplate: false, error: `Not a readable GGUF file (${error instanceof Error ? error.message : String(error)}).` };
  }
}

/**
 * The fixed GGUF header, checked before the library parses the rest: a file with the right magic but
 * a nonsense version or counts made node-llama-cpp's reader stall rather than fail.
 */
async function checkHeader(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(24);
    const { bytesRead } = await handle.read(header, 0, 24, 0);
    if (bytesRead < 24 || header.toString('latin1', 0, 4) !== 'GGUF') throw new Error('no GGUF header');
    const version = header.readUInt32LE(4);
    const tensors = header.readBigUInt64LE(8);
    const keys = header.readBigUInt64LE(16);
    if (version < 1 || version > 3) throw new Error(`unsupported GGUF version ${version}`);
    if (tensors > 1_000_000n || keys > 100_000n) throw new Error('implausible GGUF header counts');
  } finally {
    await handle.close();
  }
}

function dominantType(types: readonly string[]): string | null {
  const counts = new Map<string, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
}
