/*
 * audit_main.c — dosegate-audit: export and verify the audit trail
 * (docs/audit.md).
 *
 *   dosegate-audit record ...           subscribe to <root>/audit and append
 *                                       every record to an export file
 *   dosegate-audit verify FILE          check an exported trail
 *   dosegate-audit verify --follow ...  check the live audit topic as records
 *                                       arrive
 *
 * The checking itself is gateway/io/audit_verify.c (shared with the unit
 * tests); this file is argument parsing, file handling, and one dg_link
 * (Paho MQTTAsync over mutual TLS, bridged into a libuv loop) for the two
 * commands that listen, so everything runs on the loop thread.
 *
 * Export format (audit_verify.h): one record per line, the record's bytes
 * exactly as published, in base64. `record` appends each record with one
 * write(2) and fdatasync(2), skipping a record it already has (same seq and
 * this_hash: a QoS 1 redelivery); a seq 1 with a new hash (gateway restart)
 * is a new chain and is kept.
 *
 * A FILE must be a whole trail: every record signed and a clean stop at the
 * end (gateway.stop after the last gateway.start), or it may have lost
 * records at its end that nothing can show; --allow-open-end accepts a trail
 * cut short (reported, exit 0). --follow checks what arrives, as before:
 * an unsigned tail is reported (a failure only with --require-signed-tail),
 * and the end is wherever the follower stopped.
 *
 * Exit codes: verify 0 intact, 1 not intact (the first break, an empty
 * trail, or for a FILE an unsigned tail or an open end without
 * --allow-open-end; with --follow an unsigned tail only with
 * --require-signed-tail), 2 usage, 3 could not check (unreadable file or
 * key, never connected). record: 0 done, 1 failure, 2 usage, 3 --count not
 * reached within --timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <MQTTAsync.h>
#include <openssl/rand.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/audit.h"
#include "io/audit_verify.h"
#include "io/link.h"
#include "io/log.h"
#include "io/util.h"

#define PROG             "dosegate-audit"
#define CLOSE_TIMEOUT_MS 1000
#define SEEN_MAX         4096 /* records `record` remembers to skip redeliveries */

enum { EXIT_OK = 0, EXIT_BROKEN = 1, EXIT_USAGE = 2, EXIT_CANNOT = 3 };

struct tool {
    /* options */
    bool record_mode, follow, verbose, require_signed_tail, no_restart, allow_open_end;
    const char *url, *ca, *cert, *key, *root, *client_id, *out, *pubkey, *file;
    uint64_t from_seq;
    long count;       /* -1: not given */
    double timeout_s; /* 0: none */
    /* loop and link (record, follow) */
    uv_loop_t loop;
    dg_link *link;
    uv_timer_t timer;
    uv_signal_t sigint, sigterm;
    char client_id_buf[64];
    char topic[512];
    bool ever_connected, stopping;
    int exit_code;
    /* record */
    int fd;
    long written;
    struct {
        uint64_t seq;
        uint8_t hash[32];
    } seen[SEEN_MAX];
    size_t n_seen;
    /* verify */
    dg_audit_key *pub;
    struct dg_audit_verifier *v;
    long received;
    bool break_printed;
};

/* ---------------------------------------------------------------- usage */

static void usage_main(FILE *f)
{
    fprintf(f, "usage: " PROG " record --url URL --ca FILE --cert FILE --key FILE --root ROOT\n"
               "                      --out FILE [--count N] [--timeout S] [--client-id ID]\n"
               "       " PROG " verify --pubkey FILE [--from-seq N] [--allow-open-end]\n"
               "                      [--no-restart] [--verbose] FILE\n"
               "       " PROG " verify --follow --pubkey FILE --url URL --ca FILE --cert FILE\n"
               "                      --key FILE --root ROOT [--count N] [--timeout S] ...\n"
               "       " PROG " COMMAND --help\n"
               "\n"
               "Export and verify dosegate's audit trail: SHA-256 hash-chained AuditRecords\n"
               "with Ed25519-signed checkpoints. See docs/audit.md.\n");
}

