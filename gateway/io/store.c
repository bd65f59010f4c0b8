/*
 * store.c — the durable store (see store.h and docs/store.md).
 *
 * Design: one SQLite connection, WAL journal, exclusive locking mode (the
 * wal-index lives in our heap, no -shm file, and no other process can open
 * the database while we hold it), busy timeout 0 (we are the only writer;
 * waiting would only block the loop). Three tables:
 *
 *     meta   (key TEXT PRIMARY KEY, value INTEGER)   schema_version
 *     outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, kind, link, topic,
 *             retained, cost, payload BLOB)          undelivered messages
 *     state  (key TEXT PRIMARY KEY, value BLOB)      named state blobs
 *
 * plus a partial index on outbox(kind, link, topic) for the retained
 * status messages that replace each other (its WHERE names kinds 2 and 5,
 * as schema 1 made it; only 5, STATUS, replaces since alarm snapshots are
 * each delivered). AUTOINCREMENT keeps sqlite_sequence at
 * the highest id ever committed, so an emptied outbox never hands an old id
 * out again after a restart; within one open store next_id only grows, even
 * past turns that failed, so a late acknowledgement for an item of a failed
 * turn can never delete a newer item.
 *
 * Sync level per transaction, not per connection: SQLite's synchronous
 * setting may only change between transactions, so a turn opens its SQLite
 * transaction lazily, at the first write. Marking items delivered opens a
 * "light" transaction at synchronous=NORMAL (WAL: no fsync on commit); an
 * add, put or state delete opens a "durable" one at synchronous=FULL (WAL:
 * one fsync of the WAL on commit). A turn that marks items delivered and
 * then adds one commits the light part first (no fsync) and goes on in a
 * durable transaction, so the turn still costs at most one fsync. The
 * light part may commit without the durable part (it only records broker
 * acknowledgements, which stand on their own); everything durable in a turn
 * is one transaction. An fsync of the WAL also makes every earlier light
 * commit durable, since they sit before it in the same file.
 *
 * Errors: any SQLite error in a turn rolls the transaction back, fails the
 * turn (later calls return the same code) and schedules a reopen of the
 * connection before the next use, so a store that hit a full disk or an I/O
 * error starts again from what is on disk once the disk is back. Counters
 * (items, bytes) are restored to the turn's start on failure and recounted
 * on reopen.
 *
 * Threading: loop thread only (SQLITE_OPEN_NOMUTEX). SQLite's own memory is
 * not counted by dg_alloc (bounded by its page cache, 2 MiB by default).
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../core/alloc.h"
#include "../core/error.h"

#define DB_NAME        "dosegate.db"
#define APPLICATION_ID 0x64674442 /* "dgDB" in the file header */
#define SYNC_NORMAL    1
#define SYNC_FULL      2

enum txn { TXN_NONE, TXN_LIGHT, TXN_DURABLE };

enum stmt {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_ADD,
    ST_SNAP_COST,
    ST_SNAP_DEL,
    ST_DONE,
    ST_EACH,
    ST_PUT,
    ST_GET,
    ST_DEL,
    ST_DEPTH,
    ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_ADD] = "INSERT INTO outbox(id, kind, link, topic, retained, cost, payload) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    /* The "kind IN (2, 5) AND retained = 1" terms let SQLite use the partial
       index outbox_snapshot. */
    [ST_SNAP_COST] = "SELECT count(*), coalesce(sum(cost), 0) FROM outbox "
                     "WHERE kind IN (2, 5) AND retained = 1 AND kind = ?1 AND link = ?2 "
                     "AND topic = ?3",
    [ST_SNAP_DEL] = "DELETE FROM outbox WHERE kind IN (2, 5) AND retained = 1 AND kind = ?1 "
                    "AND link = ?2 AND topic = ?3",
    [ST_DONE] = "DELETE FROM outbox WHERE id = ?1 RETURNING cost",
    [ST_EACH] = "SELECT id, kind, link, topic, retained, payload FROM outbox "
                "WHERE id > ?1 AND (?2 IS NULL OR link = ?2) ORDER BY id LIMIT ?3",
    [ST_PUT] = "INSERT INTO state(key, value) VALUES (?1, ?2) "
               "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_GET] = "SELECT value FROM state WHERE key = ?1",
    [ST_DEL] = "DELETE FROM state WHERE key = ?1",
    [ST_DEPTH] = "SELECT count(*), coalesce(sum(cost), 0), coalesce(min(id), 0) FROM outbox",
};

