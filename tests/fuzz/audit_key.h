/*
 * audit_key.h — the Ed25519 key pair of the audit fuzzing fixtures: the
 * seed generator (make_audit_seeds.c) signs the seed trails' checkpoints
 * with the private key, and fuzz_audit_verify checks every checkpoint with
 * the public key, so the committed seeds reach the signature checks and
 * past them. A test key made for this and nothing else: it signs no real
 * trail (never use it in a config). Also the harness's input layout.
 */
#ifndef DG_FUZZ_AUDIT_KEY_H
#define DG_FUZZ_AUDIT_KEY_H

static const char fuzz_audit_private_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIDFpoaMA3KEPl8uNXa6QqMz+Rf5Gg1T5e2iRiB7egohh\n"
    "-----END PRIVATE KEY-----\n";

static const char fuzz_audit_public_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAQka1g5vxHgTh5fTQXUb3ckkNacEfcCj2ZOUyoH6NlEk=\n"
    "-----END PUBLIC KEY-----\n";

/* fuzz_audit_verify's input layout, which the seed generator writes: an
   option byte of these bits first, then records (or an export file). */
#define OPT_SIGNED_TAIL 0x01
#define OPT_STOP        0x02
#define OPT_NO_RESTART  0x04
#define OPT_SKIP_DUP    0x08
#define OPT_ANY_START   0x10
#define OPT_FROM_SEQ    0x20
#define OPT_EXPORT      0x80
/* A record length that stands for an unreadable export line. */
#define LEN_FAIL 0xffff

#endif