static void usage_record(FILE *f)
{
    fprintf(f,
            "usage: " PROG " record --url URL --ca FILE --cert FILE --key FILE --root ROOT\n"
            "                      --out FILE [--count N] [--timeout S] [--client-id ID]\n"
            "\n"
            "Subscribe (QoS 1) to ROOT/audit and append each AuditRecord to FILE as it\n"
            "arrives: one record per line, its bytes as published in base64 (docs/audit.md).\n"
            "Each line is written with one write and made durable (fdatasync) before the\n"
            "next. A record FILE already holds (same seq and this_hash: a QoS 1\n"
            "redelivery) is skipped. Prints \"recorded seq=N event=TYPE\" per record.\n"
            "\n"
            "  --url URL          broker, ssl://host:port\n"
            "  --ca/--cert/--key  trust store, client certificate and key (PEM); the\n"
            "                     identity must be allowed to read ROOT/audit\n"
            "  --root ROOT        topic root, e.g. dosegate/v1/demo-clinic\n"
            "  --out FILE         export file; created (mode 0600) or appended to\n"
            "  --count N          exit 0 after N records written\n"
            "  --timeout S        exit after S seconds: 0, or 3 if --count was not reached\n"
            "  --client-id ID     MQTT client id; with it the broker keeps a persistent\n"
            "                     session and queues records while the recorder is away\n"
            "                     (default: dosegate-audit-<random>, clean session)\n"
            "\n"
            "Exit: 0 done (also on SIGINT/SIGTERM), 1 failure, 2 usage, 3 --count not reached.\n");
}

static void usage_verify(FILE *f)
{
    fprintf(f, "usage: " PROG " verify --pubkey FILE [--from-seq N] [--allow-open-end]\n"
               "                      [--no-restart] [--verbose] FILE\n"
               "       " PROG " verify --follow --pubkey FILE --url URL --ca FILE --cert FILE\n"
               "                      --key FILE --root ROOT [--from-seq N] [--count N]\n"
               "                      [--timeout S] [--client-id ID] [--require-signed-tail]\n"
               "\n"
               "Check an exported trail (FILE, as written by `record`), or with --follow the\n"
               "live ROOT/audit topic, and report OK with counts, or the FIRST record where\n"
               "the trail breaks:\n"
               "  BROKEN: seq=S record=I fault=F: what is wrong\n"
               "(I is the record's position: its line in FILE). Faults: edited, gap\n"
               "(deleted), reordered, duplicate, chain (prev_hash mismatch), truncated-start,\n"
               "missing-signature, bad-signature, forged-checkpoint, stray-signature,\n"
               "gateway-changed, restart, malformed, empty, unsigned-tail, open-end.\n"
               "\n"
               "A FILE must end closed: every record signed by a checkpoint (else\n"
               "unsigned-tail) and a clean stop at the end, gateway.stop after the last\n"
               "gateway.start (else open-end): a trail without them may have lost records at\n"
               "its end that nothing can show.\n"
               "\n"
               "  --pubkey FILE          the gateway's audit public key (audit.pub, PEM)\n"
               "  --from-seq N           the trail starts at seq N (an export cut at the start)\n"
               "  --allow-open-end       FILE: accept a trail that does not end closed (a running\n"
               "                         or killed gateway's): records after the last checkpoint\n"
               "                         are reported as UNSIGNED and a missing stop as OPEN,\n"
               "                         exit 0\n"
               "  --require-signed-tail  records after the last checkpoint are a failure (the\n"
               "                         default for FILE; for --follow, or with\n"
               "                         --allow-open-end)\n"
               "  --no-restart           a new chain (seq 1 again: gateway restart) is a failure\n"
               "  --verbose              print a line per checkpoint (always with --follow)\n"
               "  --follow               subscribe to ROOT/audit (QoS 1) and check records as\n"
               "                         they arrive; redeliveries are skipped; the first\n"
               "                         record may have any seq unless --from-seq is given.\n"
               "                         Ends at the first break, after --count N records,\n"
               "                         after --timeout S seconds, or on SIGINT/SIGTERM.\n"
               "  --url/--ca/--cert/--key/--root/--client-id   as for `record`\n"
               "\n"
               "Exit: 0 intact, 1 not intact, 2 usage, 3 could not check.\n");
}

static int usage_error(const char *msg)
{
    fprintf(stderr, PROG ": %s (see --help)\n", msg);
    return -DG_EINVAL;
}

