/*
 * test_store.c — the durable store (gateway/io/store.c): what survives a
 * close, a crash and a storage error, and what does not.
 *
 * Storage faults are made two ways. A small SQLite VFS registered here as
 * the default wraps the real one, counts fsyncs and, when armed, fails
 * writes with a chosen code and errno (deterministic, needs no privileges).
 * And where the test may mount file systems (root, e.g. in CI containers),
 * it does the real thing in a private mount namespace of its own: a tiny
 * tmpfs that fills up, and one remounted read-only. Those tests are skipped
 * where mounting is not allowed.
 */
/* mkdtemp(), unshare() and mount() beyond the build's _POSIX_C_SOURCE. */
#define _GNU_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/store.h"

#define BIG_BUDGET (1024u * 1024u * 1024u)

static char tmp[256];  /* mkdtemp() result */
static int can_mount;  /* private mount namespace made: tmpfs tests run */
static int dir_serial; /* one fresh store directory per call of fresh_dir() */

/* ---------------------------------------------------------------- fault VFS */

static struct {
    int write_rc;  /* non-zero: every xWrite fails with this code */
    int sys_errno; /* errno reported with it */
    int syncs;     /* xSync calls */
} fault;

struct shim_file {
    sqlite3_file base;
    sqlite3_file *real; /* follows this struct in the same allocation */
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;

#define REAL(f) (((struct shim_file *)(void *)(f))->real)

static int sh_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}
static int sh_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}
static int sh_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    if (fault.write_rc) {
        errno = fault.sys_errno;
        return fault.write_rc;
    }
    return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}
static int sh_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int sh_sync(sqlite3_file *f, int flags)
{
    fault.syncs++;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int sh_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int sh_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int sh_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int sh_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int sh_fcntl(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int sh_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int sh_devchar(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int sh_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **p)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, p);
}
static int sh_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void sh_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int sh_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int sh_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, n, p);
}
static int sh_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods shim_methods = {
    3,           sh_close,       sh_read,      sh_write, sh_truncate, sh_sync,    sh_size,
    sh_lock,     sh_unlock,      sh_reserved,  sh_fcntl, sh_sector,   sh_devchar, sh_shm_map,
    sh_shm_lock, sh_shm_barrier, sh_shm_unmap, sh_fetch, sh_unfetch,
};

static int sh_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)vfs;
    struct shim_file *p = (struct shim_file *)(void *)f;
    p->real = (sqlite3_file *)(p + 1);
    int rc = real_vfs->xOpen(real_vfs, name, p->real, flags, out);
    p->base.pMethods = p->real->pMethods ? &shim_methods : NULL;
    return rc;
}

static int sh_last_error(sqlite3_vfs *vfs, int n, char *buf)
{
    (void)vfs;
    if (fault.write_rc) return fault.sys_errno;
    return real_vfs->xGetLastError(real_vfs, n, buf);
}

static void install_vfs(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    assert_non_null(real_vfs);
    shim_vfs = *real_vfs;
    shim_vfs.szOsFile = (int)sizeof(struct shim_file) + real_vfs->szOsFile;
    shim_vfs.zName = "dgtest";
    shim_vfs.xOpen = sh_open;
    shim_vfs.xGetLastError = sh_last_error;
    shim_vfs.pNext = NULL;
    assert_int_equal(sqlite3_vfs_register(&shim_vfs, 1), SQLITE_OK);
}

static void disarm(void)
{
    fault.write_rc = 0;
    fault.sys_errno = 0;
}

/* ---------------------------------------------------------------- helpers */

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                char p[512];
                snprintf(p, sizeof p, "%s/%s", path, e->d_name);
                rm_rf(p);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* A path for a store directory that does not exist yet. */
static void fresh_dir(char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/store-%d", tmp, ++dir_serial);
    assert_true(n > 0 && (size_t)n < outlen);
}

static dg_store *open_ok(const char *dir, uint64_t budget)
{
    dg_store *s = NULL;
    char err[512];
    int rc = dg_store_open(&s, dir, budget, err, sizeof err);
    if (rc != 0) fail_msg("dg_store_open(%s): %s: %s", dir, dg_strerror(rc), err);
    assert_non_null(s);
    assert_string_equal(err, "");
    return s;
}

static uint64_t add(dg_store *s, enum dg_outbox_kind kind, const char *link, const char *topic,
                    const char *payload, int retained)
{
    uint64_t id = 0;
    int rc = dg_store_outbox_add(s, kind, link, topic, payload, strlen(payload), retained, &id);
    if (rc != 0) fail_msg("outbox_add: %s: %s", dg_strerror(rc), dg_store_errmsg(s));
    assert_true(id > 0);
    return id;
}

static uint64_t depth(dg_store *s)
{
    uint64_t n, bytes;
    dg_store_outbox_depth(s, &n, &bytes);
    return n;
}

/* Collects what dg_store_outbox_each() shows. */
struct seen {
    size_t n;
    size_t stop_after; /* 0 = never stop */
    uint64_t id[256];
    int kind[256];
    int retained[256];
    char link[256][16];
    char topic[256][64];
    char payload[256][64];
};

static int collect(void *ctx, const struct dg_outbox_item *it)
{
    struct seen *sn = ctx;
    assert_true(sn->n < 256);
    sn->id[sn->n] = it->id;
    sn->kind[sn->n] = (int)it->kind;
    sn->retained[sn->n] = it->retained;
    snprintf(sn->link[sn->n], sizeof sn->link[0], "%s", it->link);
    snprintf(sn->topic[sn->n], sizeof sn->topic[0], "%s", it->topic);
    assert_true(it->len < sizeof sn->payload[0]);
    memcpy(sn->payload[sn->n], it->payload, it->len);
    sn->payload[sn->n][it->len] = '\0';
    sn->n++;
    return sn->stop_after && sn->n >= sn->stop_after;
}

/* Everything undelivered, in id order. */
static void all_items(dg_store *s, struct seen *sn)
{
    memset(sn, 0, sizeof *sn);
    int n = dg_store_outbox_each(s, 0, NULL, 1000, collect, sn);
    assert_true(n >= 0);
    assert_int_equal((size_t)n, sn->n);
}

