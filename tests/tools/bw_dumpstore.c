/*
 * bw_dumpstore.c — print every score record of a store, for the torture run.
 *
 *   build/tests/bw_dumpstore DIR > records.ndjson
 *
 * Opens the LMDB score store at DIR read-only and prints each account's record
 * (the JSON line the API serves), in account-id order, one per line. For each
 * record it also reads the account's feature vector back (store_get_features),
 * so a store whose values cannot be read fails here. Exits 0, or 1 with a
 * message on stderr (open failure, unreadable record or vector).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "store.h"

struct dump {
	struct bw_store *st; /* the store being scanned */
	unsigned long n;     /* records printed */
	int bad;             /* a vector could not be read */
};

static int on_record(const char *user_id, const char *record_json, size_t len, void *opaque)
{
	struct dump *d = opaque;
	size_t n = 0;
	int err = 0;
	double *v = store_get_features(d->st, user_id, &n, &err);

	if (err) {
		fprintf(stderr, "bw_dumpstore: account %s: feature vector unreadable (%d)\n",
			user_id, err);
		d->bad = 1;
		return err;
	}
	free(v);
	fwrite(record_json, 1, len, stdout);
	putchar('\n');
	d->n++;
	return 0;
}

int main(int argc, char **argv)
{
	char err[512];
	struct dump d = { 0 };

	if (argc != 2) {
		fprintf(stderr, "usage: bw_dumpstore DIR\n");
		return 2;
	}
	d.st = store_open(argv[1], false, 0, err, sizeof(err));
	if (!d.st) {
		fprintf(stderr, "bw_dumpstore: %s\n", err);
		return 1;
	}
	int rc = store_scan(d.st, NULL, on_record, &d);
	store_close(d.st);
	if (rc || d.bad) {
		fprintf(stderr, "bw_dumpstore: scan of %s failed (%d) after %lu records\n", argv[1],
			rc, d.n);
		return 1;
	}
	fprintf(stderr, "bw_dumpstore: %lu records\n", d.n);
	return 0;
}