static const char schema_v1[] = "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
                                "CREATE TABLE outbox ("
                                " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                " kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 5),"
                                " link TEXT NOT NULL,"
                                " topic TEXT NOT NULL,"
                                " retained INTEGER NOT NULL CHECK (retained IN (0, 1)),"
                                " cost INTEGER NOT NULL,"
                                " payload BLOB NOT NULL);"
                                "CREATE INDEX outbox_snapshot ON outbox(kind, link, topic)"
                                " WHERE kind IN (2, 5) AND retained = 1;"
                                "CREATE TABLE state (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
                                "INSERT INTO meta(key, value) VALUES ('schema_version', 1);";

struct dg_store {
    sqlite3 *db; /* NULL after a failed reopen */
    sqlite3_stmt *st[ST__COUNT];
    char *path; /* dir/dosegate.db */
    char *dir;  /* the state directory */
    uint64_t budget, reserve;
    uint64_t next_id;                /* next outbox id; never goes back while open */
    uint64_t items, bytes;           /* undelivered, including the current turn */
    uint64_t base_items, base_bytes; /* what is committed: restored on failure */
    int in_turn;
    enum txn txn;
    int turn_rc;   /* error that failed the current turn, 0 if none */
    int reopen;    /* a storage error happened: reopen before the next use */
    int last_sql;  /* primary SQLite code of the last error */
    int sync_full; /* durable transactions at FULL (1) or NORMAL (0) */
    int sync_now;  /* the connection's synchronous level, 0 if unknown */
    int iterating; /* inside dg_store_outbox_each's callback */
    struct dg_store_found found;
    char errmsg[640];
};

/* ------------------------------------------------------------ errors */

static const char *code_name(int rc)
{
    switch (rc) { /* the extended codes a full or failing disk gives */
    case SQLITE_IOERR_READ:
        return "SQLITE_IOERR_READ";
    case SQLITE_IOERR_SHORT_READ:
        return "SQLITE_IOERR_SHORT_READ";
    case SQLITE_IOERR_WRITE:
        return "SQLITE_IOERR_WRITE";
    case SQLITE_IOERR_FSYNC:
        return "SQLITE_IOERR_FSYNC";
    case SQLITE_IOERR_DIR_FSYNC:
        return "SQLITE_IOERR_DIR_FSYNC";
    case SQLITE_IOERR_TRUNCATE:
        return "SQLITE_IOERR_TRUNCATE";
    case SQLITE_IOERR_FSTAT:
        return "SQLITE_IOERR_FSTAT";
    case SQLITE_IOERR_DELETE:
        return "SQLITE_IOERR_DELETE";
    case SQLITE_READONLY_RECOVERY:
        return "SQLITE_READONLY_RECOVERY";
    case SQLITE_READONLY_CANTLOCK:
        return "SQLITE_READONLY_CANTLOCK";
    case SQLITE_READONLY_DBMOVED:
        return "SQLITE_READONLY_DBMOVED";
    case SQLITE_READONLY_DIRECTORY:
        return "SQLITE_READONLY_DIRECTORY";
    default:
        break;
    }
    switch (rc & 0xff) {
    case SQLITE_ERROR:
        return "SQLITE_ERROR";
    case SQLITE_PERM:
        return "SQLITE_PERM";
    case SQLITE_BUSY:
        return "SQLITE_BUSY";
    case SQLITE_LOCKED:
        return "SQLITE_LOCKED";
    case SQLITE_NOMEM:
        return "SQLITE_NOMEM";
    case SQLITE_READONLY:
        return "SQLITE_READONLY";
    case SQLITE_IOERR:
        return "SQLITE_IOERR";
    case SQLITE_CORRUPT:
        return "SQLITE_CORRUPT";
    case SQLITE_FULL:
        return "SQLITE_FULL";
    case SQLITE_CANTOPEN:
        return "SQLITE_CANTOPEN";
    case SQLITE_CONSTRAINT:
        return "SQLITE_CONSTRAINT";
    case SQLITE_NOTADB:
        return "SQLITE_NOTADB";
    default:
        return "SQLITE";
    }
}