static void expect_blob(dg_store *s, const char *key, const char *want)
{
    void *b = NULL;
    size_t len = 0;
    int rc = dg_store_get(s, key, &b, &len);
    if (rc != 0) fail_msg("get %s: %s: %s", key, dg_strerror(rc), dg_store_errmsg(s));
    assert_int_equal(len, strlen(want));
    assert_memory_equal(b, want, len);
    dg_free(b);
}

static void sql_exec(const char *dir, const char *sql)
{
    char path[512];
    snprintf(path, sizeof path, "%s/dosegate.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_free(msg);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* ---------------------------------------------------------------- setup */

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "/tmp/dg-test-store-XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    install_vfs();
    /* Mounts made in a private namespace vanish with this process, even if
       a test crashes. */
    if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
        can_mount = 1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rm_rf(tmp);
    return 0;
}

static int64_t live_at_start;

static int before(void **state)
{
    (void)state;
    disarm();
    fault.syncs = 0;
    live_at_start = dg_alloc_live();
    return 0;
}

/* Every test leaves no dg_malloc'd memory behind. */
static int after(void **state)
{
    (void)state;
    disarm();
    dg_alloc_fail_after(0);
    assert_int_equal(dg_alloc_live(), live_at_start);
    return 0;
}

/* ---------------------------------------------------------------- tests */

/* A missing directory is made (0700) with an empty store in it. */
static void test_open_creates(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    const struct dg_store_found *f = dg_store_found(s);
    assert_int_equal(f->created, 1);
    assert_int_equal(f->schema_version, DG_STORE_SCHEMA_VERSION);
    assert_int_equal(f->outbox_items, 0);
    assert_int_equal(f->outbox_bytes, 0);
    assert_int_equal(f->first_id, 0);
    assert_int_equal(f->last_id, 0);
    assert_int_equal(f->state_keys, 0);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_string_equal(dg_store_errmsg(s), "");
    dg_store_close(s);

    /* The parent must exist: a typo does not grow a tree. */
    char deep[400];
    snprintf(deep, sizeof deep, "%s/no-such-parent/state", tmp);
    dg_store *t = NULL;
    char err[512];
    assert_int_equal(dg_store_open(&t, deep, BIG_BUDGET, err, sizeof err), -DG_EIO);
    assert_null(t);
    assert_non_null(strstr(err, "cannot create the state directory"));
    assert_non_null(strstr(err, "No such file or directory"));
}

/* Undelivered items (in order, every field) and state blobs survive a close. */
static void test_reopen_keeps_items_and_state(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    uint64_t ids[4];
    assert_int_equal(dg_store_begin(s), 0);
    ids[0] = add(s, DG_OUTBOX_ALERT, "clinic", "r/alert/bed-1", "alert-1", 0);
    ids[1] = add(s, DG_OUTBOX_COMMAND, "device", "r/pump/p1/command", "pause-1", 0);
    assert_int_equal(dg_store_put(s, "core", "dose=12.5", 9), 0);
    assert_int_equal(dg_store_commit(s), 0);
    assert_int_equal(dg_store_begin(s), 0);
    ids[2] = add(s, DG_OUTBOX_AUDIT, "clinic", "r/audit", "audit-1", 0);
    ids[3] = add(s, DG_OUTBOX_ALARMS, "clinic", "r/alarms/bed-1", "alarms-1", 1);
    assert_int_equal(dg_store_put(s, "audit_head", "", 0), 0);
    assert_int_equal(dg_store_commit(s), 0);
    for (int i = 1; i < 4; i++)
        assert_true(ids[i] > ids[i - 1]);
    uint64_t n, bytes;
    dg_store_outbox_depth(s, &n, &bytes);
    assert_int_equal(n, 4);
    uint64_t want_bytes = 0;
    const char *parts[4][3] = {{"clinic", "r/alert/bed-1", "alert-1"},
                               {"device", "r/pump/p1/command", "pause-1"},
                               {"clinic", "r/audit", "audit-1"},
                               {"clinic", "r/alarms/bed-1", "alarms-1"}};
    for (int i = 0; i < 4; i++)
        want_bytes += strlen(parts[i][0]) + strlen(parts[i][1]) + strlen(parts[i][2]) +
                      DG_STORE_ITEM_OVERHEAD;
    assert_int_equal(bytes, want_bytes);
    dg_store_close(s);

    s = open_ok(dir, BIG_BUDGET);
    const struct dg_store_found *f = dg_store_found(s);
    assert_int_equal(f->created, 0);
    assert_int_equal(f->outbox_items, 4);
    assert_int_equal(f->outbox_bytes, want_bytes);
    assert_int_equal(f->first_id, ids[0]);
    assert_int_equal(f->last_id, ids[3]);
    assert_int_equal(f->state_keys, 2);
    struct seen sn;
    all_items(s, &sn);
    assert_int_equal(sn.n, 4);
    static const int kinds[] = {DG_OUTBOX_ALERT, DG_OUTBOX_COMMAND, DG_OUTBOX_AUDIT,
                                DG_OUTBOX_ALARMS};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(sn.id[i], ids[i]);
        assert_int_equal(sn.kind[i], kinds[i]);
        assert_string_equal(sn.link[i], parts[i][0]);
        assert_string_equal(sn.topic[i], parts[i][1]);
        assert_string_equal(sn.payload[i], parts[i][2]);
        assert_int_equal(sn.retained[i], i == 3);
    }
    expect_blob(s, "core", "dose=12.5");
    expect_blob(s, "audit_head", "");
    void *b = (void *)1;
    size_t len = 99;
    assert_int_equal(dg_store_get(s, "nothing", &b, &len), -DG_ENOTFOUND);
    assert_null(b);
    assert_int_equal(len, 0);
    /* A put replaces; a delete removes. */
    assert_int_equal(dg_store_put(s, "core", "dose=13", 7), 0);
    assert_int_equal(dg_store_del(s, "audit_head"), 0);
    assert_int_equal(dg_store_del(s, "audit_head"), -DG_ENOTFOUND);
    dg_store_close(s);

    s = open_ok(dir, BIG_BUDGET);
    assert_int_equal(dg_store_found(s)->state_keys, 1);
    expect_blob(s, "core", "dose=13");
    dg_store_close(s);
}

