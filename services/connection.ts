/**
 * Connection options from Temporal's usual environment: TEMPORAL_ADDRESS, TEMPORAL_API_KEY (then
 * TLS is on, as Temporal Cloud requires), TEMPORAL_TLS=true, TEMPORAL_TLS_CLIENT_CERT_PATH and
 * TEMPORAL_TLS_CLIENT_KEY_PATH for mTLS. The key is handed to the SDK only: never logged.
 */
import { readFileSync } from 'node:fs';

export function connectionOptions(address?: string, env = process.env) {
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const addr = address ?? env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const certPath = env.TEMPORAL_TLS_CLIENT_CERT_PATH;
  const keyPath = env.TEMPORAL_TLS_CLIENT_KEY_PATH;
  const mtls = certPath && keyPath ? { clientCertPair: { crt: readFileSync(certPath), key: readFileSync(keyPath) } } : undefined;
  const tls = mtls ?? (apiKey || env.TEMPORAL_TLS === 'true' ? true : undefined);
  return { address: addr, ...(apiKey ? { apiKey } : {}), ...(tls ? { tls } : {}) };
}
