/*
 * log.c — logfmt lines on stderr (see log.h).
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int current = DG_LOG_INFO;

static const char *const names[] = {"debug", "info", "warn", "error"};

void dg_log_set_level(enum dg_log_level level)
{
    atomic_store(&current, (int)level);
}

enum dg_log_level dg_log_get_level(void)
{
    return (enum dg_log_level)atomic_load(&current);
}

int dg_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

void dg_log(enum dg_log_level level, const char *mod, const char *fmt, ...)
{
    if ((int)level < atomic_load(&current)) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[2048];
    int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s mod=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, names[level], mod);
    if (n < 0) return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t used = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (used > sizeof line - 2) used = sizeof line - 2;
    line[used++] = '\n';
    line[used] = '\0';
    fputs(line, stderr);
}

const char *dg_log_q(char *buf, size_t buflen, const char *s)
{
    size_t o = 0;
    if (buflen < 3) {
        if (buflen) buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (; s && *s && o + 3 < buflen; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            if (o + 4 >= buflen) break;
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            buf[o++] = '?';
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