/*
 * Record a SQLite failure (rc, an extended code) of operation `what` in
 * s->errmsg and return the DG_E* code for it: a full disk (SQLITE_FULL, or an
 * I/O error whose OS error is ENOSPC/EDQUOT) is -DG_EFULL, out of memory
 * -DG_ENOMEM, anything else (read-only, I/O, corruption, locked) -DG_EIO.
 */
static int sql_error(dg_store *s, int rc, const char *what)
{
    int primary = rc & 0xff;
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    int sys = 0;
    /* SQLite records the OS error for these two only, and not for errors
       in COMMIT (where most write errors of a WAL database surface); a zero
       or stale value is possible, so it is only shown. */
    if (s->db && (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN))
        sys = sqlite3_system_errno(s->db);
    s->last_sql = primary;
    int n = sys ? snprintf(s->errmsg, sizeof s->errmsg, "%s: %s: %s (%s, errno %d: %s)", s->path,
                           what, msg, code_name(rc), sys, strerror(sys))
                : snprintf(s->errmsg, sizeof s->errmsg, "%s: %s: %s (%s)", s->path, what, msg,
                           code_name(rc));
    /* Say so when the directory has become read-only (a file system the
       kernel remounted read-only after errors gives SQLITE_IOERR_WRITE). */
    if ((primary == SQLITE_IOERR || primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN) &&
        n > 0 && (size_t)n < sizeof s->errmsg && access(s->dir, W_OK) != 0) {
        int e = errno;
        snprintf(s->errmsg + n, sizeof s->errmsg - (size_t)n,
                 "; the state directory is not writable: %s", strerror(e));
    }
    if (primary == SQLITE_FULL) return -DG_EFULL;
    if (primary == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT)) return -DG_EFULL;
    if (primary == SQLITE_NOMEM) return -DG_ENOMEM;
    return -DG_EIO;
}

/* Run a statement that returns no rows. */
static int run(dg_store *s, enum stmt id, const char *what)
{
    sqlite3_stmt *st = s->st[id];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return 0;
    return sql_error(s, rc, what);
}

static int exec(dg_store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sql_error(s, rc, what);
}

/* ------------------------------------------------------------ connection */

static void db_close(dg_store *s)
{
    for (int i = 0; i < ST__COUNT; i++) {
        sqlite3_finalize(s->st[i]);
        s->st[i] = NULL;
    }
    if (s->db) sqlite3_close(s->db); /* checkpoints and removes the WAL if it can */
    s->db = NULL;
    s->sync_now = 0;
}

/* One integer from a single-row query; *v = 0 if no row. */
static int query_int(dg_store *s, const char *sql, int64_t *v, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return sql_error(s, rc, what);
    *v = 0;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *v = sqlite3_column_int64(st, 0);
    int out = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_error(s, rc, what);
    sqlite3_finalize(st);
    return out;
}

/* Read the schema version, creating the schema in an empty database. Runs
   inside the opening transaction. */
static int schema(dg_store *s, int first, int *created)
{
    int64_t objects, app, version;
    int rc;
    *created = 0;
    if ((rc = query_int(s, "SELECT count(*) FROM sqlite_schema", &objects, "read schema")) != 0)
        return rc;
    if ((rc = query_int(s, "PRAGMA application_id", &app, "read application_id")) != 0) return rc;
    if (objects == 0 && app == 0) {
        if (!first) {
            /* Reopening must find the store it had, not start a new one. */
            snprintf(s->errmsg, sizeof s->errmsg, "%s: reopen: the store has gone (empty file)",
                     s->path);
            return -DG_EIO;
        }
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA application_id = %d", APPLICATION_ID);
        if ((rc = exec(s, sql, "create schema")) != 0) return rc;
        if ((rc = exec(s, schema_v1, "create schema")) != 0) return rc;
        *created = 1;
        s->found.schema_version = 1;
        return 0;
    }
    if (app != APPLICATION_ID) {
        snprintf(s->errmsg, sizeof s->errmsg,
                 "%s: not a dosegate store (application_id 0x%08" PRIx64 ")", s->path,
                 (uint64_t)(uint32_t)app);
        return -DG_EIO;
    }
    rc = query_int(s, "SELECT value FROM meta WHERE key = 'schema_version'", &version,
                   "read schema version");
    if (rc != 0) return rc;
    if (version > DG_STORE_SCHEMA_VERSION) {
        snprintf(s->errmsg, sizeof s->errmsg,
                 "%s: schema version %" PRId64 " was written by a newer dosegate; this one "
                 "reads up to version %d (refusing to open: downgrade is not supported)",
                 s->path, version, DG_STORE_SCHEMA_VERSION);
        return -DG_EIO;
    }
    if (version < 1) {
        snprintf(s->errmsg, sizeof s->errmsg, "%s: no valid schema version (%" PRId64 ")", s->path,
                 version);
        return -DG_EIO;
    }
    /* Migrations from older versions go here, in this transaction. */
    s->found.schema_version = (int)version;
    return 0;
}

