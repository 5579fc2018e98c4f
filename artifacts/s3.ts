/**
 * S3 backend (MinIO in development, any S3 in production) through @aws-sdk/client-s3:
 * path-style addressing when an endpoint is given, the SDK's standard retry mode with backoff on
 * transient errors, and multipart uploads (@aws-sdk/lib-storage) above 16 MiB. An S3 PUT is
 * atomic: readers see an object whole or not at all. Credentials come from the SDK's default
 * chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, profiles) and never appear in messages.
 * The SDK is loaded on the first request, so that commands that never reach S3 do not load it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectBackend } from './store.ts';

export interface S3Options {
  bucket: string;
  prefix?: string;
  endpoint?: string;
  region?: string;
  maxAttempts?: number;
  /** Explicit credentials; by default the SDK's chain (AWS_* variables, profiles, roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

const MULTIPART_THRESHOLD = 16 * 1024 * 1024;

type Sdk = typeof import('@aws-sdk/client-s3') & { Upload: typeof import('@aws-sdk/lib-storage').Upload };
let sdkLoading: Promise<Sdk> | undefined;
/** @aws-sdk/client-s3 and lib-storage, loaded once, on first use. */
const loadSdk = (): Promise<Sdk> =>
  (sdkLoading ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]).then(([s3, storage]) => ({
    ...s3,
    Upload: storage.Upload,
  })));

/** Remove secrets from a text: the credential variables' values and AWS access key ids. */
export function redact(text: string, env: NodeJS.ProcessEnv = process.env, extra: string[] = []): string {
  let out = text;
  const secrets = [
    ...['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ACCESS_KEY_ID', 'MINIO_ROOT_PASSWORD'].map((v) => env[v]),
    ...extra,
  ];
  for (const secret of secrets) {
    if (secret && secret.length >= 8) out = out.split(secret).join('[redacted]');
  }
  return out.replace(/(AKIA|ASIA)[A-Z0-9]{12,}/g, '[redacted]');
}

/** An endpoint URL without user info (a URL may carry credentials as user:password@). */
function safeEndpoint(endpoint: string): string {
  try {
    const u = new URL(endpoint);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '[endpoint]';
  }
}

/** Error text without anything that could carry a credential. */
function safeMessage(e: unknown, secrets: string[] = []): string {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = err.$metadata?.httpStatusCode ? ` (HTTP ${err.$metadata.httpStatusCode})` : '';
  return redact(`${err.name ?? 'Error'}: ${err.message ?? String(e)}${status}`, process.env, secrets);
}

export class S3Backend implements ObjectBackend {
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint?: string;
  readonly #secrets: string[];
  readonly #opts: S3Options;
  #client?: Promise<{ client: S3Client; sdk: Sdk }>;

  constructor(opts: S3Options) {
    const c = opts.credentials;
    this.#secrets = c ? [c.secretAccessKey, c.accessKeyId, c.sessionToken ?? ''] : [];
    this.#opts = opts;
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.endpoint = opts.endpoint;
  }

