/*
 * druglib.c — look-ups in the drug-library model (see druglib.h).
 */
#include "druglib.h"

#include <string.h>

const struct dg_drug *dg_druglib_find(const struct dg_druglib *lib, const char *drug_code,
                                      const char *care_area)
{
    const struct dg_drug *any_area = NULL;
    for (size_t i = 0; i < lib->n_drugs; i++) {
        const struct dg_drug *d = &lib->drugs[i];
        if (strcmp(d->id, drug_code) != 0) continue;
        if (d->care_area[0] == '\0')
            any_area = d;
        else if (care_area && strcmp(d->care_area, care_area) == 0)
            return d;
    }
    return any_area;
}
