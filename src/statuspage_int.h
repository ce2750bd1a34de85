/* statuspage_int.h — what the files of the status page (src/statuspage*.c) share and
 * nothing else may see. The public API is include/probed/statuspage.h. */
#ifndef PROBED_STATUSPAGE_INT_H
#define PROBED_STATUSPAGE_INT_H
#include <stddef.h>
#include <stdint.h>
#include "probed/statuspage.h"

#define NB PD_STATUSPAGE_BUCKETS

void pd_statuspage_utc_minute(int64_t ms, char *out, size_t cap);

#endif
