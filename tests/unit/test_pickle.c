/* test_pickle.c: the legacy PyTorch state_dict reader (fid/pickle.h) on
 * files written by torch 1.13 (tests/make_fid_fixtures.py ->
 * tests/fixtures/fid/sd_*.pt): names, shapes and float32 values exactly
 * as torch holds them (strided views, storage offsets, 0-d and empty
 * tensors), clean refusals of other types and of zip-format files, and
 * every truncation refused. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fid/npz.h"
#include "fid/pickle.h"

static char fixdir[1024];

static const char *fixture(const char *name)
{
	static char path[1200];
	snprintf(path, sizeof path, "%s/%s", fixdir, name);
	return path;
}

static void test_legacy(void)
{
	tg_pt_state s;
	char err[TG_PT_ERR_LEN] = "";
	ts_status st = tg_pt_load_file(fixture("sd_legacy.pt"), 0, &s, err);
	if (!check(st == TS_OK, "pickle: sd_legacy.pt loads: %s", err))
		return;
	/* sd_legacy.txt: "tensor NAME NDIM D0 D1 ..." in order; sd_legacy.f32: the
	 * contiguous values one tensor after another */
	FILE *f = fopen(fixture("sd_legacy.txt"), "r");
	unsigned char *vals;
	size_t vlen, used = 0, k = 0;
	tg_npz_slurp(fixture("sd_legacy.f32"), &vals, &vlen, err);
	char line[512];
	int ok_all = 1;
	while (f && fgets(line, sizeof line, f)) {
		char name[256];
		int ndim, off;
		if (sscanf(line, "tensor %255s %d%n", name, &ndim, &off) != 2)
			continue;
		unsigned long long shape[8] = {0}, count = 1;
		char *p = line + off;
		for (int d = 0; d < ndim && d < 8; d++) {
			shape[d] = strtoull(p, &p, 10);
			count *= shape[d];
		}
		const tg_pt_tensor *t = k < s.n ? &s.t[k] : NULL;
		int ok = t && !strcmp(t->name, name) && t->ndim == ndim && t->count == count &&
		         !strcmp(t->storage_type, "FloatStorage") && t->data &&
		         used + count * 4 <= vlen;
		for (int d = 0; ok && d < ndim; d++)
			ok = t->shape[d] == shape[d];
		ok = ok && (count == 0 || !memcmp(t->data, vals + used, count * 4));
		check(ok, "pickle: tensor %zu '%s' (%d-d, %llu values) matches torch exactly", k, name,
		      ndim, count);
		ok_all &= ok;
		used += count * 4;
		k++;
	}
	if (f)
		fclose(f);
	check(k == s.n && k == 8 && used == vlen, "pickle: %zu tensors in the file's order, %zu listed",
	      s.n, k);
	const tg_pt_tensor *t = tg_pt_find(&s, "T");
	/* T = (arange(12) * 0.5).reshape(3, 4).t(): T[i][j] = (4 j + i) * 0.5 */
	int ok = t && t->ndim == 2 && t->shape[0] == 4 && t->shape[1] == 3;
	for (int i = 0; ok && i < 4; i++)
		for (int j = 0; j < 3; j++)
			ok &= t->data[i * 3 + j] == (float)(4 * j + i) * 0.5f;
	check(ok, "pickle: the transposed view (stride (1, 4)) in C order");
	t = tg_pt_find(&s, "tail");
	ok = t && t->count == 5;
	for (int i = 0; ok && i < 5; i++)
		ok &= t->data[i] == (float)(3 + i) * -1.5f;
	check(ok, "pickle: a slice at storage offset 3 sharing its storage");
	t = tg_pt_find(&s, "scalar");
	check(t && t->ndim == 0 && t->count == 1 && t->data[0] == 3.25f, "pickle: the 0-d tensor");
	check(tg_pt_find(&s, "nope") == NULL, "pickle: an absent name is not found");
	tg_pt_free(&s);
	free(vals);
}

