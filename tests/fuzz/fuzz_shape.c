/* fuzz_shape.c — shape fingerprints (pd_check_shape_of) and their differences (pd_check_shape_diff),
 * what the daemon uses to warn when the structure of a response changes (P4 drift).
 * Input: two JSON values separated by white space (the old and the new response); a
 * single value is compared with itself.
 *
 * Properties, as check.h promises them:
 *  - the hash never is 0, and is the same whether or not the path list is built;
 *  - it is independent of key order (every object's members reversed: same hash, same
 *    list) and of the values (every string "", number 0, boolean false: same hash);
 *  - two documents have the same hash exactly when they have the same path list, and
 *    pd_check_shape_diff reports no difference exactly then (so a drift alert always says
 *    what changed). */
#include <string.h>
#include <cjson/cJSON.h>
#include "fuzz.h"
#include "probed/check.h"
#include "probed/log.h"

/* In place: reverse the members of every object (arrays keep their order). cJSON's
 * list: next runs first to last (last->next NULL), child->prev is the last. */
static void
reverse_objects(cJSON *j, int depth)
{
	if (depth > 2000)
		return;
	if (cJSON_IsObject(j) && j->child != NULL) {
		size_t n = 0, k = 0;
		cJSON **v;

		for (cJSON *c = j->child; c != NULL; c = c->next)
			n++;
		if ((v = malloc(n * sizeof(*v))) == NULL)
			abort();
		for (cJSON *c = j->child; c != NULL; c = c->next)
			v[k++] = c;
		for (k = 0; k < n; k++) {
			v[k]->next = k > 0 ? v[k - 1] : NULL;
			v[k]->prev = k + 1 < n ? v[k + 1] : v[0];
		}
		j->child = v[n - 1];
		free(v);
	}
	for (cJSON *c = j->child; c != NULL; c = c->next)
		reverse_objects(c, depth + 1);
}

/* In place: every scalar to a fixed value of its type. */
static void
blank_values(cJSON *j, int depth)
{
	if (depth > 2000)
		return;
	if (cJSON_IsString(j))
		cJSON_SetValuestring(j, "");
	else if (cJSON_IsNumber(j))
		cJSON_SetNumberValue(j, 0);
	else if (cJSON_IsBool(j))
		j->type = (j->type & ~(cJSON_True | cJSON_False)) | cJSON_False;
	for (cJSON *c = j->child; c != NULL; c = c->next)
		blank_values(c, depth + 1);
}

static uint64_t
shape(const cJSON *doc, char **paths)
{
	uint64_t h = pd_check_shape_of(doc, paths), h2 = pd_check_shape_of(doc, NULL);

	FUZZ_CHECK(h != 0, "hash 0");
	FUZZ_CHECK(h == h2, "hash depends on listing paths");
	FUZZ_CHECK(*paths != NULL, "no path list (out of memory?)");
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int done;
	const char *p = (const char *)data, *end = p + size, *next = NULL;
	cJSON *a, *b = NULL, *c = NULL;
	char *pa = NULL, *pb = NULL, *pc = NULL, diff[512];
	uint64_t ha, hb, hc;
	size_t nd;

	if (!done) {
		pd_log_set_level(PD_LOG_ERR);
		done = 1;
	}
	a = cJSON_ParseWithLengthOpts(p, size, &next, 0);
	if (a == NULL)
		return 0;
	while (next != NULL && next < end &&
	       (*next == ' ' || *next == '\n' || *next == '\r' || *next == '\t'))
		next++;
	if (next != NULL && next < end)
		b = cJSON_ParseWithLengthOpts(next, (size_t)(end - next), NULL, 0);
	if (b == NULL && (b = cJSON_Duplicate(a, 1)) == NULL)
		goto out;

	ha = shape(a, &pa);
	hb = shape(b, &pb);
	nd = pd_check_shape_diff(pa, pb, diff, sizeof(diff));
	FUZZ_CHECK(strnlen(diff, sizeof(diff)) < sizeof(diff), "diff unterminated");
	FUZZ_CHECK((ha == hb) == (strcmp(pa, pb) == 0), "hash %s but path lists %s:\n%s---\n%s",
		   ha == hb ? "equal" : "differs", ha == hb ? "differ" : "equal", pa, pb);
	FUZZ_CHECK((nd == 0) == (strcmp(pa, pb) == 0), "diff count %zu (%s), lists %s", nd, diff,
		   strcmp(pa, pb) == 0 ? "equal" : "differ");
	FUZZ_CHECK(nd == 0 || diff[0] != '\0', "a difference without a text");

	/* key order and values do not matter */
	if ((c = cJSON_Duplicate(a, 1)) != NULL) {
		reverse_objects(c, 0);
		hc = shape(c, &pc);
		FUZZ_CHECK(hc == ha, "hash depends on key order");
		FUZZ_CHECK(strcmp(pa, pc) == 0, "path list depends on key order");
		free(pc);
		pc = NULL;
		blank_values(c, 0);
		hc = shape(c, &pc);
		FUZZ_CHECK(hc == ha, "hash depends on values");
	}
out:
	free(pa);
	free(pb);
	free(pc);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	return 0;
}