/* ---------------------------------------------------------------- args */

enum {
    O_URL = 256,
    O_CA,
    O_CERT,
    O_KEY,
    O_ROOT,
    O_OUT,
    O_COUNT,
    O_TIMEOUT,
    O_CLIENT,
    O_PUBKEY,
    O_FROM,
    O_SIGNED,
    O_OPEN_END,
    O_NO_RESTART,
    O_FOLLOW,
    O_VERBOSE,
};

/* Returns 0, 1 for --help (of argv[1]'s command, or the tool), or -DG_EINVAL. */
static int parse_args(int argc, char **argv, struct tool *t)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, O_URL},
        {"ca", required_argument, NULL, O_CA},
        {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},
        {"root", required_argument, NULL, O_ROOT},
        {"out", required_argument, NULL, O_OUT},
        {"count", required_argument, NULL, O_COUNT},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"client-id", required_argument, NULL, O_CLIENT},
        {"pubkey", required_argument, NULL, O_PUBKEY},
        {"from-seq", required_argument, NULL, O_FROM},
        {"require-signed-tail", no_argument, NULL, O_SIGNED},
        {"allow-open-end", no_argument, NULL, O_OPEN_END},
        {"no-restart", no_argument, NULL, O_NO_RESTART},
        {"follow", no_argument, NULL, O_FOLLOW},
        {"verbose", no_argument, NULL, O_VERBOSE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    t->count = -1;
    if (argc < 2) return usage_error("a command is required: record or verify");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) return 1;
    if (strcmp(argv[1], "record") == 0)
        t->record_mode = true;
    else if (strcmp(argv[1], "verify") != 0)
        return usage_error("unknown command (record or verify)");
    optind = 2;
    int o;
    char *end;
    unsigned long long u;
    while ((o = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        switch (o) {
        case O_URL:
            t->url = optarg;
            break;
        case O_CA:
            t->ca = optarg;
            break;
        case O_CERT:
            t->cert = optarg;
            break;
        case O_KEY:
            t->key = optarg;
            break;
        case O_ROOT:
            for (size_t n = strlen(optarg); n > 1 && optarg[n - 1] == '/'; n--)
                optarg[n - 1] = '\0';
            t->root = optarg;
            break;
        case O_OUT:
            t->out = optarg;
            break;
        case O_COUNT:
            errno = 0;
            t->count = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || t->count < 1)
                return usage_error("--count must be a positive integer");
            break;
        case O_TIMEOUT:
            t->timeout_s = strtod(optarg, &end);
            if (end == optarg || *end || !isfinite(t->timeout_s) || t->timeout_s <= 0 ||
                t->timeout_s > 1e6)
                return usage_error("--timeout must be a positive number of seconds");
            break;
        case O_CLIENT:
            t->client_id = optarg;
            break;
        case O_PUBKEY:
            t->pubkey = optarg;
            break;
        case O_FROM:
            errno = 0;
            u = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || u < 1 || optarg[0] == '-')
                return usage_error("--from-seq must be a positive integer");
            t->from_seq = u;
            break;
        case O_SIGNED:
            t->require_signed_tail = true;
            break;
        case O_OPEN_END:
            t->allow_open_end = true;
            break;
        case O_NO_RESTART:
            t->no_restart = true;
            break;
        case O_FOLLOW:
            t->follow = true;
            break;
        case 'v':
        case O_VERBOSE:
            t->verbose = true;
            break;
        case 'h':
            return 1;
        default:
            return usage_error("unknown option");
        }
    }
    bool net = t->record_mode || t->follow;
    if (t->record_mode) {
        if (optind < argc) return usage_error("unexpected argument");
        if (!t->out) return usage_error("record needs --out FILE");
        if (t->pubkey || t->from_seq || t->require_signed_tail || t->no_restart || t->follow ||
            t->verbose || t->allow_open_end)
            return usage_error("--pubkey/--from-seq/--require-signed-tail/--allow-open-end/"
                               "--no-restart/--follow/--verbose are for verify");
    } else {
        if (!t->pubkey) return usage_error("verify needs --pubkey FILE");
        if (t->out) return usage_error("--out is for record");
        if (t->follow) {
            if (optind < argc) return usage_error("verify --follow takes no FILE");
            if (t->allow_open_end)
                return usage_error("--allow-open-end is for verify FILE (--follow never asks "
                                   "for a closed end)");
        } else {
            if (optind + 1 != argc) return usage_error("verify needs exactly one FILE");
            t->file = argv[optind];
            if (t->url || t->ca || t->cert || t->key || t->root || t->client_id || t->count >= 0 ||
                t->timeout_s > 0)
                return usage_error("--url/--ca/--cert/--key/--root/--client-id/--count/"
                                   "--timeout need --follow");
        }
    }
    if (net && (!t->url || !t->ca || !t->cert || !t->key || !t->root))
        return usage_error("--url, --ca, --cert, --key and --root are required");
    return 0;
}