/* done() removes an item for good; a second done() is harmless. */
static void test_done_removes(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    uint64_t a = add(s, DG_OUTBOX_ALERT, "clinic", "t/a", "A", 0);
    uint64_t b = add(s, DG_OUTBOX_ALERT, "clinic", "t/a", "B", 0);
    uint64_t c = add(s, DG_OUTBOX_ALERT, "clinic", "t/a", "C", 0);
    assert_int_equal(depth(s), 3);
    assert_int_equal(dg_store_begin(s), 0);
    assert_int_equal(dg_store_outbox_done(s, b), 0);
    assert_int_equal(depth(s), 2);
    assert_int_equal(dg_store_commit(s), 0);
    assert_int_equal(dg_store_outbox_done(s, b), -DG_ENOTFOUND);
    assert_int_equal(dg_store_outbox_done(s, 999999), -DG_ENOTFOUND);
    assert_int_equal(depth(s), 2);
    dg_store_close(s);

    s = open_ok(dir, BIG_BUDGET);
    struct seen sn;
    all_items(s, &sn);
    assert_int_equal(sn.n, 2);
    assert_int_equal(sn.id[0], a);
    assert_int_equal(sn.id[1], c);
    uint64_t bytes;
    assert_int_equal(dg_store_outbox_done(s, a), 0);
    assert_int_equal(dg_store_outbox_done(s, c), 0);
    dg_store_outbox_depth(s, NULL, &bytes);
    assert_int_equal(bytes, 0);
    dg_store_close(s);
}