  /** The SDK and this backend's client, made on first use. */
  private s3(): Promise<{ client: S3Client; sdk: Sdk }> {
    const opts = this.#opts;
    this.#client ??= loadSdk().then((sdk) => ({
      sdk,
      client: new sdk.S3Client({
        region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
        endpoint: opts.endpoint,
        forcePathStyle: opts.endpoint !== undefined,
        maxAttempts: opts.maxAttempts ?? 5,
        retryMode: 'standard',
        ...(opts.credentials ? { credentials: opts.credentials } : {}),
      }),
    }));
    return this.#client;
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}${this.endpoint ? ` at ${safeEndpoint(this.endpoint)}` : ''}`;
  }

  private full(path: string): string {
    return this.prefix ? `${this.prefix}/${path}` : path;
  }

  private wrap(op: string, path: string, e: unknown): Error {
    return new Error(`S3 ${op} ${this.full(path)} in bucket ${this.bucket} failed: ${safeMessage(e, this.#secrets)}`);
  }

  async getObject(path: string): Promise<Uint8Array | undefined> {
    const { client, sdk } = await this.s3();
    try {
      const r = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.full(path) }));
      return await r.Body!.transformToByteArray();
    } catch (e) {
      if (e instanceof sdk.NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') return undefined;
      throw this.wrap('GET', path, e);
    }
  }

  async putObject(path: string, data: Uint8Array): Promise<void> {
    const { client, sdk } = await this.s3();
    try {
      if (data.byteLength > MULTIPART_THRESHOLD) {
        await new sdk.Upload({
          client,
          params: { Bucket: this.bucket, Key: this.full(path), Body: data },
          partSize: 8 * 1024 * 1024,
          queueSize: 4,
          leavePartsOnError: false,
        }).done();
      } else {
        await client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.full(path), Body: data }));
      }
    } catch (e) {
      throw this.wrap('PUT', path, e);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const { client, sdk } = await this.s3();
    const out: string[] = [];
    let token: string | undefined;
    const base = this.prefix ? `${this.prefix}/` : '';
    try {
      do {
        const r = await client.send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + prefix, ContinuationToken: token }));
        for (const o of r.Contents ?? []) if (o.Key) out.push(o.Key.slice(base.length));
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw this.wrap('LIST', prefix, e);
    }
    return out.sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    const { client, sdk } = await this.s3();
    const keys = await this.list(prefix);
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      try {
        await client.send(
          new sdk.DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: chunk.map((k) => ({ Key: this.full(k) })) } }),
        );
      } catch (e) {
        throw this.wrap('DELETE', prefix, e);
      }
    }
  }

  /**
   * PutObject (or CompleteMultipartUpload above the multipart threshold) with `If-None-Match: *`.
   * 412 means the key exists: false. 409 (ConditionalRequestConflict) means a concurrent
   * conditional write of the same key was in progress and its outcome is not known yet; S3's
   * advice is to retry, and the retry answers 412 (it succeeded) or 200 (it did not).
   */
  async putObjectIfAbsent(path: string, data: Uint8Array): Promise<boolean> {
    const { client, sdk } = await this.s3();
    for (let attempt = 0; ; attempt++) {
      try {
        if (data.byteLength > MULTIPART_THRESHOLD) {
          await new sdk.Upload({
            client,
            params: { Bucket: this.bucket, Key: this.full(path), Body: data, IfNoneMatch: '*' },
            partSize: 8 * 1024 * 1024,
            queueSize: 4,
            leavePartsOnError: false,
          }).done();
        } else {
          await client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.full(path), Body: data, IfNoneMatch: '*' }));
        }
        return true;
      } catch (e) {
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        const name = (e as { name?: string }).name;
        if (status === 412 || name === 'PreconditionFailed') return false;
        if ((status === 409 || name === 'ConditionalRequestConflict') && attempt < 6) {
          await new Promise((r) => setTimeout(r, 50 * 2 ** attempt + Math.random() * 50));
          continue;
        }
        throw this.wrap('PUT (if absent)', path, e);
      }
    }
  }

  async getObjectStream(path: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const { client, sdk } = await this.s3();
    try {
      const r = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.full(path) }));
      return r.Body as AsyncIterable<Uint8Array>;
    } catch (e) {
      if (e instanceof sdk.NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') return undefined;
      throw this.wrap('GET', path, e);
    }
  }

  async sizeOf(path: string): Promise<number | undefined> {
    const { client, sdk } = await this.s3();
    try {
      const r = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.full(path) }));
      return r.ContentLength;
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || (e as { name?: string }).name === 'NotFound' || (e as { name?: string }).name === 'NoSuchKey') return undefined;
      throw this.wrap('HEAD', path, e);
    }
  }

  async deleteObject(path: string): Promise<void> {
    const { client, sdk } = await this.s3();
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.full(path) }));
    } catch (e) {
      throw this.wrap('DELETE', path, e);
    }
  }
}