/* ---------------------------------------------------------------- report */

static void print_break(const struct dg_audit_finding *f)
{
    char seq[24] = "?";
    if (f->seq) snprintf(seq, sizeof seq, "%" PRIu64, f->seq);
    printf("BROKEN: seq=%s record=%" PRIu64 " fault=%s: %s\n", seq, f->index,
           dg_audit_fault_name(f->fault), f->what);
}

/* Print one record's step when it is worth a line. */
static void print_step(struct tool *t, enum dg_audit_step step)
{
    const struct dg_audit_verifier *v = t->v;
    if (step == DG_AUDIT_STEP_CHECKPOINT && (t->verbose || t->follow))
        printf("checkpoint seq=%" PRIu64 " signs seq %" PRIu64 "..%" PRIu64 ": ok\n", v->last_seq,
               v->seg_first_seq, v->last_seq - 1);
    else if (step == DG_AUDIT_STEP_RESTART)
        printf("restart: record=%" PRIu64 " starts a new chain at seq 1 (gateway restart)\n",
               v->index);
    if (step == DG_AUDIT_STEP_BROKEN && !t->break_printed) {
        print_break(&v->finding);
        t->break_printed = true;
    }
    fflush(stdout);
}

/* The verdict: summary lines, and the exit code. */
static int finish_verify(struct tool *t)
{
    struct dg_audit_summary s;
    enum dg_audit_fault f = dg_audit_verify_finish(t->v, &s);
    if (f != DG_AUDIT_INTACT) {
        /* A break found while feeding was printed then; a gap at the very
           end, an empty trail or an unsigned tail are found only now. */
        if (!t->break_printed) print_break(&t->v->finding);
        t->break_printed = true;
        printf("NOT OK: %" PRIu64 " records and %" PRIu64
               " checkpoints verified before the break\n",
               s.records, s.checkpoints);
        fflush(stdout);
        return EXIT_BROKEN;
    }
    printf("OK: intact: %" PRIu64 " records (seq %" PRIu64 "..%" PRIu64 "), %" PRIu64
           " checkpoints, %" PRIu64 " unsigned at the tail",
           s.records, s.first_seq, s.last_seq, s.checkpoints, s.unsigned_records);
    if (s.segments > 1) printf(", %" PRIu64 " chains (gateway restarts)", s.segments);
    if (s.duplicates) printf(", %" PRIu64 " redeliveries skipped", s.duplicates);
    if (s.stop_seq) printf(", closed by gateway.stop at seq %" PRIu64, s.stop_seq);
    printf("\n");
    /* What a FILE without --allow-open-end would have failed on. */
    const char *hint = t->follow ? "(--require-signed-tail makes this a failure)"
                                 : "(accepted with --allow-open-end)";
    if (s.unsigned_records > 0) {
        if (s.segments == 1)
            printf("UNSIGNED: %" PRIu64 " record%s after the last checkpoint (seq %" PRIu64
                   "..%" PRIu64 ") %s not signed: records cut off after them cannot be detected "
                   "%s\n",
                   s.unsigned_records, s.unsigned_records == 1 ? "" : "s", s.unsigned_first_seq,
                   s.last_seq, s.unsigned_records == 1 ? "is" : "are", hint);
        else
            printf("UNSIGNED: %" PRIu64 " records after the last checkpoint of their chain are "
                   "not signed, the first at seq %" PRIu64 " (chain %" PRIu64
                   "): records cut off after them cannot be detected %s\n",
                   s.unsigned_records, s.unsigned_first_seq, s.unsigned_first_segment, hint);
    }
    if (!t->follow && s.stop_seq == 0)
        printf("OPEN: no gateway.stop after the last gateway.start: the trail ends at seq %" PRIu64
               " while the gateway ran on (or was killed, or the trail was cut); records after "
               "it cannot be known missing %s\n",
               s.last_seq, hint);
    fflush(stdout);
    return EXIT_OK;
}