/* Replay: batches of `limit` in id order, from a cursor, per link. */
static void test_replay_in_batches(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    uint64_t ids[25];
    assert_int_equal(dg_store_begin(s), 0);
    for (int i = 0; i < 25; i++) {
        char p[16];
        snprintf(p, sizeof p, "m%d", i);
        ids[i] = add(s, i % 5 == 4 ? DG_OUTBOX_COMMAND : DG_OUTBOX_AUDIT,
                     i % 5 == 4 ? "device" : "clinic", "t/x", p, 0);
    }
    assert_int_equal(dg_store_commit(s), 0);
    /* Some delivered before the restart. */
    assert_int_equal(dg_store_outbox_done(s, ids[0]), 0);
    assert_int_equal(dg_store_outbox_done(s, ids[7]), 0);
    dg_store_close(s);

    s = open_ok(dir, BIG_BUDGET);
    uint64_t cursor = 0;
    size_t got = 0, batches = 0;
    struct seen sn;
    for (;;) {
        memset(&sn, 0, sizeof sn);
        int n = dg_store_outbox_each(s, cursor, NULL, 10, collect, &sn);
        assert_true(n >= 0);
        if (n == 0) break;
        batches++;
        assert_true(n <= 10);
        for (int i = 0; i < n; i++) {
            assert_true(sn.id[i] > cursor);
            cursor = sn.id[i];
            /* Ids of the 23 left, in order: skip 0 and 7. */
            size_t want = got + 1 + (got >= 6);
            assert_int_equal(sn.id[i], ids[want]);
            char p[16];
            snprintf(p, sizeof p, "m%zu", want);
            assert_string_equal(sn.payload[i], p);
            got++;
        }
    }
    assert_int_equal(got, 23);
    assert_int_equal(batches, 3);

    /* One link only. */
    memset(&sn, 0, sizeof sn);
    assert_int_equal(dg_store_outbox_each(s, 0, "device", 100, collect, &sn), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(sn.id[i], ids[i * 5 + 4]);
    memset(&sn, 0, sizeof sn);
    assert_int_equal(dg_store_outbox_each(s, ids[9], "device", 2, collect, &sn), 2);
    assert_int_equal(sn.id[0], ids[14]);
    assert_int_equal(sn.id[1], ids[19]);

    /* The callback may stop early; limit 0 visits nothing. */
    memset(&sn, 0, sizeof sn);
    sn.stop_after = 3;
    assert_int_equal(dg_store_outbox_each(s, 0, NULL, 100, collect, &sn), 3);
    assert_int_equal(dg_store_outbox_each(s, 0, NULL, 0, collect, &sn), 0);
    assert_int_equal(dg_store_outbox_each(s, 0, NULL, 5, NULL, NULL), -DG_EINVAL);
    dg_store_close(s);
}

/* Ids only grow: not reused after everything is delivered and the store
   reopened, nor after a failed or rolled-back turn. */
static void test_ids_never_reused(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    uint64_t a = add(s, DG_OUTBOX_ALERT, "clinic", "t", "a", 0);
    uint64_t b = add(s, DG_OUTBOX_ALERT, "clinic", "t", "b", 0);
    assert_int_equal(dg_store_outbox_done(s, a), 0);
    assert_int_equal(dg_store_outbox_done(s, b), 0);
    dg_store_close(s);

    s = open_ok(dir, BIG_BUDGET);
    assert_int_equal(dg_store_found(s)->last_id, b);
    assert_int_equal(dg_store_found(s)->first_id, 0);
    uint64_t c = add(s, DG_OUTBOX_ALERT, "clinic", "t", "c", 0);
    assert_true(c > b);
    assert_int_equal(dg_store_begin(s), 0);
    uint64_t d = add(s, DG_OUTBOX_ALERT, "clinic", "t", "d", 0);
    dg_store_rollback(s);
    uint64_t e = add(s, DG_OUTBOX_ALERT, "clinic", "t", "e", 0);
    assert_true(e > d);
    /* A late acknowledgement for the rolled-back item touches nothing. */
    assert_int_equal(dg_store_outbox_done(s, d), -DG_ENOTFOUND);
    assert_int_equal(depth(s), 2);
    dg_store_close(s);
}

/* A retained status replaces the undelivered one on the same link and
   topic; nothing else is ever replaced: every alarm snapshot of a bed is
   kept, in order (the clinic gets each state the bed went through). */
static void test_snapshots_supersede(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    assert_int_equal(dg_store_begin(s), 0);
    uint64_t online = add(s, DG_OUTBOX_STATUS, "clinic", "r/gateway/g/status", "online", 1);
    add(s, DG_OUTBOX_ALARMS, "clinic", "r/alarms/bed-1", "bed1-v1", 1);
    add(s, DG_OUTBOX_ALARMS, "clinic", "r/alarms/bed-2", "bed2-v1", 1);
    assert_int_equal(dg_store_commit(s), 0);
    /* The older status may be in flight: its PUBACK later finds nothing. */
    assert_int_equal(dg_store_begin(s), 0);
    add(s, DG_OUTBOX_ALARMS, "clinic", "r/alarms/bed-1", "bed1-v2", 1);
    add(s, DG_OUTBOX_ALARMS, "clinic", "r/alarms/bed-1", "bed1-v3", 1);
    add(s, DG_OUTBOX_STATUS, "clinic", "r/gateway/g/status", "degraded", 1);
    uint64_t last = add(s, DG_OUTBOX_STATUS, "clinic", "r/gateway/g/status", "offline", 1);
    /* Same topic on another link, and not retained: kept. */
    add(s, DG_OUTBOX_STATUS, "device", "r/gateway/g/status", "dev-status", 1);
    add(s, DG_OUTBOX_STATUS, "clinic", "r/gateway/g/status", "unretained", 0);
    /* Alerts, commands and audit records with identical topic and payload:
       every one kept. */
    for (int i = 0; i < 3; i++) {
        add(s, DG_OUTBOX_ALERT, "clinic", "r/alert/bed-1", "same", 1);
        add(s, DG_OUTBOX_COMMAND, "device", "r/pump/p/command", "same", 1);
        add(s, DG_OUTBOX_AUDIT, "clinic", "r/audit", "same", 1);
    }
    assert_int_equal(dg_store_commit(s), 0);
    assert_int_equal(dg_store_outbox_done(s, online), -DG_ENOTFOUND);
    dg_store_close(s);

    s = open_ok(dir, BIG_BUDGET);
    struct seen sn;
    all_items(s, &sn);
    static const char *const want[] = {
        "bed1-v1", "bed2-v1", "bed1-v2", "bed1-v3", "offline", "dev-status", "unretained", "same",
        "same",    "same",    "same",    "same",    "same",    "same",       "same",       "same"};
    assert_int_equal(sn.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sn.n; i++)
        assert_string_equal(sn.payload[i], want[i]);
    assert_int_equal(sn.id[4], last);
    assert_int_equal(sn.kind[4], DG_OUTBOX_STATUS);
    assert_int_equal(sn.kind[3], DG_OUTBOX_ALARMS);
    /* The depth counters agree with what is on disk. */
    uint64_t n, bytes;
    dg_store_outbox_depth(s, &n, &bytes);
    assert_int_equal(n, sn.n);
    assert_int_equal(bytes, dg_store_found(s)->outbox_bytes);
    dg_store_close(s);
}

/* The budget refuses commands and snapshots first; alerts and audit records
   have a reserve. A refusal refuses one item, not the turn. */
static void test_budget_reserve(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    /* 8000 bytes: 7000 for commands and snapshots, 1000 more for alerts and
       audit. Each item below costs 100 + 6 + 1 + 64 = 171 bytes. */
    dg_store *s = open_ok(dir, 8000);
    char payload[101];
    memset(payload, 'x', 100);
    payload[100] = '\0';
    uint64_t first = 0, id = 0;
    int commands = 0, rc;
    assert_int_equal(dg_store_begin(s), 0);
    while ((rc = dg_store_outbox_add(s, DG_OUTBOX_COMMAND, "device", "c", payload, 100, 0, &id)) ==
           0) {
        if (!first) first = id;
        commands++;
    }
    assert_int_equal(rc, -DG_EFULL);
    assert_int_equal(commands, 7000 / 171);
    assert_int_equal(dg_store_turn_error(s), 0);
    assert_non_null(strstr(dg_store_errmsg(s), "disk budget"));
    assert_non_null(strstr(dg_store_errmsg(s), "command item"));
    assert_int_equal(dg_store_outbox_add(s, DG_OUTBOX_ALARMS, "clinic", "a", payload, 94, 1, NULL),
                     -DG_EFULL);
    /* Alerts and audit records still fit, up to the whole budget. */
    int reserved = 0;
    for (;;) {
        rc = dg_store_outbox_add(s, reserved % 2 ? DG_OUTBOX_AUDIT : DG_OUTBOX_ALERT, "device", "c",
                                 payload, 100, 0, NULL);
        if (rc != 0) break;
        reserved++;
    }
    assert_int_equal(rc, -DG_EFULL);
    assert_int_equal(commands + reserved, 8000 / 171);
    assert_true(reserved >= 1000 / 171);
    assert_non_null(strstr(dg_store_errmsg(s), "alert and audit"));
    uint64_t n, bytes;
    dg_store_outbox_depth(s, &n, &bytes);
    assert_true(bytes <= 8000);
    /* The turn was never failed: everything accepted commits. */
    assert_int_equal(dg_store_commit(s), 0);
    dg_store_close(s);

    s = open_ok(dir, 8000);
    assert_int_equal(depth(s), (uint64_t)(commands + reserved));
    /* Deliveries make room again: with 46 items (7866 bytes) undelivered a
       command fits once 7 are delivered (39 x 171 + 171 <= 7000). */
    int freed = 0;
    while (dg_store_outbox_add(s, DG_OUTBOX_COMMAND, "device", "c", payload, 100, 0, NULL) ==
           -DG_EFULL)
        assert_int_equal(dg_store_outbox_done(s, first + (uint64_t)freed++), 0);
    assert_int_equal(freed, 7);
    dg_store_outbox_depth(s, &n, &bytes);
    assert_true(bytes <= 7000);
    dg_store_close(s);
}

/* A snapshot that replaces an older one needs room only for the difference. */
static void test_budget_counts_replaced_snapshot(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    /* 800 bytes, 700 for snapshots; one costs 300 + 7 + 1 + 64 = 372. */
    dg_store *s = open_ok(dir, 800);
    char p[301];
    memset(p, 's', 300);
    p[300] = '\0';
    assert_int_equal(dg_store_outbox_add(s, DG_OUTBOX_STATUS, "clinic", "a", p, 300, 1, NULL), 0);
    assert_int_equal(dg_store_outbox_add(s, DG_OUTBOX_STATUS, "clinic", "b", p, 300, 1, NULL),
                     -DG_EFULL);
    for (int i = 0; i < 5; i++)
        assert_int_equal(dg_store_outbox_add(s, DG_OUTBOX_STATUS, "clinic", "a", p, 300, 1, NULL),
                         0);
    assert_int_equal(depth(s), 1);
    dg_store_close(s);
}

/* Turns: all or nothing; nesting and stray commits refused; calls outside a
   turn are turns of their own; reads see the turn's own writes. */
static void test_turns(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    assert_int_equal(dg_store_commit(s), -DG_EINVAL);
    dg_store_rollback(s); /* no turn: no-op */
    assert_int_equal(dg_store_put(s, "k", "v0", 2), 0);
    add(s, DG_OUTBOX_ALERT, "clinic", "t", "kept", 0);

    assert_int_equal(dg_store_begin(s), 0);
    assert_int_equal(dg_store_begin(s), -DG_EINVAL);
    add(s, DG_OUTBOX_ALERT, "clinic", "t", "dropped", 0);
    assert_int_equal(dg_store_put(s, "k", "v1", 2), 0);
    assert_int_equal(dg_store_put(s, "k2", "new", 3), 0);
    expect_blob(s, "k", "v1");
    assert_int_equal(depth(s), 2);
    struct seen sn;
    all_items(s, &sn);
    assert_int_equal(sn.n, 2);
    dg_store_rollback(s);
    assert_int_equal(depth(s), 1);
    expect_blob(s, "k", "v0");
    void *b;
    size_t len;
    assert_int_equal(dg_store_get(s, "k2", &b, &len), -DG_ENOTFOUND);
    /* An empty turn is fine and costs nothing. */
    fault.syncs = 0;
    assert_int_equal(dg_store_begin(s), 0);
    assert_int_equal(dg_store_commit(s), 0);
    assert_int_equal(fault.syncs, 0);
    dg_store_close(s);

    s = open_ok(dir, BIG_BUDGET);
    all_items(s, &sn);
    assert_int_equal(sn.n, 1);
    assert_string_equal(sn.payload[0], "kept");
    expect_blob(s, "k", "v0");
    /* Closing in the middle of a turn discards it. */
    assert_int_equal(dg_store_begin(s), 0);
    add(s, DG_OUTBOX_ALERT, "clinic", "t", "lost", 0);
    assert_int_equal(dg_store_put(s, "k", "lost", 4), 0);
    dg_store_close(s);
    s = open_ok(dir, BIG_BUDGET);
    assert_int_equal(dg_store_found(s)->outbox_items, 1);
    expect_blob(s, "k", "v0");
    dg_store_close(s);
}

/* fsyncs: one per turn that stored anything durable, none for a turn that
   only marked deliveries; the benchmark knob turns them off. */
static void test_one_fsync_per_turn(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    uint64_t ids[100];

    fault.syncs = 0;
    assert_int_equal(dg_store_begin(s), 0);
    for (int i = 0; i < 100; i++)
        ids[i] = add(s, DG_OUTBOX_AUDIT, "clinic", "r/audit", "record", 0);
    assert_int_equal(dg_store_put(s, "core", "state", 5), 0);
    assert_int_equal(fault.syncs, 0);
    assert_int_equal(dg_store_commit(s), 0);
    assert_int_equal(fault.syncs, 1);

    fault.syncs = 0;
    assert_int_equal(dg_store_begin(s), 0);
    for (int i = 0; i < 50; i++)
        assert_int_equal(dg_store_outbox_done(s, ids[i]), 0);
    assert_int_equal(dg_store_commit(s), 0);
    assert_int_equal(fault.syncs, 0);

    /* Deliveries, then an add: still one fsync, and both parts stored. */
    fault.syncs = 0;
    assert_int_equal(dg_store_begin(s), 0);
    assert_int_equal(dg_store_outbox_done(s, ids[50]), 0);
    add(s, DG_OUTBOX_ALERT, "clinic", "r/alert", "a", 0);
    assert_int_equal(dg_store_outbox_done(s, ids[51]), 0);
    assert_int_equal(dg_store_commit(s), 0);
    assert_int_equal(fault.syncs, 1);

    /* A state delete is durable too. */
    fault.syncs = 0;
    assert_int_equal(dg_store_del(s, "core"), 0);
    assert_int_equal(fault.syncs, 1);

    dg_store_set_sync_full(s, 0);
    fault.syncs = 0;
    add(s, DG_OUTBOX_ALERT, "clinic", "r/alert", "b", 0);
    assert_int_equal(fault.syncs, 0);
    dg_store_set_sync_full(s, 1);
    fault.syncs = 0;
    add(s, DG_OUTBOX_ALERT, "clinic", "r/alert", "c", 0);
    assert_int_equal(fault.syncs, 1);
    assert_int_equal(depth(s), 48 + 3);
    dg_store_close(s);
    s = open_ok(dir, BIG_BUDGET);
    assert_int_equal(depth(s), 48 + 3);
    dg_store_close(s);
}

/* A crash between begin and commit loses that turn and nothing committed.
   The crash is real: a child process dies with _exit() mid-turn. */
static void test_crash_mid_turn(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    add(s, DG_OUTBOX_ALERT, "clinic", "t", "before", 0);
    assert_int_equal(dg_store_put(s, "core", "dose=1", 6), 0);
    dg_store_close(s);

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* No cmocka in here: report by exit code. */
        dg_store *c = NULL;
        if (dg_store_open(&c, dir, BIG_BUDGET, NULL, 0) != 0) _exit(10);
        if (dg_store_begin(c) != 0) _exit(11);
        if (dg_store_outbox_add(c, DG_OUTBOX_ALERT, "clinic", "t", "turn-1", 6, 0, NULL) != 0)
            _exit(12);
        if (dg_store_put(c, "core", "dose=2", 6) != 0) _exit(13);
        if (dg_store_commit(c) != 0) _exit(14);
        if (dg_store_begin(c) != 0) _exit(15);
        if (dg_store_put(c, "core", "dose=3", 6) != 0) _exit(16);
        for (int i = 0; i < 50; i++)
            if (dg_store_outbox_add(c, DG_OUTBOX_ALERT, "clinic", "t", "turn-2", 6, 0, NULL) != 0)
                _exit(17);
        _exit(0); /* crash: no commit, no close */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    s = open_ok(dir, BIG_BUDGET);
    struct seen sn;
    all_items(s, &sn);
    assert_int_equal(sn.n, 2);
    assert_string_equal(sn.payload[0], "before");
    assert_string_equal(sn.payload[1], "turn-1");
    expect_blob(s, "core", "dose=2");
    dg_store_close(s);
}

/* Disk full (simulated: every write fails with SQLITE_FULL): -DG_EFULL with
   SQLite's message, the turn is lost, what was committed is not, and the
   store works again once writes do. */
static void test_disk_full_simulated(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    uint64_t kept = add(s, DG_OUTBOX_ALERT, "clinic", "t", "kept", 0);
    assert_int_equal(dg_store_put(s, "core", "dose=1", 6), 0);

    fault.write_rc = SQLITE_FULL;
    fault.sys_errno = ENOSPC;
    assert_int_equal(dg_store_begin(s), 0);
    uint64_t lost_id = add(s, DG_OUTBOX_ALERT, "clinic", "t", "lost", 0);
    assert_int_equal(dg_store_put(s, "core", "dose=2", 6), 0);
    assert_int_equal(dg_store_commit(s), -DG_EFULL);
    assert_non_null(strstr(dg_store_errmsg(s), "commit"));
    assert_non_null(strstr(dg_store_errmsg(s), "full"));
    assert_non_null(strstr(dg_store_errmsg(s), "SQLITE_FULL"));
    assert_non_null(strstr(dg_store_errmsg(s), "dosegate.db"));
    assert_int_equal(depth(s), 1);
    expect_blob(s, "core", "dose=1");
    /* Still full: a turn that fails at its first write fails as a whole. */
    assert_int_equal(dg_store_begin(s), 0);
    assert_int_equal(dg_store_outbox_done(s, kept), 0);
    int rc = dg_store_outbox_add(s, DG_OUTBOX_ALERT, "clinic", "t", "x", 1, 0, NULL);
    assert_int_equal(rc, -DG_EFULL); /* the light part's commit failed */
    assert_int_equal(dg_store_turn_error(s), -DG_EFULL);
    assert_int_equal(dg_store_put(s, "core", "y", 1), -DG_EFULL);
    assert_int_equal(dg_store_commit(s), -DG_EFULL);
    assert_int_equal(dg_store_turn_error(s), 0);
    /* Space is back. */
    disarm();
    assert_int_equal(dg_store_begin(s), 0);
    uint64_t after = add(s, DG_OUTBOX_ALERT, "clinic", "t", "after", 0);
    assert_true(after > lost_id);
    assert_int_equal(dg_store_put(s, "core", "dose=3", 6), 0);
    assert_int_equal(dg_store_commit(s), 0);
    assert_int_equal(dg_store_outbox_done(s, lost_id), -DG_ENOTFOUND);
    dg_store_close(s);

    s = open_ok(dir, BIG_BUDGET);
    struct seen sn;
    all_items(s, &sn);
    assert_int_equal(sn.n, 2);
    assert_string_equal(sn.payload[0], "kept");
    assert_string_equal(sn.payload[1], "after");
    expect_blob(s, "core", "dose=3");
    dg_store_close(s);
}

/* I/O errors: a failing write (what a file system the kernel remounted
   read-only gives an open store) and SQLITE_READONLY are -DG_EIO with
   SQLite's message and code; the store reopens itself and works once writes
   do. */
static void test_io_error_simulated(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    add(s, DG_OUTBOX_AUDIT, "clinic", "t", "kept", 0);

    fault.write_rc = SQLITE_IOERR_WRITE;
    fault.sys_errno = EROFS;
    assert_int_equal(dg_store_begin(s), 0);
    add(s, DG_OUTBOX_AUDIT, "clinic", "t", "lost", 0);
    assert_int_equal(dg_store_commit(s), -DG_EIO);
    assert_non_null(strstr(dg_store_errmsg(s), "dosegate.db: commit: disk I/O error"));
    assert_non_null(strstr(dg_store_errmsg(s), "SQLITE_IOERR_WRITE"));
    assert_null(strstr(dg_store_errmsg(s), "not writable"));
    assert_int_equal(depth(s), 1);

    /* The directory itself read-only now (a read-only file system mounted
       over it: the open store still writes to the one below): the message
       says so. */
    if (can_mount) {
        assert_int_equal(mount("tmpfs", dir, "tmpfs", MS_RDONLY, "size=64k"), 0);
        assert_int_equal(dg_store_outbox_add(s, DG_OUTBOX_AUDIT, "clinic", "t", "x", 1, 0, NULL),
                         -DG_EIO);
        assert_non_null(strstr(dg_store_errmsg(s), "reopen"));
        assert_non_null(strstr(dg_store_errmsg(s), "not writable: Read-only file system"));
        assert_int_equal(umount2(dir, MNT_DETACH), 0);
        /* The store's file gone from under it (an empty, writable file
           system over the directory): a reopen never makes a new, empty
           store, which would forget every dose. */
        assert_int_equal(mount("tmpfs", dir, "tmpfs", 0, "size=64k"), 0);
        assert_int_equal(dg_store_outbox_add(s, DG_OUTBOX_AUDIT, "clinic", "t", "x", 1, 0, NULL),
                         -DG_EIO);
        assert_non_null(strstr(dg_store_errmsg(s), "reopen: unable to open database file"));
        char path[400];
        snprintf(path, sizeof path, "%s/dosegate.db", dir);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(umount2(dir, MNT_DETACH), 0);
    }

    fault.write_rc = SQLITE_READONLY;
    fault.sys_errno = 0;
    assert_int_equal(dg_store_put(s, "k", "v", 1), -DG_EIO);
    assert_non_null(strstr(dg_store_errmsg(s), "attempt to write a readonly database"));
    assert_non_null(strstr(dg_store_errmsg(s), "SQLITE_READONLY"));

    disarm();
    assert_int_equal(dg_store_put(s, "k", "v", 1), 0);
    add(s, DG_OUTBOX_AUDIT, "clinic", "t", "after", 0);
    dg_store_close(s);
    s = open_ok(dir, BIG_BUDGET);
    struct seen sn;
    all_items(s, &sn);
    assert_int_equal(sn.n, 2);
    assert_string_equal(sn.payload[0], "kept");
    assert_string_equal(sn.payload[1], "after");
    expect_blob(s, "k", "v");
    dg_store_close(s);
}

/* A really full file system: a 512 KiB tmpfs. */
static void test_disk_full_tmpfs(void **state)
{
    (void)state;
    if (!can_mount) skip();
    char mnt[300], dir[340], filler[340];
    fresh_dir(mnt, sizeof mnt);
    assert_int_equal(mkdir(mnt, 0700), 0);
    assert_int_equal(mount("tmpfs", mnt, "tmpfs", 0, "size=512k,mode=0700"), 0);
    snprintf(dir, sizeof dir, "%s/state", mnt);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    /* Room we can give back later. */
    FILE *f = fopen(filler, "wb");
    assert_non_null(f);
    static char block[4096];
    memset(block, 'f', sizeof block);
    for (int i = 0; i < 32; i++)
        assert_int_equal(fwrite(block, 1, sizeof block, f), sizeof block);
    assert_int_equal(fclose(f), 0);

    dg_store *s = open_ok(dir, BIG_BUDGET);
    static char payload[2000];
    memset(payload, 'p', sizeof payload);
    uint64_t committed = 0;
    int rc = 0, turns = 0;
    while (turns < 10000) {
        turns++;
        assert_int_equal(dg_store_begin(s), 0);
        for (int i = 0; i < 4 && rc == 0; i++)
            rc = dg_store_outbox_add(s, DG_OUTBOX_AUDIT, "clinic", "r/audit", payload,
                                     sizeof payload, 0, NULL);
        if (rc == 0) rc = dg_store_put(s, "core", &committed, sizeof committed);
        int crc = dg_store_commit(s);
        if (rc == 0) rc = crc;
        if (rc != 0) break;
        committed += 4;
    }
    assert_int_equal(rc, -DG_EFULL);
    assert_true(committed > 0);
    assert_non_null(strstr(dg_store_errmsg(s), "full"));
    assert_int_equal(depth(s), committed);
    /* Still full: refused again, nothing lost. */
    assert_int_equal(dg_store_begin(s), 0);
    for (int i = 0; i < 8 && rc == -DG_EFULL; i++)
        rc = dg_store_outbox_add(s, DG_OUTBOX_AUDIT, "clinic", "r/audit", payload, sizeof payload,
                                 0, NULL);
    int crc = dg_store_commit(s);
    assert_true(rc == -DG_EFULL || crc == -DG_EFULL);

    /* Space returns. */
    assert_int_equal(unlink(filler), 0);
    assert_int_equal(dg_store_begin(s), 0);
    add(s, DG_OUTBOX_ALERT, "clinic", "r/alert", "after", 0);
    uint64_t final = committed + 1;
    assert_int_equal(dg_store_put(s, "core", &final, sizeof final), 0);
    rc = dg_store_commit(s);
    if (rc != 0) fail_msg("after space returned: %s", dg_store_errmsg(s));
    dg_store_close(s);

    s = open_ok(dir, BIG_BUDGET);
    assert_int_equal(dg_store_found(s)->outbox_items, committed + 1);
    void *b;
    size_t len;
    assert_int_equal(dg_store_get(s, "core", &b, &len), 0);
    assert_int_equal(len, sizeof final);
    assert_memory_equal(b, &final, sizeof final);
    dg_free(b);
    dg_store_close(s);
    assert_int_equal(umount2(mnt, MNT_DETACH), 0);
}

/* A read-only state directory: refused at open with a message that says
   why, and the store opens again, intact, once it is writable. Real when we
   may mount (a tmpfs remounted read-only), else chmod (not for root). */
static void test_readonly_dir(void **state)
{
    (void)state;
    char dir[300];
    fresh_dir(dir, sizeof dir);
    int mounted = 0;
    if (can_mount) {
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0700"), 0);
        mounted = 1;
    } else if (geteuid() == 0) {
        skip(); /* root writes through chmod, and may not mount here */
    }
    dg_store *s = open_ok(dir, BIG_BUDGET);
    add(s, DG_OUTBOX_ALERT, "clinic", "t", "kept", 0);
    assert_int_equal(dg_store_put(s, "core", "dose=1", 6), 0);
    dg_store_close(s);

    if (mounted)
        assert_int_equal(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
    else
        assert_int_equal(chmod(dir, 0500), 0);
    s = NULL;
    char err[512];
    assert_int_equal(dg_store_open(&s, dir, BIG_BUDGET, err, sizeof err), -DG_EIO);
    assert_null(s);
    assert_non_null(strstr(err, "not writable"));
    assert_non_null(strstr(err, mounted ? "Read-only file system" : "Permission denied"));
    assert_non_null(strstr(err, dir));

    if (mounted)
        assert_int_equal(mount(NULL, dir, NULL, MS_REMOUNT, NULL), 0);
    else
        assert_int_equal(chmod(dir, 0700), 0);
    s = open_ok(dir, BIG_BUDGET);
    assert_int_equal(dg_store_found(s)->outbox_items, 1);
    expect_blob(s, "core", "dose=1");
    dg_store_close(s);
    if (mounted) assert_int_equal(umount2(dir, MNT_DETACH), 0);
}

/* A store written by a newer dosegate, or a file that is not a store. */
static void test_refuses_foreign_and_newer(void **state)
{
    (void)state;
    char dir[300], err[512];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    add(s, DG_OUTBOX_ALERT, "clinic", "t", "a", 0);
    dg_store_close(s);
    sql_exec(dir, "UPDATE meta SET value = 2 WHERE key = 'schema_version'");
    s = NULL;
    assert_int_equal(dg_store_open(&s, dir, BIG_BUDGET, err, sizeof err), -DG_EIO);
    assert_null(s);
    assert_non_null(strstr(err, "schema version 2"));
    assert_non_null(strstr(err, "newer dosegate"));
    assert_non_null(strstr(err, "dosegate.db"));
    /* Nothing was changed by the refusal. */
    sql_exec(dir, "UPDATE meta SET value = 1 WHERE key = 'schema_version'");
    s = open_ok(dir, BIG_BUDGET);
    assert_int_equal(dg_store_found(s)->outbox_items, 1);
    dg_store_close(s);

    /* Another application's SQLite database. */
    fresh_dir(dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    sql_exec(dir, "CREATE TABLE other (x)");
    assert_int_equal(dg_store_open(&s, dir, BIG_BUDGET, err, sizeof err), -DG_EIO);
    assert_non_null(strstr(err, "not a dosegate store"));

    /* Not a database at all. */
    fresh_dir(dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/dosegate.db", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database. ", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(dg_store_open(&s, dir, BIG_BUDGET, err, sizeof err), -DG_EIO);
    assert_non_null(strstr(err, "not a database"));

    /* A file where the directory should be. */
    assert_int_equal(dg_store_open(&s, path, BIG_BUDGET, err, sizeof err), -DG_EIO);
    assert_non_null(strstr(err, "not a directory"));
}

/* One process (one connection) per store directory. */
static void test_second_open_refused(void **state)
{
    (void)state;
    char dir[300], err[512];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    dg_store *t = NULL;
    assert_int_equal(dg_store_open(&t, dir, BIG_BUDGET, err, sizeof err), -DG_EIO);
    assert_null(t);
    assert_non_null(strstr(err, "in use"));

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dg_store *c = NULL;
        int rc = dg_store_open(&c, dir, BIG_BUDGET, NULL, 0);
        _exit(rc == -DG_EIO ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    dg_store_close(s);
    s = open_ok(dir, BIG_BUDGET);
    dg_store_close(s);
}

static int call_store_inside(void *ctx, const struct dg_outbox_item *it)
{
    dg_store *s = ctx;
    assert_int_equal(dg_store_outbox_done(s, it->id), -DG_EINVAL);
    assert_int_equal(dg_store_begin(s), -DG_EINVAL);
    assert_int_equal(dg_store_outbox_each(s, 0, NULL, 1, call_store_inside, s), -DG_EINVAL);
    return 0;
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char dir[300], err[512];
    dg_store *s = NULL;
    assert_int_equal(dg_store_open(&s, "", BIG_BUDGET, err, sizeof err), -DG_EINVAL);
    assert_int_equal(dg_store_open(&s, NULL, BIG_BUDGET, NULL, 0), -DG_EINVAL);
    fresh_dir(dir, sizeof dir);
    assert_int_equal(dg_store_open(&s, dir, 0, err, sizeof err), -DG_EINVAL);
    assert_non_null(strstr(err, "budget"));
    assert_null(s);

    s = open_ok(dir, BIG_BUDGET);
    uint64_t id = 7;
    assert_int_equal(dg_store_outbox_add(s, (enum dg_outbox_kind)0, "clinic", "t", "x", 1, 0, &id),
                     -DG_EINVAL);
    assert_int_equal(dg_store_outbox_add(s, (enum dg_outbox_kind)6, "clinic", "t", "x", 1, 0, &id),
                     -DG_EINVAL);
    assert_int_equal(dg_store_outbox_add(s, DG_OUTBOX_ALERT, "", "t", "x", 1, 0, &id), -DG_EINVAL);
    assert_int_equal(dg_store_outbox_add(s, DG_OUTBOX_ALERT, "clinic", "", "x", 1, 0, &id),
                     -DG_EINVAL);
    assert_int_equal(dg_store_outbox_add(s, DG_OUTBOX_ALERT, "clinic", "t", NULL, 1, 0, &id),
                     -DG_EINVAL);
    assert_int_equal(
        dg_store_outbox_add(s, DG_OUTBOX_ALERT, "clinic", "t", "x", DG_STORE_BLOB_MAX + 1u, 0, &id),
        -DG_EINVAL);
    char longkey[DG_STORE_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    assert_int_equal(dg_store_put(s, longkey, "v", 1), -DG_EINVAL);
    assert_int_equal(dg_store_put(s, "", "v", 1), -DG_EINVAL);
    assert_int_equal(dg_store_put(s, "k", NULL, 1), -DG_EINVAL);
    assert_int_equal(id, 7);
    /* An empty payload is a payload. */
    assert_int_equal(dg_store_outbox_add(s, DG_OUTBOX_ALERT, "clinic", "t", NULL, 0, 0, &id), 0);
    assert_int_equal(dg_store_put(s, "empty", NULL, 0), 0);
    struct seen sn;
    all_items(s, &sn);
    assert_int_equal(sn.n, 1);
    assert_string_equal(sn.payload[0], "");
    expect_blob(s, "empty", "");
    /* The store may not be called from inside an iteration. */
    assert_int_equal(dg_store_outbox_each(s, 0, NULL, 10, call_store_inside, s), 1);
    assert_int_equal(depth(s), 1);
    dg_store_close(s);
    dg_store_close(NULL);
}

/* Out of memory at every allocation of open and get: an error, no leak. */
static void test_out_of_memory(void **state)
{
    (void)state;
    char dir[300], err[512];
    fresh_dir(dir, sizeof dir);
    dg_store *s = open_ok(dir, BIG_BUDGET);
    assert_int_equal(dg_store_put(s, "k", "v", 1), 0);
    dg_store_close(s);
    int n;
    for (n = 1; n < 10; n++) {
        dg_alloc_fail_after((uint64_t)n);
        s = NULL;
        int rc = dg_store_open(&s, dir, BIG_BUDGET, err, sizeof err);
        dg_alloc_fail_after(0);
        if (rc == 0) break;
        assert_int_equal(rc, -DG_ENOMEM);
        assert_non_null(strstr(err, "out of memory"));
        assert_null(s);
    }
    assert_true(n > 1 && n < 10);
    void *b = (void *)1;
    size_t len;
    dg_alloc_fail_after(1);
    assert_int_equal(dg_store_get(s, "k", &b, &len), -DG_ENOMEM);
    assert_null(b);
    expect_blob(s, "k", "v");
    dg_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates, before, after),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_items_and_state, before, after),
        cmocka_unit_test_setup_teardown(test_done_removes, before, after),
        cmocka_unit_test_setup_teardown(test_replay_in_batches, before, after),
        cmocka_unit_test_setup_teardown(test_ids_never_reused, before, after),
        cmocka_unit_test_setup_teardown(test_snapshots_supersede, before, after),
        cmocka_unit_test_setup_teardown(test_budget_reserve, before, after),
        cmocka_unit_test_setup_teardown(test_budget_counts_replaced_snapshot, before, after),
        cmocka_unit_test_setup_teardown(test_turns, before, after),
        cmocka_unit_test_setup_teardown(test_one_fsync_per_turn, before, after),
        cmocka_unit_test_setup_teardown(test_crash_mid_turn, before, after),
        cmocka_unit_test_setup_teardown(test_disk_full_simulated, before, after),
        cmocka_unit_test_setup_teardown(test_io_error_simulated, before, after),
        cmocka_unit_test_setup_teardown(test_disk_full_tmpfs, before, after),
        cmocka_unit_test_setup_teardown(test_readonly_dir, before, after),
        cmocka_unit_test_setup_teardown(test_refuses_foreign_and_newer, before, after),
        cmocka_unit_test_setup_teardown(test_second_open_refused, before, after),
        cmocka_unit_test_setup_teardown(test_bad_arguments, before, after),
        cmocka_unit_test_setup_teardown(test_out_of_memory, before, after),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
