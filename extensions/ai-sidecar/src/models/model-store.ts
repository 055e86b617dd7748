/**
 * The models folder: list GGUF files with their metadata, import a file (copied, or hard-linked
 * where the file system allows), delete one, and download one. File names are checked so no command
 * can reach outside the folder.
 */
import { CodedError } from '../core/coded-error.js';
import { copyFile, link, mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { download, type DownloadProgress } from './downloader.js';
import { readModelInfo, type LocalModelInfo } from './gguf-info.js';

export class ModelStoreError extends CodedError<'validation' | 'not_found' | 'storage'> {
  override readonly name = 'ModelStoreError';
}

/** A plain `*.gguf` file name: no separators, no parent references, not hidden. */
export const MODEL_FILE_NAME = /^(?!\.)[\w.() -]+\.gguf$/i;

export interface DownloadRequest {
  readonly url: string;
  readonly name: string;
  readonly sha256?: string | undefined;
  readonly sizeBytes?: number | undefined;
}

export class ModelStore {
  constructor(
    readonly folder: string,
    private readonly fetchImpl?: typeof fetch,
  ) {}

  async list(): Promise<LocalModelInfo[]> {
    const names = await readdir(this.folder).catch(() => [] as string[]);
    const models = await Promise.all(names.filter((n) => /\.gguf$/i.test(n)).map((n) => readModelInfo(path.join(this.folder, n))));
    return models.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Copies (or hard-links, when `link` and the file system allow) a GGUF file into the folder. */
  async import(source: string, options: { link?: boolean } = {}): Promise<LocalModelInfo> {
    const info = await stat(source).catch(() => undefined);
    if (info === undefined || !info.isFile()) throw new ModelStoreError('not_found', `No file at ${source}.`);
    const name = this.safeName(path.basename(source));
    const target = path.join(this.folder, name);
    await mkdir(this.folder, { recursive: true });
    if (await stat(target).catch(() => undefined)) throw new ModelStoreError('validation', `A model named ${name} is already in the folder.`);
    const linked = options.link === true && (await link(source, target).then(() => true, () => false));
    if (!linked) await copyFile(source, target);
    const model = await readModelInfo(target);
    if (model.error !== undefined) {
      await rm(target, { force: true });
      throw new ModelStoreError('validation', `${name} is not a usable GGUF model: ${model.error}`);
    }
    return model;
  }

  async delete(name: string): Promise<void> {
    const target = path.join(this.folder, this.safeName(name));
    if (!(await stat(target).catch(() => undefined))) throw new ModelStoreError('not_found', `No model named ${name}.`);
    await rm(target);
  }

  async download(request: DownloadRequest, options: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void } = {}): Promise<LocalModelInfo & { sha256: string }> {
    const name = this.safeName(request.name);
    await mkdir(this.folder, { recursive: true });
    const destination = path.join(this.folder, name);
    const { sha256 } = await download({
      url: request.url,
      destination,
      sha256: request.sha256,
      expectedBytes: request.sizeBytes,
      signal: options.signal,
      onProgress: options.onProgress,
      ...(this.fetchImpl ? { fetch: this.fetchImpl } : {}),
    });
    return { ...(await readModelInfo(destination)), sha256 };
  }

  /** Only plain `*.gguf` file names: no separators, no parent references. */
  private safeName(name: string): string {
    if (!MODEL_FILE_NAME.test(name)) {
      throw new ModelStoreError('validation', `"${name}" is not a valid model file name (letters, digits, . _ - and ending in .gguf).`);
    }
    return name;
  }
}
