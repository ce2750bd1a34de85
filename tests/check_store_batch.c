/* check_store_batch.c — commits batched by time (the pure policy on a fake clock, the
 * urgent mark of delivery state) and the WAL checkpoint thread, on real SQLite files. */
#include <check.h>
#include "testlib.h"
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "probed/clock.h"
#include "probed/store.h"

static struct pd_test_store sto; /* opened by each test that needs a store */

static void
setup(void)
{
	memset(&sto, 0, sizeof(sto));
}

static void
teardown(void)
{
	pd_test_store_close(&sto);
}

static int
count_threads(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(dir);
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

static off_t
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* n results of one probe, one batch, committed */
static void
write_batch(struct pd_store *st, int64_t ts0, int n)
{
	struct pd_err err = {0};

	for (int i = 0; i < n; i++) {
		struct pd_result r;

		memset(&r, 0, sizeof(r));
		r.ts_ms = ts0 + i;
		r.http_status = 200;
		r.total_ms = 12.5;
		/* a long verdict fills pages quickly */
		snprintf(r.verdict, sizeof(r.verdict), "verdict %d of a long batch of results", i);
		ck_assert_msg(pd_store_add_result(st, "p", &r, &err) == 0, "%s", err.msg);
	}
	ck_assert_msg(pd_store_flush(st, &err) == 0, "%s", err.msg);
}

START_TEST(test_commit_wait_policy)
{
	/* nothing pending: nothing to commit, whatever the time */
	ck_assert_int_eq(pd_store_commit_wait_ms(0, 0, 1000, 1000, 200), -1);
	ck_assert_int_eq(pd_store_commit_wait_ms(0, 1, 1000, 99999, 200), -1);
	/* a batch waits up to max_ms after its first write, no longer */
	ck_assert_int_eq(pd_store_commit_wait_ms(3, 0, 1000, 1000, 200), 200);
	ck_assert_int_eq(pd_store_commit_wait_ms(3, 0, 1000, 1150, 200), 50);
	ck_assert_int_eq(pd_store_commit_wait_ms(3, 0, 1000, 1199, 200), 1);
	ck_assert_int_eq(pd_store_commit_wait_ms(3, 0, 1000, 1200, 200), 0);
	ck_assert_int_eq(pd_store_commit_wait_ms(3, 0, 1000, 90000, 200), 0);
	/* delivery state never waits, nor does a drain (max 0) */
	ck_assert_int_eq(pd_store_commit_wait_ms(1, 1, 1000, 1000, 200), 0);
	ck_assert_int_eq(pd_store_commit_wait_ms(1, 0, 1000, 1000, 0), 0);
	/* a clock behind the batch's start: commit rather than wait for ever */
	ck_assert_int_eq(pd_store_commit_wait_ms(1, 0, 1000, 500, 200), 0);
}
END_TEST

START_TEST(test_batch_urgent_marks)
{
	struct pd_store *st = pd_test_store_open(&sto, "store_batch");
	struct pd_err err = {0};
	struct pd_result r;
	int64_t now = pd_clock_mono_ms(), id = 0;

	ck_assert_int_eq(pd_store_batch_wait_ms(st, now, 200), -1);
	memset(&r, 0, sizeof(r));
	r.ts_ms = 1000;
	r.http_status = 200;
	ck_assert_msg(pd_store_add_result(st, "p", &r, &err) == 0, "%s", err.msg);
	/* a result may wait: the batch opened no later than now, so at most max_ms */
	now = pd_clock_mono_ms();
	ck_assert_int_gt(pd_store_batch_wait_ms(st, now, 60000), 0);
	ck_assert_int_le(pd_store_batch_wait_ms(st, now, 60000), 60000);
	/* an outbox row (a page) makes the whole batch urgent */
	ck_assert_msg(pd_store_outbox_add(st, "t", "k", "trigger", "{}", 1000, &id, &err) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(pd_store_batch_wait_ms(st, now, 60000), 0);
	ck_assert_msg(pd_store_flush(st, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(pd_store_batch_wait_ms(st, now, 60000), -1);
	/* the mark goes with the commit: a new batch of results waits again */
	r.ts_ms = 2000;
	ck_assert_msg(pd_store_add_result(st, "p", &r, &err) == 0, "%s", err.msg);
	ck_assert_int_gt(pd_store_batch_wait_ms(st, pd_clock_mono_ms(), 60000), 0);
	/* so does delivery bookkeeping (a row marked sent must not be sent twice) */
	ck_assert_msg(pd_store_flush(st, &err) == 0, "%s", err.msg);
	ck_assert_msg(pd_store_outbox_retry(st, id, 5000, "503", &err) == 0, "%s", err.msg);
	ck_assert_int_eq(pd_store_batch_wait_ms(st, pd_clock_mono_ms(), 60000), 0);
}
END_TEST

/* The writer never checkpoints (auto-checkpoint is off): the WAL grows past SQLite's
 * default 1000 pages; the thread copies it into the database file on its own; close
 * joins it. */
START_TEST(test_ckpt_thread)
{
	struct pd_store_ckpt_stats cs;
	char wal[160];
	int threads0 = count_threads(), i;
	struct pd_store *st;
	off_t db0;

	st = pd_test_store_open(&sto, "store_batch");
	ck_assert_int_eq(count_threads(), threads0 + 1);
	snprintf(wal, sizeof(wal), "%s-wal", sto.path);
	pd_store_ckpt_tune(st, 3600 * 1000, INT64_MAX, INT64_MAX); /* asleep */
	db0 = file_size(sto.path);
	for (i = 0; i < 60; i++)
		write_batch(st, 1000 + (int64_t)i * 10000, 2000);
	/* no auto-checkpoint: more than 1000 pages of WAL, the database file untouched */
	ck_assert_int_gt(file_size(wal), 1000 * 4096);
	ck_assert_int_eq(file_size(sto.path), db0);
	pd_store_ckpt_stats(st, &cs);
	ck_assert_int_eq(cs.checkpoints, 0);
	/* the next commit's WAL hook wakes it (the period is still an hour): the frames
	 * reach the database without the writer checkpointing */
	pd_store_ckpt_tune(st, 3600 * 1000, PD_STORE_CKPT_FRAMES, INT64_MAX);
	write_batch(st, 5000000, 1);
	for (i = 0; i < 500; i++) {
		pd_store_ckpt_stats(st, &cs);
		if (cs.checkpoints > 0 && cs.wal_frames > 0 && cs.wal_backfilled == cs.wal_frames)
			break;
		sleep_ms(20);
	}
	ck_assert_int_gt(cs.checkpoints, 0);
	ck_assert_int_gt(cs.wal_frames, 1000);
	ck_assert_int_eq(cs.wal_backfilled, cs.wal_frames);
	ck_assert_int_gt(file_size(sto.path), db0 + 1000 * 4096);
	ck_assert_int_ge(cs.max_us, 0);
	/* the next write starts the WAL over: it stays small from then on (the period
	 * now wakes the thread: the WAL is below the waking size) */
	pd_store_ckpt_tune(st, 20, PD_STORE_CKPT_FRAMES, INT64_MAX);
	for (i = 0; i < 5; i++)
		write_batch(st, 10000000 + (int64_t)i * 1000, 10);
	for (i = 0; i < 500; i++) {
		pd_store_ckpt_stats(st, &cs);
		if (cs.wal_frames > 0 && cs.wal_frames < 100)
			break;
		sleep_ms(20);
	}
	ck_assert_int_lt(cs.wal_frames, 100);
	pd_store_free(st);
	sto.st = NULL;
	ck_assert_int_eq(count_threads(), threads0);
	/* a read-only handle (probectl) has no thread and never checkpoints */
	st = pd_test_store_at(sto.path, 1);
	ck_assert_int_eq(count_threads(), threads0);
	pd_store_ckpt_stats(st, &cs);
	ck_assert_int_eq(cs.checkpoints, 0);
	pd_store_free(st);
}
END_TEST

/* A reader holding an old snapshot keeps PASSIVE from finishing: the thread comes back
 * and copies the rest as soon as the reader has gone, without the writer doing
 * anything; the next commit starts the WAL over. */
START_TEST(test_ckpt_reader_pins_wal)
{
	struct pd_store_ckpt_stats cs;
	struct pd_store *st = pd_test_store_open(&sto, "store_batch");
	sqlite3 *rd = NULL;
	int i;

	write_batch(st, 1000, 10);
	ck_assert_int_eq(sqlite3_open_v2(sto.path, &rd, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(rd, "BEGIN; SELECT count(*) FROM results;", NULL, NULL, NULL),
			 SQLITE_OK);
	for (i = 0; i < 10; i++)
		write_batch(st, 10000 + (int64_t)i * 10000, 2000);
	/* woken by the WAL hook only (an hour's period), then catching up on its own */
	pd_store_ckpt_tune(st, 3600 * 1000, 50, INT64_MAX);
	write_batch(st, 500000, 1);
	for (i = 0; i < 500; i++) {
		pd_store_ckpt_stats(st, &cs);
		if (cs.busy >= 3)
			break;
		sleep_ms(20);
	}
	ck_assert_int_ge(cs.busy, 3); /* several passes: the catch-up, not the period */
	ck_assert_int_gt(cs.wal_frames, 50);
	ck_assert_int_lt(cs.wal_backfilled, cs.wal_frames);
	/* the reader ends: the next catch-up pass copies everything */
	ck_assert_int_eq(sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(rd);
	for (i = 0; i < 500; i++) {
		pd_store_ckpt_stats(st, &cs);
		if (cs.wal_frames > 50 && cs.wal_backfilled == cs.wal_frames)
			break;
		sleep_ms(20);
	}
	ck_assert_int_gt(cs.wal_frames, 50);
	ck_assert_int_eq(cs.wal_backfilled, cs.wal_frames);
	/* the next commit starts the WAL over: one batch of frames, then copied */
	pd_store_ckpt_tune(st, 20, PD_STORE_CKPT_FRAMES, INT64_MAX);
	write_batch(st, 9000000, 1);
	for (i = 0; i < 500; i++) {
		pd_store_ckpt_stats(st, &cs);
		if (cs.wal_frames > 0 && cs.wal_frames <= 50)
			break;
		sleep_ms(20);
	}
	ck_assert_int_le(cs.wal_frames, 50);
	ck_assert_int_gt(cs.wal_frames, 0);
}
END_TEST

/* A commit that leaves the WAL past the RESTART size has the thread start it over right
 * after (the writer between batches): the WAL is empty again, the data all there. */
START_TEST(test_ckpt_restart)
{
	struct pd_store_ckpt_stats cs;
	struct pd_store *st = pd_test_store_open(&sto, "store_batch");
	struct pd_history_stats hs;
	struct pd_err err = {0};
	int i;

	pd_store_ckpt_tune(st, 3600 * 1000, INT64_MAX, INT64_MAX); /* asleep */
	for (i = 0; i < 10; i++)
		write_batch(st, 1000 + (int64_t)i * 10000, 2000);
	pd_store_ckpt_stats(st, &cs);
	ck_assert_int_eq(cs.checkpoints, 0);
	pd_store_ckpt_tune(st, 3600 * 1000, PD_STORE_CKPT_FRAMES, 100);
	write_batch(st, 5000000, 1); /* its hook asks for the RESTART */
	for (i = 0; i < 500; i++) {
		pd_store_ckpt_stats(st, &cs);
		if (cs.restarts > 0)
			break;
		sleep_ms(20);
	}
	ck_assert_int_eq(cs.restarts, 1);
	ck_assert_int_eq(cs.wal_frames, 0);
	/* every row is in the database file: a new connection reads them all */
	pd_store_free(st);
	sto.st = st = pd_test_store_at(sto.path, 1);
	ck_assert_msg(pd_store_history(st, "p", 0, NULL, NULL, &hs, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(hs.count, 10 * 2000 + 1);
}
END_TEST

static Suite *
store_batch_suite(void)
{
	Suite *s = suite_create("store_batch");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_commit_wait_policy);
	tcase_add_test(tc, test_batch_urgent_marks);
	tcase_add_test(tc, test_ckpt_thread);
	tcase_add_test(tc, test_ckpt_reader_pins_wal);
	tcase_add_test(tc, test_ckpt_restart);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pd_test_run(store_batch_suite());
}