/* Recount the outbox and the next id from what is committed. */
static int recount(dg_store *s, uint64_t *first_id)
{
    sqlite3_stmt *st = s->st[ST_DEPTH];
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return sql_error(s, rc, "count outbox");
    }
    s->items = s->base_items = (uint64_t)sqlite3_column_int64(st, 0);
    s->bytes = s->base_bytes = (uint64_t)sqlite3_column_int64(st, 1);
    *first_id = (uint64_t)sqlite3_column_int64(st, 2);
    sqlite3_reset(st);
    int64_t seq;
    rc = query_int(s, "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'outbox'",
                   &seq, "read last id");
    if (rc != 0) return rc;
    if ((uint64_t)seq + 1 > s->next_id) s->next_id = (uint64_t)seq + 1;
    return 0;
}

/*
 * Open the connection: first open, or reopen after an error (which never
 * creates the file: a store that vanished, e.g. with its file system, must
 * not come back empty). On failure returns a DG_E* code with s->errmsg set
 * and leaves s->db NULL.
 */
static int db_open(dg_store *s, int first)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (first) flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(s->path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = s->db ? sql_error(s, rc, first ? "open" : "reopen") : -DG_ENOMEM;
        if (!s->db) snprintf(s->errmsg, sizeof s->errmsg, "%s: open: out of memory", s->path);
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 0);
    /* Exclusive before the first access: the WAL index is then kept in our
       heap (no -shm file) and the lock is held until close. */
    if ((rc = exec(s, "PRAGMA locking_mode = EXCLUSIVE", "set locking mode")) != 0) goto fail;
    {
        sqlite3_stmt *st = NULL;
        int r = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (r == SQLITE_OK) r = sqlite3_step(st);
        int wal = r == SQLITE_ROW &&
                  sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
        sqlite3_finalize(st);
        if (r == SQLITE_BUSY || r == SQLITE_LOCKED || (r & 0xff) == SQLITE_BUSY) {
            snprintf(s->errmsg, sizeof s->errmsg,
                     "%s: in use by another process or connection (database is locked)", s->path);
            rc = -DG_EIO;
            goto fail;
        }
        if (r != SQLITE_ROW) {
            rc = sql_error(s, r, "set WAL mode");
            goto fail;
        }
        if (!wal) {
            snprintf(s->errmsg, sizeof s->errmsg, "%s: could not switch to WAL mode", s->path);
            rc = -DG_EIO;
            goto fail;
        }
    }
    if ((rc = exec(s,
                   /* journal_size_limit: the WAL is cut back to 4 MiB after a
                      checkpoint. */
                   "PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;"
                   "PRAGMA journal_size_limit = 4194304;",
                   "set pragmas")) != 0)
        goto fail;
    s->sync_now = SYNC_FULL;

    if ((rc = exec(s, "BEGIN IMMEDIATE", "lock")) != 0) {
        if ((sqlite3_errcode(s->db) & 0xff) == SQLITE_BUSY)
            snprintf(s->errmsg, sizeof s->errmsg,
                     "%s: in use by another process or connection (database is locked)", s->path);
        goto fail;
    }
    int created = 0;
    if ((rc = schema(s, first, &created)) != 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    if ((rc = exec(s, "COMMIT", "create schema")) != 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    for (int i = 0; i < ST__COUNT; i++) {
        int r =
            sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
        if (r != SQLITE_OK) {
            rc = sql_error(s, r, "prepare");
            goto fail;
        }
    }
    uint64_t first_id = 0;
    if ((rc = recount(s, &first_id)) != 0) goto fail;
    if (first) {
        int64_t keys;
        if ((rc = query_int(s, "SELECT count(*) FROM state", &keys, "count state")) != 0) goto fail;
        s->found.created = created;
        s->found.outbox_items = s->items;
        s->found.outbox_bytes = s->bytes;
        s->found.first_id = first_id;
        s->found.last_id = s->next_id - 1;
        s->found.state_keys = (uint64_t)keys;
    }
    s->reopen = 0;
    return 0;

fail:
    db_close(s);
    return rc;
}

int dg_store_open(dg_store **out, const char *dir, uint64_t disk_budget_bytes, char *err,
                  size_t errlen)
{
    int rc;
    dg_store *s = NULL;
    if (err && errlen) err[0] = '\0';
    *out = NULL;
    if (!dir || !dir[0] || disk_budget_bytes == 0) {
        if (err && errlen)
            snprintf(err, errlen, "state store: %s",
                     !dir || !dir[0] ? "no directory given" : "disk budget must be > 0");
        return -DG_EINVAL;
    }
    if (!(s = dg_calloc(1, sizeof *s))) goto nomem;
    size_t n = strlen(dir) + sizeof "/" DB_NAME;
    if (!(s->path = dg_malloc(n))) goto nomem;
    snprintf(s->path, n, "%s/%s", dir, DB_NAME);
    if (!(s->dir = dg_strdup(dir))) goto nomem;
    s->budget = disk_budget_bytes;
    s->reserve = disk_budget_bytes / 8;
    s->sync_full = 1;
    s->next_id = 1;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        snprintf(s->errmsg, sizeof s->errmsg, "%s: cannot create the state directory: %s", dir,
                 strerror(e));
        rc = e == ENOSPC || e == EDQUOT ? -DG_EFULL : -DG_EIO;
        goto fail;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(s->errmsg, sizeof s->errmsg, "%s: not a directory", dir);
        rc = -DG_EIO;
        goto fail;
    }
    /* SQLite's own message for these ("unable to open database file",
       "disk I/O error") does not say why. */
    if (access(dir, W_OK | X_OK) != 0 || (access(s->path, F_OK) == 0 && access(s->path, W_OK))) {
        int e = errno;
        snprintf(s->errmsg, sizeof s->errmsg, "%s: the state directory is not writable: %s", dir,
                 strerror(e));
        rc = -DG_EIO;
        goto fail;
    }
    if ((rc = db_open(s, 1)) != 0) goto fail;
    *out = s;
    return 0;

nomem:
    if (s) snprintf(s->errmsg, sizeof s->errmsg, "state store: out of memory");
    rc = -DG_ENOMEM;
fail:
    if (err && errlen) snprintf(err, errlen, "%s", s ? s->errmsg : "state store: out of memory");
    if (s) {
        dg_free(s->path);
        dg_free(s->dir);
    }
    dg_free(s);
    return rc;
}