static void test_refusals(void)
{
	tg_pt_state s;
	char err[TG_PT_ERR_LEN] = "";
	ts_status st = tg_pt_load_file(fixture("sd_bn.pt"), 0, &s, err);
	check(st == TS_ERR_VERSION && strstr(err, "num_batches_tracked") && strstr(err, "LongStorage"),
	      "pickle: an int64 tensor refused by default: %s", err);
	st = tg_pt_load_file(fixture("sd_bn.pt"), TG_PT_SKIP_NONFLOAT, &s, err);
	const tg_pt_tensor *w = tg_pt_find(&s, "weight"), *v = tg_pt_find(&s, "running_var");
	const tg_pt_tensor *nb = tg_pt_find(&s, "num_batches_tracked");
	check(st == TS_OK && s.n == 5 && w && v && nb && w->data[0] == 1 && w->data[2] == 3 &&
	      v->data[1] == 0.25f && v->data[2] == 0.125f && !nb->data && nb->ndim == 0 &&
	      !strcmp(nb->storage_type, "LongStorage"),
	      "pickle: with TG_PT_SKIP_NONFLOAT a BatchNorm2d state_dict loads, int64 left out");
	tg_pt_free(&s);
	st = tg_pt_load_file(fixture("sd_double.pt"), 0, &s, err);
	check(st == TS_ERR_VERSION && strstr(err, "DoubleStorage"), "pickle: float64 refused: %s", err);
	st = tg_pt_load_file(fixture("sd_zip.pt"), 0, &s, err);
	check(st == TS_ERR_VERSION && strstr(err, "_use_new_zipfile_serialization=False"),
	      "pickle: zip-format file refused: %s", err);
	st = tg_pt_load_file(fixture("savez.npz"), 0, &s, err);
	check(st == TS_ERR_VERSION, "pickle: an .npz (another zip) refused: %s", err);
	st = tg_pt_load_file(fixture("expected.txt"), 0, &s, err);
	check(st == TS_ERR_VERSION, "pickle: a text file refused: %s", err);
	st = tg_pt_load_file(fixture("no_such.pt"), 0, &s, err);
	check(st == TS_ERR_IO && s.n == 0, "pickle: a missing file is an I/O error: %s", err);
}

/* Every truncation refused; every single-byte change refused or loaded
 * (raw storage bytes carry no checksum), never a crash. */
static void test_damage(void)
{
	unsigned char *buf;
	size_t len;
	char err[TG_PT_ERR_LEN];
	if (!check(tg_npz_slurp(fixture("sd_legacy.pt"), &buf, &len, err) == TS_OK, "pickle: readable"))
		return;
	int loaded = 0, refused = 0;
	for (size_t n = 0; n < len; n++) {
		tg_pt_state s;
		unsigned char *copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		if (tg_pt_load(copy, n, 0, &s, err) == TS_OK)
			loaded++;
		tg_pt_free(&s);
		free(copy);
	}
	check(loaded == 0, "pickle: all %zu truncations refused (%d loaded)", len, loaded);
	loaded = 0;
	for (size_t k = 0; k < len; k++) {
		for (int x = 1; x < 256; x <<= 2) {
			tg_pt_state s;
			buf[k] ^= (unsigned char)x;
			if (tg_pt_load(buf, len, 0, &s, err) == TS_OK)
				loaded++;
			else
				refused++;
			tg_pt_free(&s);
			buf[k] ^= (unsigned char)x;
		}
	}
	check(refused > 0 && loaded + refused == (int)len * 4,
	      "pickle: %zu x 4 byte changes: %d refused, %d loaded (storage data), no crash", len,
	      refused, loaded);
	free(buf);
}

int main(void)
{
	const char *fx = getenv("FIXTURES");
	snprintf(fixdir, sizeof fixdir, "%s/fid", fx ? fx : "tests/fixtures");
	test_legacy();
	test_refusals();
	test_damage();
	return check_finish();
}
