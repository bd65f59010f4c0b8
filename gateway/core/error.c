#include "error.h"

const char *dg_strerror(int code)
{
    if (code < 0) code = -code;
    switch (code) {
    case DG_OK:
        return "success";
    case DG_ENOMEM:
        return "out of memory";
    case DG_EINVAL:
        return "invalid argument";
    case DG_EFULL:
        return "queue full";
    case DG_ECLOSED:
        return "closed";
    case DG_EMQTT:
        return "MQTT error";
    case DG_EIO:
        return "I/O error";
    case DG_ECONFIG:
        return "configuration error";
    case DG_ENOTFOUND:
        return "not found";
    case DG_EDUP:
        return "duplicate";
    default:
        return "unknown error";
    }
}
