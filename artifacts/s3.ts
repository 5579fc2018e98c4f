/**
 * S3 backend (MinIO in development, any S3 in production) through @aws-sdk/client-s3:
 * path-style addressing when an endpoint is given, the SDK's standard retry mode with backoff on
 * transient errors, and multipart uploads (@aws-sdk/lib-storage) above 16 MiB. An S3 PUT is
 * atomic: readers see an object whole or not at all. Credentials come from the SDK's default
 * chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, profiles) and never appear in messages.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ObjectBackend } from './store.ts';

export interface S3Options {
  bucket: string;
  prefix?: string;
  endpoint?: string;
  region?: string;
  maxAttempts?: number;
}

const MULTIPART_THRESHOLD = 16 * 1024 * 1024;

/** Error text without anything that could carry a credential. */
function safeMessage(e: unknown): string {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = err.$metadata?.httpStatusCode ? ` (HTTP ${err.$metadata.httpStatusCode})` : '';
  return `${err.name ?? 'Error'}: ${(err.message ?? String(e)).replace(/(AKIA|ASIA)[A-Z0-9]{12,}/g, '[redacted]')}${status}`;
}

export class S3Backend implements ObjectBackend {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint?: string;

  constructor(opts: S3Options) {
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.endpoint = opts.endpoint;
    this.client = new S3Client({
      region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
      endpoint: opts.endpoint,
      forcePathStyle: opts.endpoint !== undefined,
      maxAttempts: opts.maxAttempts ?? 5,
      retryMode: 'standard',
    });
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}${this.endpoint ? ` at ${this.endpoint}` : ''}`;
  }

  private full(path: string): string {
    return this.prefix ? `${this.prefix}/${path}` : path;
  }

  private wrap(op: string, path: string, e: unknown): Error {
    return new Error(`S3 ${op} ${this.full(path)} in bucket ${this.bucket} failed: ${safeMessage(e)}`);
  }

  async getObject(path: string): Promise<Uint8Array | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.full(path) }));
      return await r.Body!.transformToByteArray();
    } catch (e) {
      if (e instanceof NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') return undefined;
      throw this.wrap('GET', path, e);
    }
  }

  async putObject(path: string, data: Uint8Array): Promise<void> {
    try {
      if (data.byteLength > MULTIPART_THRESHOLD) {
        await new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key: this.full(path), Body: data },
          partSize: 8 * 1024 * 1024,
          queueSize: 4,
          leavePartsOnError: false,
        }).done();
      } else {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.full(path), Body: data }));
      }
    } catch (e) {
      throw this.wrap('PUT', path, e);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    const base = this.prefix ? `${this.prefix}/` : '';
    try {
      do {
        const r = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + prefix, ContinuationToken: token }),
        );
        for (const o of r.Contents ?? []) if (o.Key) out.push(o.Key.slice(base.length));
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw this.wrap('LIST', prefix, e);
    }
    return out.sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    const keys = await this.list(prefix);
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      try {
        await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: chunk.map((k) => ({ Key: this.full(k) })) } }),
        );
      } catch (e) {
        throw this.wrap('DELETE', prefix, e);
      }
    }
  }
}