const struct dg_store_found *dg_store_found(const dg_store *s)
{
    return &s->found;
}

void dg_store_close(dg_store *s)
{
    if (!s) return;
    s->iterating = 0;
    dg_store_rollback(s);
    db_close(s);
    dg_free(s->path);
    dg_free(s->dir);
    dg_free(s);
}

void dg_store_set_sync_full(dg_store *s, int full)
{
    s->sync_full = full != 0;
}

const char *dg_store_errmsg(const dg_store *s)
{
    return s->errmsg;
}

/* ------------------------------------------------------------ turns */

/*
 * After a storage error the connection is reopened before its next use,
 * except after SQLITE_FULL: SQLite recovers from that by itself (the failed
 * WAL frames are simply overwritten), and a disk that stays full would
 * otherwise cost a close and open per loop turn.
 */
static void schedule_reopen(dg_store *s)
{
    if (s->last_sql != SQLITE_FULL) s->reopen = 1;
}

/* A storage error in a turn: roll back what the turn did, remember why. */
static int turn_fail(dg_store *s, int rc)
{
    if (s->db && !sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->txn = TXN_NONE;
    s->items = s->base_items;
    s->bytes = s->base_bytes;
    schedule_reopen(s);
    if (s->in_turn) s->turn_rc = rc;
    return rc;
}

/* Reopen after an error (outside any SQLite transaction). */
static int ensure_db(dg_store *s)
{
    if (s->db && !s->reopen) return 0;
    db_close(s);
    return db_open(s, 0);
}

int dg_store_begin(dg_store *s)
{
    if (s->in_turn || s->iterating) return -DG_EINVAL;
    s->in_turn = 1;
    s->turn_rc = 0;
    s->txn = TXN_NONE;
    int rc = ensure_db(s);
    if (rc != 0) s->turn_rc = rc;
    return 0;
}

/* Make sure the turn has a SQLite transaction fit for the next write. */
static int need_txn(dg_store *s, int durable)
{
    int rc;
    if (s->txn == TXN_DURABLE || (s->txn == TXN_LIGHT && !durable)) return 0;
    if (s->txn == TXN_LIGHT) {
        /* Delivery marks so far commit on their own (no fsync); the rest of
           the turn is one durable transaction. */
        if ((rc = run(s, ST_COMMIT, "commit")) != 0) return turn_fail(s, rc);
        s->txn = TXN_NONE;
        s->base_items = s->items;
        s->base_bytes = s->bytes;
    }
    int want = durable && s->sync_full ? SYNC_FULL : SYNC_NORMAL;
    if (s->sync_now != want) {
        rc =
            exec(s, want == SYNC_FULL ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                 "set synchronous");
        if (rc != 0) return turn_fail(s, rc);
        s->sync_now = want;
    }
    if ((rc = run(s, ST_BEGIN, "begin")) != 0) return turn_fail(s, rc);
    s->txn = durable ? TXN_DURABLE : TXN_LIGHT;
    return 0;
}

int dg_store_commit(dg_store *s)
{
    if (!s->in_turn || s->iterating) return -DG_EINVAL;
    int rc = s->turn_rc;
    if (rc == 0 && s->txn != TXN_NONE) {
        rc = run(s, ST_COMMIT, "commit");
        if (rc != 0) turn_fail(s, rc);
    }
    if (rc == 0) {
        s->base_items = s->items;
        s->base_bytes = s->bytes;
    }
    s->in_turn = 0;
    s->turn_rc = 0;
    s->txn = TXN_NONE;
    return rc;
}

void dg_store_rollback(dg_store *s)
{
    if (!s->in_turn || s->iterating) return;
    if (s->txn != TXN_NONE && run(s, ST_ROLLBACK, "rollback") != 0) schedule_reopen(s);
    s->items = s->base_items;
    s->bytes = s->base_bytes;
    s->in_turn = 0;
    s->turn_rc = 0;
    s->txn = TXN_NONE;
}

int dg_store_turn_error(const dg_store *s)
{
    return s->in_turn ? s->turn_rc : 0;
}

/* Every write runs in a turn: the caller's, or one of its own. */
static int op_enter(dg_store *s, int *implicit)
{
    *implicit = !s->in_turn;
    if (*implicit) dg_store_begin(s);
    return s->turn_rc;
}

static int op_leave(dg_store *s, int implicit, int rc)
{
    if (!implicit) return rc;
    int crc = dg_store_commit(s);
    return rc ? rc : crc;
}

/* ------------------------------------------------------------ outbox */

static int reserve_kind(enum dg_outbox_kind kind)
{
    return kind == DG_OUTBOX_ALERT || kind == DG_OUTBOX_AUDIT;
}

static const char *kind_name(enum dg_outbox_kind kind)
{
    static const char *const names[] = {"?", "alert", "alarms", "command", "audit", "status"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

int dg_store_outbox_add(dg_store *s, enum dg_outbox_kind kind, const char *link, const char *topic,
                        const void *payload, size_t len, int retained, uint64_t *id)
{
    if (s->iterating || kind < DG_OUTBOX_ALERT || kind > DG_OUTBOX_STATUS || !link || !topic ||
        (!payload && len) || len > DG_STORE_BLOB_MAX)
        return -DG_EINVAL;
    size_t llen = strlen(link), tlen = strlen(topic);
    if (llen == 0 || llen > DG_STORE_LINK_MAX || tlen == 0 || tlen > DG_STORE_TOPIC_MAX)
        return -DG_EINVAL;
    retained = retained != 0;
    uint64_t cost = (uint64_t)len + llen + tlen + DG_STORE_ITEM_OVERHEAD;
    int implicit, rc;
    if ((rc = op_enter(s, &implicit)) != 0) return op_leave(s, implicit, rc);

    /* A retained status replaces the undelivered one on the same topic
       (alarm snapshots do not: the clinic gets each one, in order). */
    int snapshot = retained && kind == DG_OUTBOX_STATUS;
    uint64_t freed_items = 0, freed_bytes = 0;
    if (snapshot) {
        sqlite3_stmt *st = s->st[ST_SNAP_COST];
        sqlite3_bind_int(st, 1, (int)kind);
        sqlite3_bind_text(st, 2, link, (int)llen, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, topic, (int)tlen, SQLITE_STATIC);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            freed_items = (uint64_t)sqlite3_column_int64(st, 0);
            freed_bytes = (uint64_t)sqlite3_column_int64(st, 1);
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (r != SQLITE_ROW) {
            rc = turn_fail(s, sql_error(s, r, "outbox add"));
            return op_leave(s, implicit, rc);
        }
    }

    uint64_t limit = reserve_kind(kind) ? s->budget : s->budget - s->reserve;
    if (s->bytes - freed_bytes + cost > limit) {
        snprintf(s->errmsg, sizeof s->errmsg,
                 "%s: outbox over its disk budget: %s item of %" PRIu64 " bytes refused, %" PRIu64
                 " items (%" PRIu64 " bytes) undelivered, limit %" PRIu64
                 " bytes for %s items (budget %" PRIu64 ")",
                 s->path, kind_name(kind), cost, s->items, s->bytes, limit,
                 reserve_kind(kind) ? "alert and audit" : "other", s->budget);
        return op_leave(s, implicit, -DG_EFULL);
    }

    if ((rc = need_txn(s, 1)) != 0) return op_leave(s, implicit, rc);
    if (freed_items) {
        sqlite3_stmt *st = s->st[ST_SNAP_DEL];
        sqlite3_bind_int(st, 1, (int)kind);
        sqlite3_bind_text(st, 2, link, (int)llen, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, topic, (int)tlen, SQLITE_STATIC);
        rc = run(s, ST_SNAP_DEL, "outbox replace snapshot");
        sqlite3_clear_bindings(st);
        if (rc != 0) return op_leave(s, implicit, turn_fail(s, rc));
    }
    uint64_t new_id = s->next_id++;
    sqlite3_stmt *st = s->st[ST_ADD];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)new_id);
    sqlite3_bind_int(st, 2, (int)kind);
    sqlite3_bind_text(st, 3, link, (int)llen, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, topic, (int)tlen, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, retained);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)cost);
    sqlite3_bind_blob(st, 7, len ? payload : "", (int)len, SQLITE_STATIC);
    rc = run(s, ST_ADD, "outbox add");
    sqlite3_clear_bindings(st);
    if (rc != 0) return op_leave(s, implicit, turn_fail(s, rc));
    s->items = s->items - freed_items + 1;
    s->bytes = s->bytes - freed_bytes + cost;
    if (id) *id = new_id;
    return op_leave(s, implicit, 0);
}

