import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * PostgreSQL for tests: each suite gets a fresh database on the server named by
 * DATABASE_URL (CI sets it), dropped afterwards. Without DATABASE_URL a local run
 * skips PostgreSQL suites with a visible notice; under CI that is an error.
 */
export const POSTGRES_URL = process.env.DATABASE_URL;

export function postgresAvailable(): boolean {
  if (POSTGRES_URL) return true;
  if (process.env.CI) throw new Error('DATABASE_URL must be set under CI: PostgreSQL suites may not be skipped.');
  console.warn('[manifold tests] DATABASE_URL is not set: skipping the PostgreSQL variants of the store tests.');
  return false;
}

export interface TemporaryDatabase {
  url: string;
  drop: () => Promise<void>;
}

export async function createTemporaryDatabase(): Promise<TemporaryDatabase> {
  if (!POSTGRES_URL) throw new Error('DATABASE_URL is not set');
  const name = `manifold_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        // pg's Pool.end() resolves before its connections have closed; a forced drop that cuts one
        // still saying goodbye makes that client throw an uncaught error. Wait for them (2 s at most).
        for (let attempt = 0; attempt < 40; attempt++) {
          const { rows } = await client.query<{ open: number }>('select count(*)::int as open from pg_stat_activity where datname = $1', [name]);
          if (rows[0]?.open === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
