import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/**
 * better-sqlite3 for the Node the process runs on. From Node 22 on it is better-sqlite3 13
 * (installed as `better-sqlite3-napi`), built on Node-API: 12.x wraps its objects in
 * `node::ObjectWrap`, whose destructor on Node 24.19+ aborts the process
 * (`Assertion failed: (env) != nullptr` in `RemoveEnvironmentCleanupHook`) when the garbage
 * collector frees a statement outside JavaScript or after teardown. Node 20 keeps 12.x: 13 needs
 * Node 22 and crashes on 20. The API is the same; the types are 12.x's.
 */
const SQLite = (NODE_MAJOR >= 22 ? require('better-sqlite3-napi') : require('better-sqlite3')) as typeof BetterSqlite3;

// The types a caller names (SQLite.Database, SQLite.Statement), as better-sqlite3's own default export has them.
// eslint-disable-next-line @typescript-eslint/no-namespace -- a type-only namespace merged with the value, as in better-sqlite3's typings
declare namespace SQLite {
  type Database = BetterSqlite3.Database;
  type Statement = BetterSqlite3.Statement;
}

export default SQLite;