int dg_store_outbox_done(dg_store *s, uint64_t id)
{
    if (s->iterating) return -DG_EINVAL;
    int implicit, rc;
    if ((rc = op_enter(s, &implicit)) != 0) return op_leave(s, implicit, rc);
    if ((rc = need_txn(s, 0)) != 0) return op_leave(s, implicit, rc);
    sqlite3_stmt *st = s->st[ST_DONE];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(id > INT64_MAX ? 0 : id));
    int r = sqlite3_step(st);
    uint64_t cost = r == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    int found = r == SQLITE_ROW;
    if (r == SQLITE_ROW) r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE)
        return op_leave(s, implicit, turn_fail(s, sql_error(s, r, "outbox done")));
    if (!found) return op_leave(s, implicit, -DG_ENOTFOUND);
    s->items--;
    s->bytes -= cost;
    return op_leave(s, implicit, 0);
}

/* Before a read: a failed turn reads nothing; outside a turn, reopen after
   an earlier error. */
static int read_ready(dg_store *s)
{
    if (s->iterating) return -DG_EINVAL;
    if (s->in_turn) return s->turn_rc;
    return ensure_db(s);
}

/* A read failed: inside a turn that fails the turn, outside it the next use
   reopens. */
static int read_fail(dg_store *s, int rc)
{
    if (s->in_turn) return turn_fail(s, rc);
    schedule_reopen(s);
    return rc;
}