/* ---------------------------------------------------------------- verify FILE */

static int verify_file(struct tool *t)
{
    FILE *f = strcmp(t->file, "-") == 0 ? stdin : fopen(t->file, "rb");
    if (!f) {
        fprintf(stderr, PROG ": %s: cannot open: %s\n", t->file, strerror(errno));
        return EXIT_CANNOT;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    int rc = EXIT_OK;
    bool broken = false;
    while (!broken && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        enum dg_audit_step step;
        if (dg_audit_verify_line(t->v, line, (size_t)n, lineno, &step) != 0) {
            fprintf(stderr, PROG ": out of memory\n");
            rc = EXIT_CANNOT;
            break;
        }
        print_step(t, step);
        broken = step == DG_AUDIT_STEP_BROKEN;
    }
    if (!broken && rc == EXIT_OK && ferror(f)) {
        fprintf(stderr, PROG ": %s: read error: %s\n", t->file, strerror(errno));
        rc = EXIT_CANNOT;
    }
    free(line); /* getline's buffer: libc malloc */
    if (f != stdin) fclose(f);
    if (rc != EXIT_OK) return rc;
    return finish_verify(t);
}

/* ---------------------------------------------------------------- loop */

static void on_link_closed(void *arg)
{
    struct tool *t = arg;
    dg_uv_close_all(&t->loop);
}

static void stop(struct tool *t, int rc)
{
    if (t->stopping) return;
    t->stopping = true;
    t->exit_code = rc;
    uv_timer_stop(&t->timer);
    if (t->link) {
        dg_link *l = t->link;
        t->link = NULL;
        dg_link_close(l, CLOSE_TIMEOUT_MS, on_link_closed, t);
    } else {
        dg_uv_close_all(&t->loop);
    }
}

/* The end of a follow: the verdict decides the exit code. */
static void stop_follow(struct tool *t)
{
    if (t->stopping) return;
    stop(t, finish_verify(t));
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    struct tool *t = h->data;
    if (t->follow)
        stop_follow(t);
    else
        stop(t, EXIT_OK);
}

static void on_timeout(uv_timer_t *h)
{
    struct tool *t = h->data;
    if (!t->ever_connected) {
        fprintf(stderr, PROG ": never connected to %s within %g s\n", t->url, t->timeout_s);
        stop(t, t->follow ? EXIT_CANNOT : 1);
        return;
    }
    if (t->follow) {
        stop_follow(t);
        return;
    }
    if (t->count >= 0 && t->written < t->count) {
        fprintf(stderr, PROG ": %ld of %ld records within %g s\n", t->written, t->count,
                t->timeout_s);
        stop(t, 3);
        return;
    }
    stop(t, EXIT_OK);
}

static void on_connected(void *ctx, dg_link *link)
{
    (void)link;
    struct tool *t = ctx;
    t->ever_connected = true;
}

/* ---------------------------------------------------------------- record */

static bool seen_before(const struct tool *t, uint64_t seq, const uint8_t *hash)
{
    size_t n = t->n_seen < SEEN_MAX ? t->n_seen : SEEN_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t k = (t->n_seen - 1 - i) % SEEN_MAX;
        if (t->seen[k].seq == seq && memcmp(t->seen[k].hash, hash, 32) == 0) return true;
    }
    return false;
}

static void note_seen(struct tool *t, uint64_t seq, const uint8_t *hash)
{
    size_t k = t->n_seen % SEEN_MAX;
    t->seen[k].seq = seq;
    memcpy(t->seen[k].hash, hash, 32);
    t->n_seen++;
}

/* Remember the records an existing export holds, so a redelivery of one of
   them is not appended twice. Refuses a file whose last line is incomplete:
   appending to it would corrupt the next record too. */
