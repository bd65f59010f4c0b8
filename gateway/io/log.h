/*
 * log.h — structured logs on stderr, one logfmt line per event:
 *   ts=2026-11-21T04:50:00.123Z level=warn mod=link link=device msg="connection lost" cause="..."
 * The message and key/values are formatted by the caller as `key=value` pairs
 * after the message; values with spaces must be quoted by the caller (use
 * dg_log_q() for untrusted strings). Thread-safe (one fprintf per line).
 */
#ifndef DG_LOG_H
#define DG_LOG_H

#include <stddef.h>

#include "config.h"

void dg_log_set_level(enum dg_log_level level);
enum dg_log_level dg_log_get_level(void);
/* Parse "debug"/"info"/"warn"/"error"; returns -1 if unknown. */
int dg_log_level_parse(const char *s);

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void dg_log(enum dg_log_level level, const char *mod, const char *fmt, ...);

/*
 * Quote s for a logfmt value into buf: wraps in "..", escapes " and \,
 * replaces control bytes with '?', truncates to fit. Returns buf.
 */
const char *dg_log_q(char *buf, size_t buflen, const char *s);

#define DG_DEBUG(mod, ...) dg_log(DG_LOG_DEBUG, mod, __VA_ARGS__)
#define DG_INFO(mod, ...)  dg_log(DG_LOG_INFO, mod, __VA_ARGS__)
#define DG_WARN(mod, ...)  dg_log(DG_LOG_WARN, mod, __VA_ARGS__)
#define DG_ERROR(mod, ...) dg_log(DG_LOG_ERROR, mod, __VA_ARGS__)

#endif