int dg_store_outbox_each(dg_store *s, uint64_t after_id, const char *link, size_t limit,
                         dg_outbox_fn fn, void *ctx)
{
    if (!fn) return -DG_EINVAL;
    int rc = read_ready(s);
    if (rc != 0) return rc;
    if (limit == 0) return 0;
    sqlite3_stmt *st = s->st[ST_EACH];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(after_id > INT64_MAX ? INT64_MAX : after_id));
    if (link)
        sqlite3_bind_text(st, 2, link, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)(limit > INT64_MAX ? INT64_MAX : limit));
    int n = 0, r;
    s->iterating = 1;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 5);
        struct dg_outbox_item it = {
            .id = (uint64_t)sqlite3_column_int64(st, 0),
            .kind = (enum dg_outbox_kind)sqlite3_column_int(st, 1),
            .link = (const char *)sqlite3_column_text(st, 2),
            .topic = (const char *)sqlite3_column_text(st, 3),
            .retained = sqlite3_column_int(st, 4),
            .payload = p ? p : "",
            .len = (size_t)sqlite3_column_bytes(st, 5),
        };
        if (!it.link || !it.topic) {
            r = SQLITE_NOMEM; /* SQLite could not make the text */
            break;
        }
        n++;
        if (fn(ctx, &it) != 0) {
            r = SQLITE_DONE;
            break;
        }
    }
    s->iterating = 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (r == SQLITE_NOMEM) {
        snprintf(s->errmsg, sizeof s->errmsg, "%s: outbox read: out of memory", s->path);
        return read_fail(s, -DG_ENOMEM);
    }
    if (r != SQLITE_DONE) return read_fail(s, sql_error(s, r, "outbox read"));
    return n;
}