static int load_existing(struct tool *t)
{
    FILE *f = fopen(t->out, "rb");
    if (!f) return errno == ENOENT ? 0 : -DG_EIO;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        if (len == 0 || line[len - 1] != '\n') {
            fprintf(stderr,
                    PROG ": %s ends with an incomplete line (an interrupted write?); remove it "
                         "before appending\n",
                    t->out);
            rc = -DG_EINVAL;
            break;
        }
        uint8_t *rec = NULL;
        size_t rlen = 0;
        struct dg_audit_view view;
        char why[120];
        if (dg_audit_line_decode(line, len - 1, &rec, &rlen) == 0 &&
            dg_audit_record_parse(rec, rlen, &view, why, sizeof why) == 0 &&
            view.this_hash.len == 32)
            note_seen(t, view.seq, view.this_hash.p);
        dg_free(rec);
    }
    if (rc == 0 && ferror(f)) rc = -DG_EIO;
    free(line);
    fclose(f);
    return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void record_message(struct tool *t, const uint8_t *payload, size_t len)
{
    struct dg_audit_view view;
    char why[120];
    bool parsed = dg_audit_record_parse(payload, len, &view, why, sizeof why) == 0 &&
                  view.this_hash.len == 32;
    if (parsed && seen_before(t, view.seq, view.this_hash.p)) {
        DG_DEBUG("audit", "msg=\"redelivery skipped\" seq=%" PRIu64, view.seq);
        return;
    }
    char *line = NULL;
    size_t llen = 0;
    if (len == 0 || dg_audit_line_encode(payload, len, &line, &llen) != 0) {
        /* Nothing to write for an empty message; out of memory loses it. */
        fprintf(stderr, PROG ": cannot record a %zu-byte message\n", len);
        if (len) stop(t, 1);
        return;
    }
    if (write_all(t->fd, line, llen) != 0 || fdatasync(t->fd) != 0) {
        fprintf(stderr, PROG ": %s: cannot write: %s\n", t->out, strerror(errno));
        dg_free(line);
        stop(t, 1);
        return;
    }
    dg_free(line);
    t->written++;
    if (parsed) {
        note_seen(t, view.seq, view.this_hash.p);
        printf("recorded seq=%" PRIu64 " event=%.*s\n", view.seq, (int)view.event_type.len,
               (const char *)view.event_type.p);
    } else {
        printf("recorded an undecodable message (%zu bytes): %s\n", len, why);
    }
    fflush(stdout);
    if (t->count >= 0 && t->written >= t->count) stop(t, EXIT_OK);
}

/* ---------------------------------------------------------------- follow */

static void follow_message(struct tool *t, const uint8_t *payload, size_t len)
{
    t->received++;
    enum dg_audit_step step = dg_audit_verify_record(t->v, payload, len);
    print_step(t, step);
    if (step == DG_AUDIT_STEP_BROKEN) {
        printf("NOT OK: %" PRIu64 " records and %" PRIu64
               " checkpoints verified before the break\n",
               t->v->records, t->v->checkpoints);
        fflush(stdout);
        stop(t, EXIT_BROKEN);
        return;
    }
    if (t->count >= 0 && t->received >= t->count) stop_follow(t);
}

static void on_message(void *ctx, dg_link *link, const char *topic, const uint8_t *payload,
                       size_t len, int retained)
{
    (void)link;
    (void)topic;
    (void)retained;
    struct tool *t = ctx;
    if (t->stopping) return;
    if (t->record_mode)
        record_message(t, payload, len);
    else
        follow_message(t, payload, len);
}

