import Database from '../../../shared/sqlite.js';
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

/**
 * oidc-provider's persistence on SQLite: clients, grants, sessions, interactions, codes,
 * refresh tokens and registration access tokens, one row per model instance. JWT access
 * tokens are self-contained and never stored. WAL mode lets the gateway and the token
 * command use the same file at once.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS oidc_state (
  model      TEXT NOT NULL,
  id         TEXT NOT NULL,
  payload    TEXT NOT NULL,
  grant_id   TEXT,
  user_code  TEXT,
  uid        TEXT,
  expires_at INTEGER,
  PRIMARY KEY (model, id)
);
CREATE INDEX IF NOT EXISTS oidc_state_grant ON oidc_state (model, grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_state_uid ON oidc_state (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_state_user_code ON oidc_state (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_state_expiry ON oidc_state (expires_at) WHERE expires_at IS NOT NULL;
`;

interface Row {
  payload: string;
  expires_at: number | null;
}

export interface OidcStateStore {
  /** Pass as oidc-provider's `adapter` configuration. */
  adapter: AdapterFactory;
  /** Delete expired rows; returns how many were deleted. */
  purgeExpired(): number;
  close(): void;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function openOidcStateStore(file: string): OidcStateStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);

  const statements = {
    upsert: db.prepare<[string, string, string, string | null, string | null, string | null, number | null]>(
      `INSERT INTO oidc_state (model, id, payload, grant_id, user_code, uid, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
         user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
    ),
    find: db.prepare<[string, string], Row>('SELECT payload, expires_at FROM oidc_state WHERE model = ? AND id = ?'),
    findByUid: db.prepare<[string, string], Row>('SELECT payload, expires_at FROM oidc_state WHERE model = ? AND uid = ?'),
    findByUserCode: db.prepare<[string, string], Row>('SELECT payload, expires_at FROM oidc_state WHERE model = ? AND user_code = ?'),
    markConsumed: db.prepare<[string, string, string]>('UPDATE oidc_state SET payload = ? WHERE model = ? AND id = ?'),
    destroy: db.prepare<[string, string]>('DELETE FROM oidc_state WHERE model = ? AND id = ?'),
    revokeByGrantId: db.prepare<[string, string]>('DELETE FROM oidc_state WHERE model = ? AND grant_id = ?'),
    purge: db.prepare<[number]>('DELETE FROM oidc_state WHERE expires_at IS NOT NULL AND expires_at <= ?'),
  };

  const live = (row: Row | undefined): AdapterPayload | undefined => {
    if (!row) return undefined;
    if (row.expires_at !== null && row.expires_at <= nowSeconds()) return undefined;
    return JSON.parse(row.payload) as AdapterPayload;
  };

  // Consuming (a code, a rotated refresh token) must be atomic: read, mark, write back.
  const consume = db.transaction((model: string, id: string) => {
    const row = statements.find.get(model, id);
    if (!row) return;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    payload.consumed = nowSeconds();
    statements.markConsumed.run(JSON.stringify(payload), model, id);
  });

  const adapterFor = (model: string): Adapter => ({
    async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
      const expiresAt = typeof expiresIn === 'number' ? nowSeconds() + expiresIn : null;
      statements.upsert.run(model, id, JSON.stringify(payload), payload.grantId ?? null, payload.userCode ?? null, payload.uid ?? null, expiresAt);
    },
    async find(id: string) {
      return live(statements.find.get(model, id));
    },
    async findByUid(uid: string) {
      return live(statements.findByUid.get(model, uid));
    },
    async findByUserCode(userCode: string) {
      return live(statements.findByUserCode.get(model, userCode));
    },
    async consume(id: string) {
      consume(model, id);
    },
    async destroy(id: string) {
      statements.destroy.run(model, id);
    },
    async revokeByGrantId(grantId: string) {
      statements.revokeByGrantId.run(model, grantId);
    },
  });

  return {
    adapter: adapterFor,
    purgeExpired: () => statements.purge.run(nowSeconds()).changes,
    close: () => db.close(),
  };
}
