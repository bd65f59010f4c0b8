/*
 * error.h — dosegate error codes. Functions return 0 or a negative DG_E* code.
 */
#ifndef DG_ERROR_H
#define DG_ERROR_H

enum {
    DG_OK = 0,
    DG_ENOMEM = 1,  /* out of memory */
    DG_EINVAL = 2,  /* invalid argument or input */
    DG_EFULL = 3,   /* queue or table full */
    DG_ECLOSED = 4, /* object closed before the operation completed */
    DG_EMQTT = 5,   /* Paho reported an error */
    DG_EIO = 6,     /* file or OS error */
    DG_ECONFIG = 7, /* bad configuration */
    DG_ENOTFOUND = 8,
    DG_EDUP = 9, /* duplicate (already processed) */
};

/* Static text for a DG_E* code (positive or negative). */
const char *dg_strerror(int code);

#endif
