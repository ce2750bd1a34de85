/* uniqueItems timing: validate an array of N distinct items, then the same
 * with one duplicate at the end, against {"uniqueItems": true}.
 * Build against a build directory's probecore (Release for figures):
 *   cc -O2 -Iinclude bench/unique_items.c BUILD/libprobecore.a \
 *      $(pkg-config --libs libcurl libcjson yaml-0.1 sqlite3 libpcre2-8 libsystemd \
 *      libmicrohttpd) -lev -lm -o /tmp/unique_items
 *   /tmp/unique_items 200000 [numbers|objects]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "probed/err.h"
#include "probed/jsonschema.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static cJSON *
item(long i, int objects)
{
	cJSON *o;

	if (!objects)
		return cJSON_CreateNumber((double)i);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)i);
	cJSON_AddStringToObject(o, "name", "user");
	return o;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	int objects = argc > 2 && strcmp(argv[2], "objects") == 0;
	struct pd_err err = {0};
	cJSON *sch = cJSON_Parse("{\"uniqueItems\": true}"), *arr = cJSON_CreateArray();
	struct pd_schema *s = pd_jsonschema_new(sch, &err);
	double t0, t1, t2;
	int v1, v2;

	if (s == NULL) {
		fprintf(stderr, "schema: %s\n", err.msg);
		return 1;
	}
	for (long i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, item(i, objects));
	t0 = now_s();
	v1 = pd_jsonschema_validate(s, arr, NULL, 0, NULL);
	t1 = now_s();
	cJSON_AddItemToArray(arr, item(n / 2, objects));
	v2 = pd_jsonschema_validate(s, arr, NULL, 0, NULL);
	t2 = now_s();
	printf("n=%ld %s: distinct valid=%d %.3f s; with a duplicate valid=%d %.3f s\n", n,
	       objects ? "objects" : "numbers", v1, t1 - t0, v2, t2 - t1);
	cJSON_Delete(arr);
	cJSON_Delete(sch);
	pd_jsonschema_free(s);
	return v1 == 1 && v2 == 0 ? 0 : 1;
}