void dg_store_outbox_depth(const dg_store *s, uint64_t *count, uint64_t *bytes)
{
    if (count) *count = s->items;
    if (bytes) *bytes = s->bytes;
}

/* ------------------------------------------------------------ state */

static int key_ok(const char *key)
{
    if (!key) return 0;
    size_t n = strlen(key);
    return n > 0 && n <= DG_STORE_KEY_MAX;
}

int dg_store_put(dg_store *s, const char *key, const void *blob, size_t len)
{
    if (s->iterating || !key_ok(key) || (!blob && len) || len > DG_STORE_BLOB_MAX)
        return -DG_EINVAL;
    int implicit, rc;
    if ((rc = op_enter(s, &implicit)) != 0) return op_leave(s, implicit, rc);
    if ((rc = need_txn(s, 1)) != 0) return op_leave(s, implicit, rc);
    sqlite3_stmt *st = s->st[ST_PUT];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, len ? blob : "", (int)len, SQLITE_STATIC);
    rc = run(s, ST_PUT, "state put");
    sqlite3_clear_bindings(st);
    if (rc != 0) rc = turn_fail(s, rc);
    return op_leave(s, implicit, rc);
}

int dg_store_del(dg_store *s, const char *key)
{
    if (s->iterating || !key_ok(key)) return -DG_EINVAL;
    int implicit, rc;
    if ((rc = op_enter(s, &implicit)) != 0) return op_leave(s, implicit, rc);
    if ((rc = need_txn(s, 1)) != 0) return op_leave(s, implicit, rc);
    sqlite3_stmt *st = s->st[ST_DEL];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = run(s, ST_DEL, "state delete");
    sqlite3_clear_bindings(st);
    if (rc != 0)
        rc = turn_fail(s, rc);
    else if (sqlite3_changes(s->db) == 0)
        rc = -DG_ENOTFOUND;
    return op_leave(s, implicit, rc);
}

int dg_store_get(dg_store *s, const char *key, void **blob, size_t *len)
{
    *blob = NULL;
    *len = 0;
    if (!key_ok(key)) return -DG_EINVAL;
    int rc = read_ready(s);
    if (rc != 0) return rc;
    sqlite3_stmt *st = s->st[ST_GET];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (n && !p) {
            r = SQLITE_NOMEM;
        } else if (!(*blob = dg_malloc(n ? n : 1))) {
            rc = -DG_ENOMEM;
        } else {
            if (n) memcpy(*blob, p, n);
            *len = n;
        }
    } else if (r == SQLITE_DONE) {
        rc = -DG_ENOTFOUND;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (r == SQLITE_NOMEM || rc == -DG_ENOMEM) {
        snprintf(s->errmsg, sizeof s->errmsg, "%s: state get: out of memory", s->path);
        return -DG_ENOMEM;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE) return read_fail(s, sql_error(s, r, "state get"));
    return rc;
}