/* Run the loop with one link subscribed to ROOT/audit. */
static int run_link(struct tool *t)
{
    int n = snprintf(t->topic, sizeof t->topic, "%s/audit", t->root);
    if (n < 0 || (size_t)n >= sizeof t->topic) {
        usage_error("--root too long");
        return EXIT_USAGE;
    }
    if (!t->client_id) {
        unsigned char r[8];
        uint64_t x = uv_hrtime() ^ ((uint64_t)getpid() << 32);
        if (RAND_bytes(r, sizeof r) != 1)
            for (size_t i = 0; i < sizeof r; i++)
                r[i] = (unsigned char)(x >> (8 * i));
        char hex[17];
        dg_hex(hex, r, sizeof r);
        snprintf(t->client_id_buf, sizeof t->client_id_buf, PROG "-%s", hex);
    }
    MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
    init.do_openssl_init = 1;
    MQTTAsync_global_init(&init);

    if (uv_loop_init(&t->loop) != 0) {
        fprintf(stderr, PROG ": uv_loop_init failed\n");
        return 1;
    }
    uv_timer_init(&t->loop, &t->timer);
    uv_signal_init(&t->loop, &t->sigint);
    uv_signal_init(&t->loop, &t->sigterm);
    t->timer.data = t->sigint.data = t->sigterm.data = t;
    uv_signal_start(&t->sigint, on_signal, SIGINT);
    uv_signal_start(&t->sigterm, on_signal, SIGTERM);

    struct dg_link_config cfg = {
        .name = t->record_mode ? "audit-record" : "audit-follow",
        .url = t->url,
        .client_id = t->client_id ? t->client_id : t->client_id_buf,
        .ca_file = t->ca,
        .cert_file = t->cert,
        .key_file = t->key,
        .keepalive_s = 10,
        .persistent_session = t->client_id != NULL,
    };
    struct dg_link_callbacks cb = {.ctx = t, .message = on_message, .connected = on_connected};
    int rc = dg_link_open(&t->link, &t->loop, &cfg, &cb);
    if (rc < 0) {
        fprintf(stderr, PROG ": cannot open the link to %s: %s\n", t->url, dg_strerror(rc));
        t->link = NULL;
        stop(t, t->follow ? EXIT_CANNOT : 1);
    } else if ((rc = dg_link_subscribe(t->link, t->topic, 1)) < 0) {
        fprintf(stderr, PROG ": cannot subscribe: %s\n", dg_strerror(rc));
        stop(t, t->follow ? EXIT_CANNOT : 1);
    } else if (t->timeout_s > 0) {
        uv_timer_start(&t->timer, on_timeout, (uint64_t)llround(t->timeout_s * 1000.0), 0);
    }
    uv_run(&t->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&t->loop) != 0) {
        fprintf(stderr, PROG ": loop did not close cleanly\n");
        return 1;
    }
    return t->exit_code;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    static struct tool t;
    static struct dg_audit_verifier verifier;
    t.fd = -1;
    int rc = parse_args(argc, argv, &t);
    if (rc == 1) {
        if (argc >= 2 && strcmp(argv[1], "record") == 0)
            usage_record(stdout);
        else if (argc >= 2 && strcmp(argv[1], "verify") == 0)
            usage_verify(stdout);
        else
            usage_main(stdout);
        return EXIT_OK;
    }
    if (rc < 0) return EXIT_USAGE;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);

    if (t.record_mode) {
        if (load_existing(&t) != 0) {
            fprintf(stderr, PROG ": %s: cannot read the existing export\n", t.out);
            return 1;
        }
        t.fd = open(t.out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (t.fd < 0) {
            fprintf(stderr, PROG ": %s: cannot open: %s\n", t.out, strerror(errno));
            return 1;
        }
        rc = run_link(&t);
        if (fdatasync(t.fd) != 0 || close(t.fd) != 0) {
            fprintf(stderr, PROG ": %s: cannot close: %s\n", t.out, strerror(errno));
            rc = 1;
        }
        return rc;
    }

    char err[DG_PATH_MAX + 96];
    if (dg_audit_key_load(&t.pub, t.pubkey, 0, err, sizeof err) != 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return EXIT_CANNOT;
    }
    struct dg_audit_verify_opts opts = {
        .pubkey = t.pub,
        .from_seq = t.from_seq,
        .any_start = t.follow && !t.from_seq,
        .skip_duplicates = t.follow,
        .no_restart = t.no_restart,
        /* A FILE must end closed unless --allow-open-end; --follow as documented. */
        .require_signed_tail = t.require_signed_tail || (!t.follow && !t.allow_open_end),
        .require_stop = !t.follow && !t.allow_open_end,
    };
    dg_audit_verifier_init(&verifier, &opts);
    t.v = &verifier;
    rc = t.follow ? run_link(&t) : verify_file(&t);
    dg_audit_key_free(t.pub);
    return rc;
}
